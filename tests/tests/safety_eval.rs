//! The crisis check's evaluation: every case of `daemon/safety/eval.toml` through the shipped
//! lexicon, with recall and false-positive rate per tier printed on every run. Fails when acute
//! or ideation recall falls below what the README states, or the false-positive rate rises
//! above it.

use std::collections::BTreeMap;
use std::process::ExitCode;

use interlude_daemon::safety::{Detector, Tier};
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
    let detector = match Detector::builtin() {
        Ok(detector) => detector,
        Err(err) => {
            eprintln!("safety_eval: {err}");
            return ExitCode::FAILURE;
        }
    };
    let file: EvalFile = match toml::from_str(include_str!("../../daemon/safety/eval.toml")) {
        Ok(file) => file,
        Err(err) => {
            eprintln!("safety_eval: eval.toml does not parse: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Per expected tier: (cases, detected at that tier or more severe).
    let mut recall: BTreeMap<Tier, (usize, usize)> = BTreeMap::new();
    // Per detected tier, among cases that should not fire.
    let mut false_alarms: BTreeMap<Tier, usize> = BTreeMap::new();
    let mut negatives = 0;
    let mut misses = Vec::new();
    for case in &file.cases {
        let found = detector.check(&case.text).map(|f| f.tier);
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
                    *false_alarms.entry(tier).or_default() += 1;
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
        "crisis check, lexicon {}: {} cases ({negatives} that should not fire)",
        detector.version(),
        file.cases.len()
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
    let ok = acute >= MIN_ACUTE_RECALL
        && ideation >= MIN_IDEATION_RECALL
        && fpr <= MAX_FALSE_POSITIVE_RATE;
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
