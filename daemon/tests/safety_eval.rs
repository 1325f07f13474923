//! The crisis check's evaluation: every case of `daemon/safety/eval.toml` (the set the rules were
//! tuned on) and of each batch in `daemon/safety/eval-batches/` (written blind and committed
//! before any tuning), with recall and false-positive rate per tier printed on every run, for
//! the phrase rules alone and with the classifier (the real embedding model, fetched once like
//! the other model tests). Fails when the tuned set falls below the README's floors; the blind
//! batches are reported, not held to floors (their figures are what a client should expect).
//! `INTERLUDE_EVAL_MISSES=1` prints every miss and false alarm; `INTERLUDE_LEXICON=PATH`
//! measures a proposed lexicon; `INTERLUDE_EVAL_SETS=a,b` measures only the sets whose names
//! contain one of those words (so a sealed batch is not looked at while tuning on others).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use interlude_daemon::models::{ModelSettings, Models};
use interlude_daemon::safety::{Classifier, CrisisCheck, Detector, Finding, Tier};
use serde::Deserialize;

/// The floors the README states for `eval.toml`, the set the rules were tuned on; change both
/// together.
const RULES: Floors = Floors {
    acute: 0.90,
    ideation: 0.90,
    false_alarms: 0.05,
};
/// With the classifier. Its false alarms are above the aim of 0.05 (README, "Figures"): this
/// floor only guards against getting worse.
const WITH_CLASSIFIER: Floors = Floors {
    acute: 0.95,
    ideation: 0.95,
    false_alarms: 0.12,
};
/// Batches looked at to choose settings (or tune the rules) after their first-seen figures were
/// taken; reported as such.
const USED_FOR_CHOOSING: &[&str] = &[
    "2026-12-04-b",
    "2026-12-05-e",
    "2026-12-05-f",
    "2026-12-05-h",
];
/// Batches the classifier was then trained on (`classifier/data/train-g.jsonl`, `train-k.jsonl`).
const TRAINED_ON: &[&str] = &["2026-12-04-a", "2026-12-04-c", "2026-12-04-d"];

struct Floors {
    acute: f64,
    ideation: f64,
    false_alarms: f64,
}

#[derive(Deserialize)]
struct EvalFile {
    #[serde(default)]
    batch: Option<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    expect: String,
    #[serde(default)]
    note: String,
}

fn expected(label: &str) -> Option<Tier> {
    match label {
        "acute" => Some(Tier::Acute),
        "ideation" => Some(Tier::Ideation),
        "indirect" => Some(Tier::Indirect),
        _ => None,
    }
}

/// `eval.toml`, then every batch by name.
fn sets() -> Vec<(String, bool, Vec<Case>)> {
    let safety = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("safety");
    let read = |path: PathBuf| -> EvalFile {
        let text = std::fs::read_to_string(&path).unwrap();
        toml::from_str(&text).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
    };
    let mut sets = vec![(
        "eval.toml (tuned)".to_string(),
        true,
        read(safety.join("eval.toml")).cases,
    )];
    let mut batches: Vec<PathBuf> = std::fs::read_dir(safety.join("eval-batches"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    batches.sort();
    for path in batches {
        let file = read(path.clone());
        let name = file
            .batch
            .unwrap_or_else(|| path.file_stem().unwrap().to_string_lossy().into());
        let label = if TRAINED_ON.contains(&name.as_str()) {
            format!("batch {name} (blind at first; the classifier is now trained on it)")
        } else if USED_FOR_CHOOSING.contains(&name.as_str()) {
            format!("batch {name} (blind at first; used to choose settings since)")
        } else {
            format!("batch {name} (blind)")
        };
        sets.push((label, false, file.cases));
    }
    sets
}

fn run(
    runtime: &tokio::runtime::Runtime,
    check: &CrisisCheck,
    cases: &[Case],
) -> Vec<Option<Finding>> {
    cases
        .iter()
        .map(|c| runtime.block_on(check.check(&[c.text.as_str()])))
        .collect()
}

fn main() -> ExitCode {
    let mut sets = sets();
    if let Ok(only) = std::env::var("INTERLUDE_EVAL_SETS") {
        sets.retain(|(name, _, _)| only.split(',').any(|word| name.contains(word)));
    }
    // A reviewer can measure a proposed lexicon without rebuilding the daemon.
    let lexicon = Arc::new(match std::env::var_os("INTERLUDE_LEXICON") {
        Some(path) => Detector::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap(),
        None => Detector::builtin().expect("the shipped lexicon parses"),
    });
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let verbose = std::env::var_os("INTERLUDE_EVAL_MISSES").is_some();

    let alone = CrisisCheck {
        lexicon: lexicon.clone(),
        classifier: None,
    };
    let mut ok = true;
    for (name, tuned, cases) in &sets {
        let found = run(&runtime, &alone, cases);
        let meets = report(
            &format!("{name}, rules {} alone", lexicon.version()),
            cases,
            &found,
            verbose,
            &RULES,
        );
        ok &= !tuned || meets;
    }

    let models_root = tempfile::tempdir().expect("a temp dir");
    match interlude_e2e::install_models(models_root.path()) {
        None => println!("SKIPPED: the classifier (the embedding model could not be fetched)"),
        Some(models) => {
            // A candidate's weights (not yet pinned) with INTERLUDE_CLASSIFIER.
            let candidate = std::env::var_os("INTERLUDE_CLASSIFIER").map(PathBuf::from);
            let models = Models::start(ModelSettings {
                embedder_dir: models.join(interlude_proto::models::EMBEDDER_ID),
                pinned: candidate.is_none(),
                idle_unload: Duration::from_secs(300),
                classifier: Some(candidate.unwrap_or_else(|| {
                    interlude_proto::models::classifier_path(models_root.path())
                })),
            })
            .expect("the model thread starts");
            let both = CrisisCheck {
                lexicon: lexicon.clone(),
                classifier: Classifier::new(models),
            };
            // Warm up (the first call loads the model and the classifier).
            runtime.block_on(both.check(&["a warm-up sentence for the model"]));
            let mut timed = (Duration::ZERO, 0u32);
            for (name, tuned, cases) in &sets {
                let started = Instant::now();
                let found = run(&runtime, &both, cases);
                timed = (timed.0 + started.elapsed(), timed.1 + cases.len() as u32);
                let what = format!("{name}, rules + classifier");
                let meets = report(&what, cases, &found, verbose, &WITH_CLASSIFIER);
                ok &= !tuned || meets;
            }
            println!(
                "\nthe check with its classifier costs {:?} per entry (this build, warm model, {} entries)",
                timed.0 / timed.1.max(1),
                timed.1
            );
        }
    }
    if ok {
        println!("1 passed, 0 failed");
        ExitCode::SUCCESS
    } else {
        println!("below the README's floors on eval.toml (see the floors in this file)");
        println!("0 passed, 1 failed");
        ExitCode::FAILURE
    }
}

/// Prints the figures (and, when asked, every miss); true when they meet the floors.
fn report(
    what: &str,
    cases: &[Case],
    found: &[Option<Finding>],
    verbose: bool,
    floors: &Floors,
) -> bool {
    // Per expected tier: (cases, detected at any tier — every tier shows the plan — and
    // detected at that tier or a more severe one).
    let mut recall: BTreeMap<Tier, (usize, usize, usize)> = BTreeMap::new();
    let mut false_alarms = 0;
    let mut negatives = 0;
    let mut misses = Vec::new();
    for (case, found) in cases.iter().zip(found) {
        let found_tier = found.map(|f| f.tier);
        match expected(&case.expect) {
            Some(tier) => {
                let entry = recall.entry(tier).or_default();
                entry.0 += 1;
                entry.1 += usize::from(found.is_some());
                if found_tier.is_some_and(|f| f >= tier) {
                    entry.2 += 1;
                } else {
                    misses.push(format!(
                        "  missed ({} → {:?}): {} {}",
                        case.expect,
                        found.map(|f| f.category.name()),
                        case.text,
                        case.note
                    ));
                }
            }
            None => {
                negatives += 1;
                if let Some(f) = found {
                    false_alarms += 1;
                    misses.push(format!(
                        "  false alarm ({}): {} {}",
                        f.category.name(),
                        case.text,
                        case.note
                    ));
                }
            }
        }
    }
    let rate = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    println!("\ncrisis check, {what}: {} cases", cases.len());
    println!("| tier | cases | shown the plan (any tier) | at this tier or above |");
    println!("|---|---|---|---|");
    for tier in [Tier::Acute, Tier::Ideation, Tier::Indirect] {
        let (n, any, at) = recall.get(&tier).copied().unwrap_or_default();
        println!(
            "| {} | {n} | {:.2} | {:.2} |",
            tier.name(),
            rate(any, n),
            rate(at, n)
        );
    }
    let fpr = rate(false_alarms, negatives);
    println!("| false alarms | {negatives} ordinary entries | {fpr:.3} ({false_alarms}) | |");
    if verbose {
        for line in &misses {
            println!("{line}");
        }
    }
    let at = |tier| recall.get(&tier).map_or(0.0, |(n, _, at)| rate(*at, *n));
    at(Tier::Acute) >= floors.acute
        && at(Tier::Ideation) >= floors.ideation
        && fpr <= floors.false_alarms
}
