//! Plugin signatures: Ed25519 in the minisign format, through the `minisign` crate by minisign's
//! own author, so that keys and signatures interoperate with the `minisign` tool both ways.

use std::io::Cursor;

use minisign::{KeyPair, PublicKey, PublicKeyBox, SecretKey, SecretKeyBox, SignatureBox};

#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("the {what} is not in minisign format: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error(
        "the signature was made with key {key_id}, which is not one you trust; `interlude plugin trust KEY.pub` if it is your therapist's"
    )]
    UntrustedKey { key_id: String },
    #[error(
        "the signature does not match: the file was changed after it was signed, or the signature belongs to another file"
    )]
    Mismatch,
    #[error("the secret key could not be opened: {0} (a wrong password?)")]
    SecretKey(String),
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A new key pair as the two files minisign writes: the public key and the secret key, the
/// latter encrypted with `password` (scrypt) unless it is `None`.
pub fn generate(password: Option<&str>) -> Result<(String, String), SignatureError> {
    let sign_err = |e: minisign::PError| SignatureError::Sign(e.to_string());
    let pair = match password {
        Some(password) => {
            KeyPair::generate_encrypted_keypair(Some(password.to_string())).map_err(sign_err)?
        }
        None => KeyPair::generate_unencrypted_keypair().map_err(sign_err)?,
    };
    let public = pair.pk.to_box().map_err(sign_err)?.into_string();
    let secret = pair.sk.to_box(None).map_err(sign_err)?.into_string();
    Ok((public, secret))
}

/// A signature file for `data`, binding `trusted_comment`.
pub fn sign(
    data: &[u8],
    secret_key: &str,
    password: Option<&str>,
    trusted_comment: &str,
) -> Result<String, SignatureError> {
    let sk_box = SecretKeyBox::from_string(secret_key).map_err(|e| SignatureError::Malformed {
        what: "secret key",
        reason: e.to_string(),
    })?;
    let sk = match password {
        Some(password) => sk_box.into_secret_key(Some(password.to_string())),
        None => SecretKey::from_unencrypted_box(sk_box),
    }
    .map_err(|e| SignatureError::SecretKey(e.to_string()))?;
    let signature = minisign::sign(None, &sk, Cursor::new(data), Some(trusted_comment), None)
        .map_err(|e| SignatureError::Sign(e.to_string()))?;
    Ok(signature.into_string())
}

/// Checks `signature` over `data` against the trusted public keys (minisign `.pub` files) and
/// returns the trusted comment the signer bound to it.
pub fn verify(data: &[u8], signature: &str, trusted: &[String]) -> Result<String, SignatureError> {
    let signature =
        SignatureBox::from_string(signature).map_err(|e| SignatureError::Malformed {
            what: "signature",
            reason: e.to_string(),
        })?;
    let keys = trusted
        .iter()
        .map(|text| parse_public_key(text))
        .collect::<Result<Vec<PublicKey>, _>>()?;
    let key = keys
        .iter()
        .find(|pk| pk.keynum() == signature.keynum())
        .ok_or_else(|| SignatureError::UntrustedKey {
            key_id: key_id(signature.keynum()),
        })?;
    minisign::verify(key, &signature, Cursor::new(data), true, false, false)
        .map_err(|_| SignatureError::Mismatch)?;
    signature
        .trusted_comment()
        .map_err(|e| SignatureError::Malformed {
            what: "signature",
            reason: e.to_string(),
        })
}

/// A public key's id (as minisign prints it) and its base64 line, from a `.pub` file's text.
pub fn public_key_id(text: &str) -> Result<(String, String), SignatureError> {
    let key = parse_public_key(text)?;
    Ok((key_id(key.keynum()), key.to_base64()))
}

/// The id of the key a signature claims to be made with (not yet checked).
pub fn signer_key_id(signature: &str) -> Result<String, SignatureError> {
    SignatureBox::from_string(signature)
        .map(|s| key_id(s.keynum()))
        .map_err(|e| SignatureError::Malformed {
            what: "signature",
            reason: e.to_string(),
        })
}

/// A `.pub` file's text, or the bare base64 line.
fn parse_public_key(text: &str) -> Result<PublicKey, SignatureError> {
    let parsed = match text.lines().count() {
        1 => PublicKey::from_base64(text.trim()),
        _ => PublicKeyBox::from_string(text).and_then(PublicKeyBox::into_public_key),
    };
    parsed.map_err(|e| SignatureError::Malformed {
        what: "public key",
        reason: e.to_string(),
    })
}

/// The key id as minisign prints it: the 8 bytes little-endian, in upper-case hex.
pub fn key_id(keynum: &[u8]) -> String {
    keynum.iter().rev().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_signed_file_verifies_and_a_changed_one_does_not() {
        let (public, secret) = generate(None).unwrap();
        let signature = sign(b"plugin bundle", &secret, None, "id=cbt version=1.0.0").unwrap();
        assert_eq!(
            verify(b"plugin bundle", &signature, std::slice::from_ref(&public)).unwrap(),
            "id=cbt version=1.0.0"
        );
        assert!(matches!(
            verify(b"plugin bundlE", &signature, &[public]),
            Err(SignatureError::Mismatch)
        ));
    }

    #[test]
    fn a_signature_by_an_untrusted_key_is_refused_with_its_key_id() {
        let (_, secret) = generate(None).unwrap();
        let (other_public, _) = generate(None).unwrap();
        let signature = sign(b"data", &secret, None, "c").unwrap();
        assert!(matches!(
            verify(b"data", &signature, &[other_public]),
            Err(SignatureError::UntrustedKey { .. })
        ));
    }

    #[test]
    fn an_edited_trusted_comment_is_refused() {
        let (public, secret) = generate(None).unwrap();
        let signature = sign(b"data", &secret, None, "id=cbt version=1.0.0").unwrap();
        let edited = signature.replace("version=1.0.0", "version=9.0.0");
        assert!(verify(b"data", &edited, &[public]).is_err());
    }

    #[test]
    fn an_encrypted_key_needs_its_password() {
        let (public, secret) = generate(Some("a long password")).unwrap();
        assert!(matches!(
            sign(b"data", &secret, Some("wrong"), "c"),
            Err(SignatureError::SecretKey(_))
        ));
        let signature = sign(b"data", &secret, Some("a long password"), "c").unwrap();
        assert!(verify(b"data", &signature, &[public]).is_ok());
    }
}
