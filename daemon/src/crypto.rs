//! The cryptographic primitives, each used one way only.
//!
//! - Records: XChaCha20-Poly1305 under the data key, random 24-byte nonce, associated data that
//!   binds the record's tree, key and record format version, so a value moved to another key or
//!   another tree fails to open instead of reading as someone else's entry. The format version
//!   is the record's own, not the store's schema: migrations run without keys, so a schema bump
//!   must never change what an existing record's associated data is.
//! - Sealing while locked: an ephemeral X25519 key agreement with the vault's public key,
//!   HKDF-SHA256 into an XChaCha20-Poly1305 key (the shape of an ECIES / `crypto_box_seal`).
//! - Key wrapping: the data key encrypted under a key from Argon2id (passphrase) or HKDF
//!   (recovery key, which already has 160 bits of entropy).

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// First byte of every record value: how it was encrypted.
const FORMAT_DATA_KEY: u8 = 1;
const FORMAT_SEALED: u8 = 2;

pub type Key = Zeroizing<[u8; KEY_LEN]>;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// Wrong key, or the bytes were changed or moved.
    #[error("the value does not open with this key: it was damaged, moved, or the key is wrong")]
    Open,
    #[error("the system random number generator failed: {0}")]
    Random(String),
    #[error("deriving the key from the passphrase failed: {0}")]
    Kdf(String),
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| CryptoError::Random(e.to_string()))?;
    Ok(bytes)
}

pub fn random_key() -> Result<Key, CryptoError> {
    Ok(Zeroizing::new(random_bytes()?))
}

/// The layout of an encrypted record's value and associated data. It is bound into every
/// record's associated data and changes only when that layout does (then decrypting reads the
/// version a value was written with). Records written while this was the store's schema version
/// carried the same number, 1, so every existing record keeps opening.
pub const RECORD_FORMAT: u32 = 1;

/// Lowercase hex of some bytes (digests shown to people and stored as text).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Associated data for a stored record: where it lives and its format version.
pub fn record_ad(tree: &str, key: &[u8]) -> Vec<u8> {
    record_ad_for(RECORD_FORMAT, tree, key)
}

fn record_ad_for(format: u32, tree: &str, key: &[u8]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(16 + tree.len() + key.len());
    ad.extend_from_slice(b"interlude/record/");
    ad.extend_from_slice(&format.to_be_bytes());
    ad.extend_from_slice(tree.as_bytes());
    ad.push(0);
    ad.extend_from_slice(key);
    ad
}

/// `format | nonce | ciphertext`.
pub fn encrypt(key: &Key, plaintext: &[u8], ad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let nonce: [u8; NONCE_LEN] = random_bytes()?;
    let sealed = aead_seal(key, &nonce, plaintext, ad)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(FORMAT_DATA_KEY);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

pub fn decrypt(key: &Key, value: &[u8], ad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (&format, rest) = value.split_first().ok_or(CryptoError::Open)?;
    if format != FORMAT_DATA_KEY || rest.len() < NONCE_LEN {
        return Err(CryptoError::Open);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    aead_open(key, nonce, ciphertext, ad)
}

/// Encrypts to the vault's public key; only the vault's secret key opens it.
/// `format | ephemeral public key | nonce | ciphertext`.
pub fn seal(recipient: &PublicKey, plaintext: &[u8], ad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let ephemeral = StaticSecret::from(random_bytes::<KEY_LEN>()?);
    let ephemeral_public = PublicKey::from(&ephemeral);
    let key = sealing_key(
        &ephemeral.diffie_hellman(recipient).to_bytes(),
        &ephemeral_public,
        recipient,
    );
    let nonce: [u8; NONCE_LEN] = random_bytes()?;
    let sealed = aead_seal(&key, &nonce, plaintext, ad)?;
    let mut out = Vec::with_capacity(1 + KEY_LEN + NONCE_LEN + sealed.len());
    out.push(FORMAT_SEALED);
    out.extend_from_slice(ephemeral_public.as_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

pub fn unseal(
    secret: &StaticSecret,
    value: &[u8],
    ad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (&format, rest) = value.split_first().ok_or(CryptoError::Open)?;
    if format != FORMAT_SEALED || rest.len() < KEY_LEN + NONCE_LEN {
        return Err(CryptoError::Open);
    }
    let (ephemeral, rest) = rest.split_at(KEY_LEN);
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let ephemeral_bytes: [u8; KEY_LEN] = ephemeral.try_into().map_err(|_| CryptoError::Open)?;
    let ephemeral_public = PublicKey::from(ephemeral_bytes);
    let recipient = PublicKey::from(secret);
    let key = sealing_key(
        &secret.diffie_hellman(&ephemeral_public).to_bytes(),
        &ephemeral_public,
        &recipient,
    );
    aead_open(&key, nonce, ciphertext, ad)
}

fn sealing_key(shared: &[u8; KEY_LEN], ephemeral: &PublicKey, recipient: &PublicKey) -> Key {
    let shared = Zeroizing::new(*shared);
    let mut salt = [0u8; 2 * KEY_LEN];
    salt[..KEY_LEN].copy_from_slice(ephemeral.as_bytes());
    salt[KEY_LEN..].copy_from_slice(recipient.as_bytes());
    derive(&salt, shared.as_slice(), b"interlude/seal/v1")
}

/// HKDF-SHA256 to one 32-byte key.
pub fn derive(salt: &[u8], input: &[u8], info: &[u8]) -> Key {
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    // 32 bytes is always a valid HKDF-SHA256 output length.
    let _ = Hkdf::<Sha256>::new(Some(salt), input).expand(info, out.as_mut_slice());
    out
}

/// Argon2id with explicit parameters (stored beside the wrapped key).
pub fn argon2id(
    passphrase: &[u8],
    salt: &[u8],
    memory_kib: u32,
    iterations: u32,
) -> Result<Key, CryptoError> {
    let params = argon2::Params::new(memory_kib, iterations, 1, Some(KEY_LEN))
        .map_err(|e| CryptoError::Kdf(format!("bad Argon2 parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    argon
        .hash_password_into(passphrase, salt, out.as_mut_slice())
        .map_err(|e| CryptoError::Kdf(format!("Argon2 failed: {e}")))?;
    Ok(out)
}

/// Wraps `key` under `wrapping`: `nonce | ciphertext`.
pub fn wrap(wrapping: &Key, key: &Key, ad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let nonce: [u8; NONCE_LEN] = random_bytes()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&aead_seal(wrapping, &nonce, key.as_slice(), ad)?);
    Ok(out)
}

pub fn unwrap_key(wrapping: &Key, wrapped: &[u8], ad: &[u8]) -> Result<Key, CryptoError> {
    if wrapped.len() < NONCE_LEN {
        return Err(CryptoError::Open);
    }
    let (nonce, ciphertext) = wrapped.split_at(NONCE_LEN);
    let plain = aead_open(wrapping, nonce, ciphertext, ad)?;
    let bytes: [u8; KEY_LEN] = plain.as_slice().try_into().map_err(|_| CryptoError::Open)?;
    Ok(Zeroizing::new(bytes))
}

/// The bare AEAD, for a backup's chunks (which bring their own nonces, see `backup::format`).
pub fn aead_seal(
    key: &Key,
    nonce: &[u8],
    plaintext: &[u8],
    ad: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    XChaCha20Poly1305::new(key.as_slice().into())
        .encrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad: ad,
            },
        )
        .map_err(|_| CryptoError::Open)
}

pub fn aead_open(
    key: &Key,
    nonce: &[u8],
    ciphertext: &[u8],
    ad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    XChaCha20Poly1305::new(key.as_slice().into())
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: ad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Open)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_record_opens_only_under_its_own_tree_and_key() {
        let key = random_key().unwrap();
        let value = encrypt(&key, b"the critic again", &record_ad("reflections", b"A")).unwrap();
        assert_eq!(
            decrypt(&key, &value, &record_ad("reflections", b"A"))
                .unwrap()
                .as_slice(),
            b"the critic again"
        );
        assert!(decrypt(&key, &value, &record_ad("reflections", b"B")).is_err());
        assert!(decrypt(&key, &value, &record_ad("sessions", b"A")).is_err());
        assert!(decrypt(&key, &value, &record_ad_for(2, "reflections", b"A")).is_err());
    }

    #[test]
    fn a_flipped_bit_anywhere_is_an_error_not_garbage() {
        let key = random_key().unwrap();
        let ad = record_ad("reflections", b"A");
        let value = encrypt(&key, b"text", &ad).unwrap();
        for i in 0..value.len() {
            let mut damaged = value.clone();
            damaged[i] ^= 1;
            assert!(decrypt(&key, &damaged, &ad).is_err(), "byte {i}");
        }
        assert!(decrypt(&key, &value[..value.len() - 1], &ad).is_err());
        assert!(decrypt(&key, &[], &ad).is_err());
    }

    #[test]
    fn sealed_values_open_only_with_the_vault_secret() {
        let secret = StaticSecret::from(random_bytes::<32>().unwrap());
        let public = PublicKey::from(&secret);
        let sealed = seal(&public, b"written at 11 pm", b"ad").unwrap();
        assert_eq!(
            unseal(&secret, &sealed, b"ad").unwrap().as_slice(),
            b"written at 11 pm"
        );
        let other = StaticSecret::from(random_bytes::<32>().unwrap());
        assert!(unseal(&other, &sealed, b"ad").is_err());
        assert!(unseal(&secret, &sealed, b"other ad").is_err());
    }

    #[test]
    fn a_wrapped_key_unwraps_only_with_the_wrapping_key() {
        let data_key = random_key().unwrap();
        let kek = argon2id(b"correct horse", b"saltsaltsaltsalt", 64, 1).unwrap();
        let wrapped = wrap(&kek, &data_key, b"passphrase").unwrap();
        assert_eq!(
            *unwrap_key(&kek, &wrapped, b"passphrase").unwrap(),
            *data_key
        );
        let wrong = argon2id(b"correct horsf", b"saltsaltsaltsalt", 64, 1).unwrap();
        assert!(unwrap_key(&wrong, &wrapped, b"passphrase").is_err());
    }
}
