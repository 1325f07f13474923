//! After `plugin install|remove|enable|disable` changed the data directory: ask a running daemon
//! to put the change in effect at once, and say what happened. The change on disk stands
//! whatever the daemon answers; a daemon that did not take it reads it when it next starts.

use std::path::Path;

use interlude_proto::v1::{ReloadPluginsRequest, ReloadPluginsResponse, StatusRequest};
use serde_json::{Value, json};

use crate::client;
use crate::error::ExitCode;

pub enum Reload {
    /// The daemon re-read its plugins; what it now offers.
    Done(ReloadPluginsResponse),
    /// Nothing answers at the socket.
    NotRunning,
    /// A daemon answers but did not take the change: why, as a sentence.
    NotTaken(String),
}

/// Asks the daemon at `socket` (by default, the one for `data_dir`) to reload its plugins, if it
/// serves `data_dir`.
pub async fn ask(socket: Option<&Path>, data_dir: &Path) -> Reload {
    let socket = socket.map_or_else(
        || interlude_proto::settings::socket_for(data_dir),
        Path::to_path_buf,
    );
    let socket = socket.as_path();
    let daemon = match client::Daemon::connect(socket).await {
        Ok(daemon) => daemon,
        Err(e) if e.exit_code() == ExitCode::DaemonNotRunning => return Reload::NotRunning,
        Err(e) => return Reload::NotTaken(e.to_string()),
    };
    let serves = match daemon.daemon().status(StatusRequest {}).await {
        Ok(status) => status.into_inner().data_dir,
        Err(status) => return Reload::NotTaken(status.message().to_owned()),
    };
    if !same_dir(Path::new(&serves), data_dir) {
        // Another data directory's daemon: this change is not its business.
        return Reload::NotTaken(format!(
            "the daemon at {} serves {serves}, not {}",
            socket.display(),
            data_dir.display()
        ));
    }
    match daemon.plugins().reload(ReloadPluginsRequest {}).await {
        Ok(response) => Reload::Done(response.into_inner()),
        Err(status) if status.code() == tonic::Code::Unimplemented => Reload::NotTaken(format!(
            "the daemon at {} is older than this interlude and cannot reload plugins",
            socket.display()
        )),
        Err(status) => Reload::NotTaken(status.message().to_owned()),
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

impl Reload {
    /// The sentence after the one saying what changed on disk. `taken` says it when the daemon
    /// reloaded, from what it now offers.
    pub fn sentence(&self, taken: impl FnOnce(&ReloadPluginsResponse) -> String) -> String {
        match self {
            Reload::Done(response) => taken(response),
            Reload::NotRunning => "The daemon picks it up when it next starts.".into(),
            Reload::NotTaken(why) => format!(
                "The running daemon did not take it up ({why}); it will when it next starts."
            ),
        }
    }

    /// For `--json`: `"reloaded"`, `"not running"` or `"not reloaded"` with the reason.
    pub fn json(&self) -> Value {
        match self {
            Reload::Done(response) => json!({ "state": "reloaded", "problems": response.problems }),
            Reload::NotRunning => json!({ "state": "not running" }),
            Reload::NotTaken(why) => json!({ "state": "not reloaded", "why": why }),
        }
    }
}

/// After an install or enable: the daemon offers `id` now, or where to look why not.
pub fn now_offered(response: &ReloadPluginsResponse, id: &str) -> String {
    if offers(response, id) {
        "The daemon now offers it.".into()
    } else {
        "The daemon reloaded its plugins but does not offer it; `interlude plugin list` says why."
            .into()
    }
}

/// After a remove or disable: `id` is gone from the daemon, or a built-in of that id is back.
pub fn no_longer_offered(response: &ReloadPluginsResponse, id: &str) -> String {
    if offers(response, id) {
        "The daemon offers the built-in again.".into()
    } else {
        "The daemon no longer offers it.".into()
    }
}

fn offers(response: &ReloadPluginsResponse, id: &str) -> bool {
    response.plugins.iter().any(|p| p.id == id)
}
