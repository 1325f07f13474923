//! The crisis check with its classifier, as a write runs it: the phrase rules, then the
//! fine-tuned classifier over the whole entry on the embedder's thread, model warm. Entries are
//! the evaluation batches' (written as clients write); the reference is one plain embedding of
//! the same entry on the same thread, which every write already pays for its meaning vector.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use interlude_daemon::models::{ModelSettings, Models};
use interlude_daemon::safety::{Classifier, CrisisCheck, Detector, classify};

pub const ROW_KEY: &str = "crisis_classifier";

pub struct Figures {
    entries: usize,
    check: (Duration, Duration),
    embed: (Duration, Duration),
}

/// Every case text of the evaluation batches, in file order.
fn entries() -> Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct File {
        cases: Vec<Case>,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        text: String,
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../daemon/safety/eval-batches");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)?
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    let mut texts = Vec::new();
    for path in paths {
        let file: File = toml::from_str(&std::fs::read_to_string(&path)?)?;
        texts.extend(file.cases.into_iter().map(|c| c.text));
    }
    Ok(texts)
}

pub fn measure(runtime: &tokio::runtime::Runtime, embedder_dir: &Path) -> Result<Figures> {
    let models = Models::start(ModelSettings {
        embedder_dir: embedder_dir.to_path_buf(),
        pinned: true,
        idle_unload: Duration::from_secs(600),
        classifier: Some(classify::WEIGHTS),
    })?;
    let check = CrisisCheck {
        lexicon: Arc::new(Detector::builtin()?),
        classifier: Some(Classifier::new(models.clone())?),
    };
    let texts = entries()?;
    runtime.block_on(async {
        check.check(&["warming up the model"]).await;
        let (mut checks, mut embeds) = (Vec::new(), Vec::new());
        for text in &texts {
            let started = Instant::now();
            std::hint::black_box(check.check(&[text.as_str()]).await);
            checks.push(started.elapsed());
            let started = Instant::now();
            std::hint::black_box(models.embed(vec![text.clone()]).await?);
            embeds.push(started.elapsed());
        }
        Ok(Figures {
            entries: texts.len(),
            check: p50_p99(checks),
            embed: p50_p99(embeds),
        })
    })
}

fn p50_p99(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (at(0.50), at(0.99))
}

impl Figures {
    pub fn rows(&self) -> Vec<[String; 5]> {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        vec![[
            format!(
                "Crisis check with its classifier, per entry, model warm ({} entries of the evaluation batches)",
                self.entries
            ),
            format!(
                "p50 {:.2} ms · p99 {:.2} ms",
                ms(self.check.0),
                ms(self.check.1)
            ),
            format!(
                "one embedding of the same entry: p50 {:.2} ms · p99 {:.2} ms",
                ms(self.embed.0),
                ms(self.embed.1)
            ),
            format!("p50 {:.2}×", ms(self.check.0) / ms(self.embed.0).max(1e-9)),
            "≤ 10 ms".into(),
        ]]
    }
}
