//! `interlude.v1.Practice`: running exercises one step at a time.

use interlude_proto::v1;
use interlude_proto::v1::practice_server::Practice as PracticeApi;
use tonic::{Request, Response, Status};

use super::acknowledge::Acknowledge;
use crate::domain::Kind;
use crate::practice::{Listed, Practice, PracticeError, RunError, RunsError, StepView, View};
use interlude_plugins::format::{Modality, State, StepKind};

pub struct PracticeService {
    pub practice: Practice,
    pub acknowledge: Acknowledge,
}

#[tonic::async_trait]
impl PracticeApi for PracticeService {
    async fn list_exercises(
        &self,
        request: Request<v1::ListExercisesRequest>,
    ) -> Result<Response<v1::ListExercisesResponse>, Status> {
        let r = request.into_inner();
        let modality = modality_from(r.modality)?;
        let state = state_from(r.state)?;
        Ok(Response::new(v1::ListExercisesResponse {
            exercises: self
                .practice
                .list(modality, state)
                .into_iter()
                .map(listed_to)
                .collect(),
        }))
    }

    async fn start(
        &self,
        request: Request<v1::StartRequest>,
    ) -> Result<Response<v1::RunView>, Status> {
        let r = request.into_inner();
        respond(
            self.practice
                .start(r.plugin_id.trim(), r.exercise_id.trim()),
        )
    }

    async fn answer(
        &self,
        request: Request<v1::AnswerRequest>,
    ) -> Result<Response<v1::RunView>, Status> {
        let r = request.into_inner();
        respond(self.practice.answer(&r.run_id, &r.step_id, &r.value))
    }

    async fn back(
        &self,
        request: Request<v1::BackRequest>,
    ) -> Result<Response<v1::RunView>, Status> {
        respond(self.practice.back(&request.into_inner().run_id))
    }

    async fn skip(
        &self,
        request: Request<v1::SkipRequest>,
    ) -> Result<Response<v1::RunView>, Status> {
        let r = request.into_inner();
        respond(self.practice.skip(&r.run_id, &r.step_id))
    }

    async fn finish(
        &self,
        request: Request<v1::FinishRequest>,
    ) -> Result<Response<v1::AddReflectionResponse>, Status> {
        let r = request.into_inner();
        let added = self
            .practice
            .finish(&r.run_id, r.bring_to_session, r.private)
            .await
            .map_err(status)?;
        Ok(Response::new(
            self.acknowledge.reflection(added, Kind::Exercise).await,
        ))
    }

    async fn abandon(
        &self,
        request: Request<v1::AbandonRequest>,
    ) -> Result<Response<v1::AbandonResponse>, Status> {
        let r = request.into_inner();
        let draft = self
            .practice
            .abandon(&r.run_id, r.keep_draft)
            .await
            .map_err(status)?;
        let draft = match draft {
            Some(added) => Some(self.acknowledge.reflection(added, Kind::Exercise).await),
            None => None,
        };
        Ok(Response::new(v1::AbandonResponse { draft }))
    }
}

fn respond(view: Result<View, PracticeError>) -> Result<Response<v1::RunView>, Status> {
    view.map(|v| Response::new(view_to(v))).map_err(status)
}

fn status(err: PracticeError) -> Status {
    let message = err.to_string();
    match err {
        PracticeError::UnknownExercise { .. } | PracticeError::Runs(RunsError::Unknown) => {
            Status::not_found(message)
        }
        PracticeError::Runs(RunsError::Full) => Status::resource_exhausted(message),
        PracticeError::Run(RunError::BadValue(_)) => Status::invalid_argument(message),
        PracticeError::Run(_) | PracticeError::NothingAnswered => {
            Status::failed_precondition(message)
        }
        PracticeError::Timeline(e) => e.into(),
    }
}

fn view_to(v: View) -> v1::RunView {
    v1::RunView {
        run_id: v.run_id,
        plugin_id: v.plugin_id,
        exercise_id: v.exercise_id,
        title: v.title,
        step: v.step.map(step_to),
        position: v.position as u32,
        step_count: v.step_count as u32,
        at_end: v.at_end,
        can_go_back: v.can_go_back,
    }
}

fn step_to(view: StepView) -> v1::Step {
    let s = view.step;
    let options = if s.kind == StepKind::Vocabulary {
        view.words
    } else {
        s.options
    };
    v1::Step {
        suggestions: view.suggestions,
        id: s.id,
        kind: step_kind_to(s.kind).into(),
        prompt: s.prompt,
        required: s.required,
        options,
        min: s.min,
        max: s.max,
        labels: s.labels,
        vocabulary_kind: s.vocabulary.unwrap_or_default(),
        seconds: s.seconds,
        shows: view
            .shows
            .map(|(step_id, prompt, value)| v1::EarlierAnswer {
                step_id,
                prompt,
                value,
            }),
        current_answer: view.current_answer.unwrap_or_default(),
        instruction: s.instruction,
        item_number: s.scored.as_ref().map_or(0, |q| q.number as u32),
        item_count: s.scored.as_ref().map_or(0, |q| q.of as u32),
    }
}

fn listed_to(l: Listed) -> v1::ExerciseSummary {
    v1::ExerciseSummary {
        plugin_id: l.plugin_id,
        exercise_id: l.exercise_id,
        title: l.title,
        summary: l.summary,
        state: state_to(l.state).into(),
        minutes: l.minutes,
        step_count: l.step_count as u32,
        modality: modality_to(l.modality).into(),
        plugin_name: l.plugin_name,
    }
}

fn step_kind_to(kind: StepKind) -> v1::StepKind {
    use v1::StepKind as K;
    match kind {
        StepKind::Text => K::Text,
        StepKind::List => K::List,
        // A run asks a questionnaire item by item, each as a choice.
        StepKind::Choice | StepKind::Questionnaire => K::Choice,
        StepKind::MultiChoice => K::MultiChoice,
        StepKind::Emotion => K::Emotion,
        StepKind::Body => K::Body,
        StepKind::Scale => K::Scale,
        StepKind::Vocabulary => K::Vocabulary,
        StepKind::Timer => K::Timer,
    }
}

fn modality_from(modality: i32) -> Result<Option<Modality>, Status> {
    use v1::Modality as M;
    Ok(
        match M::try_from(modality)
            .map_err(|_| Status::invalid_argument(format!("unknown modality {modality}")))?
        {
            M::Unspecified => None,
            M::Cbt => Some(Modality::Cbt),
            M::Dbt => Some(Modality::Dbt),
            M::Act => Some(Modality::Act),
            M::Psychodynamic => Some(Modality::Psychodynamic),
            M::Other => Some(Modality::Other),
        },
    )
}

fn modality_to(modality: Modality) -> v1::Modality {
    use v1::Modality as M;
    match modality {
        Modality::Cbt => M::Cbt,
        Modality::Dbt => M::Dbt,
        Modality::Act => M::Act,
        Modality::Psychodynamic => M::Psychodynamic,
        Modality::Other => M::Other,
    }
}

fn state_from(state: i32) -> Result<Option<State>, Status> {
    use v1::ExerciseState as S;
    Ok(
        match S::try_from(state)
            .map_err(|_| Status::invalid_argument(format!("unknown exercise state {state}")))?
        {
            S::Unspecified => None,
            S::Activated => Some(State::Activated),
            S::Reflective => Some(State::Reflective),
            S::Any => Some(State::Any),
        },
    )
}

fn state_to(state: State) -> v1::ExerciseState {
    use v1::ExerciseState as S;
    match state {
        State::Activated => S::Activated,
        State::Reflective => S::Reflective,
        State::Any => S::Any,
    }
}
