//! Whether a directory is private to this user: the directory itself (looked at without following
//! a link, then opened without following one and checked again through the open handle), and
//! every directory above it, both as written and as the links on the way resolve. Shared by the
//! daemon (its data and socket directories) and the CLI (before it sends a secret to a socket).
//!
//! The directory must be a real directory, ours, and closed to others (no bits for group or
//! others). A directory above it must belong to root or to us, and must not be writable by others
//! unless it has the sticky bit (like `/tmp`): whoever can rename entries in a parent can swap
//! what is below it. A link on the way must belong to root or to us too.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum NotPrivate {
    #[error(
        "{path} is a symbolic link; Interlude only uses real directories: point the config at the directory itself"
    )]
    Symlink { path: PathBuf },
    #[error("{path} is not a directory")]
    NotADirectory { path: PathBuf },
    #[error(
        "{path} belongs to another user (uid {owner}); Interlude only uses directories you own"
    )]
    NotOwned { path: PathBuf, owner: u32 },
    #[error(
        "{path} can be reached by other users (mode {mode:o}); run `chmod 700 {path}` and start again"
    )]
    OpenToOthers { path: PathBuf, mode: u32 },
    #[error(
        "{path}, above {below}, belongs to another user (uid {owner}), who could replace what is below it; use a directory under one that only you or root own"
    )]
    AncestorNotOwned {
        path: PathBuf,
        below: PathBuf,
        owner: u32,
    },
    #[error(
        "{path}, above {below}, can be written by other users (mode {mode:o}, no sticky bit), who could replace what is below it; run `chmod go-w {path}` or use another directory"
    )]
    AncestorWritable {
        path: PathBuf,
        below: PathBuf,
        mode: u32,
    },
    #[error("{path} changed while it was being checked; try again")]
    Changed { path: PathBuf },
    #[error("could not inspect {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Checks `dir` and everything above it; see the module's documentation.
pub fn check(dir: &Path) -> Result<(), NotPrivate> {
    let me = rustix::process::getuid().as_raw();
    let meta = check_itself(dir, me)?;
    check_the_same_when_opened(dir, &meta)?;
    let absolute = absolute(dir)?;
    let above = absolute.parent().unwrap_or(Path::new("/"));
    for ancestor in above.ancestors() {
        check_ancestor(ancestor, &absolute, me)?;
    }
    // Links on the way were checked as links; what they lead through is checked here.
    let resolved = std::fs::canonicalize(above).map_err(io(above))?;
    for ancestor in resolved.ancestors() {
        check_ancestor(ancestor, &absolute, me)?;
    }
    Ok(())
}

/// The directory itself: looked at with `lstat`, so a link is seen as a link.
fn check_itself(dir: &Path, me: u32) -> Result<std::fs::Metadata, NotPrivate> {
    let meta = std::fs::symlink_metadata(dir).map_err(io(dir))?;
    let path = dir.to_path_buf();
    if meta.file_type().is_symlink() {
        return Err(NotPrivate::Symlink { path });
    }
    if !meta.is_dir() {
        return Err(NotPrivate::NotADirectory { path });
    }
    if meta.uid() != me {
        return Err(NotPrivate::NotOwned {
            path,
            owner: meta.uid(),
        });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(NotPrivate::OpenToOthers { path, mode });
    }
    Ok(meta)
}

/// Opens the directory without following a link and checks, through the open handle (`fstat`),
/// that it is the one looked at: a swap between the look and the use is caught.
// `stat`'s field types differ between platforms (macOS: `i32` device, `u16` mode).
#[allow(clippy::useless_conversion)]
fn check_the_same_when_opened(dir: &Path, looked_at: &std::fs::Metadata) -> Result<(), NotPrivate> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let opened = rustix::fs::open(dir, flags, Mode::empty()).map_err(|e| io(dir)(e.into()))?;
    let stat = rustix::fs::fstat(&opened).map_err(|e| io(dir)(e.into()))?;
    let same = u64::try_from(stat.st_dev).ok() == Some(looked_at.dev())
        && u64::try_from(stat.st_ino).ok() == Some(looked_at.ino())
        && stat.st_uid == looked_at.uid()
        && u32::from(stat.st_mode) & 0o7777 == looked_at.mode() & 0o7777;
    if same {
        Ok(())
    } else {
        Err(NotPrivate::Changed {
            path: dir.to_path_buf(),
        })
    }
}

/// A directory (or link) above `below`.
fn check_ancestor(path: &Path, below: &Path, me: u32) -> Result<(), NotPrivate> {
    let meta = std::fs::symlink_metadata(path).map_err(io(path))?;
    let owner = meta.uid();
    if owner != 0 && owner != me {
        return Err(NotPrivate::AncestorNotOwned {
            path: path.to_path_buf(),
            below: below.to_path_buf(),
            owner,
        });
    }
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = meta.mode() & 0o7777;
    let sticky = mode & 0o1000 != 0;
    if mode & 0o022 != 0 && !sticky {
        return Err(NotPrivate::AncestorWritable {
            path: path.to_path_buf(),
            below: below.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

fn absolute(dir: &Path) -> Result<PathBuf, NotPrivate> {
    if dir.is_absolute() {
        return Ok(dir.to_path_buf());
    }
    let here = std::env::current_dir().map_err(io(dir))?;
    Ok(here.join(dir))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> NotPrivate + '_ {
    move |source| NotPrivate::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn private(path: &Path) {
        std::fs::create_dir_all(path).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
    }

    #[test]
    fn a_private_directory_under_private_ones_passes() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        private(&root.path().join("a"));
        private(&dir);
        check(&dir).unwrap();
    }

    #[test]
    fn a_directory_under_one_others_can_write_is_refused_naming_that_one() {
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        private(&shared);
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        let dir = shared.join("data");
        private(&dir);
        match check(&dir) {
            Err(NotPrivate::AncestorWritable { path, .. }) => assert_eq!(path, shared),
            other => panic!("{other:?}"),
        }
        // With the sticky bit (like /tmp) nobody else can rename what is ours in it.
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        check(&dir).unwrap();
    }

    #[test]
    fn a_directory_reached_through_a_link_to_an_open_place_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let open = root.path().join("open");
        private(&open);
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        private(&open.join("data"));
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        let err = check(&link.join("data")).unwrap_err();
        assert!(
            matches!(&err, NotPrivate::AncestorWritable { path, .. } if path.ends_with("open")),
            "{err:?}"
        );
    }

    #[test]
    fn the_directory_itself_as_a_link_or_open_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        private(&real);
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(check(&link), Err(NotPrivate::Symlink { .. })));
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o750)).unwrap();
        assert!(matches!(
            check(&real),
            Err(NotPrivate::OpenToOthers { mode: 0o750, .. })
        ));
    }

    /// Needs root to give a link to another user.
    #[test]
    fn a_link_on_the_way_that_belongs_to_someone_else_is_refused() {
        if rustix::process::getuid().as_raw() != 0 {
            eprintln!("SKIPPED: needs root to chown a link");
            return;
        }
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        private(&real);
        private(&real.join("data"));
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        std::os::unix::fs::lchown(&link, Some(65534), Some(65534)).unwrap();
        match check(&link.join("data")) {
            Err(NotPrivate::AncestorNotOwned { path, owner, .. }) => {
                assert_eq!((path, owner), (link, 65534));
            }
            other => panic!("{other:?}"),
        }
    }
}
