//! Access tokens: made, listed, revoked and checked. A token is `itk_<id>_<secret>`: the id finds
//! the record, the secret (32 random bytes) is kept only as its SHA-256 and compared in constant
//! time. Records hold no client material and stay readable while the vault is locked, so a
//! capture token works then too.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use ulid::Ulid;

use super::scopes::Scope;
use crate::domain::{Millis, now_millis};
use crate::store::{Op, Store, StoreError, Tree};

const PREFIX: &str = "itk_";
const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "a token needs a name of 1 to {MAX_NAME_CHARS} printable characters, such as \"tray app\""
    )]
    BadName,
    #[error(
        "a token needs at least one scope: capture, read, edit, practice, prep, plugins or admin"
    )]
    NoScope,
    #[error(transparent)]
    UnknownScope(#[from] super::scopes::UnknownScope),
    #[error("the expiry is in the past; give a time to come, or none")]
    ExpiredAlready,
    #[error("a live token is already called \"{0}\"; revoke it first or choose another name")]
    NameTaken(String),
    #[error("no live token is called \"{0}\"; `interlude token list` shows them")]
    NoSuchName(String),
    #[error("a token record is damaged ({0}); revoke and remake the token")]
    Damaged(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not make a random secret: {0}")]
    Random(String),
}

/// Why a presented token was not accepted. Said to the caller without telling which part was
/// wrong beyond what they can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    Unknown,
    Revoked,
    Expired,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRecord {
    pub name: String,
    pub scopes: BTreeSet<String>,
    /// SHA-256 of the secret, hex.
    pub secret_sha256: String,
    pub created_at: Millis,
    /// 0: never.
    pub expires_at: Millis,
    /// 0: live.
    pub revoked_at: Millis,
}

impl TokenRecord {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(scope.name())
    }

    fn live(&self, now: Millis) -> bool {
        self.revoked_at == 0 && (self.expires_at == 0 || now < self.expires_at)
    }
}

/// The token records, over the store.
#[derive(Clone)]
pub struct Tokens {
    store: Store,
}

impl Tokens {
    pub fn new(store: Store) -> Tokens {
        Tokens { store }
    }

    /// Makes a token and returns it (the only time the secret exists outside the caller).
    pub async fn create(
        &self,
        name: &str,
        scopes: &[String],
        expires_at: Millis,
    ) -> Result<(String, TokenRecord), TokenError> {
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(TokenError::BadName);
        }
        let scopes = scopes
            .iter()
            .flat_map(|s| s.split(','))
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.parse::<Scope>().map(|scope| scope.name().to_owned()))
            .collect::<Result<BTreeSet<_>, _>>()?;
        if scopes.is_empty() {
            return Err(TokenError::NoScope);
        }
        let now = now_millis();
        if expires_at != 0 && expires_at <= now {
            return Err(TokenError::ExpiredAlready);
        }
        if self
            .all()?
            .iter()
            .any(|(_, r)| r.name == name && r.live(now))
        {
            return Err(TokenError::NameTaken(name.to_owned()));
        }
        let secret =
            crate::crypto::random_bytes::<32>().map_err(|e| TokenError::Random(e.to_string()))?;
        let secret = crate::crypto::hex(&secret);
        let id = Ulid::new();
        let record = TokenRecord {
            name: name.to_owned(),
            scopes,
            secret_sha256: crate::crypto::hex(&Sha256::digest(secret.as_bytes())),
            created_at: now,
            expires_at,
            revoked_at: 0,
        };
        self.put(id, &record).await?;
        Ok((format!("{PREFIX}{id}_{secret}"), record))
    }

    /// Every token, oldest first.
    pub fn list(&self) -> Result<Vec<TokenRecord>, TokenError> {
        Ok(self.all()?.into_iter().map(|(_, r)| r).collect())
    }

    /// Revokes the live token called `name`.
    pub async fn revoke(&self, name: &str) -> Result<TokenRecord, TokenError> {
        let now = now_millis();
        let (id, mut record) = self
            .all()?
            .into_iter()
            .find(|(_, r)| r.name == name.trim() && r.live(now))
            .ok_or_else(|| TokenError::NoSuchName(name.trim().to_owned()))?;
        record.revoked_at = now;
        self.put(id, &record).await?;
        Ok(record)
    }

    /// The record of a presented token, if it is one of ours and still live.
    pub fn check(&self, presented: &str, now: Millis) -> Result<TokenRecord, Rejected> {
        let (id, secret) = presented
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .ok_or(Rejected::Unknown)?;
        let id = Ulid::from_string(id).map_err(|_| Rejected::Unknown)?;
        let record = self
            .store
            .get(Tree::Tokens, &id.to_bytes())
            .ok()
            .flatten()
            .and_then(|value| serde_json::from_slice::<TokenRecord>(&value).ok())
            .ok_or(Rejected::Unknown)?;
        let presented_hash = crate::crypto::hex(&Sha256::digest(secret.as_bytes()));
        let matches: bool = presented_hash
            .as_bytes()
            .ct_eq(record.secret_sha256.as_bytes())
            .into();
        if !matches {
            return Err(Rejected::Unknown);
        }
        if record.revoked_at != 0 {
            return Err(Rejected::Revoked);
        }
        if record.expires_at != 0 && now >= record.expires_at {
            return Err(Rejected::Expired);
        }
        Ok(record)
    }

    fn all(&self) -> Result<Vec<(Ulid, TokenRecord)>, TokenError> {
        self.store
            .range(Tree::Tokens, .., false)
            .map(|pair| {
                let (key, value) = pair?;
                let id = <[u8; 16]>::try_from(key.as_slice())
                    .map(Ulid::from_bytes)
                    .map_err(|_| TokenError::Damaged("a key is not an id".into()))?;
                let record = serde_json::from_slice(&value)
                    .map_err(|e| TokenError::Damaged(e.to_string()))?;
                Ok((id, record))
            })
            .collect()
    }

    async fn put(&self, id: Ulid, record: &TokenRecord) -> Result<(), TokenError> {
        let value = serde_json::to_vec(record).map_err(|e| TokenError::Damaged(e.to_string()))?;
        self.store
            .commit(vec![Op::Put {
                tree: Tree::Tokens,
                key: id.to_bytes().to_vec(),
                value,
            }])
            .await?;
        Ok(())
    }
}
