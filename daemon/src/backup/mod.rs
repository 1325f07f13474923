//! Backups: an encrypted, authenticated copy of the whole vault, made by the running daemon
//! while it carries on writing, and restored offline into a data directory.
//!
//! A backup is the store at one instant (see [`crate::store::Pinned`]: every record, already
//! ciphertext, exactly as stored) and the data directory's plugin files, sealed under a key
//! derived from the data key ([`format`]). Restoring ([`restore`]) needs the passphrase or the
//! recovery key, checks the whole file before it writes anything, builds the new vault beside
//! its target and only then moves it into place.

pub mod format;
pub mod restore;

use std::path::{Component, Path};

use crate::crypto::CryptoError;
use crate::error::Error;
use crate::store::{Store, StoreError};
use crate::vault::Keys;
use format::{Item, Sealer, encode_item};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("it is not an Interlude backup: it looks like {0}; nothing was restored")]
    Foreign(&'static str),
    #[error("its header is damaged, so it cannot be read; nothing was restored")]
    DamagedHeader,
    #[error(
        "it is damaged: the bytes after byte {at} fail their authentication check (changed, or not from this vault); nothing was restored"
    )]
    Damaged { at: u64 },
    #[error(
        "it is truncated: it ends before its last part; nothing was restored. Copy it again from where it was made"
    )]
    Truncated,
    #[error("it has unexpected bytes after its end; nothing was restored")]
    Trailing,
    #[error("its contents are not laid out as Interlude writes them; nothing was restored")]
    BadBody,
    #[error("it names a file outside the places a backup restores (`{0}`); nothing was restored")]
    BadPath(String),
    #[error("could not read it: {0}")]
    Read(std::io::Error),
    #[error(transparent)]
    Vault(#[from] Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(
        "{0} already holds a vault; pass --replace to replace it with the backup (it is kept until the restored vault is in place), or restore into another --data-dir"
    )]
    ExistingVault(std::path::PathBuf),
    #[error(
        "interluded is running for {0}; stop it first (`systemctl --user stop interluded`, or end the `interluded` you started): a restore never writes under a running daemon"
    )]
    DaemonRunning(std::path::PathBuf),
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("the backup was stopped: {0}")]
    Stopped(&'static str),
    #[error("{0}")]
    Internal(String),
}

/// Files of the data directory a backup carries besides the store: the installed plugins, the
/// trusted keys, which plugins are off, and the safety plan's copy readable while locked.
pub const FILES: &[&str] = &[
    "plugins",
    "trusted-keys",
    "plugin-settings.toml",
    "safety-plan-readable-while-locked.json",
];

/// Whether `path` (relative, `/`-separated) lies under one of [`FILES`] without leaving it.
pub fn allowed_path(path: &str) -> bool {
    let path = Path::new(path);
    let mut components = path.components();
    let Some(Component::Normal(first)) = components.next() else {
        return false;
    };
    FILES.iter().any(|f| first == *f)
        && components.all(|c| matches!(c, Component::Normal(_)))
        && !path.as_os_str().is_empty()
}

/// What a backup held.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    pub entries: u64,
    pub files: u64,
    pub bytes: u64,
}

/// Makes a backup of `store` and the data directory's plugin files, handing the ciphertext to
/// `send` as it is made with the plaintext bytes read so far and the total expected. `send`
/// returns `false` when nobody wants more (the client went away, the daemon is stopping).
pub fn make(
    store: &Store,
    data_dir: &Path,
    keys: &Keys,
    vault_header: &[u8],
    mut send: impl FnMut(Vec<u8>, u64, u64) -> bool,
) -> Result<Summary, BackupError> {
    let mut pinned = store.pin_for_backup()?;
    let files = collect_files(data_dir)?;
    let total = pinned.total_bytes() + files.iter().map(|(_, b)| b.len() as u64).sum::<u64>();
    let (mut sealer, lines) = Sealer::new(&keys.data, vault_header)?;
    let mut summary = Summary {
        bytes: lines.len() as u64,
        ..Summary::default()
    };
    let mut done = 0u64;
    let mut ship = |out: Vec<u8>, done: u64, summary: &mut Summary| {
        summary.bytes += out.len() as u64;
        if send(out, done, total) {
            Ok(())
        } else {
            Err(BackupError::Stopped("nobody is reading it any more"))
        }
    };
    ship(lines, 0, &mut Summary::default())?;
    let mut plain = Vec::new();
    while let Some(entry) = pinned.next_entry()? {
        done += entry.len() as u64;
        plain.clear();
        encode_item(&Item::Entry(entry), &mut plain);
        sealer.write(&plain)?;
        summary.entries += 1;
        let out = sealer.take();
        if !out.is_empty() {
            ship(out, done, &mut summary)?;
        }
    }
    // Everything of the store is read: rotations may run again.
    drop(pinned);
    for (path, bytes) in files {
        done += bytes.len() as u64;
        plain.clear();
        encode_item(&Item::File { path, bytes }, &mut plain);
        sealer.write(&plain)?;
        summary.files += 1;
    }
    plain.clear();
    encode_item(
        &Item::End {
            entries: summary.entries,
            files: summary.files,
        },
        &mut plain,
    );
    sealer.write(&plain)?;
    let rest = sealer.finish()?;
    ship(rest, done, &mut summary)?;
    Ok(summary)
}

/// Every regular file under [`FILES`] in `data_dir`, by its relative path. Symbolic links are
/// not followed.
fn collect_files(data_dir: &Path) -> Result<Vec<(String, Vec<u8>)>, BackupError> {
    let mut files = Vec::new();
    for name in FILES {
        walk(data_dir, Path::new(name), &mut files)?;
    }
    Ok(files)
}

fn walk(
    root: &Path,
    relative: &Path,
    files: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), BackupError> {
    let path = root.join(relative);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(read_error(&path, err)),
    };
    if meta.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(&path)
            .map_err(|e| read_error(&path, e))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort();
        for name in names {
            walk(root, &relative.join(name), files)?;
        }
    } else if meta.is_file() {
        let Some(text) = relative.to_str().filter(|t| allowed_path(t)) else {
            tracing::warn!("a file with a name that is not UTF-8 was left out of the backup");
            return Ok(());
        };
        let bytes = std::fs::read(&path).map_err(|e| read_error(&path, e))?;
        files.push((text.to_owned(), bytes));
    }
    Ok(())
}

fn read_error(path: &Path, err: std::io::Error) -> BackupError {
    BackupError::Internal(format!("could not read {}: {err}", path.display()))
}

/// The fuzz target's entry: any bytes, read as a backup file (opened with a fixed key, as
/// though the passphrase were right) and as a body's plaintext; neither may panic.
#[doc(hidden)]
pub fn fuzz_backup(bytes: &[u8]) {
    let key = zeroize::Zeroizing::new([7u8; crate::crypto::KEY_LEN]);
    let mut reader = bytes;
    if let Ok((header, lines)) = format::read_header(&mut reader) {
        let _ = header.vault_header_bytes();
        if let Ok(mut opener) = format::Opener::new(reader, &header, &lines, &key) {
            let _ = restore::read_body(&mut opener, |_, _| Ok(()));
        }
    }
    let mut plain = bytes;
    let mut read_exact = |buf: &mut [u8]| {
        std::io::Read::read_exact(&mut plain, buf).map_err(|_| BackupError::Truncated)
    };
    for _ in 0..10_000 {
        match format::next_item(&mut read_exact) {
            Ok(Item::Entry(entry)) => {
                let _ = crate::store::decode_backup_entry(&entry);
            }
            Ok(Item::File { path, .. }) => {
                let _ = allowed_path(&path);
            }
            Ok(Item::End { .. }) | Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::{Op, StoreOptions, Tree};

    fn corpus() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/backup")
    }

    /// A backup of a small real store under the fuzz target's key, with a plugin file.
    fn sample(records: u8) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for n in 0..records {
            let put = Op::Put {
                tree: Tree::Reflections,
                key: vec![n; 16],
                value: vec![n; 40],
            };
            runtime.block_on(store.commit(vec![put])).unwrap();
        }
        std::fs::write(dir.path().join("plugin-settings.toml"), "disabled = []\n").unwrap();
        let keys = Keys {
            data: zeroize::Zeroizing::new([7u8; crate::crypto::KEY_LEN]),
            secret: x25519_dalek::StaticSecret::from([1u8; 32]),
        };
        let mut file = Vec::new();
        make(&store, dir.path(), &keys, b"{}", |bytes, _, _| {
            file.extend_from_slice(&bytes);
            true
        })
        .unwrap();
        store.close().unwrap();
        file
    }

    /// Run by hand to refresh the seeds: `cargo test -p interlude-daemon --lib
    /// backup::tests::write_the_fuzz_seeds -- --ignored`.
    #[test]
    #[ignore]
    fn write_the_fuzz_seeds() {
        std::fs::create_dir_all(corpus()).unwrap();
        let small = sample(3);
        let seeds: Vec<(&str, Vec<u8>)> = vec![
            ("seed-empty-store", sample(0)),
            ("seed-three-records", small.clone()),
            ("seed-truncated", small[..small.len() - 5].to_vec()),
            ("seed-header-only", {
                let end = small.iter().enumerate().filter(|(_, b)| **b == b'\n');
                small[..end.clone().nth(2).unwrap().0 + 1].to_vec()
            }),
            ("seed-plain-items", {
                let mut plain = Vec::new();
                format::encode_item(
                    &Item::File {
                        path: "plugins/cbt/plugin.toml".into(),
                        bytes: b"schema_version = 1\n".to_vec(),
                    },
                    &mut plain,
                );
                format::encode_item(
                    &Item::End {
                        entries: 0,
                        files: 1,
                    },
                    &mut plain,
                );
                plain
            }),
        ];
        for (name, bytes) in seeds {
            std::fs::write(corpus().join(name), bytes).unwrap();
        }
    }

    #[test]
    fn the_fuzz_key_opens_a_sample_backup_whole() {
        let file = sample(5);
        let key = zeroize::Zeroizing::new([7u8; crate::crypto::KEY_LEN]);
        let mut reader = file.as_slice();
        let (header, lines) = format::read_header(&mut reader).unwrap();
        let mut opener = format::Opener::new(reader, &header, &lines, &key).unwrap();
        let (entries, files) = restore::read_body(&mut opener, |_, _| Ok(())).unwrap();
        assert!(entries >= 1);
        assert_eq!(files, 1);
    }

    /// The fuzz corpus replayed as an ordinary test: any bytes are read or refused, never a
    /// panic.
    #[test]
    fn every_backup_fuzz_input_is_read_or_refused_without_a_panic() {
        let inputs: Vec<_> = std::fs::read_dir(corpus())
            .expect("a corpus")
            .flatten()
            .collect();
        assert!(!inputs.is_empty());
        for input in inputs {
            fuzz_backup(&std::fs::read(input.path()).unwrap());
        }
    }

    #[test]
    fn only_plugin_files_may_be_restored() {
        assert!(allowed_path("plugins/cbt/plugin.toml"));
        assert!(allowed_path("plugin-settings.toml"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "plugins/../../x",
            "db/conf",
            "journal",
            "vault-header.json",
        ] {
            assert!(!allowed_path(bad), "{bad}");
        }
    }
}
