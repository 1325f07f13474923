//! Row 7: the crisis check, which runs on every write before it is acknowledged.

use std::time::Instant;

use anyhow::Result;

use super::progress;
use super::workload::{Rng, reflection};
use crate::stats::{Stats, stats};

pub(crate) fn crisis_check_cost(n: usize) -> Result<Stats> {
    progress(&format!("7. crisis check × {n}"));
    let detector = interlude_daemon::safety::Detector::builtin()?;
    let mut rng = Rng::new(7);
    let texts: Vec<String> = (0..n).map(|_| reflection(&mut rng, None).text).collect();
    let mut samples = Vec::with_capacity(n);
    for text in &texts {
        let t = Instant::now();
        std::hint::black_box(detector.check(std::hint::black_box(text)));
        samples.push(t.elapsed());
    }
    Ok(stats(samples))
}
