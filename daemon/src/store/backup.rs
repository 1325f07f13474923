//! What a backup reads from a running store, and what a restore builds a new one from.
//!
//! `snapshot` plus `journal` is always the whole store (see [`super::snapshot`]), and both hold
//! whole entries of ciphertext. A backup pins them: under the journal's lock it opens both and
//! notes the journal's length, and until the pin is dropped nothing rotates (a rotation would
//! overwrite them with zeros). Commits carry on meanwhile; they land after the noted length and
//! are not part of this backup. So a backup is the store at one instant, taken without stopping
//! writers for longer than two `open`s.
//!
//! A restore builds a store in an empty directory from such entries: applied to a new sled,
//! which is then made durable and snapshotted, with an empty journal.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::journal::{FRAME, Journal, MAX_ENTRY, decode_entry};
use super::{Handles, Op, StoreError, StoreOptions, apply, io_err, rotate, snapshot};

/// The snapshot and the journal of a store at one instant, read entry by entry.
pub struct Pinned {
    snapshot: Option<io::BufReader<File>>,
    journal: io::Take<io::BufReader<File>>,
    total_bytes: u64,
    pins: Arc<AtomicUsize>,
}

impl Pinned {
    /// Called with the journal's lock held.
    pub(super) fn open(
        dir: &Path,
        journal_len: u64,
        pins: Arc<AtomicUsize>,
    ) -> Result<Pinned, StoreError> {
        pins.fetch_add(1, Ordering::SeqCst);
        // From here on, dropping `pinned` (on any error below too) releases the pin.
        let mut pinned = Pinned {
            snapshot: None,
            journal: io::BufReader::new(open(&dir.join("journal"))?).take(journal_len),
            total_bytes: journal_len,
            pins,
        };
        let (path, _, _) = snapshot::paths(dir);
        match File::open(&path) {
            Ok(file) => {
                let len = file.metadata().map_err(io_err("read", &path))?.len();
                let mut reader = io::BufReader::with_capacity(1 << 20, file);
                let mut header = [0u8; snapshot::HEADER];
                reader
                    .read_exact(&mut header)
                    .map_err(io_err("read", &path))?;
                if snapshot::parse_header(&header).is_none() {
                    return Err(damaged(&path, "its header"));
                }
                pinned.total_bytes += len - snapshot::HEADER as u64;
                pinned.snapshot = Some(reader);
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(io_err("open", &path)(err)),
        }
        Ok(pinned)
    }

    /// The bytes of every entry together, for a progress bar.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// The next whole entry (`len | crc32 | body`, as the journal writes it), checked; `None`
    /// after the last one.
    pub fn next_entry(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(snapshot) = &mut self.snapshot {
            match read_entry(snapshot)? {
                Some(entry) => return Ok(Some(entry)),
                None => self.snapshot = None,
            }
        }
        read_entry(&mut self.journal)
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        self.pins.fetch_sub(1, Ordering::SeqCst);
    }
}

fn open(path: &Path) -> Result<File, StoreError> {
    File::open(path).map_err(io_err("open", path))
}

fn damaged(path: &Path, what: &str) -> StoreError {
    StoreError::Io {
        action: "read",
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, format!("{what} is damaged")),
    }
}

/// One entry, or `None` at a clean end. A torn or damaged entry is an error: a pinned store
/// holds only whole entries.
fn read_entry(reader: &mut impl Read) -> Result<Option<Vec<u8>>, StoreError> {
    let here = Path::new("the store");
    let mut frame = [0u8; FRAME];
    let mut got = 0;
    while got < FRAME {
        match reader.read(&mut frame[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(damaged(here, "an entry")),
            Ok(n) => got += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(io_err("read", here)(err)),
        }
    }
    let body_len = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
    if body_len > MAX_ENTRY {
        return Err(damaged(here, "an entry"));
    }
    let mut entry = Vec::with_capacity(FRAME + body_len);
    entry.extend_from_slice(&frame);
    entry.resize(FRAME + body_len, 0);
    reader
        .read_exact(&mut entry[FRAME..])
        .map_err(|_| damaged(here, "an entry"))?;
    if decode_entry(&entry, 0).is_none() {
        return Err(damaged(here, "an entry"));
    }
    Ok(Some(entry))
}

/// The ops of one whole entry as [`Pinned::next_entry`] gives it, or `None` when the bytes are
/// not exactly one valid entry.
pub fn decode_backup_entry(bytes: &[u8]) -> Option<Vec<Op>> {
    match decode_entry(bytes, 0)? {
        (ops, _, end) if end == bytes.len() => Some(ops),
        _ => None,
    }
}

/// A new store being filled from a backup's entries.
pub struct Builder {
    handles: Handles,
    journal: Journal,
    dir: std::path::PathBuf,
    records: usize,
}

impl Builder {
    /// Starts a store in `dir`, which must hold no store yet.
    pub fn new(dir: &Path, options: &StoreOptions) -> Result<Builder, StoreError> {
        for name in ["db", "journal", "snapshot"] {
            if dir.join(name).exists() {
                return Err(StoreError::Io {
                    action: "restore into",
                    path: dir.to_path_buf(),
                    source: io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        "it already holds a store",
                    ),
                });
            }
        }
        let db_path = dir.join("db");
        let handles = Handles::open(&db_path, options).map_err(|e| e.into_store_error(&db_path))?;
        let journal_path = dir.join("journal");
        let (journal, _) =
            Journal::open(&journal_path).map_err(io_err("create the journal", &journal_path))?;
        Ok(Builder {
            handles,
            journal,
            dir: dir.to_path_buf(),
            records: 0,
        })
    }

    pub fn apply(&mut self, ops: &[Op]) -> Result<(), StoreError> {
        apply(&self.handles.trees, ops)?;
        self.records += ops.len();
        Ok(())
    }

    /// Makes everything durable (sled synced, a snapshot written) and returns how many ops were
    /// applied.
    pub fn finish(mut self) -> Result<usize, StoreError> {
        rotate(&self.handles, &self.dir, &mut self.journal)?;
        Ok(self.records)
    }
}
