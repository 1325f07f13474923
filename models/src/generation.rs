//! The generator's own thread: one generation at a time, a short bounded queue behind it (a full
//! queue is refused at once rather than making callers wait minutes), the model loaded on first
//! use and dropped after an idle period. Callers get a channel of [`Event`]s; dropping it cancels
//! the generation before the next token.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, TrySendError};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc as tokio_mpsc;

use super::generator::{Generator, GeneratorError, Outcome, Params, Weights};
use super::{Next, next_job};

/// Generations that may wait behind the running one.
pub const QUEUE: usize = 2;

#[derive(Debug, Clone, thiserror::Error)]
pub enum GenerationError {
    #[error(
        "the text generation model is not installed (looked for {}); run `interlude models fetch`",
        path.display()
    )]
    Absent { path: PathBuf },
    #[error(
        "the text generation model {} was refused: {reason}; run `interlude models fetch` to reinstall it",
        path.display()
    )]
    Refused { path: PathBuf, reason: String },
    #[error("the generator is busy with {QUEUE} requests waiting; try again when one has finished")]
    Busy,
    #[error("{0}")]
    Invalid(String),
    #[error("the text generation model failed: {0}")]
    Failed(String),
    #[error("the generator thread has stopped; restart the daemon")]
    Stopped,
}

#[derive(Debug, Clone)]
pub struct GeneratorSettings {
    pub gguf: PathBuf,
    /// Check the file against the default model's pinned SHA-256 (off for a user's own GGUF).
    pub pinned: bool,
    pub idle_unload: Duration,
    pub weights: Weights,
}

/// What one generation asks for. The texts are what the daemon's pipeline selected.
pub struct Request {
    pub system: String,
    pub user: String,
    pub params: Params,
}

#[derive(Debug)]
pub enum Event {
    /// The model is loaded and has the prompt; tokens follow.
    Started {
        prompt_tokens: usize,
    },
    Text(String),
    Done(Outcome),
    Failed(GenerationError),
}

struct Job {
    request: Request,
    events: tokio_mpsc::Sender<Event>,
}

/// A cheap, cloneable handle on the generator thread.
#[derive(Clone)]
pub struct Generation {
    jobs: mpsc::SyncSender<Job>,
    shared: Arc<Shared>,
}

struct Shared {
    settings: GeneratorSettings,
    loaded: AtomicBool,
}

impl Generation {
    /// Starts the (idle, empty) generator thread. Nothing is read until the first request.
    pub fn start(settings: GeneratorSettings) -> std::io::Result<Generation> {
        let (jobs, inbox) = mpsc::sync_channel(QUEUE);
        let shared = Arc::new(Shared {
            settings,
            loaded: AtomicBool::new(false),
        });
        let worker = shared.clone();
        std::thread::Builder::new()
            .name("interlude-generator".into())
            .spawn(move || serve(&worker, &inbox))?;
        Ok(Generation { jobs, shared })
    }

    pub fn installed(&self) -> bool {
        self.shared.settings.gguf.is_file()
    }

    pub fn loaded(&self) -> bool {
        self.shared.loaded.load(Ordering::Relaxed)
    }

    pub fn gguf(&self) -> &std::path::Path {
        &self.shared.settings.gguf
    }

    /// Queues `request`; its events arrive on the returned channel. Refused at once when the
    /// model is absent or the queue is full.
    pub fn submit(&self, request: Request) -> Result<tokio_mpsc::Receiver<Event>, GenerationError> {
        if !self.installed() {
            return Err(GenerationError::Absent {
                path: self.shared.settings.gguf.clone(),
            });
        }
        let (events, receiver) = tokio_mpsc::channel(64);
        self.jobs
            .try_send(Job { request, events })
            .map_err(|e| match e {
                TrySendError::Full(_) => GenerationError::Busy,
                TrySendError::Disconnected(_) => GenerationError::Stopped,
            })?;
        Ok(receiver)
    }
}

fn serve(shared: &Shared, inbox: &mpsc::Receiver<Job>) {
    let settings = &shared.settings;
    let mut generator: Option<Generator> = None;
    let mut checked: Option<(SystemTime, u64)> = None;
    loop {
        let job = match next_job(inbox, generator.is_some(), settings.idle_unload) {
            Next::Job(job) => job,
            Next::Unload => {
                generator = None;
                shared.loaded.store(false, Ordering::Relaxed);
                tracing::info!("text generation model unloaded after being idle");
                continue;
            }
            Next::Stop => return,
        };
        // The caller went away while waiting in the queue.
        if job.events.is_closed() {
            continue;
        }
        let model = match &mut generator {
            Some(model) => model,
            None => match load(settings, &mut checked) {
                Ok(model) => {
                    shared.loaded.store(true, Ordering::Relaxed);
                    generator.insert(model)
                }
                Err(err) => {
                    tracing::warn!(error = %err, "the text generation model could not be loaded");
                    let _ = job.events.blocking_send(Event::Failed(err));
                    continue;
                }
            },
        };
        // A panic inside candle must not take the generator down for good: drop the model
        // (its state is unknown) and serve the next request with a fresh one.
        let events = job.events.clone();
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(model, job))).is_err() {
            tracing::error!("the generator panicked; the model will be reloaded");
            generator = None;
            shared.loaded.store(false, Ordering::Relaxed);
            let _ = events.blocking_send(Event::Failed(GenerationError::Failed(
                "the model stopped unexpectedly; try again".into(),
            )));
        }
    }
}

fn run(model: &mut Generator, job: Job) {
    let Job { request, events } = job;
    let prompt = match model.prompt(&request.system, &request.user) {
        Ok(prompt) => prompt,
        Err(err) => {
            let _ = events.blocking_send(Event::Failed(GenerationError::Failed(err.to_string())));
            return;
        }
    };
    if events
        .blocking_send(Event::Started {
            prompt_tokens: prompt.len(),
        })
        .is_err()
    {
        return;
    }
    // `blocking_send` fails once the receiver is gone: that is the cancellation signal.
    let result = model.generate(&prompt, &request.params, |piece| {
        events.blocking_send(Event::Text(piece.to_string())).is_ok()
    });
    let event = match result {
        Ok(outcome) => {
            tracing::info!(
                prompt_tokens = outcome.prompt_tokens,
                generated_tokens = outcome.generated_tokens,
                prompt_ms = outcome.prompt_time.as_millis() as u64,
                generation_ms = outcome.generation_time.as_millis() as u64,
                finish = ?outcome.finish,
                "generation finished"
            );
            Event::Done(outcome)
        }
        Err(GeneratorError::TooLong { needed, limit }) => {
            Event::Failed(GenerationError::Invalid(format!(
                "the request needs {needed} tokens; the model takes at most {limit}: give fewer facts or a lower max_tokens"
            )))
        }
        Err(err) => Event::Failed(GenerationError::Failed(err.to_string())),
    };
    let _ = events.blocking_send(event);
}

fn load(
    settings: &GeneratorSettings,
    checked: &mut Option<(SystemTime, u64)>,
) -> Result<Generator, GenerationError> {
    let path = &settings.gguf;
    let refused = |reason: String| GenerationError::Refused {
        path: path.clone(),
        reason,
    };
    let meta =
        std::fs::metadata(path).map_err(|_| GenerationError::Absent { path: path.clone() })?;
    if settings.pinned {
        // Hash 100 MB again only when the file changed since the last load.
        let now = meta.modified().ok().map(|m| (m, meta.len()));
        if now.is_none() || *checked != now {
            verify_pinned(path).map_err(refused)?;
            *checked = now;
        }
    }
    let started = Instant::now();
    let generator = Generator::load(path, settings.weights).map_err(|e| refused(e.to_string()))?;
    tracing::info!(
        millis = started.elapsed().as_millis() as u64,
        weights = ?settings.weights,
        "text generation model loaded"
    );
    Ok(generator)
}

fn verify_pinned(path: &std::path::Path) -> Result<(), String> {
    let model = interlude_proto::models::DEFAULT_MODELS
        .iter()
        .find(|m| m.id == interlude_proto::models::GENERATOR_ID)
        .ok_or("no pinned checksum is known")?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let file = model
        .files
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| format!("{name} is not the default model's file"))?;
    let sum = super::sha256_of(path).map_err(|e| e.to_string())?;
    if sum != file.sha256 {
        return Err(format!(
            "{name} does not match its pinned SHA-256 (damaged or replaced)"
        ));
    }
    Ok(())
}
