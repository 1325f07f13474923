//! A llama-family GGUF: load it (our own forward on our quantised kernels, see `llama.rs`, or
//! candle-transformers' quantized llama), build the prompt with the model's chat template, and
//! generate token by token, greedy or seeded, until an end-of-turn token, a stop string, the token
//! limit or the caller says stop.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use candle_core::quantized::gguf_file::Content;
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling as CandleSampling};
use candle_transformers::models::quantized_llama::{MAX_SEQ_LEN, ModelWeights};

use super::chat::Template;
use super::llama::{self, Llama};
use super::tokenizer::GgufTokenizer;

#[derive(Debug, thiserror::Error)]
pub enum GeneratorError {
    #[error("could not read {}: {reason}", path.display())]
    Files { path: PathBuf, reason: String },
    #[error("{} is not a model Interlude can run: {reason}", path.display())]
    Unsupported { path: PathBuf, reason: String },
    #[error("the prompt and the answer need {needed} tokens; the model takes at most {limit}")]
    TooLong { needed: usize, limit: usize },
    #[error("the generator failed: {0}")]
    Model(String),
}

fn model_err(e: impl std::fmt::Display) -> GeneratorError {
    GeneratorError::Model(e.to_string())
}

/// Which forward pass runs the model (the weights stay as the file has them either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    /// candle-transformers' quantized llama, as is (the reference: on x86 it runs Q4_1 with a
    /// scalar loop).
    AsShipped,
    /// Our forward (`llama.rs`): Q4_1 and Q8_0 through AVX2 kernels chosen at run time, other
    /// types through candle; models it does not implement (mixture of experts) go to candle.
    FastKernels,
}

enum Engine {
    Candle(Box<ModelWeights>),
    Kernels(Box<Llama>),
}

/// How the next token is picked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    Greedy,
    /// Temperature and nucleus sampling from a seeded generator: the same seed gives the same text.
    Seeded {
        seed: u64,
        temperature: f64,
        top_p: f64,
    },
}

#[derive(Debug, Clone)]
pub struct Params {
    pub max_tokens: usize,
    pub sampling: Sampling,
    /// Generation ends before the first of these; it is not part of the text.
    pub stop: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The model ended its turn.
    EndOfTurn,
    MaxTokens,
    StopString,
    /// The caller went away.
    Cancelled,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub finish: Finish,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    /// The ids generated (for benchmarks and agreement checks).
    pub generated: Vec<u32>,
    pub prompt_time: Duration,
    pub generation_time: Duration,
}

pub struct Generator {
    model: Engine,
    tokenizer: GgufTokenizer,
    template: Template,
    end_of_turn: Vec<u32>,
    context: usize,
    device: Device,
}

impl Generator {
    pub fn load(path: &Path, weights: Weights) -> Result<Generator, GeneratorError> {
        let unreadable = |e: &dyn std::fmt::Display| GeneratorError::Files {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let unsupported = |reason: String| GeneratorError::Unsupported {
            path: path.to_path_buf(),
            reason,
        };
        let mut file =
            std::io::BufReader::new(std::fs::File::open(path).map_err(|e| unreadable(&e))?);
        let content = Content::read(&mut file).map_err(|e| unsupported(e.to_string()))?;
        let architecture = content
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_default();
        if architecture != "llama" {
            return Err(unsupported(format!(
                "its architecture is `{architecture}`; only llama-family models are supported"
            )));
        }
        let tokenizer = GgufTokenizer::from_gguf(&content).map_err(unsupported)?;
        let template = Template::from_metadata(
            content
                .metadata
                .get("tokenizer.chat_template")
                .and_then(|v| v.to_string().ok())
                .map(String::as_str),
        );
        let end_of_turn = template.end_of_turn(&tokenizer);
        if end_of_turn.is_empty() {
            return Err(unsupported("it has no end-of-turn token".into()));
        }
        let context = content
            .metadata
            .get("llama.context_length")
            .and_then(|v| v.to_u32().ok())
            .map_or(MAX_SEQ_LEN, |n| (n as usize).min(MAX_SEQ_LEN));
        let device = Device::Cpu;
        let ours = match weights {
            Weights::AsShipped => None,
            Weights::FastKernels => match Llama::load(&content, &mut file) {
                Ok(model) => Some(model),
                Err(llama::LoadError::Unsupported(what)) => {
                    tracing::info!("the generator has {what}: running it with candle's forward");
                    None
                }
                Err(llama::LoadError::Failed(reason)) => return Err(unsupported(reason)),
            },
        };
        let model = match ours {
            Some(model) => Engine::Kernels(Box::new(model)),
            None => Engine::Candle(Box::new(
                ModelWeights::from_gguf(content, &mut file, &device)
                    .map_err(|e| unsupported(e.to_string()))?,
            )),
        };
        Ok(Generator {
            model,
            tokenizer,
            template,
            end_of_turn,
            context,
            device,
        })
    }

    pub fn tokenizer(&self) -> &GgufTokenizer {
        &self.tokenizer
    }

    /// The prompt ids for a system and a user message in the model's chat template.
    pub fn prompt(&self, system: &str, user: &str) -> Result<Vec<u32>, GeneratorError> {
        self.template
            .prompt(&self.tokenizer, system, user)
            .map_err(model_err)
    }

    /// Generates the answer to `prompt`, handing each new piece of text to `sink`; generation
    /// ends early when `sink` returns `false` (checked between tokens).
    pub fn generate(
        &mut self,
        prompt: &[u32],
        params: &Params,
        mut sink: impl FnMut(&str) -> bool,
    ) -> Result<Outcome, GeneratorError> {
        let needed = prompt.len() + params.max_tokens;
        if needed > self.context {
            return Err(GeneratorError::TooLong {
                needed,
                limit: self.context,
            });
        }
        let mut sampler = match params.sampling {
            Sampling::Greedy => LogitsProcessor::from_sampling(0, CandleSampling::ArgMax),
            Sampling::Seeded {
                seed,
                temperature,
                top_p,
            } => LogitsProcessor::from_sampling(
                seed,
                CandleSampling::TopP {
                    p: top_p,
                    temperature,
                },
            ),
        };
        match &mut self.model {
            Engine::Candle(model) => model.clear_kv_cache(),
            Engine::Kernels(model) => model.clear_kv_cache(),
        }
        let started = Instant::now();
        let mut outcome = Outcome {
            finish: Finish::MaxTokens,
            prompt_tokens: prompt.len(),
            generated_tokens: 0,
            generated: Vec::new(),
            prompt_time: Duration::ZERO,
            generation_time: Duration::ZERO,
        };
        let mut text = TextStream::new(&params.stop);
        let mut next = self
            .forward(prompt, 0)
            .and_then(|l| sampler.sample(&l).map_err(model_err))?;
        outcome.prompt_time = started.elapsed();
        let mut generated = Vec::with_capacity(params.max_tokens);
        while generated.len() < params.max_tokens {
            if self.end_of_turn.contains(&next) {
                outcome.finish = Finish::EndOfTurn;
                break;
            }
            generated.push(next);
            let decoded = self.tokenizer.decode(&generated).map_err(model_err)?;
            let (piece, stopped) = text.advance(&decoded);
            if !piece.is_empty() && !sink(&piece) {
                outcome.finish = Finish::Cancelled;
                break;
            }
            if stopped {
                outcome.finish = Finish::StopString;
                break;
            }
            if generated.len() == params.max_tokens {
                break;
            }
            let position = prompt.len() + generated.len() - 1;
            next = self
                .forward(&[next], position)
                .and_then(|l| sampler.sample(&l).map_err(model_err))?;
        }
        if outcome.finish == Finish::MaxTokens {
            let rest = text.finish();
            if !rest.is_empty() && !sink(&rest) {
                outcome.finish = Finish::Cancelled;
            }
        } else if outcome.finish == Finish::EndOfTurn {
            let rest = text.finish();
            if !rest.is_empty() {
                sink(&rest);
            }
        }
        outcome.generated_tokens = generated.len();
        outcome.generated = generated;
        outcome.generation_time = started.elapsed() - outcome.prompt_time;
        Ok(outcome)
    }

    /// Logits for the position after `ids`, which start at `position` (the model keeps what came
    /// before `position` from the previous calls).
    pub fn logits(&mut self, ids: &[u32], position: usize) -> Result<Vec<f32>, GeneratorError> {
        match &mut self.model {
            Engine::Candle(model) => Tensor::new(ids, &self.device)
                .and_then(|t| t.unsqueeze(0))
                .and_then(|input| model.forward(&input, position))
                .and_then(|l| l.squeeze(0))
                .and_then(|l| l.to_vec1::<f32>())
                .map_err(model_err),
            Engine::Kernels(model) => model.forward(ids, position).map_err(GeneratorError::Model),
        }
    }

    fn forward(&mut self, ids: &[u32], position: usize) -> Result<Tensor, GeneratorError> {
        let logits = self.logits(ids, position)?;
        Tensor::new(logits, &self.device).map_err(model_err)
    }
}

/// Turns "the whole answer so far, decoded" into new pieces, holding back what could be the start
/// of a stop string and what is an incomplete UTF-8 sequence.
struct TextStream<'a> {
    stop: &'a [String],
    /// Bytes of the answer already handed out.
    sent: usize,
    /// The latest decoded answer.
    latest: String,
}

impl<'a> TextStream<'a> {
    fn new(stop: &'a [String]) -> Self {
        TextStream {
            stop,
            sent: 0,
            latest: String::new(),
        }
    }

    /// The new piece to hand out, and whether a stop string was reached.
    fn advance(&mut self, decoded: &str) -> (String, bool) {
        // A token that ends mid-character decodes to U+FFFD until the next one completes it.
        if decoded.ends_with('\u{FFFD}') {
            return (String::new(), false);
        }
        self.latest = decoded.to_string();
        let stop_at = self
            .stop
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| self.unsent().find(s.as_str()))
            .min();
        if let Some(at) = stop_at {
            let end = self.sent + at;
            let piece = self
                .latest
                .get(self.sent..end)
                .unwrap_or_default()
                .to_string();
            self.sent = end;
            return (piece, true);
        }
        let end = self.latest.len() - self.held_back();
        let piece = self
            .latest
            .get(self.sent..end)
            .unwrap_or_default()
            .to_string();
        self.sent = self.sent.max(end);
        (piece, false)
    }

    fn unsent(&self) -> &str {
        self.latest.get(self.sent..).unwrap_or_default()
    }

    /// How many trailing bytes could still become a stop string.
    fn held_back(&self) -> usize {
        let unsent = self.unsent();
        self.stop
            .iter()
            .flat_map(|s| {
                (1..s.len())
                    .rev()
                    .filter(|&n| s.is_char_boundary(n))
                    .map(move |n| &s[..n])
            })
            .filter(|prefix| unsent.ends_with(prefix))
            .map(str::len)
            .max()
            .unwrap_or(0)
    }

    /// Whatever was held back, at the end of generation.
    fn finish(&mut self) -> String {
        let piece = self.latest.get(self.sent..).unwrap_or_default().to_string();
        self.sent = self.latest.len();
        piece
    }
}

#[cfg(test)]
mod tests {
    use super::TextStream;

    #[test]
    fn a_stop_string_split_across_tokens_is_never_handed_out() {
        let stop = vec!["END".to_string()];
        let mut text = TextStream::new(&stop);
        assert_eq!(text.advance("Hello E"), ("Hello ".to_string(), false));
        assert_eq!(text.advance("Hello EN"), (String::new(), false));
        assert_eq!(text.advance("Hello ENDING"), (String::new(), true));
    }

    #[test]
    fn a_near_miss_is_released_once_it_cannot_be_a_stop_string() {
        let stop = vec!["END".to_string()];
        let mut text = TextStream::new(&stop);
        assert_eq!(text.advance("an E"), ("an ".to_string(), false));
        assert_eq!(text.advance("an Eel"), ("Eel".to_string(), false));
        assert_eq!(text.finish(), "");
    }
}
