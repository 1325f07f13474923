//! Where Interlude keeps things by default, following the XDG base directory spec.
//!
//! The daemon and the CLI both resolve paths here, so `interlude` finds the socket of an
//! `interluded` started with the same environment.

use std::path::PathBuf;

/// Overrides the data directory (also read by the daemon's config loader).
pub const DATA_DIR_ENV: &str = "INTERLUDE_DATA_DIR";
/// Overrides the socket path.
pub const SOCKET_ENV: &str = "INTERLUDE_SOCKET";
/// Overrides the config file path.
pub const CONFIG_ENV: &str = "INTERLUDE_CONFIG";

const APP: &str = "interlude";
const SOCKET_NAME: &str = "interluded.sock";

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home() -> PathBuf {
    env_path("HOME").unwrap_or_else(|| PathBuf::from("/"))
}

/// `$XDG_CONFIG_HOME/interlude/config.toml`, or `~/.config/interlude/config.toml`.
pub fn config_file() -> PathBuf {
    env_path(CONFIG_ENV).unwrap_or_else(|| {
        env_path("XDG_CONFIG_HOME")
            .unwrap_or_else(|| home().join(".config"))
            .join(APP)
            .join("config.toml")
    })
}

/// `$XDG_DATA_HOME/interlude`, or `~/.local/share/interlude`.
pub fn data_dir() -> PathBuf {
    env_path(DATA_DIR_ENV).unwrap_or_else(|| {
        env_path("XDG_DATA_HOME")
            .unwrap_or_else(|| home().join(".local/share"))
            .join(APP)
    })
}

/// `$XDG_RUNTIME_DIR/interlude/interluded.sock`, or `<data dir>/run/interluded.sock` when there
/// is no runtime dir.
pub fn socket_for(data_dir: &std::path::Path) -> PathBuf {
    if let Some(explicit) = env_path(SOCKET_ENV) {
        return explicit;
    }
    match env_path("XDG_RUNTIME_DIR") {
        Some(runtime) => runtime.join(APP).join(SOCKET_NAME),
        None => data_dir.join("run").join(SOCKET_NAME),
    }
}

/// The socket of the default data directory.
pub fn socket() -> PathBuf {
    socket_for(&data_dir())
}
