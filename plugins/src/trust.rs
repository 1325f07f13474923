//! The keys whose plugin bundles install: one minisign `.pub` file per key in a private
//! directory, named by key id, with the name the user gave it as the untrusted comment — so the
//! store is readable, and `minisign -V -p` works on any of its files.

use std::path::{Path, PathBuf};

use super::files::write_atomic;
use super::signature::{self, SignatureError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// As minisign prints it: 16 upper-case hex digits.
    pub key_id: String,
    /// Who the user said it belongs to.
    pub name: String,
    /// The base64 line of the `.pub` file.
    pub public_key: String,
}

impl TrustedKey {
    /// The `.pub` file's text.
    pub fn file_text(&self) -> String {
        format!("untrusted comment: {}\n{}\n", self.name, self.public_key)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("that is not a minisign public key: {0}")]
    Key(#[from] SignatureError),
    #[error("a key's name is one line of at most 200 characters")]
    Name,
    #[error("no trusted key has the id {0}; `interlude plugin list` shows the trusted keys")]
    NotTrusted(String),
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The trust store at `dir` (created on the first `add`).
#[derive(Debug, Clone)]
pub struct TrustStore {
    dir: PathBuf,
}

impl TrustStore {
    pub fn new(dir: impl Into<PathBuf>) -> TrustStore {
        TrustStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every trusted key, by key id; none if the store does not exist yet.
    pub fn list(&self) -> Result<Vec<TrustedKey>, TrustError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(self.io("read", &self.dir, source)),
        };
        let mut keys = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| self.io("read", &self.dir, e))?.path();
            if path.extension().is_none_or(|e| e != "pub") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| self.io("read", &path, e))?;
            let (key_id, public_key) = signature::public_key_id(&text)?;
            keys.push(TrustedKey {
                key_id,
                name: comment_of(&text).unwrap_or_default(),
                public_key,
            });
        }
        keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        Ok(keys)
    }

    /// The `.pub` texts to verify signatures against.
    pub fn public_keys(&self) -> Result<Vec<String>, TrustError> {
        Ok(self.list()?.iter().map(TrustedKey::file_text).collect())
    }

    /// Trusts the key in `pub_text` (a minisign `.pub` file or its base64 line) under `name`,
    /// by default the file's own comment. Trusting a key again renames it.
    pub fn add(&self, pub_text: &str, name: Option<&str>) -> Result<TrustedKey, TrustError> {
        let (key_id, public_key) = signature::public_key_id(pub_text)?;
        let name = match name {
            Some(name) => name.trim().to_string(),
            None => comment_of(pub_text).unwrap_or_else(|| format!("key {key_id}")),
        };
        if name.contains(['\n', '\r']) || name.chars().count() > 200 {
            return Err(TrustError::Name);
        }
        let key = TrustedKey {
            key_id,
            name,
            public_key,
        };
        let path = self.path_of(&key.key_id);
        write_atomic(&path, key.file_text().as_bytes(), 0o600)
            .map_err(|e| self.io("write", &path, e))?;
        Ok(key)
    }

    /// Stops trusting the key with this id (any case). Plugins it signed stay installed.
    pub fn remove(&self, key_id: &str) -> Result<TrustedKey, TrustError> {
        let wanted = key_id.trim().to_ascii_uppercase();
        let key = self
            .list()?
            .into_iter()
            .find(|k| k.key_id == wanted)
            .ok_or_else(|| TrustError::NotTrusted(key_id.trim().to_string()))?;
        let path = self.path_of(&key.key_id);
        std::fs::remove_file(&path).map_err(|e| self.io("remove", &path, e))?;
        super::files::sync_dir(&self.dir).map_err(|e| self.io("sync", &self.dir, e))?;
        Ok(key)
    }

    fn path_of(&self, key_id: &str) -> PathBuf {
        self.dir.join(format!("{key_id}.pub"))
    }

    fn io(&self, action: &'static str, path: &Path, source: std::io::Error) -> TrustError {
        TrustError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The untrusted comment of a `.pub` file, if it has one worth keeping.
fn comment_of(text: &str) -> Option<String> {
    let comment = text
        .lines()
        .next()?
        .strip_prefix("untrusted comment:")?
        .trim();
    (!comment.is_empty()).then(|| comment.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_key_is_trusted_listed_and_untrusted_in_a_private_store() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = TrustStore::new(dir.path().join("keys"));
        assert!(store.list().unwrap().is_empty());
        let (public, _) = signature::generate(None).unwrap();
        let key = store.add(&public, Some("Dr Rivera")).unwrap();
        assert_eq!(store.list().unwrap(), vec![key.clone()]);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(store.dir()), 0o700);
        assert_eq!(mode(&store.path_of(&key.key_id)), 0o600);
        assert!(matches!(
            store.remove("0000000000000000"),
            Err(TrustError::NotTrusted(_))
        ));
        store.remove(&key.key_id.to_lowercase()).unwrap();
        assert!(store.list().unwrap().is_empty());
    }
}
