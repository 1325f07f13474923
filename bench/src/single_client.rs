//! Rows 1 and 2: one client adding reflections one after another, and the raw reference.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use interlude_e2e::{PASSPHRASE, TestDaemon, test_config};
use interlude_proto::v1::daemon_client::DaemonClient;
use interlude_proto::v1::timeline_client::TimelineClient;
use interlude_proto::v1::{self, unlock_request};
use tonic::transport::Channel;

use super::workload::{RawWriter, Rng, cpu_time, reflection};
use super::{WARM_UP, progress};
use crate::stats::{Stats, fmt_ms, stats};

/// Raw syncs and calls alternate in blocks of this many, so that both see the same disk: other
/// writers on the machine can change what an `fdatasync` costs tenfold within seconds.
pub(crate) const BLOCK: usize = 50;

pub(crate) async fn unlocked_channel(socket: &Path, init: bool) -> Result<Channel> {
    let channel = interlude_proto::connect(socket).await?;
    let mut daemon = DaemonClient::new(channel.clone());
    if init {
        daemon
            .init(v1::InitRequest {
                passphrase: PASSPHRASE.into(),
                ..Default::default()
            })
            .await?;
    }
    let secret = Some(unlock_request::Secret::Passphrase(PASSPHRASE.into()));
    daemon.unlock(v1::UnlockRequest { secret }).await?;
    Ok(channel)
}

/// `n` adds one after another, alternating with `n` raw syncs in `raw` (see [`BLOCK`]). With the
/// daemon's pid, also its CPU time per add.
pub(crate) async fn sequential_adds(
    channel: Channel,
    n: usize,
    seed: u64,
    raw: &mut RawWriter,
    daemon_pid: Option<u32>,
) -> Result<(Stats, Option<Duration>)> {
    let mut timeline = TimelineClient::new(channel);
    let mut rng = Rng::new(seed);
    for _ in 0..WARM_UP {
        raw.sync(false)?;
        timeline.add_reflection(reflection(&mut rng, None)).await?;
    }
    let cpu_before = daemon_pid.map(cpu_time);
    let mut samples = Vec::with_capacity(n);
    while samples.len() < n {
        let k = BLOCK.min(n - samples.len());
        for _ in 0..k {
            raw.sync(true)?;
        }
        for _ in 0..k {
            let request = reflection(&mut rng, None);
            let t = Instant::now();
            timeline.add_reflection(request).await?;
            samples.push(t.elapsed());
        }
    }
    let cpu = daemon_pid
        .zip(cpu_before)
        .map(|(pid, before)| cpu_time(pid).saturating_sub(before) / n as u32);
    Ok((stats(samples), cpu))
}

pub(crate) struct SingleClient {
    pub(crate) adds: Stats,
    /// The raw syncs taken in between, in the daemon's data directory.
    pub(crate) raw: Stats,
    /// `Daemon.Info` round trips (real daemon only).
    pub(crate) info: Option<Stats>,
    pub(crate) daemon_cpu_per_add: Option<Duration>,
}

/// The adds, then as many `Daemon.Info` calls: a round trip that touches neither the disk nor
/// the vault, to tell the cost of the API apart from the cost of the write.
pub(crate) async fn single_client(
    socket: PathBuf,
    data_dir: PathBuf,
    pid: u32,
    n: usize,
) -> Result<SingleClient> {
    progress(&format!(
        "1+2. one client, {n} sequential AddReflection (real interluded), alternating with {n} raw \
         512-byte append + fdatasync in {}",
        data_dir.display()
    ));
    let channel = unlocked_channel(&socket, true).await?;
    let mut raw = RawWriter::open(&data_dir)?;
    let (adds, cpu) = sequential_adds(channel.clone(), n, 1, &mut raw, Some(pid)).await?;
    let raw = raw.finish()?;
    let mut daemon = DaemonClient::new(channel);
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + WARM_UP {
        let t = Instant::now();
        daemon.info(v1::InfoRequest {}).await?;
        if i >= WARM_UP {
            samples.push(t.elapsed());
        }
    }
    let info = stats(samples);
    progress(&format!(
        "   add p50 {} p99 {}; raw p50 {} p99 {}; Info p50 {}",
        fmt_ms(adds.p50),
        fmt_ms(adds.p99),
        fmt_ms(raw.p50),
        fmt_ms(raw.p99),
        fmt_ms(info.p50)
    ));
    Ok(SingleClient {
        adds,
        raw,
        info: Some(info),
        daemon_cpu_per_add: cpu,
    })
}

pub(crate) async fn single_client_in_process(run_path: PathBuf, n: usize) -> Result<SingleClient> {
    progress(&format!(
        "2. one client, {n} sequential AddReflection (in-process daemon), alternating with raw syncs"
    ));
    let root = tempfile::Builder::new()
        .prefix("inproc-")
        .tempdir_in(&run_path)?;
    let config = test_config(root.path());
    check_socket_len(&config.socket_path())?;
    let daemon = TestDaemon::start_in(root, config).await;
    daemon.init().await;
    daemon.unlock().await;
    let mut raw = RawWriter::open(daemon.data_dir())?;
    let channel = interlude_proto::connect(&daemon.socket()).await?;
    let (adds, _) = sequential_adds(channel, n, 2, &mut raw, None).await?;
    let raw = raw.finish()?;
    let (root, _) = daemon.stop().await;
    root.close()?;
    progress(&format!(
        "   add p50 {} p99 {}; raw p50 {} p99 {}",
        fmt_ms(adds.p50),
        fmt_ms(adds.p99),
        fmt_ms(raw.p50),
        fmt_ms(raw.p99)
    ));
    Ok(SingleClient {
        adds,
        raw,
        info: None,
        daemon_cpu_per_add: None,
    })
}

/// `sun_path` holds 108 bytes with its terminating NUL.
pub(crate) fn check_socket_len(socket: &Path) -> Result<()> {
    if socket.as_os_str().len() >= 108 {
        bail!(
            "the socket path {} is too long for a Unix socket; pass a shorter --dir",
            socket.display()
        );
    }
    Ok(())
}
