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
    let mut found = read_version(store)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: dir.to_path_buf(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    while found < SCHEMA_VERSION {
        let mut ops = MIGRATIONS[found as usize](store)?;
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
