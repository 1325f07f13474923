//! The crisis check's meaning signal with the real embedding model: a sentence the phrase list
//! has no words for is still flagged before the write is acknowledged, saved exactly as written;
//! the list's reading of negation stands; without the model the list works alone.

#![allow(clippy::unwrap_used)]

use interlude_e2e::{TestDaemon, install_models};
use interlude_proto::v1;

/// Written for this test; the phrase list has none of its words (see eval.toml's known misses).
const UNLISTED: &str = "I've thought about how I would do it. The bridge near work.";

#[tokio::test]
async fn a_sentence_the_phrase_list_has_no_words_for_is_flagged_by_its_meaning() {
    let daemon = TestDaemon::start().await;
    let Some(_) = install_models(daemon.data_dir()) else {
        return;
    };
    daemon.init().await;

    let saved = daemon.add(UNLISTED).await;
    let safety = saved
        .safety
        .expect("the safety payload comes with the answer");
    assert_eq!(safety.tier(), v1::CrisisTier::Acute);
    assert!(!safety.lines.is_empty());
    let stored = daemon.get(&saved.id).await;
    assert!(stored.crisis, "saved flagged");
    assert_eq!(stored.text, UNLISTED, "and exactly as written");

    let negated = daemon
        .add("I'm not suicidal, I just had a rotten day.")
        .await;
    assert!(
        negated.safety.is_none(),
        "the phrase list's reading of \"not\" stands"
    );
    let ordinary = daemon
        .add("Walked over the bridge near work at lunch, lovely light.")
        .await;
    assert!(ordinary.safety.is_none());
}

#[tokio::test]
async fn without_the_model_the_phrase_list_works_alone() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let listed = daemon.add("I want to die.").await;
    assert_eq!(listed.safety.unwrap().tier(), v1::CrisisTier::Ideation);
    let unlisted = daemon.add(UNLISTED).await;
    assert!(
        unlisted.safety.is_none(),
        "no model: the meaning signal is skipped, nothing fails"
    );
}
