//! The safety plan: stored encrypted like everything else, plus, only if the client turns it on,
//! an unencrypted copy beside the database so that help-now can show it while the vault is
//! locked.
//!
//! Erasing that copy (on a change, or when the client turns it off) is best effort: the old
//! bytes are overwritten in place and synced before the file is replaced or removed, but a
//! copy-on-write or journaling filesystem, or an SSD's wear levelling, may keep older blocks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::crypto;
use crate::domain::{Limits, SafetyPlan};
use crate::error::{Error, Result, invalid};
use crate::store::{Op, Store, Tree};
use crate::vault::Vault;

const PLAN_KEY: &[u8] = b"plan";
const MAX_ITEMS: usize = 64;

pub struct Plans {
    store: Store,
    vault: Arc<Vault>,
    limits: Limits,
    /// The readable-while-locked copy; exists only while the client wants it.
    locked_copy: PathBuf,
}

impl Plans {
    pub fn new(store: Store, vault: Arc<Vault>, limits: Limits, data_dir: &Path) -> Plans {
        Plans {
            store,
            vault,
            limits,
            locked_copy: remove_staging_leftover(
                data_dir.join("safety-plan-readable-while-locked.json"),
            ),
        }
    }

    /// The plan from the vault; an empty plan when none is written yet.
    pub fn get(&self) -> Result<SafetyPlan> {
        let keys = self.vault.keys()?;
        let Some(value) = self.store.get(Tree::Safety, PLAN_KEY)? else {
            return Ok(SafetyPlan::default());
        };
        let plain = crypto::decrypt(&keys.data, &value, &ad()).map_err(|_| Error::Damaged {
            what: "the safety plan",
            id: "plan".into(),
        })?;
        serde_json::from_slice(&plain).map_err(|_| Error::Damaged {
            what: "the safety plan",
            id: "plan".into(),
        })
    }

    /// Replaces the plan, and the readable-while-locked copy if there is one.
    pub async fn set(&self, plan: SafetyPlan) -> Result<SafetyPlan> {
        self.check(&plan)?;
        let keys = self.vault.keys()?;
        let plain =
            Zeroizing::new(serde_json::to_vec(&plan).map_err(|e| Error::Internal(e.to_string()))?);
        let value = crypto::encrypt(&keys.data, &plain, &ad())?;
        self.store
            .commit(vec![Op::Put {
                tree: Tree::Safety,
                key: PLAN_KEY.to_vec(),
                value,
            }])
            .await?;
        if self.has_locked_copy() {
            self.write_locked_copy(&plan)?;
        }
        Ok(plan)
    }

    pub fn has_locked_copy(&self) -> bool {
        self.locked_copy.exists()
    }

    /// Turns the readable-while-locked copy on (written from the vault now) or off (overwritten
    /// and removed).
    pub fn set_locked_copy(&self, enabled: bool) -> Result<()> {
        if enabled {
            let plan = self.get()?;
            self.write_locked_copy(&plan)
        } else {
            self.vault.keys()?;
            remove_copy(&self.locked_copy)
        }
    }

    /// The plan when it can be read: from the vault, or from the copy while locked.
    pub fn for_help_now(&self) -> Option<SafetyPlan> {
        match self.get() {
            Ok(plan) => Some(plan),
            Err(_) => std::fs::read(&self.locked_copy)
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok()),
        }
        .filter(|plan| !plan.is_empty())
    }

    fn write_locked_copy(&self, plan: &SafetyPlan) -> Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let bytes = serde_json::to_vec_pretty(plan).map_err(|e| Error::Internal(e.to_string()))?;
        let staging = self.locked_copy.with_extension("tmp");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&staging)
            .and_then(|mut f| f.write_all(&bytes).and_then(|()| f.sync_all()))
            // The rename would free the old copy's blocks as they are: overwrite them first.
            .and_then(|()| scrub(&self.locked_copy))
            .and_then(|()| std::fs::rename(&staging, &self.locked_copy));
        written.map_err(|e| {
            Error::Internal(format!(
                "could not write {}: {e}",
                self.locked_copy.display()
            ))
        })
    }

    fn check(&self, plan: &SafetyPlan) -> Result<()> {
        for section in plan.sections() {
            if section.len() > MAX_ITEMS {
                return Err(invalid(format!(
                    "a section of the plan has more than {MAX_ITEMS} items"
                )));
            }
            for item in section {
                self.limits.check_text("plan item", item)?;
            }
        }
        Ok(())
    }
}

fn ad() -> Vec<u8> {
    crypto::record_ad(Tree::Safety.name(), PLAN_KEY)
}

fn remove_copy(path: &Path) -> Result<()> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    scrub(path)
        .and_then(|()| std::fs::remove_file(path))
        .map_err(|e| Error::Internal(format!("could not remove {}: {e}", path.display())))
}

/// A staging file left by a crash mid-write holds plaintext nobody reads: scrub and remove it.
fn remove_staging_leftover(copy: PathBuf) -> PathBuf {
    let staging = copy.with_extension("tmp");
    if let Err(err) = remove_copy(&staging) {
        tracing::warn!(error = %err, "could not remove a leftover staging file");
    }
    copy
}

/// Overwrites `path` in place with zeros and syncs it; nothing to do when it does not exist.
fn scrub(path: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let Ok(len) = std::fs::symlink_metadata(path).map(|m| m.len()) else {
        return Ok(());
    };
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    file.write_all(&vec![0u8; len as usize])?;
    file.sync_all()
}
