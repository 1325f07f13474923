//! The only owner of sled: trees, key layout, schema version, durability.
//!
//! Every write goes through [`Store::commit`], which returns only once the write is durable
//! across a power cut (see [`journal`]); concurrent commits share one `fdatasync` (see
//! [`committer`]). Reads go straight to sled, which already holds every acknowledged write.
//! Values arrive here already encrypted; keys never hold client material.

mod backup;
mod committer;
mod compact;
mod journal;
mod migrate;
mod snapshot;

use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use committer::Committer;
use journal::Journal;

pub use backup::{Builder, Pinned, decode_backup_entry};
pub use migrate::SCHEMA_VERSION;

/// The journal's replay decoder on any bytes (for the fuzz target and its corpus replay):
/// how many complete commits it reads.
#[doc(hidden)]
pub fn fuzz_journal(bytes: &[u8]) -> usize {
    journal::decode_all(bytes).0.len()
}

/// The sled trees. The number is the tree's id in the journal and must never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tree {
    /// Schema version and the vault's wrapped keys.
    Meta = 0,
    /// ULID → encrypted reflection (with its history).
    Reflections = 1,
    /// ULID → reflection sealed to the vault's public key while it was locked.
    Sealed = 2,
    /// ULID → encrypted therapy session.
    Sessions = 3,
    /// ULID → encrypted vocabulary term.
    Vocabulary = 4,
    /// The encrypted safety plan.
    Safety = 5,
    /// The check-in scheduler's state, sealed to the vault's public key.
    CheckIns = 6,
    /// Derived, rebuildable embeddings: reflection ULID (16 bytes) or session ULID + insight
    /// index (18 bytes) → encrypted vector.
    Vectors = 7,
    /// Session-prep drafts (0x01 + ULID) and the record of their exports (0x02 + ULID),
    /// encrypted.
    Prep = 8,
    /// Access tokens: token ULID → its name, scopes, times and the SHA-256 of its secret (no
    /// client material; readable while locked, so a capture token works then too).
    Tokens = 9,
    /// The audit trail: sequence number (big-endian u64) → entry sealed to the vault's public
    /// key, chained to the one before by a keyed hash.
    Audit = 10,
}

impl Tree {
    /// In id order: `ALL[id]` is the tree with that id.
    const ALL: [Tree; 11] = [
        Tree::Meta,
        Tree::Reflections,
        Tree::Sealed,
        Tree::Sessions,
        Tree::Vocabulary,
        Tree::Safety,
        Tree::CheckIns,
        Tree::Vectors,
        Tree::Prep,
        Tree::Tokens,
        Tree::Audit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tree::Meta => "meta",
            Tree::Reflections => "reflections",
            Tree::Sealed => "sealed",
            Tree::Sessions => "sessions",
            Tree::Vocabulary => "vocabulary",
            Tree::Safety => "safety",
            Tree::CheckIns => "checkins",
            Tree::Vectors => "vectors",
            Tree::Prep => "prep",
            Tree::Tokens => "tokens",
            Tree::Audit => "audit",
        }
    }

    fn from_id(id: u8) -> Option<Tree> {
        Tree::ALL.get(usize::from(id)).copied()
    }
}

/// One change inside a commit. A commit's ops are replayed together or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put {
        tree: Tree,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        tree: Tree,
        key: Vec<u8>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the database failed: {0}")]
    Sled(#[from] sled::Error),
    #[error("the write could not be made durable ({0}); nothing was saved. Is the disk full?")]
    NotDurable(std::io::Error),
    #[error("the store is closed; the daemon is shutting down")]
    Closed,
    #[error(
        "the data in {path} was written by a newer interluded (schema {found}, this one knows up to {known}); install the newer version"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
}

/// What opening found that the user should be told about.
#[derive(Debug, Clone)]
pub enum Notice {
    DamagedDatabaseMovedAside {
        moved_to: PathBuf,
        reason: String,
        /// Records restored from the snapshot.
        restored: usize,
        /// Journal entries replayed after them.
        replayed: usize,
        /// Where a damaged snapshot was kept (only its readable part was restored).
        snapshot_damaged: Option<PathBuf>,
    },
    DamagedJournalKeptAside {
        kept_at: PathBuf,
        replayed: usize,
        later_entries: usize,
    },
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::DamagedDatabaseMovedAside {
                moved_to,
                reason,
                restored,
                replayed,
                snapshot_damaged,
            } => {
                write!(
                    f,
                    "the database could not be used ({reason}); it was moved to {} and rebuilt from the snapshot \
                     ({restored} records) and the journal ({replayed} later writes).",
                    moved_to.display()
                )?;
                match snapshot_damaged {
                    None => write!(
                        f,
                        " Nothing acknowledged was lost; the old folder can be deleted once you have checked your timeline."
                    ),
                    Some(kept_at) => write!(
                        f,
                        " The snapshot itself was damaged, so records may be missing: keep {} and the old folder for a later repair.",
                        kept_at.display()
                    ),
                }
            }
            Notice::DamagedJournalKeptAside {
                kept_at,
                replayed,
                later_entries,
            } => write!(
                f,
                "an entry in the journal was damaged; the {replayed} entries before it were replayed, and the \
                 {later_entries} after it could not be applied safely. The whole journal was kept at {}: keep it, \
                 it holds those writes (encrypted) for a later repair.",
                kept_at.display()
            ),
        }
    }
}

/// Key/value pairs read from a tree, in key order.
pub type Entries = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + Send>;

#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    handles: Shared,
    committer: Arc<Committer>,
}

/// The open database. Compaction swaps in a new one; a reader keeps the one it started with.
struct Handles {
    db: sled::Db,
    trees: Vec<sled::Tree>,
}

type Shared = Arc<RwLock<Arc<Handles>>>;

fn current(shared: &Shared) -> Arc<Handles> {
    shared.read().unwrap_or_else(|p| p.into_inner()).clone()
}

impl Handles {
    fn open(path: &Path, options: &StoreOptions) -> Result<Handles, OpenError> {
        let db = open_sled(path, options)?;
        let trees = Tree::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<Result<Vec<_>, _>>();
        Ok(Handles {
            trees: trees.map_err(|e| OpenError::Damaged(e.to_string()))?,
            db,
        })
    }
}

/// A journal smaller than this is left for the next rotation at start-up, whatever the snapshot.
const MIN_START_ROTATION: u64 = 1024 * 1024;

/// Tuning that tests and the benchmark may change.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// sled's page cache, bytes.
    pub cache_bytes: u64,
    /// The journal is folded into sled (and emptied) once it grows past this.
    pub checkpoint_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_bytes: 8 * 1024 * 1024,
            checkpoint_bytes: 16 * 1024 * 1024,
        }
    }
}

impl Store {
    /// Opens the store under `dir` (`dir/db` for sled, `dir/journal`), replays the journal and
    /// brings the schema up to date. A database sled cannot open is moved aside, never deleted.
    pub fn open(dir: &Path, options: &StoreOptions) -> Result<(Store, Vec<Notice>), StoreError> {
        let db_path = dir.join("db");
        let journal_path = dir.join("journal");
        let (journal, replay) =
            Journal::open(&journal_path).map_err(io_err("open the journal", &journal_path))?;
        if replay.torn_bytes > 0 {
            tracing::warn!(
                bytes = replay.torn_bytes,
                "cut a torn, unacknowledged entry off the journal"
            );
        }
        compact::finish_interrupted(dir)?;
        snapshot::finish_interrupted(dir)?;
        let mut notices = Vec::new();
        if let Some(aside) = &replay.kept_aside {
            tracing::error!(
                kept_at = %aside.path.display(),
                later_entries = aside.later_entries,
                "valid journal entries followed a damaged one; the journal was copied aside"
            );
            notices.push(Notice::DamagedJournalKeptAside {
                kept_at: aside.path.clone(),
                replayed: replay.entries.len(),
                later_entries: aside.later_entries,
            });
        }
        let snapshot_generation = snapshot::generation(dir)?;
        let (handles, rebuilt) = match open_trusted(&db_path, options, snapshot_generation) {
            Ok(handles) => (handles, false),
            Err(OpenError::Failed(err)) => return Err(err),
            Err(OpenError::Damaged(reason)) => {
                let (handles, notice) = rebuild(dir, options, reason, replay.entries.len())?;
                notices.push(notice);
                (handles, true)
            }
        };
        // A new `db` (or one renamed aside) is durable only once its directory entry is.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err("sync", dir))?;
        // Records sled holds before the journal is replayed: a store from before snapshots,
        // whose journal was emptied without one, or one whose sled wrote on its own.
        let had_records = handles.trees.iter().any(|tree| !tree.is_empty());
        let replayed = replay.entries.len();
        for ops in replay.entries {
            apply(&handles.trees, &ops)?;
        }
        if replayed > 0 {
            tracing::info!(entries = replayed, "replayed the journal");
        }
        let mut journal = journal;
        // Records in sled but in no snapshot (a store written before snapshots), or a rebuild:
        // everything is made durable and snapshotted now, before any new write. So is a journal
        // larger than the snapshot: the next start then replays less. A new store needs none
        // (its journal holds everything until the first rotation), and skipping the flush keeps
        // sled's I/O threads, which wake every second once started, asleep.
        let snapshot_bytes = snapshot::len(dir)?;
        let snapshot_bytes = if (snapshot_generation.is_none() && had_records)
            || rebuilt
            || journal.len() > snapshot_bytes.max(MIN_START_ROTATION)
        {
            rotate(&handles, dir, &mut journal)?
        } else {
            snapshot_bytes
        };
        let handles: Shared = Arc::new(RwLock::new(Arc::new(handles)));
        let committer = Arc::new(Committer::new(
            handles.clone(),
            dir.to_path_buf(),
            options.clone(),
            journal,
            snapshot_bytes,
        ));
        let store = Store {
            inner: Arc::new(Inner { handles, committer }),
        };
        migrate::run(&store, dir)?;
        Ok((store, notices))
    }

    pub fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(current(&self.inner.handles).trees[tree as usize]
            .get(key)?
            .map(|v| v.to_vec()))
    }

    /// Key/value pairs in `range`, ascending or descending by key.
    pub fn range<R>(&self, tree: Tree, range: R, descending: bool) -> Entries
    where
        R: RangeBounds<Vec<u8>>,
    {
        let handles = current(&self.inner.handles);
        let iter = handles.trees[tree as usize].range(range);
        // Holding the handles tells compaction this database is still being read.
        let to_pair = move |item: sled::Result<(sled::IVec, sled::IVec)>| {
            let _reading = &handles;
            item.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(StoreError::from)
        };
        if descending {
            Box::new(iter.rev().map(to_pair))
        } else {
            Box::new(iter.map(to_pair))
        }
    }

    pub fn len(&self, tree: Tree) -> usize {
        current(&self.inner.handles).trees[tree as usize].len()
    }

    /// Applies `ops` atomically and returns once they are durable.
    pub async fn commit(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        self.inner.committer.commit(ops).await
    }

    /// Rewrites the database so that removed values are gone from disk, not just unreachable:
    /// the live records are copied into a new database, the old files are overwritten with zeros
    /// and removed, and so is the journal's content. Takes time proportional to the data.
    pub async fn compact(&self) -> Result<(), StoreError> {
        self.inner.committer.compact().await
    }

    /// The store at this instant, for a backup to read while commits carry on (see
    /// [`Pinned`]). Nothing rotates until it is dropped.
    pub fn pin_for_backup(&self) -> Result<Pinned, StoreError> {
        self.inner.committer.pin()
    }

    /// Folds the journal into sled and makes sled durable. Later commits fail with
    /// [`StoreError::Closed`].
    pub fn close(&self) -> Result<(), StoreError> {
        self.inner.committer.close()
    }
}

fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// sled panics on some kinds of damage; both a panic and an error mean "cannot open".
/// Why sled could not open a database.
enum OpenError {
    /// What is on disk is not a readable database.
    Damaged(String),
    /// The database may be fine: it is locked, not permitted, or the disk failed.
    Failed(StoreError),
}

impl OpenError {
    fn into_store_error(self, path: &Path) -> StoreError {
        match self {
            OpenError::Failed(err) => err,
            OpenError::Damaged(reason) => StoreError::Io {
                action: "open",
                path: path.to_path_buf(),
                source: std::io::Error::other(reason),
            },
        }
    }
}

/// How long to wait for sled's lock while a store closed in this process finishes its last
/// write: sled's I/O threads hold the files for a moment after a flush returns. (Another daemon
/// for the same directory is refused before this, by the instance lock.)
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// sled panics on some kinds of damage, so a panic counts as damage too.
fn open_sled(path: &Path, options: &StoreOptions) -> Result<sled::Db, OpenError> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match open_sled_once(path, options) {
            Err(OpenError::Failed(StoreError::Io { source, .. }))
                if is_lock_held(&source) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

fn is_lock_held(err: &std::io::Error) -> bool {
    err.kind() == std::io::ErrorKind::WouldBlock
        || err.to_string().contains("could not acquire lock")
}

fn open_sled_once(path: &Path, options: &StoreOptions) -> Result<sled::Db, OpenError> {
    use std::io::ErrorKind;
    // No periodic flush: the journal makes writes durable and checkpoints flush sled. sled's
    // own flusher would only add an fsync every half second, busy or idle.
    let config = sled::Config::new()
        .path(path)
        .cache_capacity(options.cache_bytes)
        .flush_every_ms(None);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open())) {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(sled::Error::Io(err)))
            if !matches!(
                err.kind(),
                ErrorKind::UnexpectedEof | ErrorKind::InvalidData
            ) =>
        {
            Err(OpenError::Failed(StoreError::Io {
                action: "open the database at",
                path: path.to_path_buf(),
                source: err,
            }))
        }
        Ok(Err(err)) => Err(OpenError::Damaged(err.to_string())),
        Err(_) => Err(OpenError::Damaged(
            "the database engine crashed while reading it".to_string(),
        )),
    }
}

fn move_aside(db_path: &Path) -> Result<PathBuf, StoreError> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let moved_to = db_path.with_file_name(format!("db.damaged-{stamp}"));
    std::fs::rename(db_path, &moved_to)
        .map_err(io_err("move the damaged database aside from", db_path))?;
    Ok(moved_to)
}

fn apply(trees: &[sled::Tree], ops: &[Op]) -> Result<(), sled::Error> {
    for op in ops {
        match op {
            Op::Put { tree, key, value } => {
                trees[*tree as usize].insert(key.as_slice(), value.as_slice())?;
            }
            Op::Delete { tree, key } => {
                trees[*tree as usize].remove(key.as_slice())?;
            }
        }
    }
    Ok(())
}

/// Makes everything sled holds durable (its flush alone is not: `sync_file_range`).
fn flush(handles: &Handles, db_path: &Path) -> Result<(), StoreError> {
    handles.db.flush()?;
    fsync_tree(db_path).map_err(io_err("sync", db_path))
}

/// Makes sled durable under a new generation, writes the snapshot of it, and only then empties
/// the journal, whose entries both now hold. Returns the snapshot's size.
fn rotate(handles: &Handles, dir: &Path, journal: &mut Journal) -> Result<u64, StoreError> {
    let generation = snapshot::sled_generation(handles)? + 1;
    snapshot::set_sled_generation(handles, generation)?;
    flush(handles, &dir.join("db"))?;
    let len = snapshot::write(dir, handles, generation)?;
    journal.truncate().map_err(StoreError::NotDurable)?;
    Ok(len)
}

/// Opens sled if it opens and is at least as new as the snapshot; a sled older than the
/// snapshot lost writes it had flushed and counts as damaged.
fn open_trusted(
    db_path: &Path,
    options: &StoreOptions,
    snapshot_generation: Option<u64>,
) -> Result<Handles, OpenError> {
    let handles = Handles::open(db_path, options)?;
    let held =
        snapshot::sled_generation(&handles).map_err(|e| OpenError::Damaged(e.to_string()))?;
    match snapshot_generation {
        Some(expected) if held < expected => Err(OpenError::Damaged(format!(
            "it is older than its snapshot (generation {held}, snapshot {expected})"
        ))),
        _ => Ok(handles),
    }
}

/// Moves the damaged database aside and starts a new one from the snapshot; the journal is
/// replayed on top by the caller.
fn rebuild(
    dir: &Path,
    options: &StoreOptions,
    reason: String,
    replayed: usize,
) -> Result<(Handles, Notice), StoreError> {
    let db_path = dir.join("db");
    let moved_to = move_aside(&db_path)?;
    tracing::error!(moved_to = %moved_to.display(), %reason, "database damaged; moved aside");
    let handles = Handles::open(&db_path, options).map_err(|e| e.into_store_error(&db_path))?;
    let mut restored = 0;
    let mut snapshot_damaged = None;
    if let Some(snapshot) = snapshot::read(dir)? {
        for ops in &snapshot.entries {
            apply(&handles.trees, ops)?;
            restored += ops.len();
        }
        snapshot::set_sled_generation(&handles, snapshot.generation)?;
        if snapshot.damaged_bytes > 0 {
            let kept_at = snapshot::keep_aside(dir)?;
            tracing::error!(kept_at = %kept_at.display(), bytes = snapshot.damaged_bytes, "the snapshot is damaged; its readable part was restored");
            snapshot_damaged = Some(kept_at);
        }
    }
    Ok((
        handles,
        Notice::DamagedDatabaseMovedAside {
            moved_to,
            reason,
            restored,
            replayed,
            snapshot_damaged,
        },
    ))
}

/// Writes `len` zero bytes at the file's current position.
fn write_zeros(file: &mut std::fs::File, len: u64) -> std::io::Result<()> {
    use std::io::Write;
    let zeros = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    Ok(())
}

fn fsync_tree(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            fsync_tree(&entry.path())?;
        } else {
            std::fs::File::open(entry.path())?.sync_all()?;
        }
    }
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The journal fuzz corpus replayed as an ordinary test: any bytes decode without a panic.
    #[test]
    fn every_journal_fuzz_input_decodes_without_a_panic() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/journal");
        let inputs: Vec<_> = std::fs::read_dir(&dir)
            .expect("a corpus")
            .flatten()
            .collect();
        assert!(!inputs.is_empty());
        for input in inputs {
            super::fuzz_journal(&std::fs::read(input.path()).expect("readable"));
        }
    }

    #[test]
    fn every_tree_is_listed_at_its_own_id() {
        for (id, tree) in Tree::ALL.iter().enumerate() {
            assert_eq!(*tree as usize, id);
            assert_eq!(Tree::from_id(id as u8), Some(*tree));
        }
        assert_eq!(Tree::from_id(Tree::ALL.len() as u8), None);
    }

    fn put(n: u32) -> Op {
        Op::Put {
            tree: Tree::Sessions,
            key: n.to_be_bytes().to_vec(),
            value: vec![n as u8; 200],
        }
    }

    /// Rotates (snapshot, journal emptied) after every commit.
    fn rotating() -> StoreOptions {
        StoreOptions {
            checkpoint_bytes: 1,
            ..StoreOptions::default()
        }
    }

    fn commit_all(store: &Store, range: std::ops::Range<u32>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for n in range {
            runtime.block_on(store.commit(vec![put(n)])).unwrap();
        }
    }

    fn assert_all_present(store: &Store, range: std::ops::Range<u32>) {
        for n in range {
            assert_eq!(
                store.get(Tree::Sessions, &n.to_be_bytes()).unwrap(),
                Some(vec![n as u8; 200]),
                "record {n} was acknowledged and is missing"
            );
        }
    }

    fn ruin(db: &Path) {
        for entry in std::fs::read_dir(db).unwrap().flatten() {
            if entry.file_type().unwrap().is_file() {
                let len = entry.metadata().unwrap().len() as usize;
                std::fs::write(entry.path(), vec![0xA5; len.max(64)]).unwrap();
            }
        }
    }

    /// sled 0.34.7 sometimes refuses its own files after a SIGKILL. Records it held when the
    /// journal was emptied must come back from the snapshot.
    #[test]
    fn records_in_a_database_sled_refuses_are_rebuilt_from_the_snapshot_and_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), &rotating()).unwrap();
        commit_all(&store, 0..40);
        store.close().unwrap();
        drop(store);
        // Some writes only in the journal, on top of the rotated ones.
        let (store, _) = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        commit_all(&store, 40..50);
        drop(store);
        ruin(&dir.path().join("db"));
        let (store, notices) = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        assert_all_present(&store, 0..50);
        assert_eq!(store.len(Tree::Sessions), 50);
        let told = notices.iter().map(|n| n.to_string()).collect::<String>();
        assert!(told.contains("rebuilt from the snapshot"), "{told}");
        store.close().unwrap();
        drop(store);
        let (store, notices) = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        assert!(notices.is_empty(), "the rebuilt store opens cleanly");
        assert_all_present(&store, 0..50);
        store.close().unwrap();
    }

    /// A sled that opens but lost writes it had flushed (older than the snapshot) is rebuilt too.
    #[test]
    fn a_database_older_than_its_snapshot_is_rebuilt_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), &rotating()).unwrap();
        commit_all(&store, 0..5);
        store.close().unwrap();
        drop(store);
        let stale = dir.path().join("stale-copy");
        copy_dir(&dir.path().join("db"), &stale);
        let (store, _) = Store::open(dir.path(), &rotating()).unwrap();
        commit_all(&store, 5..30);
        store.close().unwrap();
        drop(store);
        std::fs::remove_dir_all(dir.path().join("db")).unwrap();
        std::fs::rename(&stale, dir.path().join("db")).unwrap();
        let (store, notices) = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        assert_all_present(&store, 0..30);
        assert!(!notices.is_empty(), "the user is told");
        store.close().unwrap();
    }

    /// A crash between moving the old snapshot aside and moving the new one into place.
    #[test]
    fn a_snapshot_replacement_interrupted_between_its_renames_is_finished() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), &rotating()).unwrap();
        commit_all(&store, 0..20);
        store.close().unwrap();
        drop(store);
        let snapshot = dir.path().join("snapshot");
        std::fs::copy(&snapshot, dir.path().join("snapshot.tmp")).unwrap();
        std::fs::rename(&snapshot, dir.path().join("snapshot.old")).unwrap();
        ruin(&dir.path().join("db"));
        let (store, _) = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        assert_all_present(&store, 0..20);
        assert!(snapshot.exists());
        assert!(!dir.path().join("snapshot.tmp").exists());
        assert!(!dir.path().join("snapshot.old").exists());
        store.close().unwrap();
    }

    /// A backup reads the store at one instant: what is committed after the pin is not in it,
    /// and no rotation (which overwrites the snapshot and the journal) runs while it reads.
    #[test]
    fn a_pinned_store_reads_as_it_was_while_commits_carry_on_without_rotating() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), &rotating()).unwrap();
        commit_all(&store, 0..10);
        let snapshot_before = std::fs::read(dir.path().join("snapshot")).unwrap();
        let mut pinned = store.pin_for_backup().unwrap();
        commit_all(&store, 10..20);
        assert_eq!(
            std::fs::read(dir.path().join("snapshot")).unwrap(),
            snapshot_before,
            "no rotation while pinned"
        );
        let mut seen = std::collections::BTreeMap::new();
        while let Some(entry) = pinned.next_entry().unwrap() {
            for op in decode_backup_entry(&entry).unwrap() {
                if let Op::Put { tree, key, value } = op {
                    seen.insert((tree as u8, key), value);
                }
            }
        }
        let sessions: Vec<_> = seen
            .keys()
            .filter(|(t, _)| *t == Tree::Sessions as u8)
            .collect();
        assert_eq!(sessions.len(), 10, "exactly the ten commits before the pin");
        drop(pinned);
        commit_all(&store, 20..21);
        assert_ne!(
            std::fs::read(dir.path().join("snapshot")).unwrap(),
            snapshot_before,
            "rotations resume once the pin is dropped"
        );
        // What was read builds a store of its own.
        let restored = tempfile::tempdir().unwrap();
        let mut builder = Builder::new(restored.path(), &StoreOptions::default()).unwrap();
        for ((tree, key), value) in seen {
            let tree = Tree::from_id(tree).unwrap();
            builder.apply(&[Op::Put { tree, key, value }]).unwrap();
        }
        builder.finish().unwrap();
        let (copy, notices) = Store::open(restored.path(), &StoreOptions::default()).unwrap();
        assert!(notices.is_empty());
        assert_all_present(&copy, 0..10);
        assert_eq!(copy.len(Tree::Sessions), 10);
        copy.close().unwrap();
        store.close().unwrap();
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &to.join(entry.file_name()));
            } else {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }

    #[test]
    fn a_database_held_by_someone_else_is_an_error_and_is_not_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let second = Store::open(dir.path(), &StoreOptions::default());
        assert!(second.is_err(), "sled's lock refuses a second opener");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(
            !names
                .iter()
                .any(|n| n.to_string_lossy().starts_with("db.damaged")),
            "{names:?}"
        );
        first.close().unwrap();
    }
}
