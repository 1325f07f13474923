//! Where plugin state lives, all under the data directory so one `INTERLUDE_DATA_DIR` moves it:
//! installed plugins, the trusted keys, and which plugins are turned off.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct PluginPaths {
    data_dir: PathBuf,
}

impl PluginPaths {
    pub fn new(data_dir: impl Into<PathBuf>) -> PluginPaths {
        PluginPaths {
            data_dir: data_dir.into(),
        }
    }

    /// `<data>/plugins/`: one directory per installed plugin, named by its id. Installs write
    /// only here.
    pub fn plugin_dir(&self) -> PathBuf {
        self.data_dir.join("plugins")
    }

    /// `<data>/trusted-keys/`: one minisign `.pub` file per trusted key.
    pub fn trusted_keys(&self) -> PathBuf {
        self.data_dir.join("trusted-keys")
    }

    /// `<data>/plugin-settings.toml`: `disabled = ["id", …]`.
    pub fn settings(&self) -> PathBuf {
        self.data_dir.join("plugin-settings.toml")
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}
