//! Generation speed: prompt processing and generation tokens/s of the daemon's generator (our
//! forward on the interlude-kernels quantised products, what the daemon runs; and candle's
//! quantized llama as the baseline) against llama.cpp (llama-cpp-python) on the same GGUF,
//! the same prompt ids, the same number of generated tokens and the same threads. The llama.cpp
//! side runs in a Python subprocess; without llama-cpp-python it is skipped loudly.
//!
//! Python: `$INTERLUDE_BENCH_PYTHON`, else a venv the bench makes under `target/` from
//! tests/reference/requirements-llamacpp.txt.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use interlude_daemon::models::generator::{Generator, Params, Sampling, Weights};

const SYSTEM: &str = "You write short, plain summaries of a person's own journal entries for them.";
const USER: &str = "Facts:\n- \"work\" came up in 4 of 6 entries this week.\n- Anxious was rated 70 on Monday and 40 on Friday.\n- The client wrote \"the lake breath helped\" twice.\nEntries, in the client's words:\n- \"Froze when my manager asked about the report. The critic was loud all afternoon.\"\n- \"Walked by the lake after work and did the breath. Slept better.\"\nWrite the numbers from one to fifty in words, one per line, then summarise.";
/// Where `interlude models fetch` puts the default generator under `<data dir>/models`.
pub const GGUF: &str = "SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf";
const GENERATED: usize = 128;
const THREADS: usize = 2;

pub struct Run {
    pub name: &'static str,
    pub load_ms: f64,
    pub prompt_tps: f64,
    pub generation_tps: f64,
    pub ids: Vec<u32>,
}

pub struct Figures {
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub candle: Vec<Run>,
    /// `None` when llama-cpp-python is not installed.
    pub llama_cpp: Option<Run>,
}

fn candle(gguf: &Path, weights: Weights, name: &'static str) -> anyhow::Result<(Run, Vec<u32>)> {
    let started = Instant::now();
    let mut model = Generator::load(gguf, weights)?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let prompt = model.prompt(SYSTEM, USER)?;
    let params = Params {
        max_tokens: GENERATED,
        sampling: Sampling::Greedy,
        stop: Vec::new(),
    };
    // The best of three (the first also warms up).
    let mut best: Option<Run> = None;
    for _ in 0..3 {
        let outcome = model.generate(&prompt, &params, |_| true)?;
        let run = Run {
            name,
            load_ms,
            prompt_tps: prompt.len() as f64 / outcome.prompt_time.as_secs_f64(),
            // The first generated token comes out of the prompt pass.
            generation_tps: (outcome.generated_tokens.saturating_sub(1)) as f64
                / outcome.generation_time.as_secs_f64(),
            ids: outcome.generated,
        };
        if best
            .as_ref()
            .is_none_or(|b| run.generation_tps > b.generation_tps)
        {
            best = Some(run);
        }
    }
    Ok((best.expect("three runs"), prompt))
}

const LLAMA_CPP: &str = r#"
import json, sys, time
import numpy as np
import llama_cpp
gguf, prompt, n, threads = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t = time.perf_counter()
llm = llama_cpp.Llama(model_path=gguf, n_ctx=1024, n_threads=threads, n_threads_batch=threads, n_batch=512, verbose=False)
load = time.perf_counter() - t
# Without logits_all, llama-cpp-python no longer copies logits into `scores`: read the last row.
def argmax():
    return int(np.argmax(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))))
best = None
for _ in range(3):
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(prompt)
    ids = [argmax()]
    t1 = time.perf_counter()
    while len(ids) < n:
        llm.eval([ids[-1]])
        ids.append(argmax())
    t2 = time.perf_counter()
    run = {"prompt_tps": len(prompt) / (t1 - t0), "generation_tps": (n - 1) / (t2 - t1), "ids": ids}
    if best is None or run["generation_tps"] > best["generation_tps"]:
        best = run
best["load_ms"] = load * 1e3
best["version"] = llama_cpp.__version__
print(json.dumps(best))
"#;

/// `$INTERLUDE_BENCH_PYTHON`, else `target/llamacpp-venv` made from
/// tests/reference/requirements-llamacpp.txt (llama-cpp-python built from its sdist).
fn python() -> Result<PathBuf, String> {
    if let Some(python) = std::env::var_os("INTERLUDE_BENCH_PYTHON") {
        return Ok(PathBuf::from(python));
    }
    super::reference_env::python(
        "llamacpp-venv",
        "requirements-llamacpp.txt",
        &[
            ("CMAKE_BUILD_PARALLEL_LEVEL", "2"),
            ("CMAKE_ARGS", "-DLLAVA_BUILD=OFF"),
        ],
    )
}

fn llama_cpp(gguf: &Path, prompt: &[u32], n: usize) -> anyhow::Result<Option<Run>> {
    let python = match python() {
        Ok(python) => python,
        Err(why) => {
            eprintln!("SKIPPED: llama.cpp comparison: {why}");
            return Ok(None);
        }
    };
    let output = Command::new(&python)
        .args(["-c", LLAMA_CPP])
        .arg(gguf)
        .arg(serde_json::to_string(prompt)?)
        .arg(n.to_string())
        .arg(THREADS.to_string())
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "llama-cpp-python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    Ok(Some(Run {
        name: "llama.cpp (Q4_1 as shipped)",
        load_ms: v["load_ms"].as_f64().unwrap_or(0.0),
        prompt_tps: v["prompt_tps"].as_f64().unwrap_or(0.0),
        generation_tps: v["generation_tps"].as_f64().unwrap_or(0.0),
        ids: serde_json::from_value(v["ids"].clone())?,
    }))
}

pub fn measure(gguf: &Path) -> anyhow::Result<Figures> {
    let (shipped, prompt) = candle(gguf, Weights::AsShipped, "candle, Q4_1 as shipped")?;
    let (fast, _) = candle(
        gguf,
        Weights::FastKernels,
        "interlude kernels, Q4_1 as shipped (daemon)",
    )?;
    let n = shipped.ids.len().max(2);
    let llama_cpp = llama_cpp(gguf, &prompt, n)?;
    Ok(Figures {
        prompt_tokens: prompt.len(),
        generated_tokens: n,
        candle: vec![shipped, fast],
        llama_cpp,
    })
}

impl Figures {
    pub fn markdown(&self) -> String {
        let mut text = format!(
            "### Generation (SmolLM2-135M-Instruct, {} prompt tokens, {} generated, greedy, {THREADS} threads)\n\n\
             | engine | load ms | prompt tok/s | generation tok/s | vs llama.cpp (prompt / generation) |\n|---|---|---|---|---|\n",
            self.prompt_tokens, self.generated_tokens
        );
        let reference = self.llama_cpp.as_ref();
        for run in self.candle.iter().chain(reference) {
            let ratio = reference.map_or("llama.cpp skipped".to_string(), |r| {
                format!(
                    "{:.2}× / {:.2}×",
                    run.prompt_tps / r.prompt_tps,
                    run.generation_tps / r.generation_tps
                )
            });
            text.push_str(&format!(
                "| {} | {:.0} | {:.0} | {:.0} | {ratio} |\n",
                run.name, run.load_ms, run.prompt_tps, run.generation_tps
            ));
        }
        if let Some(reference) = reference {
            text.push('\n');
            for run in &self.candle {
                let agree = run
                    .ids
                    .iter()
                    .zip(&reference.ids)
                    .take_while(|(a, b)| a == b)
                    .count();
                text.push_str(&format!(
                    "{} and llama.cpp agree on the first {agree} of {} generated ids\n",
                    run.name,
                    run.ids.len()
                ));
            }
        }
        text
    }
}
