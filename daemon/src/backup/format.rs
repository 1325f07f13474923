//! The backup file: a readable first line, a readable JSON header, then the body in
//! authenticated chunks.
//!
//! ```text
//! interlude-backup/v1\n
//! {"created_at":…,"daemon_version":…,"salt":…,"nonce_prefix":…,"vault_header":…}\n
//! SHA-256 of the JSON line (hex)\n
//! chunk*   chunk = u32 LE (ciphertext length | 1 << 31 on the last) | ciphertext
//! ```
//!
//! The header holds only what `vault-header.json` holds (the data key wrapped by the passphrase
//! and by the recovery key) plus a random salt and nonce prefix. The body key is
//! HKDF-SHA256(salt, data key, "interlude/backup/v1"): whoever can open the vault can open its
//! backups, and nobody else can make one that opens. The body is cut into chunks of 256 KiB, each
//! XChaCha20-Poly1305 with nonce `prefix (19) | counter (u32 BE) | last (1)` and the SHA-256 of
//! the header lines as associated data (the STREAM construction, as in age): a changed byte
//! anywhere, chunks swapped or dropped, a file cut short, or a header changed are all refused.
//! The checksum line is for accidents only (anyone can recompute it): a damaged header is said
//! to be damaged rather than read as a wrong passphrase.
//!
//! The plaintext body is a sequence of items: `E | u32 len | entry` (a store entry as the
//! journal writes it), `F | u16 len | path | u32 len | bytes` (a file of the data directory),
//! and last `Z | u64 entries | u64 files`.

use std::io::{self, Read};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::BackupError;
use crate::crypto::{self, Key};

pub const FIRST_LINE: &[u8] = b"interlude-backup/v1\n";
/// Plaintext bytes per chunk.
pub const CHUNK: usize = 256 * 1024;
const TAG: usize = 16;
const LAST: u32 = 1 << 31;
const PREFIX: usize = 19;
const BODY_KEY_INFO: &[u8] = b"interlude/backup/v1";
/// A header line longer than this is not one Interlude wrote.
const MAX_HEADER: usize = 64 * 1024;

pub const ITEM_ENTRY: u8 = b'E';
pub const ITEM_FILE: u8 = b'F';
pub const ITEM_END: u8 = b'Z';

/// The readable header. Nothing in it is secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub daemon_version: String,
    /// Hex, 32 bytes.
    pub salt: String,
    /// Hex, 19 bytes.
    pub nonce_prefix: String,
    /// Hex of the vault header as stored.
    pub vault_header: String,
}

impl Header {
    pub fn new(vault_header: &[u8]) -> Result<(Header, [u8; 32], [u8; PREFIX]), BackupError> {
        let salt = crypto::random_bytes::<32>()?;
        let prefix = crypto::random_bytes::<PREFIX>()?;
        Ok((
            Header {
                created_at: crate::domain::now_millis(),
                daemon_version: env!("CARGO_PKG_VERSION").to_owned(),
                salt: crypto::hex(&salt),
                nonce_prefix: crypto::hex(&prefix),
                vault_header: crypto::hex(vault_header),
            },
            salt,
            prefix,
        ))
    }

    /// The header lines as written.
    pub fn to_bytes(&self) -> Result<Vec<u8>, BackupError> {
        let json = serde_json::to_vec(self).map_err(|e| BackupError::Internal(e.to_string()))?;
        let mut out = FIRST_LINE.to_vec();
        out.extend_from_slice(&json);
        out.push(b'\n');
        out.extend_from_slice(crypto::hex(&Sha256::digest(&json)).as_bytes());
        out.push(b'\n');
        Ok(out)
    }

    pub fn vault_header_bytes(&self) -> Result<Vec<u8>, BackupError> {
        unhex(&self.vault_header).ok_or(BackupError::DamagedHeader)
    }

    fn salt(&self) -> Result<[u8; 32], BackupError> {
        unhex(&self.salt)
            .and_then(|b| b.try_into().ok())
            .ok_or(BackupError::DamagedHeader)
    }

    fn prefix(&self) -> Result<[u8; PREFIX], BackupError> {
        unhex(&self.nonce_prefix)
            .and_then(|b| b.try_into().ok())
            .ok_or(BackupError::DamagedHeader)
    }
}

/// The body key for a header's salt.
pub fn body_key(data_key: &Key, salt: &[u8; 32]) -> Key {
    crypto::derive(salt, data_key.as_slice(), BODY_KEY_INFO)
}

fn nonce(prefix: &[u8; PREFIX], counter: u32, last: bool) -> [u8; 24] {
    let mut nonce = [0u8; 24];
    nonce[..PREFIX].copy_from_slice(prefix);
    nonce[PREFIX..PREFIX + 4].copy_from_slice(&counter.to_be_bytes());
    nonce[23] = u8::from(last);
    nonce
}

/// Cuts plaintext into sealed chunks; the caller takes the ciphertext as it comes.
pub struct Sealer {
    key: Key,
    prefix: [u8; PREFIX],
    ad: [u8; 32],
    counter: u32,
    pending: Vec<u8>,
    out: Vec<u8>,
}

impl Sealer {
    /// Returns the sealer and the header lines to write first.
    pub fn new(data_key: &Key, vault_header: &[u8]) -> Result<(Sealer, Vec<u8>), BackupError> {
        let (header, salt, prefix) = Header::new(vault_header)?;
        let lines = header.to_bytes()?;
        Ok((
            Sealer {
                key: body_key(data_key, &salt),
                prefix,
                ad: Sha256::digest(&lines).into(),
                counter: 0,
                pending: Vec::with_capacity(CHUNK),
                out: Vec::new(),
            },
            lines,
        ))
    }

    pub fn write(&mut self, mut bytes: &[u8]) -> Result<(), BackupError> {
        while !bytes.is_empty() {
            let room = CHUNK - self.pending.len();
            let n = room.min(bytes.len());
            self.pending.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.pending.len() == CHUNK {
                self.seal(false)?;
            }
        }
        Ok(())
    }

    /// Ciphertext sealed so far and not yet taken.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Seals what is left as the last chunk and returns the rest of the ciphertext.
    pub fn finish(mut self) -> Result<Vec<u8>, BackupError> {
        self.seal(true)?;
        Ok(self.out)
    }

    fn seal(&mut self, last: bool) -> Result<(), BackupError> {
        let nonce = nonce(&self.prefix, self.counter, last);
        let sealed = crypto::aead_seal(&self.key, &nonce, &self.pending, &self.ad)?;
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| BackupError::Internal("the backup is too large".into()))?;
        let word = sealed.len() as u32 | if last { LAST } else { 0 };
        self.out.extend_from_slice(&word.to_le_bytes());
        self.out.extend_from_slice(&sealed);
        self.pending.clear();
        Ok(())
    }
}

/// Reads both header lines. A file that is not a backup is named for what it looks like.
pub fn read_header(reader: &mut impl Read) -> Result<(Header, Vec<u8>), BackupError> {
    let mut first = vec![0u8; FIRST_LINE.len()];
    let got = read_up_to(reader, &mut first)?;
    first.truncate(got);
    if first != FIRST_LINE {
        return Err(BackupError::Foreign(looks_like(&first)));
    }
    let line = read_line(reader)?;
    let check = read_line(reader)?;
    if check != crypto::hex(&Sha256::digest(&line)).as_bytes() {
        return Err(BackupError::DamagedHeader);
    }
    let header: Header = serde_json::from_slice(&line).map_err(|_| BackupError::DamagedHeader)?;
    let mut lines = first;
    for part in [&line, &check] {
        lines.extend_from_slice(part);
        lines.push(b'\n');
    }
    Ok((header, lines))
}

/// One line without its `\n`; the file ending first is truncation.
fn read_line(reader: &mut impl Read) -> Result<Vec<u8>, BackupError> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if read_up_to(reader, &mut byte)? == 0 {
            return Err(BackupError::Truncated);
        }
        if byte[0] == b'\n' {
            return Ok(line);
        }
        line.push(byte[0]);
        if line.len() > MAX_HEADER {
            return Err(BackupError::DamagedHeader);
        }
    }
}

/// What a file that is not a backup seems to be, from its first bytes.
fn looks_like(start: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(start);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with("interlude-backup/") {
        "a backup in a format this Interlude does not know (made by a newer version?)"
    } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
        "JSON, perhaps an export (bring one in with `interlude import FILE`)"
    } else if trimmed.starts_with("age-encryption.org/") || trimmed.starts_with("-----BEGIN AGE") {
        "an age-encrypted file"
    } else if trimmed.starts_with('#') {
        "text, perhaps a Markdown export"
    } else if start.is_empty() {
        "empty"
    } else {
        "something else"
    }
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, BackupError> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(BackupError::Read(err)),
        }
    }
    Ok(got)
}

/// The body's plaintext, chunk by chunk, each authenticated before any of it is handed out.
pub struct Opener<R> {
    reader: R,
    key: Key,
    prefix: [u8; PREFIX],
    ad: [u8; 32],
    counter: u32,
    plain: Vec<u8>,
    at: usize,
    done: bool,
    /// Ciphertext bytes read, for progress and for saying where damage is.
    pub read: u64,
}

impl<R: Read> Opener<R> {
    pub fn new(
        reader: R,
        header: &Header,
        lines: &[u8],
        data_key: &Key,
    ) -> Result<Opener<R>, BackupError> {
        Ok(Opener {
            reader,
            key: body_key(data_key, &header.salt()?),
            prefix: header.prefix()?,
            ad: Sha256::digest(lines).into(),
            counter: 0,
            plain: Vec::new(),
            at: 0,
            done: false,
            read: lines.len() as u64,
        })
    }

    /// Reads and opens the next chunk; `false` once the last one was read (and nothing follows).
    fn next_chunk(&mut self) -> Result<bool, BackupError> {
        if self.done {
            return Ok(false);
        }
        let mut word = [0u8; 4];
        if read_up_to(&mut self.reader, &mut word)? < 4 {
            return Err(BackupError::Truncated);
        }
        let word = u32::from_le_bytes(word);
        let last = word & LAST != 0;
        let len = (word & !LAST) as usize;
        if !(TAG..=CHUNK + TAG).contains(&len) {
            return Err(BackupError::Damaged { at: self.read });
        }
        let mut sealed = vec![0u8; len];
        if read_up_to(&mut self.reader, &mut sealed)? < len {
            return Err(BackupError::Truncated);
        }
        let nonce = nonce(&self.prefix, self.counter, last);
        let plain = crypto::aead_open(&self.key, &nonce, &sealed, &self.ad)
            .map_err(|_| BackupError::Damaged { at: self.read })?;
        self.read += 4 + len as u64;
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or(BackupError::Damaged { at: self.read })?;
        self.plain.clear();
        self.plain.extend_from_slice(&plain);
        self.at = 0;
        if last {
            self.done = true;
            let mut extra = [0u8; 1];
            if read_up_to(&mut self.reader, &mut extra)? > 0 {
                return Err(BackupError::Trailing);
            }
        }
        Ok(true)
    }

    /// Exactly `buf.len()` plaintext bytes; the body ending first is damage (the items say how
    /// long they are, and the last chunk is authenticated as the last).
    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), BackupError> {
        let mut filled = 0;
        while filled < buf.len() {
            if self.at == self.plain.len() && !self.next_chunk()? {
                return Err(BackupError::Damaged { at: self.read });
            }
            let n = (self.plain.len() - self.at).min(buf.len() - filled);
            buf[filled..filled + n].copy_from_slice(&self.plain[self.at..self.at + n]);
            self.at += n;
            filled += n;
        }
        Ok(())
    }

    /// After the end item: the rest of the chunk must be empty and the chunk the last one.
    pub fn expect_end(&mut self) -> Result<(), BackupError> {
        if self.at != self.plain.len() {
            return Err(BackupError::Damaged { at: self.read });
        }
        if self.next_chunk()? {
            // A chunk after the end item.
            return Err(BackupError::Damaged { at: self.read });
        }
        if !self.done {
            return Err(BackupError::Truncated);
        }
        Ok(())
    }
}

/// One item of the body.
pub enum Item {
    Entry(Vec<u8>),
    File { path: String, bytes: Vec<u8> },
    End { entries: u64, files: u64 },
}

/// Writes one item's plaintext.
pub fn encode_item(item: &Item, out: &mut Vec<u8>) {
    match item {
        Item::Entry(entry) => {
            out.push(ITEM_ENTRY);
            out.extend_from_slice(&(entry.len() as u32).to_le_bytes());
            out.extend_from_slice(entry);
        }
        Item::File { path, bytes } => {
            out.push(ITEM_FILE);
            out.extend_from_slice(&(path.len() as u16).to_le_bytes());
            out.extend_from_slice(path.as_bytes());
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        Item::End { entries, files } => {
            out.push(ITEM_END);
            out.extend_from_slice(&entries.to_le_bytes());
            out.extend_from_slice(&files.to_le_bytes());
        }
    }
}

/// Items larger than this are not ones Interlude wrote (store entries are capped below it).
const MAX_ITEM: usize = 260 * 1024 * 1024;

/// Reads the next item from plaintext.
pub fn next_item(
    read_exact: &mut impl FnMut(&mut [u8]) -> Result<(), BackupError>,
) -> Result<Item, BackupError> {
    let mut kind = [0u8; 1];
    read_exact(&mut kind)?;
    match kind[0] {
        ITEM_ENTRY => {
            let len = read_len(read_exact, 4)?;
            Ok(Item::Entry(read_vec(read_exact, len)?))
        }
        ITEM_FILE => {
            let path_len = read_len(read_exact, 2)?;
            let path = read_vec(read_exact, path_len)?;
            let path = String::from_utf8(path).map_err(|_| BackupError::BadBody)?;
            let len = read_len(read_exact, 4)?;
            Ok(Item::File {
                path,
                bytes: read_vec(read_exact, len)?,
            })
        }
        ITEM_END => Ok(Item::End {
            entries: read_len(read_exact, 8)? as u64,
            files: read_len(read_exact, 8)? as u64,
        }),
        _ => Err(BackupError::BadBody),
    }
}

/// A little-endian length of `n` bytes.
fn read_len(
    read_exact: &mut impl FnMut(&mut [u8]) -> Result<(), BackupError>,
    n: usize,
) -> Result<usize, BackupError> {
    let mut bytes = [0u8; 8];
    read_exact(&mut bytes[..n])?;
    usize::try_from(u64::from_le_bytes(bytes)).map_err(|_| BackupError::BadBody)
}

fn read_vec(
    read_exact: &mut impl FnMut(&mut [u8]) -> Result<(), BackupError>,
    len: usize,
) -> Result<Vec<u8>, BackupError> {
    if len > MAX_ITEM {
        return Err(BackupError::BadBody);
    }
    let mut bytes = vec![0u8; len];
    read_exact(&mut bytes)?;
    Ok(bytes)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sealed(body: &[u8]) -> (Vec<u8>, Key) {
        let key = zeroize::Zeroizing::new([3u8; crypto::KEY_LEN]);
        let (mut sealer, mut file) = Sealer::new(&key, b"{\"vault\":1}").unwrap();
        sealer.write(body).unwrap();
        file.extend_from_slice(&sealer.take());
        file.extend_from_slice(&sealer.finish().unwrap());
        (file, key)
    }

    fn opened(file: &[u8], key: &Key, len: usize) -> Result<Vec<u8>, BackupError> {
        let mut reader = file;
        let (header, lines) = read_header(&mut reader)?;
        assert_eq!(header.vault_header_bytes().unwrap(), b"{\"vault\":1}");
        let mut opener = Opener::new(reader, &header, &lines, key)?;
        let mut body = vec![0u8; len];
        opener.read_exact(&mut body)?;
        opener.expect_end()?;
        Ok(body)
    }

    #[test]
    fn a_body_of_several_chunks_comes_back_and_any_changed_byte_is_refused() {
        let body: Vec<u8> = (0..CHUNK * 2 + 1000).map(|i| (i * 7) as u8).collect();
        let (file, key) = sealed(&body);
        assert_eq!(opened(&file, &key, body.len()).unwrap(), body);
        for at in [5, 40, file.len() / 3, file.len() - 1] {
            let mut damaged = file.clone();
            damaged[at] ^= 1;
            assert!(opened(&damaged, &key, body.len()).is_err(), "byte {at}");
        }
        assert!(matches!(
            opened(&file[..file.len() - 1], &key, body.len()),
            Err(BackupError::Truncated)
        ));
        let other = zeroize::Zeroizing::new([4u8; crypto::KEY_LEN]);
        assert!(matches!(
            opened(&file, &other, body.len()),
            Err(BackupError::Damaged { .. })
        ));
    }
}
