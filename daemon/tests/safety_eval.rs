//! The crisis check's evaluation: every case of `daemon/safety/eval.toml`, with recall and
//! false-positive rate per tier printed on every run, first for the phrase list alone, then with
//! the meaning signal (the real embedding model, fetched once like the other model tests). Fails
//! when acute or ideation recall falls below what the README states, or the false-positive rate
//! rises above it. `INTERLUDE_EVAL_CLOSENESS=1` also prints every case's closeness to each tier,
//! for calibrating `exemplars.toml`.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use interlude_daemon::models::{ModelSettings, Models};
use interlude_daemon::safety::{CrisisCheck, Detector, Meaning, Tier};
use serde::Deserialize;

/// The floors the README states; change both together.
const MIN_ACUTE_RECALL: f64 = 0.90;
const MIN_IDEATION_RECALL: f64 = 0.90;
const MAX_FALSE_POSITIVE_RATE: f64 = 0.05;

#[derive(Deserialize)]
struct EvalFile {
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

fn main() -> ExitCode {
    let file: EvalFile = match toml::from_str(include_str!("../safety/eval.toml")) {
        Ok(file) => file,
        Err(err) => {
            eprintln!("safety_eval: eval.toml does not parse: {err}");
            return ExitCode::FAILURE;
        }
    };
    let lexicon = Arc::new(Detector::builtin().expect("the shipped lexicon parses"));
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");

    let alone = CrisisCheck {
        lexicon: lexicon.clone(),
        meaning: None,
    };
    let found: Vec<_> = file
        .cases
        .iter()
        .map(|c| runtime.block_on(alone.check(&[c.text.as_str()])))
        .collect();
    let mut ok = report(
        &format!("lexicon {}", lexicon.version()),
        &file.cases,
        &found,
    );

    let models_root = tempfile::tempdir().expect("a temp dir");
    match interlude_e2e::install_models(models_root.path()) {
        None => println!("SKIPPED: the meaning signal (the embedding model could not be fetched)"),
        Some(models) => {
            let models = Models::start(ModelSettings {
                embedder_dir: models.join(interlude_proto::models::EMBEDDER_ID),
                pinned: true,
                idle_unload: Duration::from_secs(300),
            })
            .expect("the model thread starts");
            let meaning = Meaning::builtin(models).expect("the shipped exemplars parse");
            let version = format!(
                "lexicon {} + meaning {}",
                lexicon.version(),
                meaning.version()
            );
            let both = CrisisCheck {
                lexicon: lexicon.clone(),
                meaning: Some(meaning),
            };
            // Warm up (the first call loads the model and embeds the exemplars).
            runtime.block_on(both.check(&["a warm-up sentence for the model"]));
            let started = Instant::now();
            let found: Vec<_> = file
                .cases
                .iter()
                .map(|c| runtime.block_on(both.check(&[c.text.as_str()])))
                .collect();
            let per_case = started.elapsed() / file.cases.len() as u32;
            ok &= report(&version, &file.cases, &found);
            println!("the meaning signal costs {per_case:?} per entry (this build, warm model)");
            if std::env::var_os("INTERLUDE_EVAL_CLOSENESS").is_some() {
                print_closeness(
                    &runtime,
                    &lexicon,
                    both.meaning.as_ref().expect("set"),
                    &file,
                );
            }
        }
    }
    if ok {
        println!("1 passed, 0 failed");
        ExitCode::SUCCESS
    } else {
        println!(
            "below the README's floors (acute recall ≥ {MIN_ACUTE_RECALL}, ideation recall ≥ {MIN_IDEATION_RECALL}, false positives ≤ {MAX_FALSE_POSITIVE_RATE})"
        );
        println!("0 passed, 1 failed");
        ExitCode::FAILURE
    }
}

/// Prints the figures and the misses; true when they meet the floors.
fn report(what: &str, cases: &[Case], found: &[Option<Tier>]) -> bool {
    // Per expected tier: (cases, detected at that tier or more severe).
    let mut recall: BTreeMap<Tier, (usize, usize)> = BTreeMap::new();
    // Per detected tier, among cases that should not fire.
    let mut false_alarms: BTreeMap<Tier, usize> = BTreeMap::new();
    let mut negatives = 0;
    let mut misses = Vec::new();
    for (case, found) in cases.iter().zip(found) {
        match expected(&case.expect) {
            Some(tier) => {
                let entry = recall.entry(tier).or_default();
                entry.0 += 1;
                if found.is_some_and(|f| f >= tier) {
                    entry.1 += 1;
                } else {
                    misses.push(format!(
                        "  missed ({} → {:?}): {} {}",
                        case.expect,
                        found.map(Tier::name),
                        case.text,
                        case.note
                    ));
                }
            }
            None => {
                negatives += 1;
                if let Some(tier) = found {
                    *false_alarms.entry(*tier).or_default() += 1;
                    misses.push(format!(
                        "  false alarm ({}): {} {}",
                        tier.name(),
                        case.text,
                        case.note
                    ));
                }
            }
        }
    }
    println!(
        "\ncrisis check, {what}: {} cases ({negatives} that should not fire)",
        cases.len()
    );
    println!("| tier | cases | recall | false positives on the {negatives} negatives |");
    println!("|---|---|---|---|");
    let rate = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    for tier in [Tier::Acute, Tier::Ideation, Tier::Indirect] {
        let (cases, hits) = recall.get(&tier).copied().unwrap_or_default();
        let alarms = false_alarms.get(&tier).copied().unwrap_or_default();
        println!(
            "| {} | {cases} | {:.2} | {alarms} ({:.3}) |",
            tier.name(),
            rate(hits, cases),
            rate(alarms, negatives)
        );
    }
    let total_alarms: usize = false_alarms.values().sum();
    let fpr = rate(total_alarms, negatives);
    println!("false-positive rate, any tier: {fpr:.3}");
    for line in &misses {
        println!("{line}");
    }
    let acute = recall.get(&Tier::Acute).map_or(0.0, |(c, h)| rate(*h, *c));
    let ideation = recall
        .get(&Tier::Ideation)
        .map_or(0.0, |(c, h)| rate(*h, *c));
    acute >= MIN_ACUTE_RECALL && ideation >= MIN_IDEATION_RECALL && fpr <= MAX_FALSE_POSITIVE_RATE
}

/// Every case's closeness to each tier (of the sentences the phrase list found nothing in),
/// most alarming first, to choose thresholds.
fn print_closeness(
    runtime: &tokio::runtime::Runtime,
    lexicon: &Detector,
    meaning: &Meaning,
    file: &EvalFile,
) {
    let mut rows = Vec::new();
    for case in &file.cases {
        let unmatched = lexicon.unmatched_sentences(&case.text);
        if let Some(c) = runtime.block_on(meaning.closeness(unmatched)) {
            rows.push((c.acute.max(c.ideation).max(c.indirect), c, case));
        }
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("\ncloseness (acute ideation indirect) of the sentences the phrase list left:");
    for (_, c, case) in rows {
        println!(
            "  {:.3} {:.3} {:.3}  {:<8} {}",
            c.acute, c.ideation, c.indirect, case.expect, case.text
        );
    }
}
