//! `interlude.v1.Models`: the models' state, and streamed generation. The checks (flagged
//! material never reaches the model, only sentences the output rules pass reach the client) live
//! in `summary`; this file maps the request and what is written to messages.

use std::pin::Pin;
use std::sync::Arc;

use interlude_proto::v1::models_server;
use interlude_proto::v1::{self, generate_chunk::Chunk};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::models::generator::{Finish, Params, Sampling};
use crate::models::{Generation, GenerationError, Models};
use crate::safety::Detector;
use crate::safety::output::OutputRules;
use crate::stopping::{Stopping, until_stopped};
use crate::summary::{Ask, Summariser, SummaryError, Written};
use crate::timeline::Timeline;

const DEFAULT_MAX_TOKENS: u32 = 128;
const MAX_TOKENS: u32 = 512;

pub struct ModelsService {
    pub generation: Generation,
    pub embedder: Models,
    pub timeline: Timeline,
    pub detector: Arc<Detector>,
    pub rules: Arc<OutputRules>,
    pub idle_unload_minutes: f64,
    pub stopping: Stopping,
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<v1::GenerateChunk, Status>> + Send>>;

#[tonic::async_trait]
impl models_server::Models for ModelsService {
    async fn status(
        &self,
        _: Request<v1::ModelsStatusRequest>,
    ) -> Result<Response<v1::ModelsStatusResponse>, Status> {
        let mut models = vec![
            v1::ModelState {
                role: "embedder".into(),
                path: self.embedder.embedder_dir().display().to_string(),
                installed: self.embedder.installed(),
                loaded: self.embedder.loaded(),
            },
            v1::ModelState {
                role: "generator".into(),
                path: self.generation.gguf().display().to_string(),
                installed: self.generation.installed(),
                loaded: self.generation.loaded(),
            },
        ];
        // Only the default embedder has one.
        if let Some(path) = self.embedder.classifier_path() {
            models.push(v1::ModelState {
                role: "classifier".into(),
                path: path.display().to_string(),
                installed: self.embedder.classifier_installed(),
                loaded: self.embedder.classifier_loaded(),
            });
        }
        Ok(Response::new(v1::ModelsStatusResponse {
            models,
            idle_unload_minutes: self.idle_unload_minutes,
        }))
    }

    type GenerateStream = ChunkStream;

    async fn generate(
        &self,
        request: Request<v1::GenerateRequest>,
    ) -> Result<Response<ChunkStream>, Status> {
        let request = request.into_inner();
        let params = params_from(&request)?;
        let summariser = Summariser {
            generation: &self.generation,
            timeline: &self.timeline,
            detector: &self.detector,
            rules: &self.rules,
        };
        let written = summariser
            .write(Ask {
                facts: request.facts,
                reflection_ids: request.reflection_ids,
                instruction: request.instruction,
                params,
            })
            .map_err(summary_status)?;
        let chunks = ReceiverStream::new(written).map(written_to);
        Ok(Response::new(Box::pin(until_stopped(
            chunks,
            &self.stopping,
        ))))
    }
}

fn params_from(request: &v1::GenerateRequest) -> Result<Params, Status> {
    let max_tokens = match request.max_tokens {
        0 => DEFAULT_MAX_TOKENS,
        n if n > MAX_TOKENS => {
            return Err(Status::invalid_argument(format!(
                "max_tokens is at most {MAX_TOKENS}"
            )));
        }
        n => n,
    };
    let temperature = f64::from(request.temperature);
    let sampling = if temperature == 0.0 {
        Sampling::Greedy
    } else if temperature.is_finite() && temperature > 0.0 && temperature <= 2.0 {
        Sampling::Seeded {
            seed: request.seed,
            temperature,
            top_p: 0.9,
        }
    } else {
        return Err(Status::invalid_argument(
            "temperature is 0 (greedy) or between 0 and 2",
        ));
    };
    if request.stop.len() > 8 || request.stop.iter().any(|s| s.is_empty() || s.len() > 64) {
        return Err(Status::invalid_argument(
            "give at most 8 stop strings, each 1 to 64 bytes",
        ));
    }
    Ok(Params {
        max_tokens: max_tokens as usize,
        sampling,
        stop: request.stop.clone(),
    })
}

fn status_from(err: GenerationError) -> Status {
    let message = err.to_string();
    match err {
        GenerationError::Absent { .. } | GenerationError::Refused { .. } => {
            Status::failed_precondition(message)
        }
        GenerationError::Busy => Status::resource_exhausted(message),
        GenerationError::Invalid(_) => Status::invalid_argument(message),
        GenerationError::Failed(_) | GenerationError::Stopped => Status::internal(message),
    }
}

fn summary_status(err: SummaryError) -> Status {
    let message = err.to_string();
    match err {
        SummaryError::TooMuch | SummaryError::TooLong | SummaryError::Nothing => {
            Status::invalid_argument(message)
        }
        SummaryError::FlaggedFact
        | SummaryError::FlaggedInstruction
        | SummaryError::FlaggedReflection(_) => Status::failed_precondition(message),
        SummaryError::Timeline(err) => err.into(),
        SummaryError::Generation(err) => status_from(err),
    }
}

fn written_to(written: Written) -> Result<v1::GenerateChunk, Status> {
    let chunk = match written {
        Written::Started { prompt_tokens } => Chunk::Started(v1::GenerateStarted {
            prompt_tokens: prompt_tokens as u32,
        }),
        Written::Sentence(sentence) => Chunk::Sentence(sentence),
        Written::Done {
            text,
            dropped,
            finish,
            prompt_tokens,
            generated_tokens,
        } => Chunk::Done(v1::GenerateDone {
            text,
            dropped_rules: dropped.iter().map(|r| r.name().to_string()).collect(),
            finish: finish_to(finish).into(),
            prompt_tokens: prompt_tokens as u32,
            generated_tokens: generated_tokens as u32,
        }),
        Written::Failed(err) => return Err(status_from(err)),
    };
    Ok(v1::GenerateChunk { chunk: Some(chunk) })
}

fn finish_to(finish: Finish) -> v1::FinishReason {
    match finish {
        Finish::EndOfTurn => v1::FinishReason::EndOfTurn,
        Finish::MaxTokens => v1::FinishReason::MaxTokens,
        Finish::StopString => v1::FinishReason::StopString,
        Finish::Cancelled => v1::FinishReason::Unspecified,
    }
}
