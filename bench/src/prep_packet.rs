//! Row 13: the session-prep packet for a week (~50 entries), a month (~210) and a year (~2,500) of
//! a generated timeline with planted patterns (the evaluation's generator), through the real
//! release `interluded`: cold (daemon just restarted and unlocked, models not loaded: what the
//! client meets the evening before a session) and warm, with the digest and without it
//! (extractive: themes, charts data, sections). The reference is embedding the same entries
//! with the same embedder in this process, model load included, in the same run. Peak memory
//! is the daemon's VmHWM after all builds.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use interlude_daemon::models::Embedder;
use interlude_e2e::timelines;
use interlude_proto::v1;
use interlude_proto::v1::prep_client::PrepClient;
use interlude_proto::v1::timeline_client::TimelineClient;
use tonic::transport::Channel;

use super::idle_memory::{mib, proc_status_kib};
use super::single_client::unlocked_channel;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Monday 2026-11-30 00:00 UTC.
const END: i64 = 1_764_460_800_000;

pub struct Size {
    pub name: &'static str,
    pub entries: usize,
    pub embed_reference: Duration,
    pub cold: Duration,
    pub warm: Duration,
    pub warm_extractive: Duration,
    pub peak_kib: u64,
    /// Planted-pattern recall in the top five themes (the evaluation's measure).
    pub recall: f32,
}

pub fn measure(
    runtime: &tokio::runtime::Runtime,
    interluded: &Path,
    root: &Path,
    quick: bool,
) -> Result<Vec<Size>> {
    let sizes: &[(&'static str, i64)] = if quick {
        &[("week", 7), ("month", 30)]
    } else {
        &[("week", 7), ("month", 30), ("year", 365)]
    };
    let mut out = Vec::new();
    for &(name, days) in sizes {
        super::progress(&format!("13. the session-prep packet for a {name}"));
        let mut daemon = super::real_daemon(interluded, &root.join(name), false)?;
        let Some(models) = interlude_e2e::install_models(&daemon.data_dir()) else {
            return Ok(out);
        };
        daemon.launch();
        let entries = timelines::generate(7, days, END);
        let channel = runtime.block_on(unlocked_channel(&daemon.socket(), true))?;
        let pattern_of = runtime.block_on(add_all(channel.clone(), &entries))?;
        runtime.block_on(wait_indexed(channel))?;

        let embed_reference = embed_reference(&models.join("all-MiniLM-L6-v2"), &entries)?;
        daemon.stop();
        daemon.launch();
        let channel = runtime.block_on(unlocked_channel(&daemon.socket(), false))?;
        let window = (END - days * DAY_MS, END);
        let (cold, _) = runtime.block_on(build(channel.clone(), window, true))?;
        let (warm, _) = runtime.block_on(build(channel.clone(), window, true))?;
        let (warm_extractive, packet) = runtime.block_on(build(channel, window, false))?;
        let recall = timelines::recall_in_top_five(&packet["patterns"]["themes"], &pattern_of);
        let peak_kib = proc_status_kib(daemon.pid(), "VmHWM")?;
        daemon.stop();
        out.push(Size {
            name,
            entries: entries.len(),
            embed_reference,
            cold,
            warm,
            warm_extractive,
            peak_kib,
            recall,
        });
    }
    Ok(out)
}

/// Adds every entry; returns the planted pattern of each added reflection, by id.
async fn add_all(
    channel: Channel,
    entries: &[timelines::Entry],
) -> Result<HashMap<String, &'static str>> {
    let mut timeline = TimelineClient::new(channel);
    let mut pattern_of = HashMap::new();
    for e in entries {
        let request = e.request();
        let id = timeline.add_reflection(request).await?.into_inner().id;
        if let Some(pattern) = e.pattern {
            pattern_of.insert(id, pattern);
        }
    }
    Ok(pattern_of)
}

/// Until the background indexer has a vector for every entry (as it would long before a
/// session in real use).
async fn wait_indexed(channel: Channel) -> Result<()> {
    let mut timeline = TimelineClient::new(channel);
    let started = Instant::now();
    loop {
        let found = timeline
            .search(v1::SearchRequest {
                query: "anything".into(),
                ..Default::default()
            })
            .await?
            .into_inner();
        if found.not_indexed == 0 && found.indexing == 0 {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "indexing did not finish"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn build(
    channel: Channel,
    (since, until): (i64, i64),
    digest: bool,
) -> Result<(Duration, serde_json::Value)> {
    let mut prep =
        PrepClient::new(channel).max_decoding_message_size(interlude_proto::MAX_MESSAGE_BYTES);
    let ts = |ms: i64| {
        Some(prost_types::Timestamp {
            seconds: ms / 1000,
            nanos: 0,
        })
    };
    let started = Instant::now();
    let mut stream = prep
        .build(v1::BuildRequest {
            since: ts(since),
            until: ts(until),
            no_digest: !digest,
        })
        .await?
        .into_inner();
    let mut draft = None;
    while let Some(event) = stream.message().await? {
        if let Some(v1::build_event::Event::Draft(d)) = event.event {
            draft = Some(d);
        }
    }
    let elapsed = started.elapsed();
    let draft = draft.context("no draft came back")?;
    Ok((elapsed, serde_json::from_str(&draft.json)?))
}

fn embed_reference(model_dir: &Path, entries: &[timelines::Entry]) -> Result<Duration> {
    let started = Instant::now();
    let embedder = Embedder::load(model_dir).context("loading the embedder")?;
    for batch in entries.chunks(64) {
        let texts: Vec<&str> = batch.iter().map(|e| e.text.as_str()).collect();
        embedder.embed(&texts).context("embedding")?;
    }
    Ok(started.elapsed())
}

pub fn markdown(sizes: &[Size]) -> String {
    let mut out = String::from(
        "| window | entries | embed them (reference, load included) | packet cold | packet warm | warm, no digest | no digest / reference | daemon peak RSS | planted-pattern recall, top 5 |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for s in sizes {
        out.push_str(&format!(
            "| {} | {} | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.2}× | {:.0} MiB | {:.2} |\n",
            s.name,
            s.entries,
            s.embed_reference.as_secs_f64(),
            s.cold.as_secs_f64(),
            s.warm.as_secs_f64(),
            s.warm_extractive.as_secs_f64(),
            s.warm_extractive.as_secs_f64() / s.embed_reference.as_secs_f64(),
            mib(s.peak_kib),
            s.recall,
        ));
    }
    out
}
