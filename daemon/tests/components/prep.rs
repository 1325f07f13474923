//! The session-prep evaluation: synthetic timelines with planted patterns (`interlude_e2e::
//! timelines`, several seeds and sizes) through the real daemon with the real embedder. Prints
//! planted-pattern recall in the top five themes and the share of label phrases the client
//! wrote; asserts what must hold whatever the figures: labels are the client's words, private,
//! excluded and flagged entries never appear in any rendering, and digest sentences carry no
//! name or number the entries do not have.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use interlude_e2e::timelines;
use interlude_e2e::{TestDaemon, install_models};
use interlude_proto::v1;
use serde_json::Value;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Monday 2026-11-30 00:00 UTC: the timelines end here.
const END: i64 = 1_764_460_800_000;
const PRIVATE: &str = "Private marker: the thing about the letter from the solicitor.";
const FLAGGED: &str = "I have the pills counted out and I'm going to take them all tonight.";

fn ts(ms: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: 0,
    })
}

struct Figures {
    recall: f32,
    label_share: f32,
    themes: usize,
}

async fn evaluate(seed: u64, days: i64, digest: bool) -> Option<Figures> {
    let daemon = TestDaemon::start_with(|c| c.notifications = false).await;
    install_models(daemon.data_dir())?;
    daemon.init().await;
    let entries = timelines::generate(seed, days, END);
    let mut pattern_of: HashMap<String, &str> = HashMap::new();
    let mut text_of: HashMap<String, String> = HashMap::new();
    for e in &entries {
        let request = e.request();
        let id = daemon
            .timeline()
            .add_reflection(request)
            .await
            .unwrap()
            .into_inner()
            .id;
        if let Some(p) = e.pattern {
            pattern_of.insert(id.clone(), p);
        }
        text_of.insert(id, e.text.clone());
    }
    for (text, private) in [(PRIVATE, true), (FLAGGED, false)] {
        let request = v1::AddReflectionRequest {
            text: text.into(),
            private,
            moment: ts(END - DAY_MS / 2),
            ..Default::default()
        };
        daemon.timeline().add_reflection(request).await.unwrap();
    }

    let request = v1::BuildRequest {
        since: ts(END - days * DAY_MS),
        until: ts(END),
        no_digest: !digest,
    };
    let mut stream = daemon.prep().build(request).await.unwrap().into_inner();
    let mut draft = None;
    while let Some(event) = stream.message().await.unwrap() {
        if let Some(v1::build_event::Event::Draft(d)) = event.event {
            draft = Some(d);
        }
    }
    let draft = draft.unwrap();
    let packet: Value = serde_json::from_str(&draft.json).unwrap();
    let themes = packet["patterns"]["themes"].as_array().unwrap().clone();

    for theme in themes.iter().take(5) {
        let mut made_of: HashMap<&str, usize> = HashMap::new();
        for id in theme["entry_ids"].as_array().unwrap() {
            *made_of
                .entry(
                    pattern_of
                        .get(id.as_str().unwrap())
                        .copied()
                        .unwrap_or("noise"),
                )
                .or_default() += 1;
        }
        eprintln!(
            "  theme {} score {:.2}: {made_of:?}",
            theme["label"], theme["score"]
        );
    }
    let recall = timelines::recall_in_top_five(&packet["patterns"]["themes"], &pattern_of);
    // Labels: every phrase occurs in the theme's own entries.
    let (mut phrases, mut own) = (0, 0);
    for theme in &themes {
        let texts: Vec<String> = theme["entry_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| text_of[id.as_str().unwrap()].to_lowercase())
            .collect();
        for phrase in theme["label"].as_array().unwrap() {
            phrases += 1;
            let phrase = phrase.as_str().unwrap().to_lowercase();
            if texts.iter().any(|t| t.contains(&phrase)) {
                own += 1;
            }
        }
    }
    assert_eq!(
        own, phrases,
        "every label phrase is the client's own words: {themes:#?}"
    );

    // The digest: no name or number that the window's entries do not have.
    let window_text: String = text_of
        .values()
        .cloned()
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase();
    for field in ["kept_coming_up", "seemed_to_help", "might_bring"] {
        for sentence in packet["digest"][field].as_array().unwrap() {
            let sentence = sentence.as_str().unwrap();
            eprintln!("digest {field}: {sentence}");
            for word in sentence.split(|c: char| !c.is_alphanumeric()).skip(1) {
                if word.chars().next().is_some_and(char::is_uppercase)
                    || word.chars().any(|c| c.is_ascii_digit())
                {
                    assert!(
                        window_text.contains(&word.to_lowercase()),
                        "ungrounded \"{word}\" in \"{sentence}\""
                    );
                }
            }
        }
    }

    // The review: leave out a theme's quote and the first entry marked to bring; nothing left
    // out, private or flagged reaches any format.
    let brought = packet["patterns"]["brought"][0]["id"]
        .as_str()
        .map(str::to_owned);
    let quoted = themes[0]["quotes"][0]["id"].as_str().unwrap().to_owned();
    let excluded: Vec<String> = brought.into_iter().chain([quoted]).collect();
    let review = v1::ReviewRequest {
        draft_id: draft.id.clone(),
        excluded: excluded.clone(),
        ..Default::default()
    };
    daemon.prep().review(review).await.unwrap();
    for format in [
        v1::PacketFormat::Markdown,
        v1::PacketFormat::Json,
        v1::PacketFormat::Html,
    ] {
        let rendered = daemon
            .prep()
            .render(v1::RenderRequest {
                draft_id: draft.id.clone(),
                format: format.into(),
            })
            .await
            .unwrap()
            .into_inner();
        let text = String::from_utf8(rendered.content).unwrap();
        assert!(
            !text.contains("solicitor"),
            "{format:?} holds a private entry"
        );
        assert!(
            !text.contains("pills counted"),
            "{format:?} holds a flagged entry"
        );
        for id in &excluded {
            assert!(
                !text.contains(id.as_str()),
                "{format:?} names an excluded entry"
            );
            let excluded_text = &text_of[id];
            // Another entry may say the same and more (the generator repeats its lines).
            if text_of
                .values()
                .filter(|t| t.contains(excluded_text.as_str()))
                .count()
                > 1
            {
                continue;
            }
            let escaped = excluded_text.replace('\'', "&#x27;");
            let at = text
                .find(excluded_text.as_str())
                .or_else(|| text.find(&escaped));
            assert!(
                at.is_none(),
                "{format:?} quotes an excluded entry: {}",
                &text[at.unwrap_or(0).saturating_sub(300)..at.unwrap_or(0)]
            );
        }
    }
    Some(Figures {
        recall,
        label_share: own as f32 / phrases.max(1) as f32,
        themes: themes.len(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_patterns_come_back_as_themes_in_the_clients_words() {
    // Seeds 1–4 were looked at while the ranking was set; 11 and 12 were first run after.
    let mut recalls = Vec::new();
    for (seed, days, digest) in [
        (1, 7, true),
        (2, 7, false),
        (3, 28, false),
        (4, 28, false),
        (11, 7, false),
        (12, 28, false),
    ] {
        let Some(f) = evaluate(seed, days, digest).await else {
            return;
        };
        eprintln!(
            "PREP-EVAL seed {seed} days {days}: planted-pattern recall in the top 5 themes {:.2}, label phrases in the client's words {:.2}, themes {}",
            f.recall, f.label_share, f.themes
        );
        recalls.push(f.recall);
    }
    let mean = recalls.iter().sum::<f32>() / recalls.len() as f32;
    eprintln!("PREP-EVAL mean recall {mean:.2}");
    // The first complete run (before the held-out seeds existed) was 0.75: a fall below 0.6
    // means the grouping or the ranking broke.
    assert!(mean >= 0.6, "planted-pattern recall fell to {mean:.2}");
}
