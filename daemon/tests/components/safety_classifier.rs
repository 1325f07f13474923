//! The crisis check's classifier with the real embedding model: an entry the phrase rules have no
//! words for is still flagged before the write is acknowledged, with its C-SSRS category, and
//! saved exactly as written; an ordinary entry and a denial are not; without the model the rules
//! work alone and `status` says so.

#![allow(clippy::unwrap_used)]

use crate::exercise::{finished_thought_record, practice};
use interlude_e2e::{TestDaemon, install_models};
use interlude_proto::v1;

/// Written for this test; the phrase rules have none of its words, and the meaning is carried
/// across two sentences.
const UNLISTED: &str = "I've thought about how I would do it. The bridge near work.";

/// A started, unlocked daemon with the embedding model installed, or `None` when the model
/// could not be fetched (the test is then skipped, as the other model tests are).
async fn unlocked_with_models() -> Option<TestDaemon> {
    let daemon = TestDaemon::start().await;
    install_models(daemon.data_dir())?;
    daemon.init().await;
    Some(daemon)
}

#[tokio::test]
async fn an_entry_the_rules_have_no_words_for_is_flagged_by_the_classifier() {
    let Some(daemon) = unlocked_with_models().await else {
        return;
    };

    let saved = daemon.add(UNLISTED).await;
    let safety = saved
        .safety
        .expect("the safety payload comes with the answer");
    assert!(safety.tier() >= v1::CrisisTier::Ideation, "{safety:?}");
    assert_ne!(safety.category(), v1::CrisisCategory::Unspecified);
    assert!(!safety.lines.is_empty());
    let stored = daemon.get(&saved.id).await;
    assert!(stored.crisis, "saved flagged");
    assert_eq!(stored.text, UNLISTED, "and exactly as written");

    let negated = daemon
        .add("I'm not suicidal, I just had a rotten day.")
        .await;
    assert!(negated.safety.is_none(), "a denial is not a risk");
    let ordinary = daemon
        .add("Walked over the bridge near work at lunch, lovely light.")
        .await;
    assert!(ordinary.safety.is_none());

    let status = daemon
        .daemon()
        .status(v1::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        !status.notices.iter().any(|n| n.contains("crisis check")),
        "with the model, status has nothing to say about the check: {:?}",
        status.notices
    );
}

#[tokio::test]
async fn without_the_model_the_rules_work_alone_and_status_says_so() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let listed = daemon.add("I want to die.").await;
    let safety = listed.safety.unwrap();
    assert_eq!(safety.tier(), v1::CrisisTier::Ideation);
    assert_eq!(safety.category(), v1::CrisisCategory::WishToBeDead);
    let unlisted = daemon.add(UNLISTED).await;
    assert!(
        unlisted.safety.is_none(),
        "no model: the classifier is skipped, nothing fails"
    );
    let status = daemon
        .daemon()
        .status(v1::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        status
            .notices
            .iter()
            .any(|n| n.contains("phrase rules alone")),
        "{:?}",
        status.notices
    );
}

/// The classifier is a file `models fetch` installs beside the models: a daemon without it (the
/// models installed by an older `interlude`, or the file removed) runs on the rules and says so,
/// and picks the file up once it is fetched, without a restart.
#[tokio::test]
async fn without_the_classifiers_file_the_rules_work_alone_until_it_is_fetched() {
    let Some(daemon) = unlocked_with_models().await else {
        return;
    };
    let file = interlude_proto::models::classifier_path(daemon.data_dir());
    std::fs::remove_file(&file).unwrap();
    let notices = |status: v1::StatusResponse| status.notices;
    let status = daemon.daemon().status(v1::StatusRequest {}).await.unwrap();
    assert!(
        notices(status.into_inner())
            .iter()
            .any(|n| n.contains("phrase rules alone") && n.contains("models fetch")),
        "status says the check runs without its second signal"
    );
    let unlisted = daemon.add(UNLISTED).await;
    assert!(
        unlisted.safety.is_none(),
        "the rules alone have no words for it"
    );

    install_models(daemon.data_dir()).unwrap();
    let status = daemon.daemon().status(v1::StatusRequest {}).await.unwrap();
    assert!(
        !notices(status.into_inner())
            .iter()
            .any(|n| n.contains("crisis check")),
        "fetched: nothing to say"
    );
    let flagged = daemon.add(UNLISTED).await;
    assert!(flagged.safety.is_some(), "the classifier reads it again");
}

/// A damaged classifier file is refused by its pinned checksum: the write still goes through on
/// the rules, `status` says why the second signal is missing, and `models fetch` repairs it.
#[tokio::test]
async fn a_damaged_classifier_file_is_refused_and_status_says_so() {
    let daemon = TestDaemon::start().await;
    if install_models(daemon.data_dir()).is_none() {
        return;
    }
    let file = interlude_proto::models::classifier_path(daemon.data_dir());
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    daemon.init().await;
    let saved = daemon.add(UNLISTED).await;
    assert!(
        saved.safety.is_none(),
        "the rules alone have no words for it"
    );
    assert_eq!(
        daemon.get(&saved.id).await.text,
        UNLISTED,
        "saved all the same"
    );
    let status = daemon.daemon().status(v1::StatusRequest {}).await.unwrap();
    assert!(
        status
            .into_inner()
            .notices
            .iter()
            .any(|n| n.contains("refused") && n.contains("models fetch")),
        "status says the file was refused"
    );

    install_models(daemon.data_dir()).unwrap();
    let flagged = daemon.add(UNLISTED).await;
    assert!(
        flagged.safety.is_some(),
        "reinstalled: the classifier reads it again"
    );
    let status = daemon.daemon().status(v1::StatusRequest {}).await.unwrap();
    assert!(
        !status
            .into_inner()
            .notices
            .iter()
            .any(|n| n.contains("crisis check")),
        "nothing to say once it loads"
    );
}

/// The daemon's forward (candle, our kernels, float16 weights widened) gives the probabilities
/// the training script computed in PyTorch for the same texts (`reference.json`, written by
/// `train.py` beside the weights).
#[tokio::test]
async fn the_classifier_agrees_with_the_training_scripts_reference() {
    use interlude_daemon::models::{ModelSettings, Models};
    use interlude_proto::models::{EMBEDDER_ID, classifier_path};

    let root = tempfile::tempdir().unwrap();
    let Some(models_dir) = install_models(root.path()) else {
        return;
    };
    let models = Models::start(ModelSettings {
        embedder_dir: models_dir.join(EMBEDDER_ID),
        pinned: true,
        idle_unload: std::time::Duration::from_secs(60),
        classifier: Some(classifier_path(root.path())),
    })
    .unwrap();
    #[derive(serde::Deserialize)]
    struct Reference {
        text: String,
        probabilities: Vec<f32>,
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/safety/classifier/reference.json"
    );
    let reference: Vec<Reference> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let texts: Vec<String> = reference.iter().map(|r| r.text.clone()).collect();
    let ours = models.classify(texts).await.unwrap();
    let mut worst = 0.0f32;
    for (r, p) in reference.iter().zip(&ours) {
        assert_eq!(p.len(), r.probabilities.len());
        for (a, b) in p.iter().zip(&r.probabilities) {
            worst = worst.max((a - b).abs());
        }
    }
    println!("largest difference from PyTorch's probabilities: {worst:.2e}");
    assert!(worst < 2e-3, "largest difference {worst}");
}

/// An exercise's text holds the plugin's questions; the classifier reads only the client's
/// answers: a risk in an answer is still flagged, and a question such as "what's the loudest
/// thought right now" does not turn an ordinary worry into one (classifier v4 read the fired-from-
/// work record below as a risk when it saw the questions too).
#[tokio::test]
async fn in_an_exercise_the_classifier_reads_the_answers_not_the_questions() {
    let Some(daemon) = unlocked_with_models().await else {
        return;
    };

    let mut client = practice(&daemon).await;
    let risky = finished_thought_record(&mut client, "Long day, nothing new.", UNLISTED).await;
    let safety = risky.safety.expect("a risk in an answer is flagged");
    assert!(safety.tier() >= v1::CrisisTier::Ideation, "{safety:?}");

    let worry = finished_thought_record(
        &mut client,
        "My boss commented on my report and I was sure I would lose my job.",
        "They're going to fire me.",
    )
    .await;
    assert!(worry.safety.is_none(), "{:?}", worry.safety);
}
