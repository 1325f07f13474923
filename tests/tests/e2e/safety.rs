//! The crisis check on the write path, the payload it returns, help-now and the safety plan.

#![allow(clippy::unwrap_used)]

use interlude_e2e::{TestDaemon, files_containing, note};
use interlude_proto::v1;

const FRIGHTENING: &str = "It's 3 am and I just want to die.";

async fn unlocked_in_the_uk() -> TestDaemon {
    let daemon = TestDaemon::start_with(|c| c.locale = Some("en_GB.UTF-8".into())).await;
    daemon.init().await;
    daemon
}

fn plan(marker: &str) -> v1::SafetyPlan {
    v1::SafetyPlan {
        warning_signs: vec![format!("not sleeping {marker}")],
        coping_strategies: vec!["the lake breath".into()],
        people_to_ask: vec!["Sam, 07700 900123".into()],
        reasons_for_living: vec!["my niece".into()],
        ..Default::default()
    }
}

#[tokio::test]
async fn a_frightening_entry_is_saved_as_written_flagged_and_answered_with_the_plan_and_lines() {
    let daemon = unlocked_in_the_uk().await;
    daemon
        .timeline()
        .clone()
        .add_reflection(note("an ordinary day"))
        .await
        .unwrap();
    let mut safety = interlude_proto::v1::safety_client::SafetyClient::new(
        interlude_proto::connect(&daemon.socket()).await.unwrap(),
    );
    safety.set_plan(plan("")).await.unwrap();

    let added = daemon
        .timeline()
        .add_reflection(note(FRIGHTENING))
        .await
        .unwrap()
        .into_inner();
    let payload = added
        .safety
        .expect("the check fires and the response carries the payload");
    assert!(payload.tier() != v1::CrisisTier::Unspecified);
    assert_eq!(payload.region, "United Kingdom");
    assert!(
        payload.lines.iter().any(|l| l.contact.contains("116 123")),
        "{:?}",
        payload.lines
    );
    assert_eq!(payload.plan.unwrap().coping_strategies, ["the lake breath"]);
    assert!(!payload.message.to_lowercase().contains("has been notified"));

    let saved = daemon.get(&added.id).await;
    assert_eq!(saved.text, FRIGHTENING, "nothing is rewritten");
    assert!(saved.crisis);
}

#[tokio::test]
async fn an_ordinary_entry_carries_no_payload() {
    let daemon = unlocked_in_the_uk().await;
    for text in [
        "Long day. The critic was loud but the lake breath helped.",
        "I'm not suicidal, just exhausted.",
    ] {
        let added = daemon
            .timeline()
            .add_reflection(note(text))
            .await
            .unwrap()
            .into_inner();
        assert!(added.safety.is_none(), "{text}");
    }
}

#[tokio::test]
async fn exercise_answers_and_edits_are_checked_too() {
    let daemon = unlocked_in_the_uk().await;
    let with_answer = v1::AddReflectionRequest {
        text: "thought record".into(),
        answers: vec![v1::Answer {
            step_id: "automatic-thought".into(),
            value: "I want to die".into(),
        }],
        ..Default::default()
    };
    let added = daemon
        .timeline()
        .add_reflection(with_answer)
        .await
        .unwrap()
        .into_inner();
    assert!(
        added.safety.is_some(),
        "a structured answer fires the check"
    );
    let id = daemon.add("fine so far").await.id;
    let edited = daemon
        .timeline()
        .edit_reflection(v1::EditReflectionRequest {
            id,
            text: Some(FRIGHTENING.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(edited.crisis);
}

#[tokio::test]
async fn while_locked_the_check_still_fires_and_the_plan_shows_only_with_consent() {
    let daemon = unlocked_in_the_uk().await;
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let mut safety = v1::safety_client::SafetyClient::new(channel);
    safety.set_plan(plan("")).await.unwrap();
    daemon.lock().await;

    let added = daemon
        .timeline()
        .add_reflection(note(FRIGHTENING))
        .await
        .unwrap()
        .into_inner();
    assert!(added.sealed);
    let payload = added.safety.expect("the check runs before sealing");
    assert!(
        payload.plan.is_none(),
        "the plan is in the locked vault and no copy was allowed"
    );
    assert!(!payload.lines.is_empty());
    let help = safety
        .help_now(v1::HelpNowRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(help.plan.is_none() && !help.lines.is_empty());

    daemon.unlock().await;
    let plan_now = safety
        .set_locked_copy(v1::SetLockedCopyRequest { enabled: true })
        .await
        .unwrap()
        .into_inner();
    assert!(plan_now.readable_while_locked);
    daemon.lock().await;
    let help = safety
        .help_now(v1::HelpNowRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        help.plan.unwrap().reasons_for_living,
        ["my niece"],
        "with consent, readable while locked"
    );

    daemon.unlock().await;
    safety
        .set_locked_copy(v1::SetLockedCopyRequest { enabled: false })
        .await
        .unwrap();
    daemon.lock().await;
    let help = safety
        .help_now(v1::HelpNowRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(help.plan.is_none(), "turning the copy off removes it");
}

#[tokio::test]
async fn the_plan_is_encrypted_on_disk_unless_the_client_allows_a_readable_copy() {
    let daemon = unlocked_in_the_uk().await;
    let marker = "PLAN-MARKER-5521";
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let mut safety = v1::safety_client::SafetyClient::new(channel);
    safety.set_plan(plan(marker)).await.unwrap();
    let got = safety
        .get_plan(v1::GetPlanRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.warning_signs, [format!("not sleeping {marker}")]);
    assert!(files_containing(daemon.data_dir(), marker.as_bytes()).is_empty());

    safety
        .set_locked_copy(v1::SetLockedCopyRequest { enabled: true })
        .await
        .unwrap();
    assert_eq!(
        files_containing(daemon.data_dir(), marker.as_bytes()).len(),
        1,
        "the consented copy, and only it"
    );
    safety
        .set_locked_copy(v1::SetLockedCopyRequest { enabled: false })
        .await
        .unwrap();
    assert!(files_containing(daemon.data_dir(), marker.as_bytes()).is_empty());
}
