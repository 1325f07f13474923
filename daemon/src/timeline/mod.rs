//! Reflections, therapy sessions and vocabulary: the client's material, stored one encrypted
//! record per key. This module decides what a record is and how it is sealed; `store` decides
//! how it reaches the disk.

mod reflections;
pub use reflections::Added;
mod sessions;
pub use sessions::{MAX_SESSIONS_PAGE, SessionEdit, SessionList};
mod import;
pub mod prep;
pub mod vectors;
mod vocabulary;
pub use import::{ImportBatch, Imported};

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::crypto;
use crate::domain::Limits;
use crate::error::{Error, Result};
use crate::safety::CrisisCheck;
use crate::store::{Op, Store, Tree};
use crate::vault::{Keys, Vault};

#[derive(Clone)]
pub struct Timeline {
    store: Store,
    vault: Arc<Vault>,
    limits: Limits,
    /// Runs on every reflection before it is saved.
    crisis_check: Arc<CrisisCheck>,
    /// Told about every reflection or session written or deleted, so derived data (vectors)
    /// can follow. Unset until the daemon wires the indexer in.
    changes: Option<tokio::sync::mpsc::UnboundedSender<Changed>>,
    /// Held while vectors are written and while their source is deleted, so that a vector
    /// computed from a reflection can never land after that reflection's deletion.
    vector_writes: Arc<tokio::sync::Mutex<()>>,
}

/// What changed, by key (never by content).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Reflection([u8; 16]),
    ReflectionDeleted([u8; 16]),
    Session([u8; 16]),
    SessionDeleted([u8; 16]),
}

impl Timeline {
    pub fn new(
        store: Store,
        vault: Arc<Vault>,
        limits: Limits,
        crisis_check: Arc<CrisisCheck>,
    ) -> Timeline {
        Timeline {
            store,
            vault,
            limits,
            crisis_check,
            changes: None,
            vector_writes: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Sends every later change to `changes` (see [`Changed`]).
    pub fn with_changes(mut self, changes: tokio::sync::mpsc::UnboundedSender<Changed>) -> Self {
        self.changes = Some(changes);
        self
    }

    /// What `status` should say about the crisis check, if anything (running without its
    /// classifier).
    pub fn crisis_check_notice(&self) -> Option<String> {
        self.crisis_check.notice()
    }

    fn changed(&self, change: Changed) {
        if let Some(changes) = &self.changes {
            let _ = changes.send(change);
        }
    }

    fn keys(&self) -> Result<Arc<Keys>> {
        self.vault.keys()
    }

    /// The keys for work the client did not ask for (indexing): does not count as use, so it
    /// never keeps the vault from locking when idle.
    fn background_keys(&self) -> Result<Arc<Keys>> {
        self.vault.keys_in_background()
    }

    /// Commits deletions, then compacts the store so the removed values are gone from disk.
    /// The deletion stands even if compaction fails; the next one catches up.
    async fn erase(&self, deletions: Vec<Op>) -> Result<()> {
        self.store.commit(deletions).await?;
        if let Err(err) = self.store.compact().await {
            tracing::error!(error = %err, "compaction after a deletion failed");
        }
        Ok(())
    }
}

/// Parses a client-supplied id; sled keys are the 16 ULID bytes.
fn key_of(what: &'static str, id: &str) -> Result<[u8; 16]> {
    ulid::Ulid::from_string(id.trim())
        .map(|u| u.to_bytes())
        .map_err(|_| Error::NotFound {
            what,
            id: id.to_string(),
        })
}

fn id_of(key: &[u8]) -> String {
    <[u8; 16]>::try_from(key)
        .map(|k| ulid::Ulid::from_bytes(k).to_string())
        .unwrap_or_default()
}

fn encrypt_record<T: Serialize>(
    keys: &Keys,
    tree: Tree,
    key: &[u8],
    record: &T,
) -> Result<Vec<u8>> {
    let plain =
        Zeroizing::new(serde_json::to_vec(record).map_err(|e| Error::Internal(e.to_string()))?);
    Ok(crypto::encrypt(
        &keys.data,
        &plain,
        &crypto::record_ad(tree.name(), key),
    )?)
}

/// A value that does not open, or opens to something that is not a record, is damage.
fn decrypt_record<T: DeserializeOwned>(
    keys: &Keys,
    tree: Tree,
    key: &[u8],
    value: &[u8],
    what: &'static str,
) -> Result<T> {
    let damaged = || Error::Damaged {
        what,
        id: id_of(key),
    };
    let plain = crypto::decrypt(&keys.data, value, &crypto::record_ad(tree.name(), key))
        .map_err(|_| damaged())?;
    serde_json::from_slice(&plain).map_err(|_| damaged())
}
