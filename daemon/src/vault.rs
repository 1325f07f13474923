//! The vault: the data key, how it is wrapped, and whether it is in memory.
//!
//! The data key (random, 32 bytes) encrypts every record. It is stored only wrapped: once under
//! a key from the passphrase (Argon2id, parameters kept beside it) and once under the printed
//! recovery key. An X25519 key pair lets capture work while locked: new reflections are sealed to
//! the public key, and the secret key (encrypted under the data key) opens them after unlock.
//! Locking, by hand or after the idle timeout, drops the keys, which zeroize on drop.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::crypto::{self, Key};
use crate::error::{Error, Result, invalid};
use crate::stopping::Stopping;
use crate::store::{Op, Store, Tree};

/// Where the header lives in the `meta` tree.
pub const HEADER_KEY: &[u8] = b"vault";
const MIN_PASSPHRASE_CHARS: usize = 8;
/// Slows down guessing through the socket.
const WRONG_SECRET_DELAY: Duration = Duration::from_secs(1);
const AD_PASSPHRASE: &[u8] = b"interlude/wrap/passphrase/v1";
const AD_RECOVERY: &[u8] = b"interlude/wrap/recovery/v1";
const AD_SECRET_KEY: &[u8] = b"interlude/vault/x25519/v1";
const HEADER_MAC_INFO: &[u8] = b"interlude/vault/header-mac/v1";

/// What a header may ask of Argon2 before anything is derived: enough room for any sane
/// configuration, and a refusal (not an allocation abort or an hour of hashing) for one changed
/// on disk.
pub const KDF_MEMORY_KIB: std::ops::RangeInclusive<u32> = 8..=(1024 * 1024);
pub const KDF_ITERATIONS: std::ops::RangeInclusive<u32> = 1..=32;

/// Argon2id cost for new vaults and passphrase changes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for KdfParams {
    /// 64 MiB and 3 passes: about half a second on a laptop core, above OWASP's minimums.
    fn default() -> Self {
        KdfParams {
            memory_kib: 64 * 1024,
            iterations: 3,
        }
    }
}

/// What is stored: nothing here is secret without the passphrase or the recovery key.
#[derive(Clone, Serialize, Deserialize)]
struct Header {
    kdf: KdfParams,
    passphrase_salt: Vec<u8>,
    wrapped_by_passphrase: Vec<u8>,
    recovery_salt: Vec<u8>,
    wrapped_by_recovery: Vec<u8>,
    public_key: [u8; 32],
    encrypted_secret_key: Vec<u8>,
    /// An AEAD tag over every other field under a key derived from the data key. Absent in
    /// headers written before it existed; added at their next unlock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mac: Option<Vec<u8>>,
}

impl Header {
    /// The bytes the MAC covers: the header as stored, without its MAC.
    fn authenticated_bytes(&self) -> Result<Vec<u8>> {
        let unsigned = Header {
            mac: None,
            ..self.clone()
        };
        serde_json::to_vec(&unsigned).map_err(|e| Error::Internal(e.to_string()))
    }

    fn sign(&mut self, data_key: &Key) -> Result<()> {
        let bytes = self.authenticated_bytes()?;
        self.mac = Some(crypto::encrypt(&header_mac_key(data_key), b"", &bytes)?);
        Ok(())
    }

    /// `Ok(false)` for a header from before MACs; an error for one changed since it was signed.
    fn verify(&self, data_key: &Key) -> Result<bool> {
        let Some(mac) = &self.mac else {
            return Ok(false);
        };
        crypto::decrypt(&header_mac_key(data_key), mac, &self.authenticated_bytes()?)
            .map_err(|_| Error::HeaderNotAuthentic("its authentication tag"))?;
        Ok(true)
    }
}

fn header_mac_key(data_key: &Key) -> Key {
    crypto::derive(b"", data_key.as_slice(), HEADER_MAC_INFO)
}

/// Refuses parameters outside [`KDF_MEMORY_KIB`] and [`KDF_ITERATIONS`].
pub fn check_kdf(kdf: KdfParams) -> std::result::Result<(), KdfOutOfBounds> {
    if KDF_MEMORY_KIB.contains(&kdf.memory_kib) && KDF_ITERATIONS.contains(&kdf.iterations) {
        Ok(())
    } else {
        Err(KdfOutOfBounds(kdf))
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "Argon2 parameters of {} KiB and {} passes are outside what Interlude accepts ({}–{} KiB, {}–{} passes)",
    .0.memory_kib, .0.iterations,
    KDF_MEMORY_KIB.start(), KDF_MEMORY_KIB.end(), KDF_ITERATIONS.start(), KDF_ITERATIONS.end()
)]
pub struct KdfOutOfBounds(pub KdfParams);

/// The unlocked keys. Dropping the last handle zeroizes them.
pub struct Keys {
    pub data: Key,
    pub secret: StaticSecret,
}

/// How the caller proves they may open the vault.
pub enum Secret {
    Passphrase(Zeroizing<String>),
    RecoveryKey(Zeroizing<String>),
}

pub use crate::domain::VaultState;

pub struct Vault {
    store: Store,
    /// A copy of the header outside sled (it holds only wrapped keys).
    header_copy: PathBuf,
    kdf: KdfParams,
    idle_lock: Duration,
    keys: RwLock<Option<Arc<Keys>>>,
    last_used: Mutex<Instant>,
    changed: tokio::sync::watch::Sender<VaultState>,
    /// Serialises header writes (so two racing inits cannot both win) and unlock attempts (so
    /// guesses cannot run in parallel, each with its own Argon2 memory, past the delay).
    header_writes: tokio::sync::Mutex<()>,
    /// The public key checked against the secret key at the last unlock (or made by init):
    /// what locked captures seal to, whatever the header on disk says meanwhile.
    verified_public: RwLock<Option<[u8; 32]>>,
}

impl Vault {
    /// `data_dir` holds the copy of the header kept outside the database.
    pub fn new(
        store: Store,
        data_dir: &Path,
        kdf: KdfParams,
        idle_lock: Duration,
    ) -> Result<Vault> {
        let mut vault = Vault {
            store,
            header_copy: data_dir.join("vault-header.json"),
            kdf,
            idle_lock,
            keys: RwLock::new(None),
            last_used: Mutex::new(Instant::now()),
            changed: tokio::sync::watch::channel(VaultState::Uninitialised).0,
            header_writes: tokio::sync::Mutex::new(()),
            verified_public: RwLock::new(None),
        };
        let initial = if vault.header()?.is_some() {
            VaultState::Locked
        } else {
            VaultState::Uninitialised
        };
        vault.changed = tokio::sync::watch::channel(initial).0;
        Ok(vault)
    }

    pub fn state(&self) -> VaultState {
        *self.changed.borrow()
    }

    pub fn idle_lock(&self) -> Duration {
        self.idle_lock
    }

    /// Creates the vault and returns the recovery key, which is never stored.
    pub async fn init(&self, passphrase: &str) -> Result<String> {
        check_passphrase(passphrase)?;
        let _writing = self.header_writes.lock().await;
        if self.header()?.is_some() {
            return Err(Error::AlreadyInitialised);
        }
        let data_key = crypto::random_key()?;
        let secret_seed = Zeroizing::new(crypto::random_bytes::<32>()?);
        let secret = StaticSecret::from(*secret_seed);
        let recovery = Zeroizing::new(crypto::random_bytes::<RECOVERY_BYTES>()?);
        let recovery_salt = crypto::random_bytes::<16>()?.to_vec();
        let recovery_kek = crypto::derive(&recovery_salt, recovery.as_slice(), AD_RECOVERY);
        let (passphrase_salt, wrapped_by_passphrase) =
            self.wrap_with_passphrase(passphrase, &data_key).await?;
        let secret_bytes = Zeroizing::new(secret.to_bytes());
        let mut header = Header {
            kdf: self.kdf,
            passphrase_salt,
            wrapped_by_passphrase,
            recovery_salt,
            wrapped_by_recovery: crypto::wrap(&recovery_kek, &data_key, AD_RECOVERY)?,
            public_key: PublicKey::from(&secret).to_bytes(),
            encrypted_secret_key: crypto::encrypt(
                &data_key,
                secret_bytes.as_slice(),
                AD_SECRET_KEY,
            )?,
            mac: None,
        };
        header.sign(&data_key)?;
        self.save_header(&header).await?;
        self.set_verified_public(header.public_key);
        self.set_keys(Some(Arc::new(Keys {
            data: data_key,
            secret,
        })));
        Ok(format_recovery_key(&recovery))
    }

    /// Unlocks; a wrong secret is answered only after a delay. Attempts run one at a time, the
    /// delay inside the turn, so parallel guesses are no faster than serial ones. The header is
    /// checked before the keys are kept: the public key must be the secret key's, and the MAC
    /// must hold (a header from before MACs gets one now).
    pub async fn unlock(&self, secret: &Secret) -> Result<()> {
        let _one_at_a_time = self.header_writes.lock().await;
        let mut header = self.header()?.ok_or(Error::NotInitialised)?;
        let data_key = match self.open_data_key(&header, secret).await {
            Ok(data_key) => data_key,
            Err(err) => {
                if matches!(err, Error::WrongPassphrase | Error::WrongRecoveryKey) {
                    tokio::time::sleep(WRONG_SECRET_DELAY).await;
                }
                return Err(err);
            }
        };
        let secret = secret_key(&header, &data_key)?;
        if !header.verify(&data_key)? {
            header.sign(&data_key)?;
            self.save_header(&header).await?;
            tracing::info!("the vault header now carries a MAC");
        }
        self.set_verified_public(header.public_key);
        self.set_keys(Some(Arc::new(Keys {
            data: data_key,
            secret,
        })));
        Ok(())
    }

    pub fn lock(&self) {
        self.set_keys(None);
    }

    /// The keys, or [`Error::Locked`]. Counts as use for the idle timeout.
    pub fn keys(&self) -> Result<Arc<Keys>> {
        let keys = self.keys_in_background()?;
        *self.last_used.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        Ok(keys)
    }

    /// The keys for background work (indexing): not counted as use for the idle timeout.
    pub fn keys_in_background(&self) -> Result<Arc<Keys>> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner()).clone();
        keys.ok_or(match self.state() {
            VaultState::Uninitialised => Error::NotInitialised,
            _ => Error::Locked,
        })
    }

    /// The key new reflections are sealed to while locked: the one verified at the last unlock.
    /// Before the first unlock since start nothing can verify it (that needs the data key), so
    /// the header's is used; a header swapped at rest is then refused at that unlock.
    pub fn public_key(&self) -> Result<PublicKey> {
        if let Some(verified) = *self
            .verified_public
            .read()
            .unwrap_or_else(|p| p.into_inner())
        {
            return Ok(PublicKey::from(verified));
        }
        Ok(PublicKey::from(
            self.header()?.ok_or(Error::NotInitialised)?.public_key,
        ))
    }

    fn set_verified_public(&self, public: [u8; 32]) {
        *self
            .verified_public
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(public);
    }

    /// Rewraps the data key under `new`; records are not touched.
    pub async fn change_passphrase(&self, current: &Secret, new: &str) -> Result<()> {
        check_passphrase(new)?;
        let _writing = self.header_writes.lock().await;
        let mut header = self.header()?.ok_or(Error::NotInitialised)?;
        let data_key = match self.open_data_key(&header, current).await {
            Ok(key) => key,
            Err(err) => {
                tokio::time::sleep(WRONG_SECRET_DELAY).await;
                return Err(err);
            }
        };
        header.verify(&data_key)?;
        let (salt, wrapped) = self.wrap_with_passphrase(new, &data_key).await?;
        header.kdf = self.kdf;
        header.passphrase_salt = salt;
        header.wrapped_by_passphrase = wrapped;
        header.sign(&data_key)?;
        self.save_header(&header).await
    }

    /// Watches lock state changes (for the idle timer and, later, event streams).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<VaultState> {
        self.changed.subscribe()
    }

    /// Locks the vault once it has gone unused for the idle timeout. Runs until the daemon stops.
    pub async fn run_idle_lock(self: Arc<Self>, stopping: Stopping) {
        let mut changes = self.subscribe();
        let stop = stopping.wait();
        tokio::pin!(stop);
        loop {
            if self.state() != VaultState::Unlocked {
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    () = &mut stop => return,
                }
                continue;
            }
            let last_used = *self.last_used.lock().unwrap_or_else(|p| p.into_inner());
            let deadline = last_used + self.idle_lock;
            if Instant::now() >= deadline {
                tracing::info!("locked after the idle timeout");
                self.lock();
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline.into()) => {}
                changed = changes.changed() => if changed.is_err() { return },
                () = &mut stop => return,
            }
        }
    }

    fn set_keys(&self, keys: Option<Arc<Keys>>) {
        let state = if keys.is_some() {
            VaultState::Unlocked
        } else if self.header().ok().flatten().is_some() {
            VaultState::Locked
        } else {
            VaultState::Uninitialised
        };
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        *self.last_used.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.changed.send_replace(state);
    }

    /// The header from the store, or from its copy beside the store when the database had to be
    /// rebuilt: without it nothing could ever be decrypted again.
    fn header(&self) -> Result<Option<Header>> {
        let bytes = match self.store.get(Tree::Meta, HEADER_KEY)? {
            Some(bytes) => bytes,
            None => match std::fs::read(&self.header_copy) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => {
                    return Err(Error::Internal(format!(
                        "could not read {}: {e}",
                        self.header_copy.display()
                    )));
                }
            },
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| Error::Damaged {
                what: "the vault header",
                id: "vault".into(),
            })
    }

    async fn save_header(&self, header: &Header) -> Result<()> {
        let value = serde_json::to_vec(header).map_err(|e| Error::Internal(e.to_string()))?;
        write_durably(&self.header_copy, &value).map_err(|e| {
            Error::Internal(format!(
                "could not write {}: {e}",
                self.header_copy.display()
            ))
        })?;
        self.store
            .commit(vec![Op::Put {
                tree: Tree::Meta,
                key: HEADER_KEY.to_vec(),
                value,
            }])
            .await?;
        Ok(())
    }

    async fn wrap_with_passphrase(
        &self,
        passphrase: &str,
        data_key: &Key,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let salt = crypto::random_bytes::<16>()?.to_vec();
        let kek = kdf_off_runtime(passphrase, &salt, self.kdf).await?;
        Ok((salt, crypto::wrap(&kek, data_key, AD_PASSPHRASE)?))
    }

    async fn open_data_key(&self, header: &Header, secret: &Secret) -> Result<Key> {
        match secret {
            Secret::Passphrase(passphrase) => {
                check_kdf(header.kdf).map_err(Error::KdfOutOfBounds)?;
                let kek = kdf_off_runtime(passphrase, &header.passphrase_salt, header.kdf).await?;
                crypto::unwrap_key(&kek, &header.wrapped_by_passphrase, AD_PASSPHRASE)
                    .map_err(|_| Error::WrongPassphrase)
            }
            Secret::RecoveryKey(text) => {
                let recovery = parse_recovery_key(text).ok_or(Error::WrongRecoveryKey)?;
                let kek = crypto::derive(&header.recovery_salt, recovery.as_slice(), AD_RECOVERY);
                crypto::unwrap_key(&kek, &header.wrapped_by_recovery, AD_RECOVERY)
                    .map_err(|_| Error::WrongRecoveryKey)
            }
        }
    }
}

impl Vault {
    /// The vault header as stored (wrapped keys and the public key only; nothing in it opens
    /// without the passphrase or the recovery key), for a backup's readable header.
    pub fn header_bytes(&self) -> Result<Vec<u8>> {
        let header = self.header()?.ok_or(Error::NotInitialised)?;
        serde_json::to_vec(&header).map_err(|e| Error::Internal(e.to_string()))
    }
}

/// Opens the keys from a header's bytes (a backup's) without a store or a runtime: the secret
/// must unwrap the data key, the secret key must make the header's public key, and the MAC
/// must hold. Argon2 runs on the calling thread.
pub fn open_offline(header: &[u8], secret: &Secret) -> Result<Keys> {
    let header: Header = serde_json::from_slice(header).map_err(|_| Error::Damaged {
        what: "the vault header",
        id: "vault".into(),
    })?;
    let data_key = match secret {
        Secret::Passphrase(passphrase) => {
            check_kdf(header.kdf).map_err(Error::KdfOutOfBounds)?;
            let kek = crypto::argon2id(
                passphrase.as_bytes(),
                &header.passphrase_salt,
                header.kdf.memory_kib,
                header.kdf.iterations,
            )?;
            crypto::unwrap_key(&kek, &header.wrapped_by_passphrase, AD_PASSPHRASE)
                .map_err(|_| Error::WrongPassphrase)?
        }
        Secret::RecoveryKey(text) => {
            let recovery = parse_recovery_key(text).ok_or(Error::WrongRecoveryKey)?;
            let kek = crypto::derive(&header.recovery_salt, recovery.as_slice(), AD_RECOVERY);
            crypto::unwrap_key(&kek, &header.wrapped_by_recovery, AD_RECOVERY)
                .map_err(|_| Error::WrongRecoveryKey)?
        }
    };
    let secret = secret_key(&header, &data_key)?;
    header.verify(&data_key)?;
    Ok(Keys {
        data: data_key,
        secret,
    })
}

/// The vault's secret key, decrypted with the data key; it must make the header's public key.
fn secret_key(header: &Header, data_key: &Key) -> Result<StaticSecret> {
    let secret_bytes = crypto::decrypt(data_key, &header.encrypted_secret_key, AD_SECRET_KEY)
        .map_err(|_| Error::HeaderNotAuthentic("its encrypted secret key"))?;
    let secret_array: Zeroizing<[u8; 32]> = Zeroizing::new(
        secret_bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::HeaderNotAuthentic("its encrypted secret key"))?,
    );
    let secret = StaticSecret::from(*secret_array);
    if PublicKey::from(&secret).to_bytes() != header.public_key {
        return Err(Error::HeaderNotAuthentic("its public key"));
    }
    Ok(secret)
}

/// Write to a temporary file, sync, rename over, sync the directory: the file is always whole.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let staging = path.with_extension("tmp");
    let mut file = std::fs::File::create(&staging)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&staging, path)?;
    std::fs::File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
}

fn check_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(invalid(format!(
            "the passphrase is too short: use at least {MIN_PASSPHRASE_CHARS} characters (a few words you can remember is best)"
        )));
    }
    Ok(())
}

/// Argon2id takes a good fraction of a second: never on the async runtime.
async fn kdf_off_runtime(passphrase: &str, salt: &[u8], kdf: KdfParams) -> Result<Key> {
    let passphrase = Zeroizing::new(passphrase.as_bytes().to_vec());
    let salt = salt.to_vec();
    tokio::task::spawn_blocking(move || {
        crypto::argon2id(&passphrase, &salt, kdf.memory_kib, kdf.iterations)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
    .map_err(Error::from)
}

// The recovery key: 160 random bits in Crockford base32, in groups of four.
const RECOVERY_BYTES: usize = 20;
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn format_recovery_key(bytes: &[u8; RECOVERY_BYTES]) -> String {
    let mut bits = 0u32;
    let mut value = 0u32;
    let mut chars = Vec::with_capacity(32);
    for &byte in bytes {
        value = (value << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            chars.push(CROCKFORD[((value >> bits) & 31) as usize]);
        }
    }
    chars
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

fn parse_recovery_key(text: &str) -> Option<Zeroizing<[u8; RECOVERY_BYTES]>> {
    let mut out = Zeroizing::new([0u8; RECOVERY_BYTES]);
    let (mut bits, mut value, mut len) = (0u32, 0u32, 0usize);
    for c in text.chars().filter(|c| !matches!(c, '-' | ' ')) {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        };
        let digit = CROCKFORD.iter().position(|&d| char::from(d) == c)? as u32;
        value = (value << 5) | digit;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(len)? = (value >> bits) as u8;
            len += 1;
        }
    }
    (len == RECOVERY_BYTES).then_some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use crate::store::{Store, StoreOptions};

    const PASSPHRASE: &str = "correct horse battery staple";

    fn cheap() -> KdfParams {
        KdfParams {
            memory_kib: 64,
            iterations: 1,
        }
    }

    fn vault_in(dir: &Path) -> Vault {
        let (store, _) = Store::open(dir, &StoreOptions::default()).unwrap();
        Vault::new(store, dir, cheap(), Duration::from_secs(600)).unwrap()
    }

    fn passphrase() -> Secret {
        Secret::Passphrase(Zeroizing::new(PASSPHRASE.into()))
    }

    /// Someone with write access to the data directory at rest rewrites the header.
    async fn tamper(vault: &Vault, change: impl FnOnce(&mut Header)) {
        let mut header = vault.header().unwrap().unwrap();
        change(&mut header);
        vault.save_header(&header).await.unwrap();
    }

    fn attackers_key() -> [u8; 32] {
        PublicKey::from(&StaticSecret::from(crypto::random_bytes::<32>().unwrap())).to_bytes()
    }

    #[tokio::test]
    async fn a_header_whose_public_key_was_swapped_at_rest_is_refused_at_unlock() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault_in(dir.path());
        vault.init(PASSPHRASE).await.unwrap();
        vault.lock();
        tamper(&vault, |h| h.public_key = attackers_key()).await;
        // As after a restart: nothing verified yet in this process.
        let vault = Vault::new(
            vault.store.clone(),
            dir.path(),
            cheap(),
            Duration::from_secs(600),
        )
        .unwrap();
        let err = vault.unlock(&passphrase()).await.unwrap_err();
        assert!(matches!(err, Error::HeaderNotAuthentic(_)), "{err}");
        assert_eq!(vault.state(), VaultState::Locked);
    }

    #[tokio::test]
    async fn locked_captures_seal_to_the_key_verified_at_unlock_not_to_a_swapped_header() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault_in(dir.path());
        vault.init(PASSPHRASE).await.unwrap();
        let verified = vault.public_key().unwrap().to_bytes();
        vault.lock();
        tamper(&vault, |h| h.public_key = attackers_key()).await;
        assert_eq!(vault.public_key().unwrap().to_bytes(), verified);
    }

    #[tokio::test]
    async fn a_header_changed_after_it_was_signed_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault_in(dir.path());
        vault.init(PASSPHRASE).await.unwrap();
        vault.lock();
        // Valid on its own (a recovery wrap from elsewhere would do the same): the MAC catches it.
        tamper(&vault, |h| h.recovery_salt = vec![0; 16]).await;
        let err = vault.unlock(&passphrase()).await.unwrap_err();
        assert!(matches!(err, Error::HeaderNotAuthentic(_)), "{err}");
    }

    #[tokio::test]
    async fn a_header_from_before_macs_unlocks_and_is_signed() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault_in(dir.path());
        vault.init(PASSPHRASE).await.unwrap();
        vault.lock();
        tamper(&vault, |h| h.mac = None).await;
        vault.unlock(&passphrase()).await.unwrap();
        assert!(vault.header().unwrap().unwrap().mac.is_some());
    }

    #[tokio::test]
    async fn absurd_argon2_parameters_in_the_header_are_refused_before_anything_is_derived() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault_in(dir.path());
        vault.init(PASSPHRASE).await.unwrap();
        vault.lock();
        for kdf in [
            KdfParams {
                memory_kib: u32::MAX,
                iterations: 1,
            },
            KdfParams {
                memory_kib: 64,
                iterations: u32::MAX,
            },
            KdfParams {
                memory_kib: 0,
                iterations: 0,
            },
        ] {
            tamper(&vault, |h| h.kdf = kdf).await;
            let err = vault.unlock(&passphrase()).await.unwrap_err();
            assert!(matches!(err, Error::KdfOutOfBounds(_)), "{err}");
            assert!(err.to_string().contains("recovery key"), "{err}");
        }
    }

    #[test]
    fn a_recovery_key_reads_back_despite_case_spaces_and_lookalike_letters() {
        let bytes = crypto::random_bytes::<RECOVERY_BYTES>().unwrap();
        let printed = format_recovery_key(&bytes);
        assert_eq!(printed.len(), 32 + 7);
        assert_eq!(*parse_recovery_key(&printed).unwrap(), bytes);
        let sloppy = printed
            .to_lowercase()
            .replace('-', " ")
            .replace('0', "o")
            .replace('1', "l");
        assert_eq!(*parse_recovery_key(&sloppy).unwrap(), bytes);
        assert!(parse_recovery_key(&printed[..printed.len() - 1]).is_none());
        assert!(parse_recovery_key("not a key").is_none());
    }
}
