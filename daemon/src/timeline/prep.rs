//! Session-prep records: drafts the client reviews and the record of what was exported, each
//! one encrypted record under a one-byte kind and a ULID.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Timeline, decrypt_record, encrypt_record};
use crate::error::{Error, Result};
use crate::store::{Op, Tree};

#[derive(Debug, Clone, Copy)]
pub enum PrepKind {
    Draft = 1,
    Export = 2,
}

fn key(kind: PrepKind, id: &str) -> Result<Vec<u8>> {
    let ulid = ulid::Ulid::from_string(id.trim()).map_err(|_| Error::NotFound {
        what: "draft",
        id: id.to_string(),
    })?;
    let mut key = vec![kind as u8];
    key.extend_from_slice(&ulid.to_bytes());
    Ok(key)
}

impl Timeline {
    pub async fn put_prep<T: Serialize>(&self, kind: PrepKind, id: &str, record: &T) -> Result<()> {
        let keys = self.keys()?;
        let key = key(kind, id)?;
        let value = encrypt_record(&keys, Tree::Prep, &key, record)?;
        self.store
            .commit(vec![Op::Put {
                tree: Tree::Prep,
                key,
                value,
            }])
            .await?;
        Ok(())
    }

    pub fn get_prep<T: DeserializeOwned>(&self, kind: PrepKind, id: &str) -> Result<T> {
        let keys = self.keys()?;
        let key = key(kind, id)?;
        let value = self
            .store
            .get(Tree::Prep, &key)?
            .ok_or_else(|| Error::NotFound {
                what: "draft",
                id: id.to_string(),
            })?;
        decrypt_record(&keys, Tree::Prep, &key, &value, "session-prep record")
    }

    /// Every record of a kind, newest first; damaged ones are skipped and counted.
    pub fn list_prep<T: DeserializeOwned>(&self, kind: PrepKind) -> Result<(Vec<T>, usize)> {
        let keys = self.keys()?;
        let mut found = Vec::new();
        let mut damaged = 0;
        for item in self.store.range(
            Tree::Prep,
            [kind as u8].to_vec()..[kind as u8 + 1].to_vec(),
            true,
        ) {
            let (key, value) = item?;
            match decrypt_record(&keys, Tree::Prep, &key, &value, "session-prep record") {
                Ok(record) => found.push(record),
                Err(_) => damaged += 1,
            }
        }
        Ok((found, damaged))
    }
}
