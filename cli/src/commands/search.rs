//! `search` and `models reindex`: meaning and word search over the timeline.

use interlude_proto::v1::{ReflectionKind, ReindexRequest, SearchRequest, SearchResponse};
use serde_json::json;

use super::{Ctx, tell};
use crate::args::SearchArgs;
use crate::error::CliError;
use crate::output::reflection::{kind_json, kind_label};
use crate::time;

pub async fn search(ctx: &Ctx, args: &SearchArgs) -> Result<(), CliError> {
    let request = SearchRequest {
        query: args.query.join(" "),
        since: args.since.map(time::to_proto),
        until: args.until.map(time::to_proto),
        kind: args
            .kind
            .map_or(ReflectionKind::Unspecified, ReflectionKind::from)
            .into(),
        tag: args.tag.clone().unwrap_or_default(),
        limit: args.limit,
    };
    let found = ctx.daemon.timeline().search(request).await?.into_inner();
    if !found.notice.is_empty() {
        tell(&found.notice);
    }
    ctx.out.emit(
        || results_text(&found),
        || {
            json!({
                "results": found.results.iter().map(|r| json!({
                    "id": r.id,
                    "moment": time::rfc3339(r.moment.as_ref()),
                    "kind": kind_json(r.kind()),
                    "snippet": r.snippet,
                    "score": r.score,
                    "meaning": r.meaning,
                    "words": r.words,
                })).collect::<Vec<_>>(),
                "words_only": found.words_only,
                "not_indexed": found.not_indexed,
                "indexing": found.indexing,
                "damaged_ids": found.damaged_ids,
            })
        },
    )
}

fn results_text(found: &SearchResponse) -> String {
    let mut text = String::new();
    if found.results.is_empty() {
        text.push_str("Nothing found.\n");
    }
    for r in &found.results {
        text.push_str(&format!(
            "{}  {}  {}\n  {}\n",
            r.id,
            time::local(r.moment.as_ref()),
            kind_label(r.kind()),
            r.snippet
        ));
    }
    if found.not_indexed > 0 && !found.words_only {
        text.push_str(&format!(
            "\n{} reflection(s) not indexed yet (matched by words only); {} waiting in the indexer.\n",
            found.not_indexed, found.indexing
        ));
    }
    text.trim_end().to_string()
}

pub async fn reindex(ctx: &Ctx) -> Result<(), CliError> {
    let done = ctx
        .daemon
        .timeline()
        .reindex(ReindexRequest {})
        .await?
        .into_inner();
    if let Some(bar) = crate::progress::bar(
        u64::from(done.queued),
        "Rebuilding vectors",
        ctx.out.is_json(),
    ) {
        watch_the_queue(ctx, &bar, done.queued).await;
        bar.finish_and_clear();
    }
    ctx.out.emit(
        || {
            format!(
                "Rebuilding vectors for {} entries in the background; `interlude search` shows how many are left.",
                done.queued
            )
        },
        || json!({ "queued": done.queued }),
    )
}

/// At a terminal: draws the background queue draining (asked through a search over an empty
/// window, which reports the queue's length) until it is empty, or stops drawing once nothing
/// moved for 30 s (no embedding model installed, say); the rebuild goes on either way, and
/// Ctrl-C only stops the drawing.
async fn watch_the_queue(ctx: &Ctx, bar: &indicatif::ProgressBar, queued: u32) {
    let mut timeline = ctx.daemon.timeline();
    let (mut last, mut still_since) = (u32::MAX, std::time::Instant::now());
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let asked = timeline
            .search(SearchRequest {
                query: "progress".into(),
                until: Some(prost_types::Timestamp {
                    seconds: 1,
                    nanos: 0,
                }),
                limit: 1,
                ..Default::default()
            })
            .await;
        let Ok(answer) = asked else { return };
        let left = answer.into_inner().indexing;
        bar.set_position(u64::from(queued.saturating_sub(left)));
        if left == 0 {
            return;
        }
        if left != last {
            (last, still_since) = (left, std::time::Instant::now());
        } else if still_since.elapsed() > std::time::Duration::from_secs(30) {
            return;
        }
    }
}
