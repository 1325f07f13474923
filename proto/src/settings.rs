//! Settings read without the daemon, for the CLI's commands that work without it (`help-now`,
//! `models`, `plugin`): flags, then the environment, then the daemon's config file, then the
//! defaults — the order the daemon resolves them in. Beside [`paths`], which it falls back to.

use std::path::{Path, PathBuf};

use crate::paths;

/// The daemon's data directory.
pub fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    if let Some(dir) = flag {
        return dir;
    }
    if env(paths::DATA_DIR_ENV).is_some() {
        return paths::data_dir();
    }
    config_value("data_dir").map_or_else(paths::data_dir, PathBuf::from)
}

/// The socket of the daemon serving `data_dir`, placed as the daemon places it: the config
/// file's `socket`, or the default for that data directory.
pub fn socket_for(data_dir: &Path) -> PathBuf {
    config_value("socket").map_or_else(|| paths::socket_for(data_dir), PathBuf::from)
}

pub fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// A string setting from the daemon's config file, if the file is there and readable.
pub fn config_value(key: &str) -> Option<String> {
    let text = std::fs::read_to_string(paths::config_file()).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    table
        .get(key)?
        .as_str()
        .filter(|value| !value.trim().is_empty())
        .map(str::to_owned)
}
