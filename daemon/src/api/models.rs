//! `interlude.v1.Models`: the models' state, and streamed generation. Only text the crisis check
//! passes reaches the model, and only sentences the output rules pass reach the client: the
//! answer is buffered a sentence at a time and each one is checked before it is sent.

use std::pin::Pin;
use std::sync::Arc;

use interlude_proto::v1::models_server;
use interlude_proto::v1::{self, generate_chunk::Chunk};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::models::generation::{Event, Request as GenerationRequest};
use crate::models::generator::{Finish, Params, Sampling};
use crate::models::{Generation, GenerationError, Models};
use crate::safety::Detector;
use crate::safety::output::{OutputRules, Rule};
use crate::stopping::{Stopping, until_stopped};
use crate::timeline::Timeline;

const DEFAULT_MAX_TOKENS: u32 = 128;
const MAX_TOKENS: u32 = 512;
const MAX_FACTS: usize = 32;
const MAX_REFLECTIONS: usize = 16;
/// The longest fact or instruction, in bytes: a sentence or two, not an entry.
const MAX_FACT_BYTES: usize = 1024;
const DEFAULT_INSTRUCTION: &str = "In one or two short sentences, say what the client wrote about, \
     addressing them as \"you\". Use only the facts and entries given. Give no advice.";
const SYSTEM: &str = "You write short, plain summaries of a person's own journal entries for them. \
     You are not a therapist: never advise, diagnose or reassure.";

pub struct ModelsService {
    pub generation: Generation,
    pub embedder: Models,
    pub timeline: Timeline,
    pub detector: Arc<Detector>,
    pub rules: Arc<OutputRules>,
    pub idle_unload_minutes: f64,
    /// Open generation streams end when the daemon stops.
    pub stopping: Stopping,
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<v1::GenerateChunk, Status>> + Send>>;

#[tonic::async_trait]
impl models_server::Models for ModelsService {
    async fn status(
        &self,
        _: Request<v1::ModelsStatusRequest>,
    ) -> Result<Response<v1::ModelsStatusResponse>, Status> {
        Ok(Response::new(v1::ModelsStatusResponse {
            models: vec![
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
            ],
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
        let user = self.user_message(&request)?;
        let instruction = match request.instruction.trim() {
            "" => DEFAULT_INSTRUCTION,
            given => self.checked_instruction(given)?,
        };
        let events = self
            .generation
            .submit(GenerationRequest {
                system: format!("{SYSTEM} {instruction}"),
                user,
                params,
            })
            .map_err(status_from)?;
        let (chunks, stream) = mpsc::channel(16);
        tokio::spawn(forward_checked(
            events,
            chunks,
            self.rules.clone(),
            self.detector.clone(),
        ));
        Ok(Response::new(Box::pin(until_stopped(
            ReceiverStream::new(stream),
            &self.stopping,
        ))))
    }
}

impl ModelsService {
    /// A caller's instruction goes to the model like a fact: bounded, and crisis-checked.
    fn checked_instruction<'a>(&self, instruction: &'a str) -> Result<&'a str, Status> {
        if instruction.len() > MAX_FACT_BYTES {
            return Err(Status::invalid_argument(format!(
                "the instruction is at most {MAX_FACT_BYTES} bytes"
            )));
        }
        if self.rules.broken_rule(instruction, &self.detector) == Some(Rule::Crisis) {
            return Err(Status::failed_precondition(
                "the instruction was flagged by the crisis check; flagged text is never given to the model",
            ));
        }
        Ok(instruction)
    }

    /// The facts and the quoted entries, each checked: flagged text never reaches the model.
    fn user_message(&self, request: &v1::GenerateRequest) -> Result<String, Status> {
        if request.facts.len() > MAX_FACTS || request.reflection_ids.len() > MAX_REFLECTIONS {
            return Err(Status::invalid_argument(format!(
                "give at most {MAX_FACTS} facts and {MAX_REFLECTIONS} reflections"
            )));
        }
        if request.facts.iter().any(|f| f.len() > MAX_FACT_BYTES) {
            return Err(Status::invalid_argument(format!(
                "a fact is at most {MAX_FACT_BYTES} bytes"
            )));
        }
        if request.facts.iter().all(|f| f.trim().is_empty()) && request.reflection_ids.is_empty() {
            return Err(Status::invalid_argument(
                "give at least one fact or reflection id to write from",
            ));
        }
        let mut user = String::new();
        let facts: Vec<&str> = request
            .facts
            .iter()
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
            .collect();
        // Facts often speak to the client ("you wrote …"): the output rules' crisis check reads
        // them in the first person too.
        let flagged = |f: &str| self.rules.broken_rule(f, &self.detector) == Some(Rule::Crisis);
        if facts.iter().any(|f| flagged(f)) {
            return Err(Status::failed_precondition(
                "a fact was flagged by the crisis check; flagged text is never given to the model",
            ));
        }
        if !facts.is_empty() {
            user.push_str("Facts:\n");
            for fact in facts {
                user.push_str(&format!("- {fact}\n"));
            }
        }
        let mut quotes = Vec::new();
        for id in &request.reflection_ids {
            let reflection = self.timeline.get_reflection(id)?;
            if reflection.crisis {
                return Err(Status::failed_precondition(format!(
                    "reflection {id} was flagged by the crisis check; flagged entries are never given to the model"
                )));
            }
            quotes.push(crate::timeline::vectors::text_of(&reflection));
        }
        if !quotes.is_empty() {
            user.push_str("Entries, in the client's words:\n");
            for quote in quotes {
                user.push_str(&format!("- \"{}\"\n", quote.trim()));
            }
        }
        Ok(user)
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

/// Relays the generator's events, holding text back until a sentence is complete and sending
/// only the sentences the output rules pass. Returning drops `events`, which cancels the
/// generation: that happens as soon as the client goes away.
async fn forward_checked(
    mut events: mpsc::Receiver<Event>,
    chunks: mpsc::Sender<Result<v1::GenerateChunk, Status>>,
    rules: Arc<OutputRules>,
    detector: Arc<Detector>,
) {
    let mut pending = String::new();
    let mut kept: Vec<String> = Vec::new();
    let mut dropped: Vec<Rule> = Vec::new();
    let mut prompt_tokens = 0;
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            () = chunks.closed() => return,
        };
        let Some(event) = event else {
            let _ = chunks
                .send(Err(status_from(GenerationError::Stopped)))
                .await;
            return;
        };
        let mut out = Vec::new();
        match event {
            Event::Started { prompt_tokens: n } => {
                prompt_tokens = n;
                out.push(Ok(Chunk::Started(v1::GenerateStarted {
                    prompt_tokens: n as u32,
                })));
            }
            Event::Text(piece) => {
                pending.push_str(&piece);
                let complete = complete_sentences(&pending);
                if complete > 0 {
                    let vetted = rules.vet(&pending[..complete], &detector);
                    pending.drain(..complete);
                    dropped.extend(vetted.dropped);
                    for sentence in vetted.kept {
                        out.push(Ok(Chunk::Sentence(sentence.clone())));
                        kept.push(sentence);
                    }
                }
            }
            Event::Done(outcome) => {
                let vetted = rules.vet(&pending, &detector);
                dropped.extend(vetted.dropped);
                for sentence in vetted.kept {
                    out.push(Ok(Chunk::Sentence(sentence.clone())));
                    kept.push(sentence);
                }
                if !dropped.is_empty() {
                    tracing::info!(
                        dropped = dropped.len(),
                        "generated sentences dropped by the output rules"
                    );
                }
                out.push(Ok(Chunk::Done(v1::GenerateDone {
                    text: kept.join(" "),
                    dropped_rules: dropped.iter().map(|r| r.name().to_string()).collect(),
                    finish: finish_to(outcome.finish).into(),
                    prompt_tokens: prompt_tokens as u32,
                    generated_tokens: outcome.generated_tokens as u32,
                })));
            }
            Event::Failed(err) => out.push(Err(status_from(err))),
        }
        let last = out
            .last()
            .is_some_and(|c| matches!(c, Err(_) | Ok(Chunk::Done(_))));
        for chunk in out {
            let chunk = chunk.map(|c| v1::GenerateChunk { chunk: Some(c) });
            if chunks.send(chunk).await.is_err() {
                return;
            }
        }
        if last {
            return;
        }
    }
}

/// How many bytes of `text` are whole sentences: up to the last `.`, `!` or `?` followed by
/// whitespace, or the last line break (the rule `OutputRules::vet` splits by).
fn complete_sentences(text: &str) -> usize {
    let mut end = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        if c == '\n' || (matches!(c, '.' | '!' | '?') && next.is_some_and(char::is_whitespace)) {
            end = at + c.len_utf8();
        }
    }
    end
}

fn finish_to(finish: Finish) -> v1::FinishReason {
    match finish {
        Finish::EndOfTurn => v1::FinishReason::EndOfTurn,
        Finish::MaxTokens => v1::FinishReason::MaxTokens,
        Finish::StopString => v1::FinishReason::StopString,
        Finish::Cancelled => v1::FinishReason::Unspecified,
    }
}

#[cfg(test)]
mod tests {
    use super::complete_sentences;

    #[test]
    fn only_finished_sentences_are_released() {
        assert_eq!(complete_sentences("You wrote about work"), 0);
        assert_eq!(complete_sentences("You wrote about work."), 0);
        assert_eq!(complete_sentences("You wrote about work. Then"), 21);
        assert_eq!(complete_sentences("3.5 hours\nand"), 10);
    }
}
