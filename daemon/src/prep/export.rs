//! Encrypting a rendered packet to the therapist's age X25519 keys (the `age` crate): the
//! therapist opens it with the `age` tool and their identity. Nothing here writes a file; the
//! caller gets the ciphertext.

use std::io::Write;

use crate::error::{Error, Result, invalid};

/// The most recipients one export is encrypted to.
pub const MAX_RECIPIENTS: usize = 16;

/// Parses the recipients (`age1…`, one per item; blank lines and `#` comments, as in an age
/// recipients file, are skipped) with a clear error naming the first one that is not a key.
pub fn recipients(given: &[String]) -> Result<Vec<age::x25519::Recipient>> {
    let keys: Vec<&str> = given
        .iter()
        .flat_map(|g| g.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if keys.is_empty() {
        return Err(invalid(
            "give the therapist's age public key (age1…), e.g. `--to-therapist age1…`",
        ));
    }
    if keys.len() > MAX_RECIPIENTS {
        return Err(invalid(format!("give at most {MAX_RECIPIENTS} recipients")));
    }
    keys.iter()
        .map(|k| {
            k.parse::<age::x25519::Recipient>().map_err(|why| {
                let shown: String = k.chars().take(24).collect();
                invalid(format!(
                    "\"{shown}…\" is not an age X25519 public key ({why}); it starts with age1 and \
                     comes from `age-keygen -y` on the therapist's identity"
                ))
            })
        })
        .collect()
}

/// `plain` encrypted to every recipient, in age's binary format.
pub fn encrypt(plain: &[u8], to: &[age::x25519::Recipient]) -> Result<Vec<u8>> {
    let encryptor = age::Encryptor::with_recipients(to.iter().map(|r| r as &dyn age::Recipient))
        .map_err(|e| Error::Internal(format!("age: {e}")))?;
    let mut out = Vec::with_capacity(plain.len() + 256);
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| Error::Internal(format!("age: {e}")))?;
    writer
        .write_all(plain)
        .and_then(|()| writer.finish().map(|_| ()))
        .map_err(|e| Error::Internal(format!("age: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_that_is_not_an_age_key_is_named_in_the_error() {
        let err = recipients(&["ssh-ed25519 AAAAC3Nza".into()]).expect_err("refused");
        assert!(
            err.to_string().contains("not an age X25519 public key"),
            "{err}"
        );
        assert!(recipients(&["# only a comment\n".into()]).is_err());
    }
}
