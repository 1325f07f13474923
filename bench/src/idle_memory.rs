//! Row 5: the real daemon's resident memory after start and when idle.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use interlude_proto::v1::timeline_client::TimelineClient;

use super::progress;
use super::single_client::unlocked_channel;
use super::workload::{Rng, reflection};

pub(crate) struct Memory {
    pub(crate) after_start_kib: u64,
    pub(crate) idle_kib: u64,
    pub(crate) peak_kib: u64,
}

pub(crate) fn idle_memory(
    runtime: &tokio::runtime::Runtime,
    interluded: &Path,
    root: &Path,
    adds: usize,
) -> Result<Memory> {
    progress("5. resident memory of interluded (default Argon2 parameters)");
    let mut daemon = super::real_daemon(interluded, root, true)?;
    daemon.launch();
    let after_start_kib = proc_status_kib(daemon.pid(), "VmRSS")?;
    runtime.block_on(async {
        let channel = unlocked_channel(&daemon.socket(), true).await?;
        let mut timeline = TimelineClient::new(channel);
        let mut rng = Rng::new(5);
        for _ in 0..adds {
            timeline.add_reflection(reflection(&mut rng, None)).await?;
        }
        anyhow::Ok(())
    })?;
    std::thread::sleep(Duration::from_secs(2));
    let idle_kib = proc_status_kib(daemon.pid(), "VmRSS")?;
    let peak_kib = proc_status_kib(daemon.pid(), "VmHWM")?;
    daemon.stop();
    progress(&format!(
        "   after start {:.1} MiB, idle {:.1} MiB, peak {:.1} MiB",
        mib(after_start_kib),
        mib(idle_kib),
        mib(peak_kib)
    ));
    Ok(Memory {
        after_start_kib,
        idle_kib,
        peak_kib,
    })
}

pub(crate) fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A `kB` field of `/proc/<pid>/status`.
pub(crate) fn proc_status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}
