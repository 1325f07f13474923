//! Running the CBT quick thought record through the Practice service, for the tests that need
//! an exercise result.

#![allow(clippy::unwrap_used)]

use interlude_e2e::TestDaemon;
use interlude_proto::v1;
use interlude_proto::v1::practice_client::PracticeClient;
use tonic::transport::Channel;

pub async fn practice(daemon: &TestDaemon) -> PracticeClient<Channel> {
    PracticeClient::new(interlude_proto::connect(&daemon.socket()).await.unwrap())
}

/// Starts the quick thought record and answers what is happening; the feelings are skipped.
pub async fn thought_record(client: &mut PracticeClient<Channel>, happening: &str) -> v1::RunView {
    let view = client
        .start(v1::StartRequest {
            plugin_id: "cbt".into(),
            exercise_id: "quick-thought-record".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let view = answer_step(client, &view, happening).await;
    client
        .skip(v1::SkipRequest {
            run_id: view.run_id.clone(),
            step_id: view.step.unwrap().id,
        })
        .await
        .unwrap()
        .into_inner()
}

pub async fn answer_step(
    client: &mut PracticeClient<Channel>,
    view: &v1::RunView,
    value: &str,
) -> v1::RunView {
    client
        .answer(v1::AnswerRequest {
            run_id: view.run_id.clone(),
            step_id: view.step.as_ref().unwrap().id.clone(),
            value: value.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// The quick thought record to its end, saved.
pub async fn finished_thought_record(
    client: &mut PracticeClient<Channel>,
    happening: &str,
    thought: &str,
) -> v1::AddReflectionResponse {
    let view = thought_record(client, happening).await;
    let view = answer_step(client, &view, thought).await;
    let view = client
        .skip(v1::SkipRequest {
            run_id: view.run_id.clone(),
            step_id: view.step.unwrap().id,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(view.at_end);
    client
        .finish(v1::FinishRequest {
            run_id: view.run_id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}
