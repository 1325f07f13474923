//! Starting `interluded` when the CLI finds no daemon at the default socket. Only there: a
//! socket given with `--socket` or `INTERLUDE_SOCKET` belongs to a daemon someone runs on
//! purpose. A lock beside the socket lets one CLI start it while any other waits and then
//! connects to the same daemon; the CLI says once that it started it.

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use rustix::fs::{FlockOperation, flock};

use crate::client::Daemon;
use crate::error::{CliError, ExitCode};

/// How long a started daemon may take to answer (opening a large store, a journal replay).
const READY_WITHIN: Duration = Duration::from_secs(30);

/// The daemon at `socket`, started first when it is not running and `may_start`.
pub async fn connect(socket: &Path, may_start: bool) -> Result<Daemon, CliError> {
    match Daemon::connect(socket).await {
        Err(err) if may_start && err.exit_code() == ExitCode::DaemonNotRunning => {}
        other => return other,
    }
    let dir = socket.parent().unwrap_or(Path::new("."));
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("could not create {}", dir.display()))?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(dir.join("start.lock"))
        .context("could not open the start lock")?;
    // Another CLI holding it is starting the daemon: wait for it, then connect to that one.
    flock(&lock, FlockOperation::LockExclusive).context("could not take the start lock")?;
    if let Ok(daemon) = Daemon::connect(socket).await {
        return Ok(daemon);
    }
    let binary = crate::commands::interluded()?;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(dir.join("interluded.log"))
        .context("could not open the daemon's log")?;
    let child = Command::new(&binary)
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("could not open the daemon's log")?)
        .stderr(log)
        // Its own process group: a Ctrl-C meant for this command does not stop the daemon.
        .process_group(0)
        .spawn()
        .with_context(|| format!("could not start {}", binary.display()))?;
    eprintln!(
        "interlude: started the daemon ({}, pid {}); it keeps running in the background (log: {})",
        binary.display(),
        child.id(),
        dir.join("interluded.log").display()
    );
    let started = Instant::now();
    loop {
        match Daemon::connect(socket).await {
            Ok(daemon) => return Ok(daemon),
            Err(err) if err.exit_code() != ExitCode::DaemonNotRunning => return Err(err),
            Err(_) if started.elapsed() > READY_WITHIN => {
                return Err(CliError::new(
                    ExitCode::DaemonNotRunning,
                    format!(
                        "interluded was started but did not answer within {} s; see {}",
                        READY_WITHIN.as_secs(),
                        dir.join("interluded.log").display()
                    ),
                ));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
