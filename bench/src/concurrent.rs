//! Row 3: concurrent clients (also used to fill the store for row 4).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use interlude_proto::v1;
use interlude_proto::v1::daemon_client::DaemonClient;
use interlude_proto::v1::timeline_client::TimelineClient;

use super::progress;
use super::workload::{Rng, reflection};

/// Reflection `j` of `total` is about `start_ms + j * step_ms`.
#[derive(Clone, Copy)]
pub(crate) struct Moments {
    pub(crate) start_ms: i64,
    pub(crate) step_ms: f64,
}

impl Moments {
    pub(crate) fn of(&self, j: usize) -> i64 {
        self.start_ms + (j as f64 * self.step_ms) as i64
    }
}

/// `clients` tasks, each with its own connection, add `total` reflections between them, each one
/// after another. Returns the wall time from the common start to the last acknowledgement.
pub(crate) async fn add_concurrently(
    socket: &Path,
    clients: usize,
    total: usize,
    moments: Option<Moments>,
    seed: u64,
) -> Result<(Duration, Vec<Duration>)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(clients);
    for i in 0..clients {
        let channel = interlude_proto::connect(socket).await?;
        // One call first so that the connection is fully up before the clock starts.
        DaemonClient::new(channel.clone())
            .info(v1::InfoRequest {})
            .await?;
        let barrier = barrier.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut timeline = TimelineClient::new(channel);
            let mut rng = Rng::new(seed.wrapping_mul(1000).wrapping_add(i as u64 + 1));
            let mut samples = Vec::with_capacity(total / clients + 1);
            barrier.wait().await;
            for j in (i..total).step_by(clients) {
                let request = reflection(&mut rng, moments.map(|m| m.of(j)));
                let t = Instant::now();
                timeline.add_reflection(request).await?;
                samples.push(t.elapsed());
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(samples)
        }));
    }
    let ticker = tokio::spawn({
        let done = done.clone();
        async move {
            let mut interval = tokio::time::interval(Duration::from_secs(5));
            interval.tick().await;
            loop {
                interval.tick().await;
                progress(&format!("   … {} / {total}", done.load(Ordering::Relaxed)));
            }
        }
    });
    barrier.wait().await;
    let start = Instant::now();
    let mut samples = Vec::with_capacity(total);
    for task in tasks {
        samples.extend(task.await??);
    }
    let wall = start.elapsed();
    ticker.abort();
    Ok((wall, samples))
}
