//! Row 6: the real daemon from start to socket ready, against spawning `/bin/true`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use interlude_proto::v1;
use interlude_proto::v1::daemon_client::DaemonClient;

use super::progress;
use crate::stats::{Stats, fmt_ms, stats};

pub(crate) struct StartFigures {
    /// Spawn → the socket accepts a connection.
    pub(crate) ready: Stats,
    /// Spawn → the first gRPC call (`Daemon.Info`, on a new connection) is answered.
    pub(crate) answered: Stats,
    pub(crate) true_spawn: Stats,
}

pub(crate) fn start_to_ready(
    runtime: &tokio::runtime::Runtime,
    interluded: &Path,
    root: &Path,
    runs: usize,
) -> Result<StartFigures> {
    progress(&format!(
        "6. start → socket ready × {runs}, and /bin/true × {runs}"
    ));
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs + 1 {
        let t = Instant::now();
        let status = Command::new("/bin/true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        let elapsed = t.elapsed();
        if !status.success() {
            bail!("/bin/true failed: {status}");
        }
        if i > 0 {
            samples.push(elapsed);
        }
    }
    let true_spawn = stats(samples);

    let mut daemon = super::real_daemon(interluded, root, true)?;
    let socket = daemon.socket();
    let mut ready = Vec::with_capacity(runs);
    let mut answered = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        daemon.spawn();
        daemon.wait_ready_polling(Duration::from_secs(30), Duration::from_millis(1));
        ready.push(t.elapsed());
        // The socket accepts as soon as it is bound, a little before the daemon serves and has
        // its SIGTERM handler; a SIGTERM in between would kill it outright. An answered call
        // means it is serving, so it then stops cleanly.
        runtime.block_on(async {
            let channel = interlude_proto::connect(&socket).await?;
            DaemonClient::new(channel).info(v1::InfoRequest {}).await?;
            anyhow::Ok(())
        })?;
        answered.push(t.elapsed());
        daemon.stop();
    }
    let (ready, answered) = (stats(ready), stats(answered));
    progress(&format!(
        "   socket ready p50 {} max {}; first answer p50 {}; /bin/true p50 {}",
        fmt_ms(ready.p50),
        fmt_ms(ready.max),
        fmt_ms(answered.p50),
        fmt_ms(true_spawn.p50)
    ));
    Ok(StartFigures {
        ready,
        answered,
        true_spawn,
    })
}
