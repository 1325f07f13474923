//! Reflections, sessions and vocabulary through the gRPC API.

#![allow(clippy::unwrap_used)]

use interlude_e2e::{TestDaemon, note};
use interlude_proto::v1;
use prost_types::Timestamp;
use tonic::Code;

const HOUR: i64 = 3600;

fn at(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn unlocked() -> TestDaemon {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    daemon
}

#[tokio::test]
async fn a_reflection_comes_back_exactly_as_written() {
    let daemon = unlocked().await;
    let request = v1::AddReflectionRequest {
        text: "Froze when my manager asked for the report.\nThe critic: \"you always do this\"."
            .into(),
        kind: v1::ReflectionKind::CheckIn.into(),
        emotions: vec![
            v1::Emotion {
                name: "anxious".into(),
                intensity: 70,
            },
            v1::Emotion {
                name: "ashamed".into(),
                intensity: 40,
            },
        ],
        tags: vec!["work".into(), "critic".into()],
        bring_to_session: true,
        private: false,
        moment: at(now() - 2 * HOUR),
        plugin_id: "cbt".into(),
        exercise_id: "thought-record".into(),
        answers: vec![v1::Answer {
            step_id: "situation".into(),
            value: "the report".into(),
        }],
    };
    let added = daemon
        .timeline()
        .add_reflection(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(!added.sealed);
    let got = daemon.get(&added.id.clone()).await;
    assert_eq!(got.id, added.id);
    assert_eq!(got.text, request.text);
    assert_eq!(got.kind(), v1::ReflectionKind::CheckIn);
    assert_eq!(got.emotions, request.emotions);
    assert_eq!(got.tags, request.tags);
    assert!(got.bring_to_session && !got.private);
    assert_eq!(got.moment.unwrap().seconds, now() - 2 * HOUR);
    assert!(got.recorded_at.unwrap().seconds >= now() - 5);
    assert_eq!(got.answers, request.answers);
    assert_eq!(
        (got.plugin_id.as_str(), got.exercise_id.as_str()),
        ("cbt", "thought-record")
    );
    assert!(got.edited_at.is_none() && got.history.is_empty());
}

#[tokio::test]
async fn the_timeline_lists_a_window_newest_or_oldest_first_page_by_page() {
    let daemon = unlocked().await;
    let start = now() - 100 * HOUR;
    for i in 0..25 {
        let mut request = note(&format!("entry {i}"));
        request.moment = at(start + i * HOUR);
        daemon.timeline().add_reflection(request).await.unwrap();
    }
    // Hours 5..15 inclusive of 5, exclusive of 15: ten entries.
    let window = v1::ListReflectionsRequest {
        since: at(start + 5 * HOUR),
        until: at(start + 15 * HOUR),
        limit: 4,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut request = window.clone();
    loop {
        let page = daemon
            .timeline()
            .list_reflections(request.clone())
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.reflections.into_iter().map(|r| r.text));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    let expected: Vec<String> = (5..15).rev().map(|i| format!("entry {i}")).collect();
    assert_eq!(seen, expected);

    let oldest = v1::ListReflectionsRequest {
        order: v1::Order::OldestFirst.into(),
        limit: 3,
        ..window
    };
    let page = daemon
        .timeline()
        .list_reflections(oldest.clone())
        .await
        .unwrap()
        .into_inner();
    let texts: Vec<_> = page.reflections.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(texts, ["entry 5", "entry 6", "entry 7"]);
    let next = v1::ListReflectionsRequest {
        page_token: page.next_page_token,
        ..oldest
    };
    let page = daemon
        .timeline()
        .list_reflections(next)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.reflections[0].text, "entry 8");
}

#[tokio::test]
async fn the_timeline_filters_by_kind_tag_and_flags() {
    let daemon = unlocked().await;
    let add = |text: &str, kind: v1::ReflectionKind, tags: &[&str], bring: bool, private: bool| {
        v1::AddReflectionRequest {
            text: text.into(),
            kind: kind.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            bring_to_session: bring,
            private,
            ..Default::default()
        }
    };
    let t = daemon.timeline();
    t.clone()
        .add_reflection(add(
            "a dream of water",
            v1::ReflectionKind::Dream,
            &["sleep"],
            false,
            false,
        ))
        .await
        .unwrap();
    t.clone()
        .add_reflection(add(
            "work again",
            v1::ReflectionKind::Note,
            &["work"],
            true,
            false,
        ))
        .await
        .unwrap();
    t.clone()
        .add_reflection(add(
            "only for me",
            v1::ReflectionKind::Note,
            &["work"],
            false,
            true,
        ))
        .await
        .unwrap();
    let list = |request: v1::ListReflectionsRequest| {
        let mut t = t.clone();
        async move {
            let page = t.list_reflections(request).await.unwrap().into_inner();
            page.reflections
                .into_iter()
                .map(|r| r.text)
                .collect::<Vec<_>>()
        }
    };
    let dreams = list(v1::ListReflectionsRequest {
        kind: v1::ReflectionKind::Dream.into(),
        ..Default::default()
    })
    .await;
    assert_eq!(dreams, ["a dream of water"]);
    let work = list(v1::ListReflectionsRequest {
        tag: "work".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(work, ["only for me", "work again"]);
    let bring = list(v1::ListReflectionsRequest {
        bring_to_session: Some(true),
        ..Default::default()
    })
    .await;
    assert_eq!(bring, ["work again"]);
    let shareable = list(v1::ListReflectionsRequest {
        private: Some(false),
        tag: "work".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(shareable, ["work again"]);
}

#[tokio::test]
async fn an_edit_keeps_the_previous_version_in_the_history() {
    let daemon = unlocked().await;
    let id = daemon
        .timeline()
        .add_reflection(v1::AddReflectionRequest {
            text: "first draft".into(),
            tags: vec!["draft".into()],
            emotions: vec![v1::Emotion {
                name: "flat".into(),
                intensity: 20,
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .id;
    let edited = daemon
        .timeline()
        .edit_reflection(v1::EditReflectionRequest {
            id: id.clone(),
            text: Some("second thoughts".into()),
            tags: Some(v1::StringList {
                values: vec!["revised".into()],
            }),
            bring_to_session: Some(true),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(edited.text, "second thoughts");
    assert_eq!(edited.tags, ["revised"]);
    assert_eq!(
        edited.emotions[0].name, "flat",
        "fields not sent stay as they were"
    );
    assert!(edited.bring_to_session);
    assert!(edited.edited_at.is_some());
    assert_eq!(edited.history.len(), 1);
    assert_eq!(edited.history[0].text, "first draft");
    assert_eq!(edited.history[0].tags, ["draft"]);
    let daemon = daemon.restart().await;
    daemon.unlock().await;
    let got = daemon.get(&id).await;
    assert_eq!(got, edited, "the edit is durable");
}

#[tokio::test]
async fn a_deleted_reflection_is_gone_and_others_stay() {
    let daemon = unlocked().await;
    let keep = daemon.add("keep me").await.id;
    let gone = daemon.add("delete me").await.id;
    daemon
        .timeline()
        .delete_reflection(v1::DeleteReflectionRequest { id: gone.clone() })
        .await
        .unwrap();
    let err = daemon
        .timeline()
        .get_reflection(v1::GetReflectionRequest { id: gone.clone() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = daemon
        .timeline()
        .delete_reflection(v1::DeleteReflectionRequest { id: gone })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let daemon = daemon.restart().await;
    daemon.unlock().await;
    let page = daemon
        .timeline()
        .list_reflections(v1::ListReflectionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = page.reflections.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, [keep]);
}

#[tokio::test]
async fn sessions_keep_their_insights_and_list_newest_first() {
    let daemon = unlocked().await;
    let mut sessions = daemon.sessions();
    let older = sessions
        .add_session(v1::AddSessionRequest {
            held_at: at(now() - 14 * 24 * HOUR),
            insights: vec!["the critic protects me".into()],
            note: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let newer = sessions
        .add_session(v1::AddSessionRequest {
            held_at: at(now() - 7 * 24 * HOUR),
            insights: vec!["anger is allowed".into()],
            note: "homework: notice it".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let listed = sessions
        .list_sessions(v1::ListSessionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .sessions;
    assert_eq!(listed, [newer.clone(), older.clone()]);
    let edited = sessions
        .edit_session(v1::EditSessionRequest {
            id: older.id.clone(),
            insights: Some(v1::InsightList {
                values: vec!["the critic protects me".into(), "and it is tired".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(edited.insights.len(), 2);
    sessions
        .delete_session(v1::DeleteSessionRequest {
            id: newer.id.clone(),
        })
        .await
        .unwrap();
    let err = sessions
        .get_session(v1::GetSessionRequest { id: newer.id })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let got = sessions
        .get_session(v1::GetSessionRequest { id: older.id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, edited);
}

#[tokio::test]
async fn vocabulary_terms_are_recognised_in_new_reflections() {
    let daemon = unlocked().await;
    let mut vocab = daemon.vocabulary();
    let critic = vocab
        .add_term(v1::AddTermRequest {
            kind: v1::TermKind::Part.into(),
            word: "the critic".into(),
            note: "since school".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let lake = vocab
        .add_term(v1::AddTermRequest {
            kind: v1::TermKind::Anchor.into(),
            word: "lake breath".into(),
            note: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let err = vocab
        .add_term(v1::AddTermRequest {
            kind: v1::TermKind::Part.into(),
            word: "The Critic".into(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::InvalidArgument,
        "the same word twice is refused"
    );
    let id = daemon
        .add("The critic showed up; the lake breath helped a little.")
        .await
        .id;
    let got = daemon.get(&id).await;
    assert_eq!(got.term_ids, [critic.id.clone(), lake.id.clone()]);
    let anchors = vocab
        .list_terms(v1::ListTermsRequest {
            kind: v1::TermKind::Anchor.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .terms;
    assert_eq!(anchors, std::slice::from_ref(&lake));
    let renamed = vocab
        .edit_term(v1::EditTermRequest {
            id: lake.id.clone(),
            word: Some("the lake".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renamed.word, "the lake");
    assert_eq!(renamed.kind(), v1::TermKind::Anchor);
    vocab
        .remove_term(v1::RemoveTermRequest {
            id: critic.id.clone(),
        })
        .await
        .unwrap();
    let all = vocab
        .list_terms(v1::ListTermsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .terms;
    assert_eq!(all, [renamed]);
}
