//! Reading what other journals export as Interlude reflections: one module per program
//! ([`jrnl`], [`daylio`], [`dayone`]), and what they share: ids that come from an entry's moment and text,
//! so that importing the same file again finds every entry already there.

pub mod daylio;
pub mod dayone;
pub mod jrnl;

use sha2::{Digest, Sha256};

/// A ULID whose time is the moment and whose rest comes from the program and the text: the same
/// entry always gets the same id.
pub fn id_for(program: &str, millis: i64, text: &str) -> String {
    let digest = Sha256::digest(format!("{program}\0{millis}\0{text}").as_bytes());
    let mut bits: u128 = (u128::from(millis.max(0) as u64) & ((1 << 48) - 1)) << 80;
    for (i, byte) in digest[..10].iter().enumerate() {
        bits |= u128::from(*byte) << (8 * (9 - i));
    }
    crockford(bits)
}

/// A ULID's 26 characters (Crockford base 32).
fn crockford(bits: u128) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    (0..26)
        .rev()
        .map(|i| ALPHABET[((bits >> (5 * i)) & 0x1f) as usize] as char)
        .collect()
}

/// Each tag once, in the order first seen.
fn unique(tags: Vec<String>) -> Vec<String> {
    let mut once = Vec::new();
    for tag in tags {
        if !tag.is_empty() && !once.contains(&tag) {
            once.push(tag);
        }
    }
    once
}

/// Entries read from another program's export, and the ones left out.
#[derive(Debug)]
pub struct Read {
    pub reflections: Vec<interlude_proto::v1::Reflection>,
    /// `(entry number, why)` for each entry left out.
    pub skipped: Vec<(usize, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_ulid_of_the_moment_and_the_same_for_the_same_entry() {
        let id = id_for("jrnl", 1_791_753_000_000, "the critic");
        assert_eq!(id.len(), 26);
        assert_eq!(id, id_for("jrnl", 1_791_753_000_000, "the critic"));
        assert_ne!(id, id_for("jrnl", 1_791_753_000_000, "the critic."));
        // The first ten characters are the time, as in any ULID.
        assert_eq!(&id[..10], &id_for("daylio", 1_791_753_000_000, "x")[..10]);
    }
}
