//! The safety plan: stored encrypted like everything else, plus, only if the client turns it on,
//! an unencrypted copy beside the database so that help-now can show it while the vault is
//! locked.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::crypto;
use crate::domain::{Limits, SafetyPlan};
use crate::error::{Error, Result, invalid};
use crate::store::{Op, SCHEMA_VERSION, Store, Tree};
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
            locked_copy: data_dir.join("safety-plan-readable-while-locked.json"),
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
    crypto::record_ad(Tree::Safety.name(), PLAN_KEY, SCHEMA_VERSION)
}

fn remove_copy(path: &Path) -> Result<()> {
    use std::io::Write;
    let Ok(len) = std::fs::metadata(path).map(|m| m.len()) else {
        return Ok(());
    };
    let overwritten = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| {
            f.write_all(&vec![0u8; len as usize])
                .and_then(|()| f.sync_all())
        })
        .and_then(|()| std::fs::remove_file(path));
    overwritten.map_err(|e| Error::Internal(format!("could not remove {}: {e}", path.display())))
}
