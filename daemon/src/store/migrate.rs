//! The schema version in the `meta` tree and the ordered, idempotent migrations that bring old
//! data up to it. Fixtures of every released schema are loaded by the tests.

use std::path::Path;

use super::{Op, Store, StoreError, Tree};

/// The schema this build writes. Bump it with a new entry in [`MIGRATIONS`].
pub const SCHEMA_VERSION: u32 = 1;

const VERSION_KEY: &[u8] = b"schema_version";

/// `MIGRATIONS[i]` turns schema `i` into `i + 1`. Schema 0 is an empty store.
type Migration = fn(&Store) -> Result<Vec<Op>, StoreError>;
const MIGRATIONS: [Migration; SCHEMA_VERSION as usize] = [|_| Ok(Vec::new())];

pub(super) fn run(store: &Store, dir: &Path) -> Result<(), StoreError> {
    run_to(store, dir, &MIGRATIONS)
}

/// Brings the store to schema `migrations.len()`.
fn run_to(store: &Store, dir: &Path, migrations: &[Migration]) -> Result<(), StoreError> {
    let target = migrations.len() as u32;
    let mut found = read_version(store)?;
    if found > target {
        return Err(StoreError::TooNew {
            path: dir.to_path_buf(),
            found,
            known: target,
        });
    }
    while found < target {
        let mut ops = migrations[found as usize](store)?;
        found += 1;
        ops.push(Op::Put {
            tree: Tree::Meta,
            key: VERSION_KEY.to_vec(),
            value: found.to_be_bytes().to_vec(),
        });
        store.inner.committer.commit_now(ops)?;
        tracing::info!(schema = found, "migrated the store");
    }
    Ok(())
}

fn read_version(store: &Store) -> Result<u32, StoreError> {
    Ok(store
        .get(Tree::Meta, VERSION_KEY)?
        .and_then(|v| <[u8; 4]>::try_from(v.as_slice()).ok())
        .map(u32::from_be_bytes)
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::crypto;
    use crate::store::StoreOptions;

    /// Migrations run without keys: a schema bump must leave every record's integrity check
    /// as it was. Simulated with one more (key-less, no-op) migration than this build has.
    #[test]
    fn records_written_before_a_schema_bump_open_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let key = crypto::random_key().unwrap();
        let ad = || crypto::record_ad(Tree::Reflections.name(), b"A");
        let value = crypto::encrypt(&key, b"written under schema 1", &ad()).unwrap();
        store
            .inner
            .committer
            .commit_now(vec![Op::Put {
                tree: Tree::Reflections,
                key: b"A".to_vec(),
                value,
            }])
            .unwrap();
        let bumped: Vec<Migration> = MIGRATIONS
            .iter()
            .copied()
            .chain([(|_| Ok(Vec::new())) as Migration])
            .collect();
        run_to(&store, dir.path(), &bumped).unwrap();
        assert_eq!(read_version(&store).unwrap(), SCHEMA_VERSION + 1);
        let stored = store.get(Tree::Reflections, b"A").unwrap().unwrap();
        assert_eq!(
            crypto::decrypt(&key, &stored, &ad()).unwrap().as_slice(),
            b"written under schema 1"
        );
    }
}
