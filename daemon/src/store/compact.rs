//! Compaction: makes removed values gone from disk rather than merely unreachable.
//!
//! sled is log-structured: a removed value stays in its old segment until that space is reused.
//! So a deletion is followed by a rewrite: the live records are copied into `db.compact`, which
//! replaces `db` by two renames, and the old files are overwritten with zeros before they are
//! removed. At every moment there is one complete database: if `db` is missing at start-up,
//! `db.compact` was finished and is taken; otherwise a `db.compact` is an unfinished copy and is
//! dropped. A leftover `db.old` is shredded at start-up. The copy is then snapshotted (see
//! [`super::snapshot`]), which replaces the old snapshot and empties the journal, both of which
//! may hold the removed values.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::journal::Journal;
use super::{
    Handles, Shared, StoreError, StoreOptions, Tree, current, fsync_tree, io_err, rotate,
    write_zeros,
};

/// How long to wait for readers of the old database before leaving it for the next start.
const READERS_GRACE: Duration = Duration::from_secs(10);

pub(super) fn run(
    shared: &Shared,
    dir: &Path,
    options: &StoreOptions,
    journal: &mut Journal,
) -> Result<u64, StoreError> {
    let (live, staging, old) = (dir.join("db"), dir.join("db.compact"), dir.join("db.old"));
    let previous = current(shared);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io_err("remove", &staging))?;
    }
    copy_live_records(&previous, &staging, options)?;
    std::fs::rename(&live, &old).map_err(io_err("move aside", &live))?;
    std::fs::rename(&staging, &live).map_err(io_err("move into place", &staging))?;
    sync_dir(dir)?;
    let fresh = Handles::open(&live, options).map_err(|e| e.into_store_error(&live))?;
    let fresh = Arc::new(fresh);
    *shared.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
    // The copy holds everything the journal does: a new snapshot of it replaces the old one
    // (overwritten with zeros) and the journal is emptied (overwritten too).
    let snapshot_bytes = rotate(&fresh, dir, journal)?;
    drop(fresh);
    if wait_for_readers(previous) {
        shred_dir(&old)?;
    } else {
        tracing::warn!(
            "the old database is still being read; it will be shredded at the next start"
        );
    }
    Ok(snapshot_bytes)
}

/// Run before opening: completes or discards what a crash interrupted.
pub(super) fn finish_interrupted(dir: &Path) -> Result<(), StoreError> {
    let (live, staging, old) = (dir.join("db"), dir.join("db.compact"), dir.join("db.old"));
    if staging.exists() {
        if live.exists() {
            std::fs::remove_dir_all(&staging).map_err(io_err("remove the unfinished", &staging))?;
        } else {
            std::fs::rename(&staging, &live).map_err(io_err("move into place", &staging))?;
            sync_dir(dir)?;
        }
    }
    if old.exists() {
        shred_dir(&old)?;
    }
    Ok(())
}

fn copy_live_records(from: &Handles, to: &Path, options: &StoreOptions) -> Result<(), StoreError> {
    let fresh = Handles::open(to, options).map_err(|e| e.into_store_error(to))?;
    for tree in Tree::ALL {
        let (source, target) = (&from.trees[tree as usize], &fresh.trees[tree as usize]);
        for item in source.iter() {
            let (key, value) = item?;
            target.insert(key, value)?;
        }
    }
    fresh.db.flush()?;
    drop(fresh);
    fsync_tree(to).map_err(io_err("sync", to))
}

/// True once nobody else holds the old handles (then they are closed).
fn wait_for_readers(mut handles: Arc<Handles>) -> bool {
    let deadline = Instant::now() + READERS_GRACE;
    loop {
        match Arc::try_unwrap(handles) {
            Ok(only) => {
                drop(only);
                return true;
            }
            Err(shared) if Instant::now() < deadline => {
                handles = shared;
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(_) => return false,
        }
    }
}

/// Overwrites every file with zeros, syncs, and removes the directory.
fn shred_dir(dir: &Path) -> Result<(), StoreError> {
    for path in files_in(dir).map_err(io_err("list", dir))? {
        overwrite_with_zeros(&path).map_err(io_err("overwrite", &path))?;
    }
    std::fs::remove_dir_all(dir).map_err(io_err("remove", dir))?;
    sync_dir(dir.parent().unwrap_or(Path::new(".")))
}

fn overwrite_with_zeros(path: &Path) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    let len = file.metadata()?.len();
    write_zeros(&mut file, len)?;
    file.sync_all()
}

fn files_in(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            files.extend(files_in(&entry.path())?);
        } else {
            files.push(entry.path());
        }
    }
    Ok(files)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync", dir))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::{Op, Store, StoreOptions, Tree};

    fn store_with_one_record(dir: &std::path::Path) {
        let (store, _) = Store::open(dir, &StoreOptions::default()).unwrap();
        let put = Op::Put {
            tree: Tree::Reflections,
            key: b"k".to_vec(),
            value: b"v".to_vec(),
        };
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(store.commit(vec![put]))
            .unwrap();
        store.close().unwrap();
    }

    fn reopen_and_read(dir: &std::path::Path) -> Option<Vec<u8>> {
        let (store, _) = Store::open(dir, &StoreOptions::default()).unwrap();
        let value = store.get(Tree::Reflections, b"k").unwrap();
        store.close().unwrap();
        value
    }

    #[test]
    fn a_crash_between_the_two_renames_keeps_the_finished_copy() {
        let dir = tempfile::tempdir().unwrap();
        store_with_one_record(dir.path());
        std::fs::rename(dir.path().join("db"), dir.path().join("db.compact")).unwrap();
        std::fs::create_dir(dir.path().join("db.old")).unwrap();
        std::fs::write(dir.path().join("db.old/db"), b"old segments").unwrap();
        assert_eq!(reopen_and_read(dir.path()), Some(b"v".to_vec()));
        assert!(!dir.path().join("db.compact").exists() && !dir.path().join("db.old").exists());
    }

    #[test]
    fn a_crash_while_copying_drops_the_unfinished_copy() {
        let dir = tempfile::tempdir().unwrap();
        store_with_one_record(dir.path());
        std::fs::create_dir(dir.path().join("db.compact")).unwrap();
        std::fs::write(dir.path().join("db.compact/db"), b"half a copy").unwrap();
        assert_eq!(reopen_and_read(dir.path()), Some(b"v".to_vec()));
        assert!(!dir.path().join("db.compact").exists());
    }

    #[test]
    fn compaction_keeps_every_live_record_and_drops_removed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for i in 0..100u8 {
            let put = Op::Put {
                tree: Tree::Sessions,
                key: vec![i],
                value: vec![i; 100],
            };
            runtime.block_on(store.commit(vec![put])).unwrap();
        }
        runtime
            .block_on(store.commit(vec![Op::Delete {
                tree: Tree::Sessions,
                key: vec![7],
            }]))
            .unwrap();
        runtime.block_on(store.compact()).unwrap();
        assert_eq!(store.len(Tree::Sessions), 99);
        assert_eq!(store.get(Tree::Sessions, &[8]).unwrap(), Some(vec![8; 100]));
        assert_eq!(store.get(Tree::Sessions, &[7]).unwrap(), None);
        store.close().unwrap();
    }
}
