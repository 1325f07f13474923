//! The snapshot: every live record, so the journal can be emptied without trusting sled's own
//! crash recovery.
//!
//! sled 0.34.7 sometimes refuses its own files after a SIGKILL ("Read corrupted data"). The
//! journal alone cannot rebuild it once it has been emptied, so the journal is emptied only at a
//! rotation: sled is flushed and synced, every record it holds (already ciphertext) is written to
//! `snapshot.tmp` in the journal's entry format, synced, and renamed over `snapshot`; only then
//! is the journal cut. `snapshot` plus `journal` is therefore always the whole store.
//!
//! Each rotation raises a generation number kept both in sled's `meta` tree and in the
//! snapshot's header. At start-up a sled that opens but is older than the snapshot (it lost
//! flushed writes) is not trusted: it is rebuilt like one that does not open.
//!
//! The file is `MAGIC | generation: u64 | entries`; a crash between the renames is finished at
//! start-up, and a replaced snapshot is overwritten with zeros before it is removed (it may hold
//! deleted values).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::journal::{decode_all, encode_entry};
use super::{Handles, Op, StoreError, Tree, io_err, write_zeros};

pub(super) const MAGIC: &[u8; 8] = b"ILSNAP01";
pub(super) const HEADER: usize = MAGIC.len() + 8;
/// Records per entry are gathered up to about this many bytes.
const ENTRY_BYTES: usize = 1024 * 1024;
/// The rotation counter in the `meta` tree. Holds no client material.
pub(super) const GENERATION_KEY: &[u8] = b"store.generation";

/// A snapshot read back at start-up.
pub(super) struct Snapshot {
    pub generation: u64,
    /// Put ops of every record, in batches.
    pub entries: Vec<Vec<Op>>,
    /// Bytes after the last readable entry (damage); zero for a sound snapshot.
    pub damaged_bytes: u64,
}

pub(super) fn paths(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        dir.join("snapshot"),
        dir.join("snapshot.tmp"),
        dir.join("snapshot.old"),
    )
}

/// The generation sled holds (0 when it never rotated).
pub(super) fn sled_generation(handles: &Handles) -> Result<u64, StoreError> {
    Ok(handles.trees[Tree::Meta as usize]
        .get(GENERATION_KEY)?
        .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0))
}

pub(super) fn set_sled_generation(handles: &Handles, generation: u64) -> Result<(), StoreError> {
    handles.trees[Tree::Meta as usize].insert(GENERATION_KEY, &generation.to_le_bytes())?;
    Ok(())
}

/// The generation in the snapshot's header, without reading the rest; `None` when there is no
/// snapshot (or its header is unreadable).
pub(super) fn generation(dir: &Path) -> Result<Option<u64>, StoreError> {
    use std::io::Read;
    let (path, _, _) = paths(dir);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_err("open", &path)(err)),
    };
    let mut header = [0u8; HEADER];
    match file.read_exact(&mut header) {
        Ok(()) => Ok(parse_header(&header)),
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(err) => Err(io_err("read", &path)(err)),
    }
}

pub(super) fn parse_header(bytes: &[u8]) -> Option<u64> {
    if bytes.get(..MAGIC.len())? != MAGIC {
        return None;
    }
    let generation = bytes.get(MAGIC.len()..HEADER)?;
    Some(u64::from_le_bytes(generation.try_into().ok()?))
}

/// The snapshot's size in bytes (0 when there is none).
pub(super) fn len(dir: &Path) -> Result<u64, StoreError> {
    let (path, _, _) = paths(dir);
    match std::fs::metadata(&path) {
        Ok(meta) => Ok(meta.len()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(err) => Err(io_err("read", &path)(err)),
    }
}

/// Renames a damaged snapshot to `snapshot.damaged-<unix seconds>` and returns where it is.
pub(super) fn keep_aside(dir: &Path) -> Result<PathBuf, StoreError> {
    let (path, _, _) = paths(dir);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let kept_at = dir.join(format!("snapshot.damaged-{stamp}"));
    std::fs::rename(&path, &kept_at).map_err(io_err("move aside", &path))?;
    sync_dir(dir)?;
    Ok(kept_at)
}

/// Reads the whole snapshot; `None` when there is none.
pub(super) fn read(dir: &Path) -> Result<Option<Snapshot>, StoreError> {
    let (path, _, _) = paths(dir);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_err("read", &path)(err)),
    };
    let Some(generation) = parse_header(&bytes) else {
        return Ok(Some(Snapshot {
            generation: 0,
            entries: Vec::new(),
            damaged_bytes: bytes.len() as u64,
        }));
    };
    let (entries, good_len, _) = decode_all(&bytes[HEADER..]);
    Ok(Some(Snapshot {
        generation,
        entries,
        damaged_bytes: (bytes.len() - HEADER) as u64 - good_len,
    }))
}

/// Writes every record of `handles` (but the generation key) as the snapshot of `generation`,
/// durably, replacing the previous one. Returns the snapshot's size.
pub(super) fn write(dir: &Path, handles: &Handles, generation: u64) -> Result<u64, StoreError> {
    let (path, staging, old) = paths(dir);
    let len = write_staging(&staging, handles, generation)?;
    if path.exists() {
        std::fs::rename(&path, &old).map_err(io_err("move aside", &path))?;
    }
    std::fs::rename(&staging, &path).map_err(io_err("move into place", &staging))?;
    sync_dir(dir)?;
    if old.exists() {
        shred(&old)?;
    }
    Ok(len)
}

fn write_staging(staging: &Path, handles: &Handles, generation: u64) -> Result<u64, StoreError> {
    let file = File::create(staging).map_err(io_err("create", staging))?;
    let mut out = BufWriter::new(file);
    let mut written = 0u64;
    let mut emit = |out: &mut BufWriter<File>, seq: u64, ops: &[Op]| -> io::Result<()> {
        let mut buf = Vec::new();
        encode_entry(&mut buf, seq, ops);
        written += buf.len() as u64;
        out.write_all(&buf)
    };
    let header = {
        let mut h = MAGIC.to_vec();
        h.extend_from_slice(&generation.to_le_bytes());
        h
    };
    out.write_all(&header).map_err(io_err("write", staging))?;
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    let mut seq = 1;
    for tree in Tree::ALL {
        for item in handles.trees[tree as usize].iter() {
            let (key, value) = item?;
            if tree == Tree::Meta && key.as_ref() == GENERATION_KEY {
                continue;
            }
            batch_bytes += key.len() + value.len() + 16;
            batch.push(Op::Put {
                tree,
                key: key.to_vec(),
                value: value.to_vec(),
            });
            if batch_bytes >= ENTRY_BYTES {
                emit(&mut out, seq, &batch).map_err(io_err("write", staging))?;
                seq += 1;
                batch.clear();
                batch_bytes = 0;
            }
        }
    }
    if !batch.is_empty() {
        emit(&mut out, seq, &batch).map_err(io_err("write", staging))?;
    }
    let file = out
        .into_inner()
        .map_err(|e| io_err("write", staging)(e.into_error()))?;
    file.sync_all().map_err(io_err("sync", staging))?;
    Ok(HEADER as u64 + written)
}

/// Run before opening: completes or discards a replacement a crash interrupted. A staged
/// snapshot is complete (synced) once the old one has been moved aside; before that the journal
/// still holds everything since the old one, so the staged copy is dropped.
pub(super) fn finish_interrupted(dir: &Path) -> Result<(), StoreError> {
    let (path, staging, old) = paths(dir);
    if staging.exists() {
        if !path.exists() && old.exists() {
            std::fs::rename(&staging, &path).map_err(io_err("move into place", &staging))?;
            sync_dir(dir)?;
        } else {
            shred(&staging)?;
        }
    }
    if old.exists() {
        if path.exists() {
            shred(&old)?;
        } else {
            std::fs::rename(&old, &path).map_err(io_err("move back", &old))?;
            sync_dir(dir)?;
        }
    }
    Ok(())
}

/// Overwrites the file with zeros, syncs, and removes it.
fn shred(path: &Path) -> Result<(), StoreError> {
    let zeroed = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
        let len = file.metadata()?.len();
        write_zeros(&mut file, len)?;
        file.sync_all()
    })();
    zeroed.map_err(io_err("overwrite", path))?;
    std::fs::remove_file(path).map_err(io_err("remove", path))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync", dir))
}
