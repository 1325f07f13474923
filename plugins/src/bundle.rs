//! A plugin bundle: the plugin directory as a tar archive, gzip-compressed or not, so a therapist
//! can make one with `tar -czf` as well as with `interlude plugin pack`. Its minisign signature
//! sits beside it and binds the plugin's id and version in the trusted comment.
//!
//! Unpacking trusts nothing in the archive: only plain files and directories, relative paths
//! that stay inside, limits on sizes and counts, and a cap on the inflated stream against
//! decompression bombs. The caller unpacks into a fresh staging directory and removes it on error.

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use super::format::Version;

/// The largest bundle file read (what is signed), in bytes.
pub const MAX_BUNDLE_BYTES: u64 = 8 << 20;
/// The largest archive stream after inflating, headers included.
pub const MAX_UNPACKED_BYTES: u64 = 16 << 20;
/// The largest single file in a plugin.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// The most archive entries (files and directories).
pub const MAX_ENTRIES: usize = 512;
/// `exercises/name.toml` is as deep as a plugin goes.
const MAX_DEPTH: usize = 2;
/// What every trusted comment of a bundle signature starts with.
pub const COMMENT_PREFIX: &str = "interlude-plugin";

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle is larger than {} MiB; a plugin is a few small text files", MAX_BUNDLE_BYTES >> 20)]
    TooLarge,
    #[error(
        "the signature's trusted comment is {comment:?}, not `{COMMENT_PREFIX} id=ID version=X.Y.Z`; sign the bundle with `interlude plugin pack`, or with minisign -t \"{COMMENT_PREFIX} id=ID version=X.Y.Z\""
    )]
    Comment { comment: String },
    #[error("refused: the entry {entry:?} in the bundle {reason}; nothing was installed")]
    Unsafe { entry: String, reason: String },
    #[error(
        "refused: the bundle inflates to more than {} MiB (a decompression bomb?); nothing was installed",
        MAX_UNPACKED_BYTES >> 20
    )]
    Bomb,
    #[error("refused: the bundle has more than {MAX_ENTRIES} entries; nothing was installed")]
    TooManyEntries,
    #[error("the bundle is not a readable tar archive: {0}")]
    Malformed(String),
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> BundleError + 'a {
    move |source| BundleError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// What a bundle's signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedComment {
    pub id: String,
    pub version: Version,
}

impl TrustedComment {
    /// `interlude-plugin id=cbt version=1.2.0`: the prefix, then `key=value` words in any order.
    pub fn parse(comment: &str) -> Result<TrustedComment, BundleError> {
        let refuse = || BundleError::Comment {
            comment: comment.to_string(),
        };
        let mut words = comment.split_whitespace();
        if words.next() != Some(COMMENT_PREFIX) {
            return Err(refuse());
        }
        let (mut id, mut version) = (None, None);
        for word in words {
            match word.split_once('=') {
                Some(("id", value)) if id.is_none() && super::format::is_valid_id(value) => {
                    id = Some(value.to_string());
                }
                Some(("version", value)) if version.is_none() => {
                    version = Some(Version::parse(value).ok_or_else(refuse)?);
                }
                _ => return Err(refuse()),
            }
        }
        match (id, version) {
            (Some(id), Some(version)) => Ok(TrustedComment { id, version }),
            _ => Err(refuse()),
        }
    }
}

impl std::fmt::Display for TrustedComment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{COMMENT_PREFIX} id={} version={}",
            self.id, self.version
        )
    }
}

/// Reads a bundle file, refusing one over [`MAX_BUNDLE_BYTES`] without reading it all.
pub fn read(path: &Path) -> Result<Vec<u8>, BundleError> {
    let file = std::fs::File::open(path).map_err(io("read", path))?;
    let mut bytes = Vec::new();
    file.take(MAX_BUNDLE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io("read", path))?;
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge);
    }
    Ok(bytes)
}

/// The plugin in `dir` as a gzip-compressed tar: its regular files in name order, with fixed
/// owner, mode and time, so packing the same files twice gives the same bytes.
pub fn pack(dir: &Path) -> Result<Vec<u8>, BundleError> {
    let mut files = Vec::new();
    plugin_files(dir, Path::new(""), &mut files)?;
    files.sort();
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut archive = tar::Builder::new(gzip);
    for relative in &files {
        let path = dir.join(relative);
        let data = std::fs::read(&path).map_err(io("read", &path))?;
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        archive
            .append_data(&mut header, relative, data.as_slice())
            .map_err(io("pack", &path))?;
    }
    let gzip = archive.into_inner().map_err(io("pack", dir))?;
    gzip.finish().map_err(io("pack", dir))
}

/// The files of a plugin directory, relative to it; hidden files are left out, and anything
/// other than a file or directory is refused rather than followed.
fn plugin_files(root: &Path, under: &Path, files: &mut Vec<PathBuf>) -> Result<(), BundleError> {
    let dir = root.join(under);
    for entry in std::fs::read_dir(&dir).map_err(io("read", &dir))? {
        let entry = entry.map_err(io("read", &dir))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let relative = under.join(&name);
        let kind = entry.file_type().map_err(io("read", &entry.path()))?;
        if kind.is_dir() {
            plugin_files(root, &relative, files)?;
        } else if kind.is_file() {
            files.push(relative);
        } else {
            return Err(BundleError::Unsafe {
                entry: relative.display().to_string(),
                reason: "is not a plain file (a symlink?); a bundle holds only files".into(),
            });
        }
    }
    Ok(())
}

/// Unpacks `bundle` into `into`, an empty directory just created for it.
pub fn unpack(bundle: &[u8], into: &Path) -> Result<(), BundleError> {
    let inflated = Rc::new(Cell::new(0u64));
    let stream: Box<dyn Read + '_> = if bundle.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(bundle))
    } else {
        Box::new(bundle)
    };
    let capped = Capped {
        inner: stream,
        read: Rc::clone(&inflated),
    };
    let result = unpack_entries(tar::Archive::new(capped), into);
    // The cap shows up as a read error somewhere inside tar; the counter says which it was.
    if inflated.get() > MAX_UNPACKED_BYTES {
        return Err(BundleError::Bomb);
    }
    result
}

fn unpack_entries(mut archive: tar::Archive<Capped<'_>>, into: &Path) -> Result<(), BundleError> {
    let malformed = |e: std::io::Error| BundleError::Malformed(e.to_string());
    let mut count = 0;
    for entry in archive.entries().map_err(malformed)? {
        let mut entry = entry.map_err(malformed)?;
        count += 1;
        if count > MAX_ENTRIES {
            return Err(BundleError::TooManyEntries);
        }
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            continue; // `git archive` and some tars add one; it only carries metadata.
        }
        let raw = entry.path().map_err(malformed)?.into_owned();
        let unsafe_entry = |reason: &dyn std::fmt::Display| BundleError::Unsafe {
            entry: raw.display().to_string(),
            reason: reason.to_string(),
        };
        let relative = safe_relative(&raw).map_err(|reason| unsafe_entry(&reason))?;
        if let Some(reason) = refused_kind(kind) {
            return Err(unsafe_entry(&reason));
        }
        let target = into.join(&relative);
        if kind.is_dir() {
            if !relative.as_os_str().is_empty() {
                super::files::create_private_dir(&target).map_err(|e| {
                    unsafe_entry(&format_args!("could not be made a directory ({e})"))
                })?;
            }
            continue;
        }
        if relative.as_os_str().is_empty() {
            return Err(unsafe_entry(&"is a file with no name"));
        }
        if entry.size() > MAX_FILE_BYTES {
            return Err(unsafe_entry(&format_args!(
                "is larger than {} KiB; a plugin file is small text",
                MAX_FILE_BYTES >> 10
            )));
        }
        if let Some(parent) = target.parent() {
            super::files::create_private_dir(parent)
                .map_err(|e| unsafe_entry(&format_args!("has no place to go ({e})")))?;
        }
        write_entry(&mut entry, &target).map_err(|e| match e {
            WriteError::Exists => unsafe_entry(&"appears twice"),
            WriteError::TooLarge => unsafe_entry(&"is larger than it says"),
            WriteError::Io(e) => BundleError::Io {
                action: "write",
                path: target.clone(),
                source: e,
            },
        })?;
    }
    Ok(())
}

/// The path inside the plugin an entry may have: relative, no `..`, no hidden names, no deeper
/// than `exercises/`. `./` prefixes (as `tar -C dir .` writes) are dropped.
fn safe_relative(path: &Path) -> Result<PathBuf, &'static str> {
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(name) => {
                let name = name.to_str().ok_or("has a name that is not UTF-8")?;
                if name.starts_with('.') {
                    return Err("is hidden (starts with a dot); a plugin has none");
                }
                clean.push(name);
            }
            Component::ParentDir => return Err("climbs out of the plugin with `..`"),
            Component::RootDir | Component::Prefix(_) => return Err("has an absolute path"),
        }
    }
    if clean.components().count() > MAX_DEPTH {
        return Err("is nested deeper than a plugin's exercises/ directory");
    }
    Ok(clean)
}

/// Why an entry of this kind is refused, if it is.
fn refused_kind(kind: tar::EntryType) -> Option<&'static str> {
    match kind {
        tar::EntryType::Regular | tar::EntryType::Directory => None,
        tar::EntryType::Symlink => Some("is a symbolic link; a bundle holds only files"),
        tar::EntryType::Link => Some("is a hard link; a bundle holds only files"),
        tar::EntryType::Char | tar::EntryType::Block => {
            Some("is a device file; a bundle holds only files")
        }
        tar::EntryType::Fifo => Some("is a named pipe; a bundle holds only files"),
        _ => Some("is not a plain file or directory; a bundle holds only files"),
    }
}

enum WriteError {
    Exists,
    TooLarge,
    Io(std::io::Error),
}

/// Writes a new file (never an existing path, never through a link) with at most
/// [`MAX_FILE_BYTES`], whatever the header claimed.
fn write_entry(entry: &mut impl Read, target: &Path) -> Result<(), WriteError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(target)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => WriteError::Exists,
            _ => WriteError::Io(e),
        })?;
    let mut data = Vec::new();
    entry
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(WriteError::Io)?;
    if data.len() as u64 > MAX_FILE_BYTES {
        return Err(WriteError::TooLarge);
    }
    file.write_all(&data)
        .and_then(|()| file.sync_all())
        .map_err(WriteError::Io)
}

/// A reader that fails once more than [`MAX_UNPACKED_BYTES`] have come through, and counts.
struct Capped<'a> {
    inner: Box<dyn Read + 'a>,
    read: Rc<Cell<u64>>,
}

impl Read for Capped<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read.get() > MAX_UNPACKED_BYTES {
            return Err(std::io::Error::other("the inflated bundle is too large"));
        }
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_trusted_comment_names_id_and_version() {
        let parsed = TrustedComment::parse("interlude-plugin id=cbt version=1.2.0").unwrap();
        assert_eq!(parsed.id, "cbt");
        assert_eq!(parsed.version.to_string(), "1.2.0");
        assert_eq!(parsed.to_string(), "interlude-plugin id=cbt version=1.2.0");
        for bad in [
            "timestamp:1700000000\tfile:cbt.tar.gz",
            "interlude-plugin id=cbt",
            "interlude-plugin id=../x version=1.0.0",
            "interlude-plugin id=cbt version=1.0",
            "interlude-plugin id=cbt version=1.0.0 extra=1",
            "interlude-plugin id=cbt id=dbt version=1.0.0",
        ] {
            assert!(TrustedComment::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn entry_paths_stay_inside() {
        assert_eq!(
            safe_relative(Path::new("./exercises/a.toml")).unwrap(),
            Path::new("exercises/a.toml")
        );
        assert_eq!(safe_relative(Path::new("./")).unwrap(), Path::new(""));
        for bad in [
            "../x",
            "/etc/passwd",
            "exercises/../../x",
            ".hidden",
            "a/b/c",
        ] {
            assert!(safe_relative(Path::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn packing_twice_gives_the_same_bytes_and_unpacks_to_the_same_files() {
        let source = tempfile::tempdir().unwrap();
        std::fs::create_dir(source.path().join("exercises")).unwrap();
        std::fs::write(source.path().join("plugin.toml"), "a").unwrap();
        std::fs::write(source.path().join("exercises/x.toml"), "b").unwrap();
        std::fs::write(source.path().join(".swp"), "left out").unwrap();
        let bundle = pack(source.path()).unwrap();
        assert_eq!(bundle, pack(source.path()).unwrap());
        let target = tempfile::tempdir().unwrap();
        unpack(&bundle, target.path()).unwrap();
        assert_eq!(
            std::fs::read(target.path().join("exercises/x.toml")).unwrap(),
            b"b"
        );
        assert!(!target.path().join(".swp").exists());
    }
}
