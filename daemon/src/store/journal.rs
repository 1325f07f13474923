//! The write-ahead journal that makes an acknowledged write durable.
//!
//! sled's own flush relies on `sync_file_range`, which does not survive a power cut, so every
//! commit is first appended here and `fdatasync`ed. An entry is
//! `len: u32 | crc32: u32 | seq: u64 | ops`, all little-endian; `crc32` covers `seq` and `ops`.
//! Values are already ciphertext, so the journal holds no client material in the clear. Replay
//! applies entries in order and is idempotent (puts and deletes of whole values). A torn tail
//! (short or failing its checksum) ends the replay and is cut off. A damaged entry with valid
//! entries after it is not a torn tail (a crash only ever tears the last write): the journal is
//! then copied aside whole before anything is cut, and the user is told.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{Op, Tree, write_zeros};

/// `len | crc32` before the body.
pub(super) const FRAME: usize = 4 + 4;
/// The smallest body: `seq | op count`.
const MIN_BODY: usize = 8 + 4;
/// Larger entries cannot come from a valid commit (values are capped far below this).
pub(super) const MAX_ENTRY: usize = 256 * 1024 * 1024;

pub struct Journal {
    file: File,
    len: u64,
    next_seq: u64,
}

/// Entries read back at start-up, in order.
pub struct Replay {
    pub entries: Vec<Vec<Op>>,
    /// Bytes cut off the end because the last entry was torn (or damaged).
    pub torn_bytes: u64,
    /// Where the whole journal was copied when valid entries followed a damaged one.
    pub kept_aside: Option<KeptAside>,
}

/// A journal copied aside because valid entries followed a damaged one.
#[derive(Debug, Clone)]
pub struct KeptAside {
    pub path: PathBuf,
    /// Valid entries found after the damaged one (not replayed: order cannot be vouched for).
    pub later_entries: usize,
}

impl Journal {
    /// Opens (or creates) the journal and reads every complete entry.
    pub fn open(path: &Path) -> io::Result<(Journal, Replay)> {
        // Not O_APPEND: truncation overwrites in place, and Linux `pwrite` ignores the offset
        // under O_APPEND.
        let existed = path.exists();
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        if !existed {
            // The new file's directory entry must be durable before anything in it is acked.
            File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let (entries, good_len, last_seq) = decode_all(&bytes);
        let torn_bytes = bytes.len() as u64 - good_len;
        let later_entries = count_valid_after(&bytes, good_len as usize, last_seq);
        let kept_aside = if later_entries > 0 {
            Some(KeptAside {
                path: copy_aside(path, &bytes)?,
                later_entries,
            })
        } else {
            None
        };
        if torn_bytes > 0 {
            file.set_len(good_len)?;
            file.sync_data()?;
        }
        file.seek(SeekFrom::Start(good_len))?;
        let journal = Journal {
            file,
            len: good_len,
            next_seq: last_seq + 1,
        };
        Ok((
            journal,
            Replay {
                entries,
                torn_bytes,
                kept_aside,
            },
        ))
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// Appends one entry per commit and makes them all durable with a single `fdatasync`.
    /// On failure the file is cut back to where it was, so a later success never follows garbage.
    /// An entry larger than replay accepts is refused before anything is written: it could be
    /// acknowledged but never replayed.
    pub fn append_durably(&mut self, commits: &[&[Op]]) -> io::Result<()> {
        let mut buf = Vec::new();
        let mut seq = self.next_seq;
        for ops in commits {
            let start = buf.len();
            encode_entry(&mut buf, seq, ops);
            if buf.len() - start - FRAME > MAX_ENTRY {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "a commit of {} bytes is over the journal's entry limit of {MAX_ENTRY}",
                        buf.len() - start
                    ),
                ));
            }
            seq += 1;
        }
        let written = self
            .file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += buf.len() as u64;
                self.next_seq = seq;
                Ok(())
            }
            Err(err) => {
                // Best effort: if even this fails, replay still stops at the torn entry.
                let len = self.len;
                let _ = self.file.set_len(len).and_then(|()| self.file.sync_data());
                let _ = self.file.seek(SeekFrom::Start(len));
                Err(err)
            }
        }
    }

    /// Empties the journal once everything in it is durable elsewhere. The old entries are
    /// overwritten first: freed blocks would otherwise keep deleted values on disk.
    pub fn truncate(&mut self) -> io::Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        self.file.seek(SeekFrom::Start(0))?;
        write_zeros(&mut self.file, self.len)?;
        self.file.sync_data()?;
        self.file.set_len(0)?;
        self.file.sync_data()?;
        self.file.seek(SeekFrom::Start(0))?;
        self.len = 0;
        Ok(())
    }
}

pub(super) fn encode_entry(buf: &mut Vec<u8>, seq: u64, ops: &[Op]) {
    let start = buf.len();
    buf.extend_from_slice(&[0; 8]);
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.extend_from_slice(&(ops.len() as u32).to_le_bytes());
    for op in ops {
        match op {
            Op::Put { tree, key, value } => {
                buf.push(*tree as u8);
                buf.push(0);
                put_bytes(buf, key);
                put_bytes(buf, value);
            }
            Op::Delete { tree, key } => {
                buf.push(*tree as u8);
                buf.push(1);
                put_bytes(buf, key);
            }
        }
    }
    let body_len = (buf.len() - start - 8) as u32;
    let crc = crc32fast::hash(&buf[start + 8..]);
    buf[start..start + 4].copy_from_slice(&body_len.to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    buf.extend_from_slice(bytes);
}

/// How many valid entries with later sequence numbers lie after a damaged entry at `from`. Only
/// offsets whose length and sequence number are plausible get their checksum computed.
fn count_valid_after(bytes: &[u8], from: usize, last_seq: u64) -> usize {
    let plausible = |pos: usize| {
        let Some(header) = bytes.get(pos..pos + FRAME + 8) else {
            return false;
        };
        let body_len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&header[FRAME..FRAME + 8]);
        let seq = u64::from_le_bytes(seq);
        (MIN_BODY..=MAX_ENTRY).contains(&body_len)
            && pos + FRAME + body_len <= bytes.len()
            && seq > last_seq
            && seq - last_seq <= 1 << 24
    };
    let mut count = 0;
    let mut pos = from + 1;
    while pos + FRAME + MIN_BODY <= bytes.len() {
        match plausible(pos).then(|| decode_entry(bytes, pos)).flatten() {
            Some((_, _, next)) => {
                count += 1;
                pos = next;
            }
            None => pos += 1,
        }
    }
    count
}

/// A durable copy of the journal's bytes beside it, `journal.damaged-<unix seconds>`.
fn copy_aside(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let aside = path.with_file_name(format!("journal.damaged-{stamp}"));
    let mut file = File::create(&aside)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()?;
    Ok(aside)
}

/// Returns the decoded entries, the length of the valid prefix and the last sequence number.
pub(super) fn decode_all(bytes: &[u8]) -> (Vec<Vec<Op>>, u64, u64) {
    let mut entries = Vec::new();
    let mut pos = 0;
    let mut last_seq = 0;
    while let Some((ops, seq, next)) = decode_entry(bytes, pos) {
        entries.push(ops);
        last_seq = seq;
        pos = next;
    }
    (entries, pos as u64, last_seq)
}

pub(super) fn decode_entry(bytes: &[u8], pos: usize) -> Option<(Vec<Op>, u64, usize)> {
    let header = bytes.get(pos..pos + FRAME)?;
    let body_len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[4..8].try_into().ok()?);
    if !(MIN_BODY..=MAX_ENTRY).contains(&body_len) {
        return None;
    }
    let body = bytes.get(pos + FRAME..pos + FRAME + body_len)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let mut reader = Reader {
        bytes: body,
        pos: 0,
    };
    let seq = u64::from_le_bytes(reader.take(8)?.try_into().ok()?);
    let count = reader.u32()?;
    let mut ops = Vec::with_capacity(count.min(1024) as usize);
    for _ in 0..count {
        let tree = Tree::from_id(reader.take(1)?[0])?;
        let kind = reader.take(1)?[0];
        let key = reader.bytes()?;
        ops.push(match kind {
            0 => Op::Put {
                tree,
                key,
                value: reader.bytes()?,
            },
            1 => Op::Delete { tree, key },
            _ => return None,
        });
    }
    Some((ops, seq, pos + FRAME + body_len))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let slice = self.bytes.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(slice)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        let len = self.u32()? as usize;
        Some(self.take(len)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn put(key: &[u8], value: &[u8]) -> Op {
        Op::Put {
            tree: Tree::Reflections,
            key: key.to_vec(),
            value: value.to_vec(),
        }
    }

    #[test]
    fn entries_come_back_in_order_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let (mut journal, replay) = Journal::open(&path).unwrap();
        assert!(replay.entries.is_empty());
        let first = [put(b"a", b"1")];
        let second = [
            put(b"b", b"2"),
            Op::Delete {
                tree: Tree::Meta,
                key: b"a".to_vec(),
            },
        ];
        journal.append_durably(&[&first, &second]).unwrap();
        drop(journal);
        let (_, replay) = Journal::open(&path).unwrap();
        assert_eq!(replay.entries, vec![first.to_vec(), second.to_vec()]);
    }

    #[test]
    fn a_torn_tail_is_cut_off_and_what_came_before_survives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let (mut journal, _) = Journal::open(&path).unwrap();
        journal.append_durably(&[&[put(b"kept", b"v")]]).unwrap();
        journal.append_durably(&[&[put(b"torn", b"v")]]).unwrap();
        let full = std::fs::metadata(&path).unwrap().len();
        let file = File::options().write(true).open(&path).unwrap();
        file.set_len(full - 3).unwrap();
        let (mut journal, replay) = Journal::open(&path).unwrap();
        assert_eq!(replay.entries, vec![vec![put(b"kept", b"v")]]);
        assert!(replay.torn_bytes > 0);
        journal.append_durably(&[&[put(b"after", b"v")]]).unwrap();
        let (_, replay) = Journal::open(&path).unwrap();
        assert_eq!(replay.entries.len(), 2);
    }

    #[test]
    fn a_flipped_byte_ends_the_replay_at_that_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let (mut journal, _) = Journal::open(&path).unwrap();
        journal
            .append_durably(&[&[put(b"a", b"one")], &[put(b"b", b"two")]])
            .unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        let (_, replay) = Journal::open(&path).unwrap();
        assert_eq!(replay.entries, vec![vec![put(b"a", b"one")]]);
    }

    #[test]
    fn valid_entries_after_a_damaged_one_are_copied_aside_not_cut_as_torn() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let (mut journal, _) = Journal::open(&path).unwrap();
        for entry in [b"one", b"two", b"six"] {
            journal.append_durably(&[&[put(entry, entry)]]).unwrap();
        }
        let mut bytes = std::fs::read(&path).unwrap();
        // Inside the second entry's key.
        let first_len = FRAME + MIN_BODY + 2 + 4 + 3 + 4 + 3;
        bytes[first_len + FRAME + 16] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (_, replay) = Journal::open(&path).unwrap();
        assert_eq!(replay.entries, vec![vec![put(b"one", b"one")]]);
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("journal.damaged-")
            })
            .collect();
        assert_eq!(aside.len(), 1, "the whole journal is kept aside");
        assert_eq!(std::fs::read(aside[0].path()).unwrap(), bytes);
    }
}
