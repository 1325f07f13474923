//! Row 4: listing one week out of two years of reflections.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use interlude_proto::v1;
use interlude_proto::v1::timeline_client::TimelineClient;

use super::concurrent::{Moments, add_concurrently};
use super::single_client::unlocked_channel;
use super::workload::{now_ms, timestamp};
use super::{Counts, DAY_MS, progress};
use crate::stats::{Stats, fmt_ms, stats};

pub(crate) struct ListFigures {
    pub(crate) populate_wall: Duration,
    pub(crate) since_ms: i64,
    pub(crate) returned: usize,
    pub(crate) expected: usize,
    pub(crate) first_call: Duration,
    pub(crate) list: Stats,
    pub(crate) get: Stats,
    pub(crate) delete: Stats,
}

pub(crate) async fn list_week(
    interluded: PathBuf,
    root: PathBuf,
    counts: Counts,
) -> Result<ListFigures> {
    let mut daemon = super::real_daemon(&interluded, &root, false)?;
    daemon.launch();
    let channel = unlocked_channel(&daemon.socket(), true).await?;

    // Evenly over the last two years, all in the past (the daemon refuses future moments).
    let span_ms = 730 * DAY_MS;
    let total = counts.stored;
    let moments = Moments {
        start_ms: now_ms() - span_ms,
        step_ms: span_ms as f64 / total as f64,
    };
    progress(&format!(
        "4. storing {total} reflections over two years ({} clients)",
        counts.clients
    ));
    let (populate_wall, _) =
        add_concurrently(&daemon.socket(), counts.clients, total, Some(moments), 4).await?;
    progress(&format!(
        "   stored in {:.1} s ({:.0}/s)",
        populate_wall.as_secs_f64(),
        total as f64 / populate_wall.as_secs_f64()
    ));

    // A week in the middle of the range: since inclusive, until exclusive, exactly 7 days apart.
    let since_ms = moments.start_ms + span_ms / 2;
    let until_ms = since_ms + 7 * DAY_MS;
    let expected = (0..total)
        .map(|j| moments.of(j))
        .filter(|m| (since_ms..until_ms).contains(m))
        .count();
    let request = v1::ListReflectionsRequest {
        since: Some(timestamp(since_ms)),
        until: Some(timestamp(until_ms)),
        limit: 1000,
        ..Default::default()
    };
    let mut timeline = TimelineClient::new(channel);
    progress(&format!(
        "4. listing one week ({expected} expected) × {}",
        counts.list_iterations
    ));
    let t = Instant::now();
    let first = timeline
        .list_reflections(request.clone())
        .await?
        .into_inner();
    let first_call = t.elapsed();
    let returned = first.reflections.len();
    if returned != expected || !first.next_page_token.is_empty() || !first.damaged_ids.is_empty() {
        progress(&format!(
            "   WARNING: the listing returned {returned} (expected {expected}), next page {:?}, {} damaged",
            first.next_page_token,
            first.damaged_ids.len()
        ));
    }
    for _ in 0..5 {
        timeline.list_reflections(request.clone()).await?;
    }
    let mut samples = Vec::with_capacity(counts.list_iterations);
    for _ in 0..counts.list_iterations {
        let t = Instant::now();
        let page = timeline
            .list_reflections(request.clone())
            .await?
            .into_inner();
        samples.push(t.elapsed());
        if page.reflections.len() != returned {
            bail!(
                "the listing changed size between calls: {} then {}",
                returned,
                page.reflections.len()
            );
        }
    }
    let list = stats(samples);

    // The reference: one reflection by id, the same decrypt + deserialize + one round trip.
    let ids: Vec<String> = first.reflections.iter().map(|r| r.id.clone()).collect();
    if ids.is_empty() {
        bail!("the week holds no reflections; nothing to read back");
    }
    let mut samples = Vec::with_capacity(counts.list_iterations);
    for i in 0..counts.list_iterations + 5 {
        let id = ids[(i * 7919) % ids.len()].clone();
        let t = Instant::now();
        timeline
            .get_reflection(v1::GetReflectionRequest { id })
            .await?;
        if i >= 5 {
            samples.push(t.elapsed());
        }
    }
    let get = stats(samples);

    // Deleting erases: the store is rewritten without the value (see store::compact).
    progress(&format!(
        "4. deleting 3 reflections from {total} (each compacts the store)"
    ));
    let mut samples = Vec::new();
    for id in ids.iter().take(3) {
        let t = Instant::now();
        timeline
            .delete_reflection(v1::DeleteReflectionRequest { id: id.clone() })
            .await?;
        samples.push(t.elapsed());
    }
    let delete = stats(samples);
    drop(timeline);
    daemon.stop();
    progress(&format!(
        "   list p50 {} p99 {} ({} returned); get p50 {}",
        fmt_ms(list.p50),
        fmt_ms(list.p99),
        returned,
        fmt_ms(get.p50)
    ));
    Ok(ListFigures {
        populate_wall,
        since_ms,
        returned,
        expected,
        first_call,
        list,
        get,
        delete,
    })
}
