//! Search by meaning and words, background indexing, resurfacing of kept insights, and what
//! happens without (or with a damaged) embedding model. Real weights, fetched once by the harness.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use crate::exercise::{finished_thought_record, practice, thought_record};
use interlude_daemon::models::Embedder;
use interlude_daemon::models::embedder::cosine;
use interlude_daemon::search::RESURFACE_THRESHOLD;
use interlude_daemon::store::{Store, StoreOptions, Tree};
use interlude_e2e::{TestDaemon, files_containing, install_models, ulid_key};
use interlude_proto::v1;

/// Written for this test: an insight kept from a session, then entries that say the same thing
/// in other words, and entries about something else.
const INSIGHT: &str = "When I feel criticised at work I assume I am about to be fired.";
const PARAPHRASES: &[&str] = &[
    "My boss commented on my report and I was sure I would lose my job.",
    "Any feedback from my manager makes me panic that I'll be let go.",
    "A colleague pointed out a mistake and I spiralled into thinking they'd fire me.",
];
/// The insight with a sentence the crisis check flags: close enough to the paraphrases to
/// resurface, were it not flagged.
const FLAGGED: &str =
    "When I feel criticised at work I assume I am about to be fired. Then I want to kill myself.";
const UNRELATED: &[&str] = &[
    "Made soup with the kids and we watched a film together.",
    "The garden needs weeding; the tomatoes are finally ripening.",
    "Went for a long swim this morning, the water was cold.",
    "I had a strange dream about a train that never arrived.",
];

#[test]
fn the_resurfacing_threshold_separates_paraphrases_from_unrelated_entries() {
    let data = tempfile::tempdir().unwrap();
    let Some(models) = install_models(data.path()) else {
        return;
    };
    let embedder = Embedder::load(&models.join("all-MiniLM-L6-v2")).unwrap();
    let insight = &embedder.embed(&[INSIGHT]).unwrap()[0];
    let score = |texts: &[&str]| -> Vec<f32> {
        embedder
            .embed(texts)
            .unwrap()
            .iter()
            .map(|v| cosine(insight, v))
            .collect()
    };
    let flagged = &embedder.embed(&[FLAGGED]).unwrap()[0];
    let flagged_near = cosine(flagged, &embedder.embed(&[PARAPHRASES[1]]).unwrap()[0]);
    assert!(flagged_near >= RESURFACE_THRESHOLD, "{flagged_near}");
    let related = score(PARAPHRASES);
    let unrelated = score(UNRELATED);
    eprintln!("paraphrases {related:?}\nunrelated {unrelated:?}\nthreshold {RESURFACE_THRESHOLD}");
    let lowest_related = related.iter().copied().fold(1.0, f32::min);
    let highest_unrelated = unrelated.iter().copied().fold(-1.0, f32::max);
    assert!(lowest_related >= RESURFACE_THRESHOLD, "{related:?}");
    assert!(
        highest_unrelated < RESURFACE_THRESHOLD - 0.1,
        "{unrelated:?}"
    );
}

const TIMELINE: &[(&str, &str)] = &[
    (
        "sleep",
        "Lay awake until 3am again, my mind racing about money.",
    ),
    (
        "sister",
        "Phoned my sister; we argued about who looks after mum at Christmas.",
    ),
    (
        "run",
        "Ran 5k along the canal and felt properly calm for the first time this week.",
    ),
    (
        "dentist",
        "Cancelled the dentist appointment because the waiting room makes me panic.",
    ),
    (
        "garden",
        "Pottered in the garden, planted bulbs, quiet afternoon.",
    ),
    (
        "meeting",
        "Froze in the team meeting when asked to present the figures.",
    ),
];

async fn wait_until_indexed(daemon: &TestDaemon) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let found = search(daemon, "anything").await;
        assert!(!found.words_only, "{}", found.notice);
        if found.not_indexed == 0 && found.indexing == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "indexing did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn search(daemon: &TestDaemon, query: &str) -> v1::SearchResponse {
    daemon
        .timeline()
        .search(v1::SearchRequest {
            query: query.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn add_session(daemon: &TestDaemon, insights: &[&str]) -> String {
    daemon
        .sessions()
        .add_session(v1::AddSessionRequest {
            insights: insights.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_ranks_by_meaning_resurfaces_kept_insights_and_keeps_vectors_encrypted() {
    let daemon = TestDaemon::start().await;
    let Some(_) = install_models(daemon.data_dir()) else {
        return;
    };
    daemon.init().await;
    let mut ids = std::collections::HashMap::new();
    for (name, text) in TIMELINE {
        ids.insert(*name, daemon.add(text).await.id);
    }
    add_session(
        &daemon,
        &[INSIGHT, "Breathing out slowly helps before I speak up."],
    )
    .await;
    wait_until_indexed(&daemon).await;

    // Meaning: the first three share no word with the entry they should find first; the last
    // shares one ("present"), where words and meaning add up.
    for (query, want) in [
        ("insomnia and worrying about finances", "sleep"),
        ("family conflict over the holidays", "sister"),
        ("exercise made me relaxed", "run"),
        ("nervous presenting to my team", "meeting"),
    ] {
        let found = search(&daemon, query).await;
        let first = found.results.first().map(|r| r.id.clone());
        assert_eq!(
            first.as_ref(),
            Some(&ids[want]),
            "{query:?}: {:?}",
            found.results
        );
    }
    // Words still count, and filters apply.
    let found = search(&daemon, "dentist").await;
    assert_eq!(found.results[0].id, ids["dentist"]);
    assert!(found.results[0].snippet.contains("dentist"));

    // Resurfacing: a paraphrase of the kept insight brings it back, in the client's own words.
    let added = daemon.add(PARAPHRASES[0]).await;
    eprintln!("resurfaced: {:?}", added.resurfaced);
    assert_eq!(added.resurfaced.len(), 1, "{:?}", added.resurfaced);
    assert_eq!(added.resurfaced[0].text, INSIGHT);
    assert!(added.resurfaced[0].from_session);
    assert!(added.resurfaced[0].similarity >= RESURFACE_THRESHOLD);
    let unrelated = daemon.add(UNRELATED[1]).await;
    assert!(
        unrelated.resurfaced.is_empty(),
        "{:?}",
        unrelated.resurfaced
    );

    // Deleting a reflection deletes its vector.
    let doomed = ids["garden"].clone();
    daemon
        .timeline()
        .delete_reflection(v1::DeleteReflectionRequest { id: doomed.clone() })
        .await
        .unwrap();
    let found = search(&daemon, "planting bulbs in the garden").await;
    assert!(found.results.iter().all(|r| r.id != doomed));

    let (root, config) = daemon.stop().await;
    let data_dir = config.data_dir.clone();
    // At rest: neither the text nor the raw floats of its vector appear in any file.
    let models = data_dir.join("models").join("all-MiniLM-L6-v2");
    let vector = Embedder::load(&models)
        .unwrap()
        .embed(&[TIMELINE[0].1])
        .unwrap()
        .remove(0);
    let floats: Vec<u8> = vector[..8].iter().flat_map(|x| x.to_le_bytes()).collect();
    let db_files = |needle: &[u8]| {
        files_containing(&data_dir, needle)
            .into_iter()
            .filter(|p| !p.starts_with(data_dir.join("models")))
            .collect::<Vec<_>>()
    };
    assert!(db_files(&floats).is_empty(), "plaintext vector on disk");
    assert!(db_files(b"3am again").is_empty(), "plaintext text on disk");
    let (store, _) = Store::open(&data_dir, &StoreOptions::default()).unwrap();
    assert!(
        store
            .get(Tree::Vectors, &ulid_key(&ids["sleep"]))
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .get(Tree::Vectors, &ulid_key(&doomed))
            .unwrap()
            .is_none()
    );
    store.close().unwrap();
    drop(root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_models_search_uses_words_and_says_how_to_fetch_them() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let id = daemon.add("Lay awake until 3am again.").await.id;
    let added = daemon.add("Still awake, counting sheep.").await;
    assert!(added.resurfaced.is_empty());
    let found = search(&daemon, "awake").await;
    assert!(found.words_only);
    assert!(
        found.notice.contains("interlude models fetch"),
        "{}",
        found.notice
    );
    assert_eq!(found.results.len(), 2);
    assert!(found.results.iter().any(|r| r.id == id));
    let err = daemon
        .timeline()
        .reindex(v1::ReindexRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert!(
        err.message().contains("interlude models fetch"),
        "{}",
        err.message()
    );
    let empty = daemon
        .timeline()
        .search(v1::SearchRequest::default())
        .await
        .unwrap_err();
    assert_eq!(empty.code(), tonic::Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_model_file_is_refused() {
    let daemon = TestDaemon::start().await;
    let Some(models) = install_models(daemon.data_dir()) else {
        return;
    };
    let weights = models.join("all-MiniLM-L6-v2").join("model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&weights, bytes).unwrap();
    daemon.init().await;
    daemon.add("Lay awake until 3am again.").await;
    let found = search(&daemon, "awake").await;
    assert!(found.words_only);
    assert!(
        found.notice.contains("refused") && found.notice.contains("SHA-256"),
        "{}",
        found.notice
    );
    assert_eq!(found.results.len(), 1);
}

async fn set_helpful(daemon: &TestDaemon, id: &str, helpful: bool) -> v1::Reflection {
    daemon
        .timeline()
        .set_helpful(v1::SetHelpfulRequest {
            id: id.into(),
            helpful,
        })
        .await
        .unwrap()
        .into_inner()
}

/// The `ReflectionAdded` event of the reflection `id`.
async fn added_event(events: &mut tonic::Streaming<v1::Event>, id: &str) -> v1::ReflectionAdded {
    use tokio_stream::StreamExt;
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let event = events.next().await.unwrap().unwrap();
            if let Some(v1::event::Kind::ReflectionAdded(added)) = event.kind
                && added.id == id
            {
                return added;
            }
        }
    })
    .await
    .expect("the reflection's event came")
}

async fn watch(daemon: &TestDaemon) -> tonic::Streaming<v1::Event> {
    daemon
        .checkins()
        .watch(v1::WatchRequest {})
        .await
        .unwrap()
        .into_inner()
}

/// Ids that resurfaced for a new reflection with `text`: in the response, and the same ids, with
/// dates and no text, in its event.
async fn resurfaced_for(
    daemon: &TestDaemon,
    events: &mut tonic::Streaming<v1::Event>,
    text: &str,
) -> Vec<v1::Resurfaced> {
    resurfaced_in(events, daemon.add(text).await).await
}

/// What resurfaced for a reflection just saved, by any service: in the response, and the same
/// ids, with dates and no text, in its event.
async fn resurfaced_in(
    events: &mut tonic::Streaming<v1::Event>,
    added: v1::AddReflectionResponse,
) -> Vec<v1::Resurfaced> {
    let event = added_event(events, &added.id).await;
    let in_event: Vec<(&str, Option<&prost_types::Timestamp>)> = event
        .resurfaced
        .iter()
        .map(|r| (r.id.as_str(), r.moment.as_ref()))
        .collect();
    let in_response: Vec<(&str, Option<&prost_types::Timestamp>)> = added
        .resurfaced
        .iter()
        .map(|r| (r.id.as_str(), r.moment.as_ref()))
        .collect();
    assert_eq!(
        in_event,
        in_response,
        "the event names what the response shows (crisis check: {:?})",
        added.safety.as_ref().map(|s| (s.tier(), s.category()))
    );
    added.resurfaced
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reflection_marked_helpful_resurfaces_until_the_mark_is_cleared() {
    let daemon = TestDaemon::start().await;
    let Some(_) = install_models(daemon.data_dir()) else {
        return;
    };
    daemon.init().await;
    // The same words as the kept insight of the test above, written as a plain note this time.
    let kept = daemon.add(INSIGHT).await.id;
    for (_, text) in TIMELINE {
        daemon.add(text).await;
    }
    wait_until_indexed(&daemon).await;
    let mut events = watch(&daemon).await;

    // A plain note does not resurface.
    assert!(
        resurfaced_for(&daemon, &mut events, PARAPHRASES[0])
            .await
            .is_empty()
    );

    // An unknown id: a clear error, and nothing changes.
    let unknown = daemon
        .timeline()
        .set_helpful(v1::SetHelpfulRequest {
            id: "01JD3Y8ZK3Q9W7E2X5V4N6M1AB".into(),
            helpful: true,
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound, "{unknown:?}");
    assert!(unknown.message().contains("no reflection with id"));
    assert!(!daemon.get(&kept).await.helpful);

    // Marked: a paraphrase brings it back, in the client's words; the event names it.
    let marked = set_helpful(&daemon, &kept, true).await;
    assert!(marked.helpful);
    assert!(
        marked.edited_at.is_none() && marked.history.is_empty(),
        "a mark is not an edit"
    );
    let back = resurfaced_for(&daemon, &mut events, PARAPHRASES[1]).await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].id, kept);
    assert_eq!(back[0].text, INSIGHT);
    assert!(back[0].helpful && !back[0].from_session);
    assert!(back[0].similarity >= RESURFACE_THRESHOLD);
    assert_eq!(back[0].moment, daemon.get(&kept).await.moment);
    // An unrelated entry brings nothing back.
    assert!(
        resurfaced_for(&daemon, &mut events, UNRELATED[0])
            .await
            .is_empty()
    );

    // An edit keeps the mark, and the new vector still resurfaces.
    daemon
        .timeline()
        .edit_reflection(v1::EditReflectionRequest {
            id: kept.clone(),
            text: Some(format!("{INSIGHT} Every time.")),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(daemon.get(&kept).await.helpful);
    wait_until_indexed(&daemon).await;
    let back = resurfaced_for(&daemon, &mut events, PARAPHRASES[2]).await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].id, kept);

    // Locked: the mark cannot change (like an edit); unlocked again, it still resurfaces.
    daemon.lock().await;
    let locked = daemon
        .timeline()
        .set_helpful(v1::SetHelpfulRequest {
            id: kept.clone(),
            helpful: false,
        })
        .await
        .unwrap_err();
    assert_eq!(locked.code(), tonic::Code::FailedPrecondition, "{locked:?}");
    daemon.unlock().await;
    wait_until_indexed(&daemon).await;
    assert!(daemon.get(&kept).await.helpful);
    let back = resurfaced_for(&daemon, &mut events, PARAPHRASES[0]).await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].id, kept);

    // A restart: the mark is on disk.
    drop(events);
    let daemon = daemon.restart().await;
    daemon.unlock().await;
    wait_until_indexed(&daemon).await;
    let mut events = watch(&daemon).await;
    assert!(daemon.get(&kept).await.helpful);
    let back = resurfaced_for(&daemon, &mut events, PARAPHRASES[1]).await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].id, kept);

    // Cleared: it no longer comes back.
    assert!(!set_helpful(&daemon, &kept, false).await.helpful);
    assert!(
        resurfaced_for(&daemon, &mut events, PARAPHRASES[2])
            .await
            .is_empty()
    );
    assert!(!daemon.get(&kept).await.helpful);

    // Words the crisis check flagged never come back unasked, even marked helpful (the test of
    // the threshold shows they are near enough to the paraphrase to come back otherwise).
    let flagged = daemon.add(FLAGGED).await;
    assert!(flagged.safety.is_some(), "the crisis check fired");
    assert!(set_helpful(&daemon, &flagged.id, true).await.helpful);
    wait_until_indexed(&daemon).await;
    assert!(
        resurfaced_for(&daemon, &mut events, PARAPHRASES[1])
            .await
            .is_empty()
    );
}

/// A daemon with the real models and a vault, and no quiet hours so that check-ins come at any
/// hour the test runs at. `None` when the models cannot be installed.
async fn ready_with_models() -> Option<TestDaemon> {
    let daemon = TestDaemon::start().await;
    install_models(daemon.data_dir())?;
    daemon.init().await;
    daemon.quiet_hours_off().await;
    Some(daemon)
}

/// Logs a session held a day ago, with `insights`, and waits for its day-after check-in (due a
/// moment later) and for every vector.
async fn checkin_after_session(daemon: &TestDaemon, insights: &[&str]) -> v1::PendingCheckIn {
    let held_at = jiff::Timestamp::now().as_millisecond() - 24 * 3600 * 1000 + 1500;
    daemon
        .sessions()
        .add_session(v1::AddSessionRequest {
            held_at: Some(prost_types::Timestamp {
                seconds: held_at.div_euclid(1000),
                nanos: (held_at.rem_euclid(1000) * 1_000_000) as i32,
            }),
            insights: insights.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .await
        .unwrap();
    wait_until_indexed(daemon).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting = daemon
            .checkins()
            .list_pending(v1::ListPendingRequest {})
            .await
            .unwrap()
            .into_inner()
            .pending;
        if let Some(due) = waiting.into_iter().next() {
            return due;
        }
        assert!(Instant::now() < deadline, "the check-in came due");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn answer_checkin(
    daemon: &TestDaemon,
    due: &v1::PendingCheckIn,
    text: &str,
) -> v1::AddReflectionResponse {
    daemon
        .checkins()
        .respond(v1::RespondRequest {
            checkin_id: due.id.clone(),
            text: text.into(),
            emotions: vec![],
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_in_answer_brings_back_the_insight_it_paraphrases() {
    let Some(daemon) = ready_with_models().await else {
        return;
    };
    let mut events = watch(&daemon).await;

    let due = checkin_after_session(&daemon, &[INSIGHT]).await;
    let answered = answer_checkin(&daemon, &due, PARAPHRASES[2]).await;
    assert_eq!(
        daemon.get(&answered.id).await.kind(),
        v1::ReflectionKind::CheckIn
    );
    let back = resurfaced_in(&mut events, answered).await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].text, INSIGHT);
    assert!(back[0].from_session);
    assert!(back[0].similarity >= RESURFACE_THRESHOLD);

    // The next session's check-in, answered with something else, brings nothing back.
    let due = checkin_after_session(&daemon, &[]).await;
    let answered = answer_checkin(&daemon, &due, UNRELATED[3]).await;
    assert!(resurfaced_in(&mut events, answered).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exercise_result_brings_back_the_entry_marked_helpful_it_paraphrases() {
    let Some(daemon) = ready_with_models().await else {
        return;
    };
    let kept = daemon.add(INSIGHT).await.id;
    set_helpful(&daemon, &kept, true).await;
    for (_, text) in TIMELINE {
        daemon.add(text).await;
    }
    wait_until_indexed(&daemon).await;
    let mut events = watch(&daemon).await;
    let mut client = practice(&daemon).await;

    // Finished: its answers resemble the entry marked helpful.
    let saved =
        finished_thought_record(&mut client, PARAPHRASES[0], "They're going to fire me.").await;
    assert_eq!(
        daemon.get(&saved.id).await.kind(),
        v1::ReflectionKind::Exercise
    );
    let back = resurfaced_in(&mut events, saved).await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].id, kept);
    assert_eq!(back[0].text, INSIGHT);
    assert!(back[0].helpful && !back[0].from_session);

    // Stopped early with a draft kept: the draft resurfaces it too.
    let view = thought_record(&mut client, PARAPHRASES[2]).await;
    let draft = client
        .abandon(v1::AbandonRequest {
            run_id: view.run_id,
            keep_draft: true,
        })
        .await
        .unwrap()
        .into_inner()
        .draft
        .unwrap();
    let back = resurfaced_in(&mut events, draft).await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].id, kept);

    // About something else: nothing comes back.
    let saved =
        finished_thought_record(&mut client, UNRELATED[2], "I should do this more often.").await;
    assert!(resurfaced_in(&mut events, saved).await.is_empty());
}
