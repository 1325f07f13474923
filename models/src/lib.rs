//! Local models on the CPU (candle). The embedder lives on its own thread: inference never runs on
//! the async runtime, the model loads on first use and is dropped again after an idle period, so
//! an idle daemon stays small. Callers hold a cheap [`Models`] handle and await answers.

mod bert;
mod chat;
pub mod classifier;
pub mod embedder;
pub mod generation;
pub mod generator;
mod llama;
mod product;
pub mod tokenizer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

pub use classifier::Classifier;
pub use embedder::Embedder;
pub use generation::{Generation, GenerationError, GeneratorSettings};

/// The files a BERT-family embedder directory must hold.
const EMBEDDER_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    #[error(
        "the embedding model is not installed (looked in {}); run `interlude models fetch`",
        dir.display()
    )]
    Absent { dir: PathBuf },
    #[error(
        "the embedding model in {} was refused: {reason}; run `interlude models fetch` to reinstall it",
        dir.display()
    )]
    Refused { dir: PathBuf, reason: String },
    #[error(
        "the crisis classifier is not installed (looked for {}); run `interlude models fetch`",
        path.display()
    )]
    ClassifierAbsent { path: PathBuf },
    #[error("the embedding model failed: {0}")]
    Failed(String),
    #[error("the model worker has stopped; restart the daemon")]
    Stopped,
}

/// Where the embedder comes from and how long it stays loaded.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    pub embedder_dir: PathBuf,
    /// Check the files against the pinned SHA-256 sums of the default model (off for a model the
    /// user pointed the config at: we know no sums for it).
    pub pinned: bool,
    pub idle_unload: Duration,
    /// The classifier's weights file (fine-tuned layers and a head on this embedder), if one is
    /// configured; checked against its pinned SHA-256 when `pinned`. Read only to load it, so an
    /// idle daemon holds none of it.
    pub classifier: Option<PathBuf>,
}

/// A cheap, cloneable handle on the embedder thread.
#[derive(Clone)]
pub struct Models {
    jobs: mpsc::Sender<Job>,
    shared: Arc<Shared>,
}

struct Shared {
    settings: ModelSettings,
    loaded: AtomicBool,
    classifier_loaded: AtomicBool,
    /// The classifier's file was read at its last load and refused (damaged or replaced).
    classifier_refused: AtomicBool,
}

type Reply = oneshot::Sender<Result<Vec<Vec<f32>>, ModelError>>;

struct Job {
    task: Task,
    texts: Vec<String>,
    reply: Reply,
}

/// What a job asks of the model thread.
#[derive(Clone, Copy, PartialEq)]
enum Task {
    /// One unit-length vector per text.
    Embed,
    /// One probability per classifier label per text.
    Classify,
}

impl Models {
    /// Starts the (idle, empty) embedder thread. Nothing is read from disk until first use.
    pub fn start(settings: ModelSettings) -> std::io::Result<Models> {
        let (jobs, inbox) = mpsc::channel();
        let shared = Arc::new(Shared {
            settings,
            loaded: AtomicBool::new(false),
            classifier_loaded: AtomicBool::new(false),
            classifier_refused: AtomicBool::new(false),
        });
        let worker = shared.clone();
        std::thread::Builder::new()
            .name("interlude-embedder".into())
            .spawn(move || serve(&worker, &inbox))?;
        Ok(Models { jobs, shared })
    }

    /// The model's files are present (not yet checked or loaded).
    pub fn installed(&self) -> bool {
        let dir = &self.shared.settings.embedder_dir;
        EMBEDDER_FILES.iter().all(|f| dir.join(f).is_file())
    }

    pub fn loaded(&self) -> bool {
        self.shared.loaded.load(Ordering::Relaxed)
    }

    pub fn embedder_dir(&self) -> &Path {
        &self.shared.settings.embedder_dir
    }

    /// One unit-length vector per text, computed on the embedder thread (loading it if needed).
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, ModelError> {
        self.submit(Task::Embed, texts).await
    }

    /// The classifier's probabilities per text, one per label in [`Models::classifier_labels`]
    /// order, on the embedder thread (loading both if needed).
    pub async fn classify(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, ModelError> {
        let Some(path) = self.classifier_path() else {
            return Err(ModelError::Failed("no classifier is configured".into()));
        };
        if !path.is_file() {
            return Err(ModelError::ClassifierAbsent {
                path: path.to_path_buf(),
            });
        }
        self.submit(Task::Classify, texts).await
    }

    /// The configured classifier's weights file (which may not be installed).
    pub fn classifier_path(&self) -> Option<&Path> {
        self.shared.settings.classifier.as_deref()
    }

    /// The classifier's file is present (not yet checked or loaded).
    pub fn classifier_installed(&self) -> bool {
        self.classifier_path().is_some_and(Path::is_file)
    }

    pub fn classifier_loaded(&self) -> bool {
        self.shared.classifier_loaded.load(Ordering::Relaxed)
    }

    /// The classifier's file was refused at its last load (damaged or replaced); cleared by a
    /// load that succeeds.
    pub fn classifier_refused(&self) -> bool {
        self.shared.classifier_refused.load(Ordering::Relaxed)
    }

    /// The labels of the installed classifier, read from its weights' metadata; `None` when it
    /// is not installed or cannot be read.
    pub fn classifier_labels(&self) -> Option<Vec<String>> {
        let bytes = std::fs::read(self.classifier_path()?).ok()?;
        classifier::header(&bytes).ok().map(|h| h.labels)
    }

    async fn submit(&self, task: Task, texts: Vec<String>) -> Result<Vec<Vec<f32>>, ModelError> {
        if !self.installed() {
            return Err(ModelError::Absent {
                dir: self.shared.settings.embedder_dir.clone(),
            });
        }
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { task, texts, reply })
            .map_err(|_| ModelError::Stopped)?;
        answer.await.map_err(|_| ModelError::Stopped)?
    }
}

/// What a model thread does next.
pub(crate) enum Next<J> {
    Job(J),
    /// No job for the whole idle period: drop the model.
    Unload,
    /// Every handle is gone.
    Stop,
}

/// Waits for the next job; with a model loaded, at most `idle_unload`, so that an idle daemon
/// gives the model's memory back.
pub(crate) fn next_job<J>(
    inbox: &mpsc::Receiver<J>,
    loaded: bool,
    idle_unload: Duration,
) -> Next<J> {
    if !loaded {
        return inbox.recv().map_or(Next::Stop, Next::Job);
    }
    match inbox.recv_timeout(idle_unload) {
        Ok(job) => Next::Job(job),
        Err(RecvTimeoutError::Timeout) => Next::Unload,
        Err(RecvTimeoutError::Disconnected) => Next::Stop,
    }
}

/// The embedder thread: waits for jobs, loads on the first one, unloads after `idle_unload`
/// without any. Ends when every handle is gone.
fn serve(shared: &Shared, inbox: &mpsc::Receiver<Job>) {
    let mut embedder: Option<Embedder> = None;
    let mut classifier: Option<Classifier> = None;
    let mut checked: Option<Checked> = None;
    loop {
        let job = match next_job(inbox, embedder.is_some(), shared.settings.idle_unload) {
            Next::Job(job) => job,
            Next::Unload => {
                embedder = None;
                classifier = None;
                shared.loaded.store(false, Ordering::Relaxed);
                shared.classifier_loaded.store(false, Ordering::Relaxed);
                tracing::info!("embedding model unloaded after being idle");
                continue;
            }
            Next::Stop => return,
        };
        if embedder.is_none() {
            match load(&shared.settings, &mut checked) {
                Ok(loaded) => {
                    embedder = Some(loaded);
                    shared.loaded.store(true, Ordering::Relaxed);
                }
                Err(err) => {
                    tracing::warn!(error = %err, "the embedding model could not be loaded");
                    let _ = job.reply.send(Err(err));
                    continue;
                }
            }
        }
        // A caller that stopped waiting (a bounded resurfacing) still warmed the model up.
        if job.reply.is_closed() {
            continue;
        }
        let Some(model) = &embedder else {
            let _ = job.reply.send(Err(ModelError::Stopped));
            continue;
        };
        let texts: Vec<&str> = job.texts.iter().map(String::as_str).collect();
        let result = match job.task {
            Task::Embed => model.embed(&texts),
            Task::Classify => match load_classifier(shared, model, &mut classifier) {
                Ok(head) => head.classify(model, &texts),
                Err(err) => Err(err),
            },
        };
        let _ = job
            .reply
            .send(result.map_err(|e| ModelError::Failed(e.to_string())));
    }
}

/// The classifier, loaded on first use beside the embedder it is built on. Its file is read,
/// checked and dropped: only the loaded layers stay, and they go with the embedder.
fn load_classifier<'a>(
    shared: &Shared,
    embedder: &Embedder,
    classifier: &'a mut Option<Classifier>,
) -> Result<&'a Classifier, embedder::EmbedderError> {
    if classifier.is_none() {
        let failed = |reason: String| embedder::EmbedderError::Model(reason);
        let path = shared
            .settings
            .classifier
            .as_deref()
            .ok_or_else(|| failed("no classifier is configured".into()))?;
        let bytes = std::fs::read(path)
            .map_err(|e| failed(format!("could not read {}: {e}", path.display())))?;
        let loaded = if shared.settings.pinned {
            verify_classifier(&bytes).map_err(failed)
        } else {
            Ok(())
        }
        .and_then(|()| Classifier::load(bytes, embedder));
        shared
            .classifier_refused
            .store(loaded.is_err(), Ordering::Relaxed);
        *classifier = Some(loaded?);
        shared.classifier_loaded.store(true, Ordering::Relaxed);
        tracing::info!("classifier loaded");
    }
    classifier
        .as_ref()
        .ok_or_else(|| embedder::EmbedderError::Model("the classifier is not loaded".into()))
}

/// What the last checksum check saw, so that reloading after an idle unload does not hash 90 MB
/// again unless the file changed.
#[derive(PartialEq)]
struct Checked {
    modified: SystemTime,
    len: u64,
}

fn load(settings: &ModelSettings, checked: &mut Option<Checked>) -> Result<Embedder, ModelError> {
    let dir = &settings.embedder_dir;
    if !EMBEDDER_FILES.iter().all(|f| dir.join(f).is_file()) {
        return Err(ModelError::Absent { dir: dir.clone() });
    }
    if settings.pinned {
        let weights = std::fs::metadata(dir.join("model.safetensors")).ok();
        let now = weights.and_then(|m| {
            Some(Checked {
                modified: m.modified().ok()?,
                len: m.len(),
            })
        });
        if now.is_none() || *checked != now {
            verify_pinned(dir)?;
            *checked = now;
        }
    }
    let started = std::time::Instant::now();
    let embedder = Embedder::load(dir).map_err(|e| ModelError::Refused {
        dir: dir.clone(),
        reason: e.to_string(),
    })?;
    tracing::info!(
        millis = started.elapsed().as_millis() as u64,
        "embedding model loaded"
    );
    Ok(embedder)
}

/// Every file of the default embedder must match its pinned SHA-256: a damaged or swapped file
/// would silently give wrong vectors.
fn verify_pinned(dir: &Path) -> Result<(), ModelError> {
    let refused = |reason: String| ModelError::Refused {
        dir: dir.to_path_buf(),
        reason,
    };
    let model = interlude_proto::models::DEFAULT_MODELS
        .iter()
        .find(|m| m.id == interlude_proto::models::EMBEDDER_ID)
        .ok_or_else(|| refused("no pinned checksums are known".into()))?;
    for file in model.files {
        let path = dir.join(file.name);
        let sum = sha256_of(&path).map_err(|e| refused(format!("{}: {e}", path.display())))?;
        if sum != file.sha256 {
            return Err(refused(format!(
                "{} does not match its pinned SHA-256 (damaged or replaced)",
                file.name
            )));
        }
    }
    Ok(())
}

/// The default classifier's file must match its pinned SHA-256, like the embedder's.
fn verify_classifier(bytes: &[u8]) -> Result<(), String> {
    use interlude_proto::models::{CLASSIFIER_FILE, CLASSIFIER_ID, pinned_sha256};
    let pinned = pinned_sha256(CLASSIFIER_ID, CLASSIFIER_FILE).ok_or("no pinned checksum")?;
    if hex(&Sha256::digest(bytes)) != pinned {
        return Err(format!(
            "the crisis classifier's {CLASSIFIER_FILE} does not match its pinned SHA-256 (damaged \
             or replaced); run `interlude models fetch` to reinstall it"
        ));
    }
    Ok(())
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}
