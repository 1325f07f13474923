//! The loopback web listener's switch: on from the start when the config says so, or turned on
//! while the daemon runs by `Daemon.OpenWeb` (`interlude web`), which also records it in the
//! config file the daemon was started with, so that it stays on. One listener per run; it closes
//! when the daemon stops. Never anything but loopback ([`crate::web::parse_address`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::config::ConfigError;

/// What a plain `interlude web` asks for (a free port instead when it is taken).
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:7777";

/// The listener and its address, handed to the server once.
pub type Handed = (TcpListener, SocketAddr);

#[derive(Clone)]
pub struct WebSwitch {
    state: Arc<Mutex<State>>,
    /// The config file the daemon read (or would have read): where an opened listener is kept.
    config_file: Option<PathBuf>,
}

struct State {
    address: Option<SocketAddr>,
    hand_over: Option<oneshot::Sender<Handed>>,
}

/// Where the listener is, and whether this call turned it on.
pub struct Opened {
    pub address: SocketAddr,
    pub now_on: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Address(String),
    #[error("could not listen on {address}: {source}; try another port")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("the daemon is stopping; start it again and run `interlude web`")]
    Stopping,
}

impl WebSwitch {
    /// A switch already on with `at_start` (from the config), or off. The receiver is what the
    /// server waits on for the listener.
    pub fn new(
        at_start: Option<Handed>,
        config_file: Option<PathBuf>,
    ) -> (WebSwitch, oneshot::Receiver<Handed>) {
        let (tx, rx) = oneshot::channel();
        let mut state = State {
            address: None,
            hand_over: Some(tx),
        };
        if let Some((listener, address)) = at_start {
            state.address = Some(address);
            if let Some(tx) = state.hand_over.take() {
                // The receiver is alive: it was made just above.
                let _ = tx.send((listener, address));
            }
        }
        let switch = WebSwitch {
            state: Arc::new(Mutex::new(state)),
            config_file,
        };
        (switch, rx)
    }

    pub fn address(&self) -> Option<SocketAddr> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .address
    }

    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    /// Turns the listener on at `wanted` (empty: [`DEFAULT_ADDRESS`], or a free port when that
    /// one is taken); already on, says where.
    pub async fn open(&self, wanted: &str) -> Result<Opened, OpenError> {
        if let Some(address) = self.address() {
            return Ok(Opened {
                address,
                now_on: false,
            });
        }
        let (listener, address) = if wanted.trim().is_empty() {
            match bind(DEFAULT_ADDRESS).await {
                Err(OpenError::Bind { source, .. })
                    if source.kind() == std::io::ErrorKind::AddrInUse =>
                {
                    bind("127.0.0.1:0").await?
                }
                other => other?,
            }
        } else {
            bind(wanted).await?
        };
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(address) = state.address {
            // Another call turned it on meanwhile: ours closes here.
            return Ok(Opened {
                address,
                now_on: false,
            });
        }
        let tx = state.hand_over.take().ok_or(OpenError::Stopping)?;
        tx.send((listener, address))
            .map_err(|_| OpenError::Stopping)?;
        state.address = Some(address);
        Ok(Opened {
            address,
            now_on: true,
        })
    }
}

/// The listener at `text` (loopback only) and the address it got (port 0 picks one).
async fn bind(text: &str) -> Result<Handed, OpenError> {
    let address = crate::web::parse_address(text).map_err(OpenError::Address)?;
    let failed = |source| OpenError::Bind { address, source };
    let listener = TcpListener::bind(address).await.map_err(failed)?;
    let bound = listener.local_addr().map_err(failed)?;
    Ok((listener, bound))
}

/// Writes `web = "ADDRESS"` under `[api]` in the config file at `path` (made, 0600, when
/// missing), keeping everything else as the client wrote it. Nothing is written when the result
/// would not load; the file is replaced whole (written beside it, then renamed).
pub fn record_in_config(path: &Path, address: SocketAddr) -> Result<(), ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(read_error(e)),
    };
    let changed = with_web_line(&text, address);
    crate::config::Config::parse(&changed, path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    write_replacing(dir, path, changed.as_bytes()).map_err(read_error)
}

/// `text` with `web = "ADDRESS"` in its `[api]` table (replacing a `web` line there, or first
/// in it), or with an `[api]` table added at the end.
fn with_web_line(text: &str, address: SocketAddr) -> String {
    let line = format!("web = \"{address}\"");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let is_table = |l: &str| l.trim_start().starts_with('[');
    let header = lines.iter().position(|l| {
        let l = l.trim();
        l == "[api]" || (l.starts_with("[api]") && l["[api]".len()..].trim_start().starts_with('#'))
    });
    match header {
        Some(at) => {
            let end = lines[at + 1..]
                .iter()
                .position(|l| is_table(l))
                .map_or(lines.len(), |n| at + 1 + n);
            let existing = (at + 1..end).find(|&n| {
                let l = lines[n].trim_start();
                l.strip_prefix("web")
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            });
            match existing {
                Some(n) => lines[n] = line,
                None => lines.insert(at + 1, line),
            }
        }
        None => {
            if lines.last().is_some_and(|l| !l.trim().is_empty()) {
                lines.push(String::new());
            }
            lines.push("[api]".to_owned());
            lines.push(line);
        }
    }
    lines.join("\n") + "\n"
}

fn write_replacing(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::create_dir_all(dir)?;
    let mode = std::fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o777);
    let temporary = dir.join(format!(
        ".{}.web-{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temporary)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at() -> SocketAddr {
        "127.0.0.1:7777".parse().unwrap()
    }

    #[test]
    fn a_config_without_an_api_table_gets_one_at_the_end() {
        let changed = with_web_line("log = \"debug\"\n", at());
        assert_eq!(
            changed,
            "log = \"debug\"\n\n[api]\nweb = \"127.0.0.1:7777\"\n"
        );
        assert_eq!(with_web_line("", at()), "[api]\nweb = \"127.0.0.1:7777\"\n");
    }

    #[test]
    fn an_api_table_keeps_its_other_lines_and_a_web_line_is_replaced() {
        let text = "[api] # mine\nweb_origins = [\"http://localhost:5173\"]\n\n[other]\nweb = 1\n";
        assert_eq!(
            with_web_line(text, at()),
            "[api] # mine\nweb = \"127.0.0.1:7777\"\nweb_origins = [\"http://localhost:5173\"]\n\n[other]\nweb = 1\n"
        );
        let text = "[api]\nweb = \"127.0.0.1:1\"\n";
        assert_eq!(
            with_web_line(text, at()),
            "[api]\nweb = \"127.0.0.1:7777\"\n"
        );
    }

    #[test]
    fn the_recorded_config_loads_with_the_listener_on_and_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "idle_lock_minutes = 5.0\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        record_in_config(&path, at()).unwrap();
        let config = crate::config::Config::load(&path).unwrap();
        assert_eq!(config.api.web.as_deref(), Some("127.0.0.1:7777"));
        assert_eq!(config.idle_lock_minutes, 5.0);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[test]
    fn a_config_that_would_not_load_is_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "this is = = not toml\n").unwrap();
        assert!(record_in_config(&path, at()).is_err());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "this is = = not toml\n"
        );
    }
}
