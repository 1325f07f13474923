//! Which plugins are turned off, by id: a tiny TOML file, `disabled = ["cbt"]`, written
//! atomically. Turning a plugin off keeps it installed; the built-ins can only be turned off.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::format::is_valid_id;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub disabled: BTreeSet<String>,
    /// Built-ins that are off until turned on (`crate::builtin::OFF_BY_DEFAULT`) and were.
    #[serde(default)]
    pub enabled: BTreeSet<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{} is not valid: {message}; fix or delete it", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("`{0}` is not a plugin id: use lowercase words joined by hyphens")]
    Id(String),
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Settings {
    /// Reads the settings file; a missing file means every plugin is on.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(source) => {
                return Err(SettingsError::Io {
                    action: "read",
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let settings: Settings = toml::from_str(&text).map_err(|e| SettingsError::Parse {
            path: path.to_path_buf(),
            message: e.message().trim().to_string(),
        })?;
        match settings
            .disabled
            .iter()
            .chain(&settings.enabled)
            .find(|id| !is_valid_id(id))
        {
            Some(id) => Err(SettingsError::Parse {
                path: path.to_path_buf(),
                message: format!("`{id}` is not a plugin id"),
            }),
            None => Ok(settings),
        }
    }

    /// Turns `id` off (`on == false`) or back on; returns whether anything changed.
    pub fn set_enabled(&mut self, id: &str, on: bool) -> Result<bool, SettingsError> {
        if !is_valid_id(id) {
            return Err(SettingsError::Id(id.to_string()));
        }
        let off_by_default = crate::builtin::OFF_BY_DEFAULT.contains(&id);
        Ok(if on {
            let turned_on = off_by_default && self.enabled.insert(id.to_string());
            self.disabled.remove(id) || turned_on
        } else {
            let turned_off = self.enabled.remove(id);
            self.disabled.insert(id.to_string()) || turned_off
        })
    }

    /// Whether the plugin `id` is off: turned off, or a built-in that is off by default and
    /// was never turned on (a plugin installed under that id is on, as installs are).
    pub fn is_off(&self, id: &str, built_in: bool) -> bool {
        self.disabled.contains(id)
            || (built_in
                && crate::builtin::OFF_BY_DEFAULT.contains(&id)
                && !self.enabled.contains(id))
    }

    pub fn save(&self, path: &Path) -> Result<(), SettingsError> {
        // Ids are lowercase letters, digits and hyphens, so quoting them needs no escaping.
        let quoted = |ids: &BTreeSet<String>| {
            ids.iter()
                .map(|id| format!("\"{id}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let text = format!(
            "# Plugins turned off with `interlude plugin disable`; `enable` turns them back on.\n\
             disabled = [{}]\n\
             # Built-ins that are off until turned on with `interlude plugin enable`.\n\
             enabled = [{}]\n",
            quoted(&self.disabled),
            quoted(&self.enabled)
        );
        super::files::write_atomic(path, text.as_bytes(), 0o600).map_err(|source| {
            SettingsError::Io {
                action: "write",
                path: path.to_path_buf(),
                source,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn disabled_ids_survive_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugin-settings.toml");
        assert_eq!(Settings::load(&path).unwrap(), Settings::default());
        let mut settings = Settings::default();
        assert!(settings.set_enabled("cbt", false).unwrap());
        assert!(!settings.set_enabled("cbt", false).unwrap());
        assert!(settings.set_enabled("../x", false).is_err());
        settings.save(&path).unwrap();
        assert_eq!(Settings::load(&path).unwrap(), settings);
        std::fs::write(&path, "disabld = []").unwrap();
        assert!(Settings::load(&path).is_err());
    }
}
