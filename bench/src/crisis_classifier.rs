//! The crisis check with its classifier, as a write runs it: the phrase rules, then the
//! fine-tuned classifier over the whole entry on the embedder's thread, model warm. Entries are
//! the evaluation batches' (written as clients write); the reference is one plain embedding of
//! the same entry on the same thread, which every write already pays for its meaning vector.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use interlude_daemon::models::{ModelSettings, Models};
use interlude_daemon::safety::{Classifier, CrisisCheck, Detector};
use interlude_proto::models::{CLASSIFIER_FILE, CLASSIFIER_ID};

use crate::stats::{Stats, fmt_ms, ms, ratio, stats};

pub const ROW_KEY: &str = "crisis_classifier";

pub struct Figures {
    check: Stats,
    embed: Stats,
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
    // `models fetch` installs the classifier beside the embedder.
    let classifier = embedder_dir
        .with_file_name(CLASSIFIER_ID)
        .join(CLASSIFIER_FILE);
    let models = Models::start(ModelSettings {
        embedder_dir: embedder_dir.to_path_buf(),
        pinned: true,
        idle_unload: Duration::from_secs(600),
        classifier: Some(classifier),
    })?;
    let check = CrisisCheck {
        lexicon: Arc::new(Detector::builtin()?),
        classifier: Classifier::new(models.clone()),
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
            check: stats(checks),
            embed: stats(embeds),
        })
    })
}

impl Figures {
    pub fn rows(&self) -> Vec<[String; 5]> {
        vec![[
            format!(
                "Crisis check with its classifier, per entry, model warm ({} entries of the evaluation batches)",
                self.check.n
            ),
            format!(
                "p50 {} · p99 {}",
                fmt_ms(self.check.p50),
                fmt_ms(self.check.p99)
            ),
            format!(
                "one embedding of the same entry: p50 {} · p99 {}",
                fmt_ms(self.embed.p50),
                fmt_ms(self.embed.p99)
            ),
            format!("p50 {}", ratio(ms(self.check.p50), ms(self.embed.p50))),
            "≤ 10 ms".into(),
        ]]
    }
}
