//! Restoring a backup, offline, into a data directory no daemon is using.
//!
//! Nothing is written until the whole file has been read and every chunk authenticated with the
//! key the passphrase or recovery key opens. The new vault is then built in a hidden directory
//! beside the target (`.NAME.restoring-PID`), checked (the store opens, the secret opens its
//! vault header), and only then moved into place: by a rename when the target does not exist,
//! by an atomic exchange of the two directories when it does (`--replace`, or a directory that
//! holds no vault). Until that exchange the old directory is untouched; after it, the old vault
//! is removed (what is not part of it, such as `models/`, is carried over first, so the model
//! weights are not fetched again).
//! A failure at any point removes the hidden directory and leaves the target as it was.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::format::{self, Item, Opener};
use super::{BackupError, allowed_path};
use crate::store::{Builder, Op, Store, StoreOptions, Tree, decode_backup_entry};
use crate::vault::{self, Secret};

/// What a restore needs.
pub struct Request<'a> {
    pub file: &'a Path,
    pub data_dir: &'a Path,
    pub secret: &'a Secret,
    pub replace: bool,
    pub options: StoreOptions,
}

/// What was restored.
#[derive(Debug, Clone)]
pub struct Restored {
    pub entries: u64,
    pub files: u64,
    pub reflections: usize,
    pub sessions: usize,
    /// An existing vault was replaced.
    pub replaced: bool,
    pub created_at: i64,
}

/// Files and directories of a data directory that make up a vault.
const VAULT_PARTS: &[&str] = &["db", "journal", "snapshot", "vault-header.json"];

/// Whether an entry of a directory being replaced goes with the old vault: the store's files
/// (and their damaged or unfinished copies), the lock, and whatever the backup brings its own of.
/// Everything else (the models, the runtime directory) is carried over to the restored one.
fn replaced_with_the_vault(name: &str) -> bool {
    [
        "db",
        "journal",
        "snapshot",
        "vault-header",
        "interluded.lock",
    ]
    .iter()
    .any(|part| name.starts_with(part))
        || super::FILES.contains(&name)
}

/// Whether `dir` holds a vault (or what is left of one).
pub fn holds_vault(dir: &Path) -> bool {
    VAULT_PARTS.iter().any(|part| dir.join(part).exists())
}

/// Restores `request.file` into `request.data_dir`. `progress` gets the bytes read so far and
/// the total (the file is read twice: once to check it, once to write it).
pub fn run(
    request: &Request<'_>,
    mut progress: impl FnMut(u64, u64),
) -> Result<Restored, BackupError> {
    let target = request.data_dir;
    let exists = target.exists();
    let had_vault = exists && holds_vault(target);
    let _lock = if exists {
        if had_vault && !request.replace {
            return Err(BackupError::ExistingVault(target.to_path_buf()));
        }
        claim(target)?
    } else {
        None
    };
    let file_len = std::fs::metadata(request.file)
        .map_err(BackupError::Read)?
        .len();
    let total = file_len * 2;
    // First pass: the secret, then every chunk; nothing is written.
    let (header, lines) = format::read_header(&mut open(request.file)?)?;
    let keys = vault::open_offline(&header.vault_header_bytes()?, request.secret)?;
    let mut reader = open(request.file)?;
    format::read_header(&mut reader)?;
    let mut opener = Opener::new(reader, &header, &lines, &keys.data)?;
    read_body(&mut opener, |_, read| {
        progress(read, total);
        Ok(())
    })?;
    // Second pass: into the hidden directory beside the target.
    let staging = staging_path(target)?;
    let built = build(request, &header, &lines, &keys, &staging, |read| {
        progress(file_len + read, total)
    });
    let restored = match built {
        Ok(restored) => restored,
        Err(err) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(err);
        }
    };
    move_into_place(&staging, target, exists)?;
    Ok(Restored {
        replaced: had_vault,
        created_at: header.created_at,
        ..restored
    })
}

/// Reads every item up to the end, checking each; `on_item` gets each one with the ciphertext
/// bytes read so far. Returns the number of entries and files.
pub fn read_body<R: std::io::Read>(
    opener: &mut Opener<R>,
    mut on_item: impl FnMut(Item, u64) -> Result<(), BackupError>,
) -> Result<(u64, u64), BackupError> {
    let (mut entries, mut files) = (0u64, 0u64);
    loop {
        let item = format::next_item(&mut |buf: &mut [u8]| opener.read_exact(buf))?;
        match &item {
            Item::Entry(entry) => {
                if decode_backup_entry(entry).is_none() {
                    return Err(BackupError::BadBody);
                }
                entries += 1;
            }
            Item::File { path, .. } => {
                if !allowed_path(path) {
                    return Err(BackupError::BadPath(path.chars().take(80).collect()));
                }
                files += 1;
            }
            Item::End {
                entries: expected_entries,
                files: expected_files,
            } => {
                if (*expected_entries, *expected_files) != (entries, files) {
                    return Err(BackupError::BadBody);
                }
                opener.expect_end()?;
                return Ok((entries, files));
            }
        }
        on_item(item, opener.read)?;
    }
}

/// Builds the vault in `staging` and checks it.
fn build(
    request: &Request<'_>,
    header: &format::Header,
    lines: &[u8],
    keys: &vault::Keys,
    staging: &Path,
    mut progress: impl FnMut(u64),
) -> Result<Restored, BackupError> {
    create_private_dir(staging)?;
    let mut builder = Builder::new(staging, &request.options)?;
    let mut reader = open(request.file)?;
    format::read_header(&mut reader)?;
    let mut opener = Opener::new(reader, header, lines, &keys.data)?;
    let mut vault_header = None;
    let (entries, files) = read_body(&mut opener, |item, read| {
        match item {
            Item::Entry(entry) => {
                let ops = decode_backup_entry(&entry).ok_or(BackupError::BadBody)?;
                for op in &ops {
                    if let Op::Put {
                        tree: Tree::Meta,
                        key,
                        value,
                    } = op
                        && key == vault::HEADER_KEY
                    {
                        vault_header = Some(value.clone());
                    }
                }
                builder.apply(&ops)?;
            }
            Item::File { path, bytes } => write_file(&staging.join(&path), &bytes)?,
            Item::End { .. } => {}
        }
        progress(read);
        Ok(())
    })?;
    builder.finish()?;
    // The vault as the store holds it: the secret must open it too (a passphrase changed
    // between the header and the instant of the backup would otherwise be a surprise).
    let vault_header = vault_header.ok_or(BackupError::BadBody)?;
    vault::open_offline(&vault_header, request.secret)?;
    write_file(&staging.join("vault-header.json"), &vault_header)?;
    let (store, _) = Store::open(staging, &request.options)?;
    let (reflections, sessions) = (store.len(Tree::Reflections), store.len(Tree::Sessions));
    store.close()?;
    drop(store);
    sync_dir(staging)?;
    Ok(Restored {
        entries,
        files,
        reflections,
        sessions,
        replaced: false,
        created_at: 0,
    })
}

/// Swaps the built vault in. Until the exchange the target is untouched.
fn move_into_place(staging: &Path, target: &Path, exists: bool) -> Result<(), BackupError> {
    let parent = parent_of(target);
    if !exists {
        std::fs::rename(staging, target).map_err(|source| {
            let _ = std::fs::remove_dir_all(staging);
            io("move the restored vault to", target, source)
        })?;
        return sync_dir(&parent);
    }
    let mut carried = Vec::new();
    let entries = std::fs::read_dir(target).map_err(|e| io("read", target, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(text) = name.to_str() else { continue };
        let (from, to) = (target.join(&name), staging.join(&name));
        if !replaced_with_the_vault(text) && !to.exists() && std::fs::rename(&from, &to).is_ok() {
            carried.push((from, to));
        }
    }
    let exchanged = rustix::fs::renameat_with(
        rustix::fs::CWD,
        staging,
        rustix::fs::CWD,
        target,
        rustix::fs::RenameFlags::EXCHANGE,
    );
    if let Err(err) = exchanged {
        for (from, to) in carried {
            let _ = std::fs::rename(&to, &from);
        }
        let _ = std::fs::remove_dir_all(staging);
        return Err(io("swap the restored vault with", target, err.into()));
    }
    sync_dir(&parent)?;
    // `staging` now names the old directory.
    std::fs::remove_dir_all(staging).map_err(|e| io("remove the replaced vault at", staging, e))
}

/// The target's own lock: a daemon holds it while it runs (and made it when it started, so a
/// directory without one has no daemon; none is created here, so a refusal writes nothing).
fn claim(target: &Path) -> Result<Option<File>, BackupError> {
    let path = target.join("interluded.lock");
    let file = match File::options().write(true).open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("open", &path, e)),
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(BackupError::DaemonRunning(target.to_path_buf()))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(io("lock", &path, e)),
    }
}

fn staging_path(target: &Path) -> Result<PathBuf, BackupError> {
    let name = target
        .file_name()
        .ok_or_else(|| BackupError::Internal(format!("{} names no directory", target.display())))?;
    let staging = parent_of(target).join(format!(
        ".{}.restoring-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| io("remove", &staging, e))?;
    }
    Ok(staging)
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn create_private_dir(dir: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(|e| io("create", dir, e))
}

/// A file of the data directory, 0600, its directories 0700.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| io("create", dir, e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io("create", path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| io("write", path, e))
}

fn open(path: &Path) -> Result<BufReader<File>, BackupError> {
    File::open(path)
        .map(|f| BufReader::with_capacity(1 << 20, f))
        .map_err(BackupError::Read)
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("sync", dir, e))
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> BackupError {
    BackupError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
