//! The statistics every row reports: nearest-rank percentiles, and how figures are printed.

use std::time::Duration;

use serde_json::{Value, json};

#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub n: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub mean: Duration,
}

/// Nearest-rank percentiles of `samples`.
pub fn stats(mut samples: Vec<Duration>) -> Stats {
    assert!(!samples.is_empty(), "no samples");
    samples.sort_unstable();
    let n = samples.len();
    let rank = |q: f64| samples[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    let total: Duration = samples.iter().sum();
    Stats {
        n,
        p50: rank(0.50),
        p99: rank(0.99),
        max: samples[n - 1],
        mean: total / n as u32,
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn fmt_ms(d: Duration) -> String {
    let v = ms(d);
    if v < 1.0 {
        format!("{v:.3} ms")
    } else if v < 100.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.0} ms")
    }
}

pub fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}×", a / b)
    } else {
        "—".into()
    }
}

pub fn stats_json(s: &Stats) -> Value {
    json!({ "n": s.n, "p50_ms": ms(s.p50), "p99_ms": ms(s.p99), "max_ms": ms(s.max), "mean_ms": ms(s.mean) })
}
