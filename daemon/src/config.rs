//! The daemon's configuration: TOML at the XDG config path, every field defaulted, then
//! environment variables, then command-line flags (applied by `main.rs`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use interlude_proto::paths;

use crate::store::StoreOptions;
use crate::vault::KdfParams;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the database and journal live. Must not be readable by other users.
    pub data_dir: PathBuf,
    /// The Unix socket; by default under `$XDG_RUNTIME_DIR/interlude/`.
    pub socket: Option<PathBuf>,
    /// Minutes without use before the vault locks itself again.
    pub idle_lock_minutes: f64,
    /// The largest reflection text accepted, in KiB.
    pub max_text_kib: usize,
    /// Argon2id memory for new passphrases, in KiB.
    pub kdf_memory_kib: u32,
    /// Argon2id passes for new passphrases.
    pub kdf_iterations: u32,
    /// A `tracing` filter, e.g. `info` or `interlude_daemon=debug`.
    pub log: String,
    /// sled's page cache, in MiB.
    pub cache_mib: u64,
    /// Whose crisis lines to show: a country's two letters (`GB`), or `INTL`. When set it wins
    /// over the country the client chose at `interlude init` (kept in the data directory).
    pub country: Option<String>,
    /// Older form of `country` (`en_IE.UTF-8`), read after the client's own choice.
    pub locale: Option<String>,
    /// Show check-ins as desktop notifications (off: frontends and `interlude checkin` only).
    pub notifications: bool,
    /// Show the check-in's question on the notification instead of a generic line. Lock
    /// screens and notification history are outside Interlude's encryption.
    pub notification_shows_prompt: bool,
    /// What "Check in" on a notification runs; `{id}` becomes the check-in's id.
    pub checkin_command: Vec<String>,
    /// A BERT-family embedder directory (config.json, tokenizer.json, model.safetensors); by
    /// default the one `interlude models fetch` installs, checked against its pinned SHA-256.
    pub embedder_dir: Option<PathBuf>,
    /// A llama-family GGUF for short summaries; by default the one `interlude models fetch`
    /// installs, checked against its pinned SHA-256.
    pub generator_gguf: Option<PathBuf>,
    /// Minutes without use before a loaded model is dropped from memory.
    pub models_idle_unload_minutes: f64,
    /// The API's other transports (`[api]`).
    pub api: ApiConfig,
    /// The audit trail. Not in the config file: only code starting the daemon in-process (the
    /// measurement of what the trail costs) can turn it off.
    #[serde(skip)]
    pub audit_trail: bool,
    /// The file this config was read from (or would have been, when missing); where
    /// `interlude web` records the listener it turns on. Not a setting.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

/// `[api]`: the loopback gRPC-Web listener for browser frontends, off by default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// `127.0.0.1:PORT` or `[::1]:PORT`; never any other address. Port 0 picks a free one.
    pub web: Option<String>,
    /// Browser origins allowed to call it besides its own (`http://127.0.0.1:PORT`), e.g.
    /// `http://localhost:5173` for a frontend in development. Exact matches only.
    pub web_origins: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        let kdf = KdfParams::default();
        Config {
            data_dir: paths::data_dir(),
            socket: None,
            idle_lock_minutes: 15.0,
            max_text_kib: 64,
            kdf_memory_kib: kdf.memory_kib,
            kdf_iterations: kdf.iterations,
            log: "info".into(),
            cache_mib: 8,
            country: None,
            locale: None,
            notifications: true,
            notification_shows_prompt: false,
            checkin_command: ["x-terminal-emulator", "-e", "interlude", "checkin", "{id}"]
                .map(String::from)
                .to_vec(),
            embedder_dir: None,
            generator_gguf: None,
            models_idle_unload_minutes: 5.0,
            api: ApiConfig::default(),
            audit_trail: true,
            file: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("the environment variable {name} is not valid: {message}")]
    Env { name: &'static str, message: String },
    #[error("the config value `{field}` is not valid: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// The longest any timer may be set to, in minutes (about two years): long enough for "never"
/// in practice, short enough for every clock and `Duration` to hold.
const MAX_MINUTES: f64 = 1_000_000.0;
/// The largest reflection text a config may allow, in KiB: one entry with its history must fit in
/// one response.
const MAX_TEXT_KIB: usize = 1024;

impl Config {
    /// The defaults for a given data directory (what tests and benchmarks start from).
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            ..Config::default()
        }
    }

    /// Reads `path` if it exists (a missing file means all defaults), then the environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let mut config = match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        config.apply_env()?;
        config.file = Some(path.to_path_buf());
        Ok(config)
    }

    /// The config in `text` (read from `path`, which errors name), without the environment.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim().replace('\n', " "),
        })
    }

    fn apply_env(&mut self) -> Result<(), ConfigError> {
        if let Some(dir) = env(paths::DATA_DIR_ENV) {
            self.data_dir = dir.into();
        }
        if let Some(socket) = env(paths::SOCKET_ENV) {
            self.socket = Some(socket.into());
        }
        if let Some(minutes) = env("INTERLUDE_IDLE_LOCK_MINUTES") {
            self.idle_lock_minutes = minutes.parse().map_err(|_| ConfigError::Env {
                name: "INTERLUDE_IDLE_LOCK_MINUTES",
                message: format!("expected a number of minutes, got {minutes:?}"),
            })?;
        }
        if let Some(log) = env("INTERLUDE_LOG") {
            self.log = log;
        }
        Ok(())
    }

    /// Refuses values that would fail later (a timer of `inf` minutes panics in `Duration`,
    /// Argon2 parameters out of bounds abort at the first passphrase).
    pub fn check(&self) -> Result<(), ConfigError> {
        let minutes = |field: &'static str, value: f64| {
            if value.is_finite() && (0.0..=MAX_MINUTES).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::Invalid {
                    field,
                    message: format!("{value} minutes; use a number from 0 to {MAX_MINUTES}"),
                })
            }
        };
        minutes("idle_lock_minutes", self.idle_lock_minutes)?;
        minutes(
            "models_idle_unload_minutes",
            self.models_idle_unload_minutes,
        )?;
        if !(1..=MAX_TEXT_KIB).contains(&self.max_text_kib) {
            return Err(ConfigError::Invalid {
                field: "max_text_kib",
                message: format!("{} KiB; use 1 to {MAX_TEXT_KIB}", self.max_text_kib),
            });
        }
        if let Some(country) = &self.country {
            interlude_proto::crisis_lines::parse_country(country).map_err(|message| {
                ConfigError::Invalid {
                    field: "country",
                    message,
                }
            })?;
        }
        self.web_address()?;
        for origin in &self.api.web_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    field: "api.web_origins",
                    message: format!(
                        "`{origin}` is not an origin; write it as a browser does, e.g. http://localhost:5173"
                    ),
                });
            }
        }
        crate::vault::check_kdf(self.kdf()).map_err(|e| ConfigError::Invalid {
            field: "kdf_memory_kib / kdf_iterations",
            message: e.to_string(),
        })
    }

    /// The loopback gRPC-Web listener's address, if it is on; anything but loopback is refused.
    pub fn web_address(&self) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        self.api
            .web
            .as_deref()
            .map(crate::web::parse_address)
            .transpose()
            .map_err(|message| ConfigError::Invalid {
                field: "api.web",
                message,
            })
    }

    pub fn socket_path(&self) -> PathBuf {
        self.socket
            .clone()
            .unwrap_or_else(|| paths::socket_for(&self.data_dir))
    }

    pub fn idle_lock(&self) -> Duration {
        Duration::from_secs_f64(self.idle_lock_minutes.max(0.0) * 60.0)
    }

    /// Where the crisis lines' country may come from, but the client's choice, which the
    /// safety module reads from the data directory each time (it can change while running).
    pub fn country_sources(&self) -> interlude_proto::crisis_lines::Sources {
        interlude_proto::crisis_lines::Sources {
            config_country: self.country.clone(),
            config_locale: self.locale.clone(),
            system_locale: Some(interlude_proto::crisis_lines::system_locale()),
            ..Default::default()
        }
    }

    pub fn kdf(&self) -> KdfParams {
        KdfParams {
            memory_kib: self.kdf_memory_kib,
            iterations: self.kdf_iterations,
        }
    }

    pub fn model_settings(&self) -> crate::models::ModelSettings {
        let default = interlude_proto::models::models_dir(&self.data_dir)
            .join(interlude_proto::models::EMBEDDER_ID);
        crate::models::ModelSettings {
            pinned: self.embedder_dir.is_none(),
            embedder_dir: self.embedder_dir.clone().unwrap_or(default),
            idle_unload: Duration::from_secs_f64(self.models_idle_unload_minutes.max(0.0) * 60.0),
            // Fine-tuned on the default embedder only.
            classifier: self
                .embedder_dir
                .is_none()
                .then(|| interlude_proto::models::classifier_path(&self.data_dir)),
        }
    }

    pub fn generator_settings(&self) -> crate::models::GeneratorSettings {
        use interlude_proto::models::{GENERATOR_FILE, GENERATOR_ID, models_dir};
        let default = models_dir(&self.data_dir)
            .join(GENERATOR_ID)
            .join(GENERATOR_FILE);
        crate::models::GeneratorSettings {
            pinned: self.generator_gguf.is_none(),
            gguf: self.generator_gguf.clone().unwrap_or(default),
            idle_unload: Duration::from_secs_f64(self.models_idle_unload_minutes.max(0.0) * 60.0),
            weights: crate::models::generator::Weights::FastKernels,
        }
    }

    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            cache_bytes: self.cache_mib * 1024 * 1024,
            ..StoreOptions::default()
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_unknown_field_is_an_error_that_names_the_file_and_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "idle_lock_minuts = 5\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("config.toml") && err.contains("idle_lock_minuts"),
            "{err}"
        );
    }

    #[test]
    fn a_partial_file_keeps_every_other_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "idle_lock_minutes = 5\n").unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.idle_lock(), Duration::from_secs(300));
        assert_eq!(config.max_text_kib, 64);
    }
}
