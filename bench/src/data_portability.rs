//! Row 15: the client's data in and out. `interlude export` and `interlude import` of 100,000
//! reflections (rows/s and the CLI's peak memory) against serde_json alone writing and reading
//! the same JSON file (in a child process of this binary, so its peak memory is its own); and
//! `interlude backup` / `interlude restore` of that vault against `cp -r` of its data directory.
//! Every process runs under `/usr/bin/time -f %M` for its peak resident memory. The page cache
//! is warm for both sides of each pair (they read the same files one after the other).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use interlude_e2e::{PASSPHRASE, RealDaemon};

use super::concurrent::{Moments, add_concurrently};
use super::single_client::unlocked_channel;
use super::workload::now_ms;
use super::{DAY_MS, progress};
use crate::stats::ratio;

pub(crate) const ROW_KEY: &str = "data_in_and_out";

/// What a finished process took.
struct Run {
    wall: Duration,
    peak_kib: u64,
    stdout: String,
}

pub(crate) struct Figures {
    reflections: usize,
    export: Run,
    export_bytes: u64,
    serde_write: Run,
    import: Run,
    serde_read: Run,
    backup: Run,
    backup_bytes: u64,
    cp_backup: Run,
    data_bytes: u64,
    restore: Run,
    cp_restore: Run,
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn per_s(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

impl Figures {
    pub(crate) fn rows(&self) -> Vec<[String; 5]> {
        let n = self.reflections;
        let s = |d: Duration| format!("{:.2} s", d.as_secs_f64());
        vec![
            [
                format!(
                    "`interlude export` of {n} reflections to a file ({:.1} MB of JSON), real `interluded`",
                    self.export_bytes as f64 / 1e6
                ),
                format!(
                    "{:.0} rows/s ({}) · peak {} (CLI)",
                    per_s(n, self.export.wall),
                    s(self.export.wall),
                    mib(self.export.peak_kib)
                ),
                format!(
                    "serde_json alone writing the same JSON (from memory, synced): {:.0} rows/s ({}) · peak {}",
                    per_s(n, self.serde_write.wall),
                    s(self.serde_write.wall),
                    mib(self.serde_write.peak_kib)
                ),
                format!(
                    "{} of the rate · {} of the memory",
                    ratio(per_s(n, self.export.wall), per_s(n, self.serde_write.wall)),
                    ratio(self.export.peak_kib as f64, self.serde_write.peak_kib as f64)
                ),
                "—".into(),
            ],
            [
                "`interlude import` of that file into a new vault (every reflection crisis-checked and stored durably)".into(),
                format!(
                    "{:.0} rows/s ({}) · peak {} (CLI)",
                    per_s(n, self.import.wall),
                    s(self.import.wall),
                    mib(self.import.peak_kib)
                ),
                format!(
                    "serde_json alone reading the same file: {:.0} rows/s ({}) · peak {}",
                    per_s(n, self.serde_read.wall),
                    s(self.serde_read.wall),
                    mib(self.serde_read.peak_kib)
                ),
                format!(
                    "{} of the rate · {} of the memory",
                    ratio(per_s(n, self.import.wall), per_s(n, self.serde_read.wall)),
                    ratio(self.import.peak_kib as f64, self.serde_read.peak_kib as f64)
                ),
                "—".into(),
            ],
            [
                format!(
                    "`interlude backup` of that vault ({:.1} MB file, data directory {:.1} MB), daemon running",
                    self.backup_bytes as f64 / 1e6,
                    self.data_bytes as f64 / 1e6
                ),
                format!("{} · peak {} (CLI)", s(self.backup.wall), mib(self.backup.peak_kib)),
                format!("`cp -r` of the data directory: {}", s(self.cp_backup.wall)),
                format!("{} the time", ratio(self.backup.wall.as_secs_f64(), self.cp_backup.wall.as_secs_f64())),
                "—".into(),
            ],
            [
                "`interlude restore` of that backup into a new data directory (checked whole, then built and synced)".into(),
                format!("{} · peak {} (the CLI and `interluded restore`)", s(self.restore.wall), mib(self.restore.peak_kib)),
                format!("`cp -r` of the copy into a new directory: {}", s(self.cp_restore.wall)),
                format!("{} the time", ratio(self.restore.wall.as_secs_f64(), self.cp_restore.wall.as_secs_f64())),
                "—".into(),
            ],
        ]
    }
}

/// Runs `command` under `/usr/bin/time` and returns its wall time and peak memory.
fn timed(command: Command, stdin: &str) -> Result<Run> {
    use std::io::Write;
    let program = command.get_program().to_owned();
    let mut wrapped = Command::new("/usr/bin/time");
    wrapped
        .args(["-f", "PEAK_KIB %M"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg(&program)
        .args(command.get_args())
        .envs(command.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = wrapped
        .spawn()
        .with_context(|| format!("could not run {program:?} under /usr/bin/time"))?;
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "{program:?} {:?} failed: {stderr}",
            command.get_args().collect::<Vec<_>>()
        );
    }
    let peak_kib = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("PEAK_KIB "))
        .next_back()
        .and_then(|k| k.trim().parse().ok())
        .context("/usr/bin/time gave no peak memory")?;
    Ok(Run {
        wall,
        peak_kib,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    })
}

/// The real CLI against `daemon`, with the environment the tests give it.
/// A path as the CLI's argument; the bench's directory (`--dir`) may be any path.
fn utf8(path: &Path) -> Result<&str> {
    path.to_str()
        .with_context(|| format!("{} is not UTF-8: give --dir a UTF-8 path", path.display()))
}

fn cli(daemon: &RealDaemon, args: &[&str]) -> Command {
    let mut command = Command::new(interlude_e2e::bin("interlude"));
    command
        .args(args)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", daemon.tmp_dir())
        .env("TMPDIR", daemon.tmp_dir())
        .env("INTERLUDE_SOCKET", daemon.socket());
    command
}

fn cp(from: &Path, to: &Path) -> Result<Run> {
    let mut command = Command::new("cp");
    command.arg("-r").arg(from).arg(to);
    timed(command, "")
}

fn bytes_under(path: &Path) -> u64 {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| bytes_under(&e.path())).sum())
            .unwrap_or(0),
        Ok(meta) => meta.len(),
        Err(_) => 0,
    }
}

/// This binary in its serde_json reference mode (see [`serde_reference`]).
fn serde_json_alone(mode: &str, input: &Path, output: Option<&Path>) -> Result<Run> {
    let mut command = Command::new(std::env::current_exe()?);
    command.arg(mode).arg(input);
    if let Some(output) = output {
        command.arg(output);
    }
    let mut run = timed(command, "")?;
    // The child times only the serde_json part (the write reads its input first).
    let seconds: f64 = run
        .stdout
        .trim()
        .parse()
        .context("the serde_json reference printed no time")?;
    run.wall = Duration::from_secs_f64(seconds);
    Ok(run)
}

/// `bench --serde-write IN OUT` and `bench --serde-read IN`: the reference, run as a child.
/// Prints the seconds the serde_json part took.
pub(crate) fn serde_reference(mode: &str, input: &Path, output: Option<&Path>) -> Result<()> {
    use std::io::{BufReader, BufWriter, Write};
    let read = || -> Result<serde_json::Value> {
        Ok(serde_json::from_reader(BufReader::new(
            std::fs::File::open(input)?,
        ))?)
    };
    let seconds = match (mode, output) {
        ("--serde-read", None) => {
            let started = Instant::now();
            let value = read()?;
            let seconds = started.elapsed().as_secs_f64();
            drop(value);
            seconds
        }
        ("--serde-write", Some(output)) => {
            let value = read()?;
            let started = Instant::now();
            let file = std::fs::File::create(output)?;
            let mut writer = BufWriter::new(file);
            serde_json::to_writer_pretty(&mut writer, &value)?;
            writer.write_all(b"\n")?;
            writer.into_inner()?.sync_all()?;
            started.elapsed().as_secs_f64()
        }
        _ => bail!("usage: bench --serde-read IN | --serde-write IN OUT"),
    };
    println!("{seconds}");
    Ok(())
}

pub(crate) async fn measure(interluded: PathBuf, root: PathBuf, stored: usize) -> Result<Figures> {
    let mut source = super::real_daemon(&interluded, &root, false)?;
    source.launch();
    unlocked_channel(&source.socket(), true).await?;
    let span_ms = 730 * DAY_MS;
    let moments = Moments {
        start_ms: now_ms() - span_ms,
        step_ms: span_ms as f64 / stored as f64,
    };
    progress(&format!(
        "15. storing {stored} reflections over two years (32 clients)"
    ));
    add_concurrently(&source.socket(), 32, stored, Some(moments), 14).await?;
    let work = root.join("files");
    std::fs::create_dir_all(&work)?;
    let export_file = work.join("export.json");

    progress("15. interlude export, then serde_json writing the same JSON");
    let export = tokio::task::block_in_place(|| {
        timed(
            cli(
                &source,
                &["export", "--include-private", "-o", utf8(&export_file)?],
            ),
            "",
        )
    })?;
    let export_bytes = std::fs::metadata(&export_file)?.len();
    let serde_write = tokio::task::block_in_place(|| {
        serde_json_alone(
            "--serde-write",
            &export_file,
            Some(&work.join("serde.json")),
        )
    })?;
    std::fs::remove_file(work.join("serde.json"))?;

    progress("15. interlude backup, then cp -r of the data directory");
    let backup_file = work.join("vault.ilbackup");
    let backup =
        tokio::task::block_in_place(|| timed(cli(&source, &["backup", utf8(&backup_file)?]), ""))?;
    let backup_bytes = std::fs::metadata(&backup_file)?.len();
    let data_bytes = bytes_under(&source.data_dir());
    let copy = work.join("data-copy");
    let cp_backup = tokio::task::block_in_place(|| cp(&source.data_dir(), &copy))?;
    source.stop();

    progress("15. interlude restore into a new directory, then cp -r of the copy");
    let restored = work.join("restored");
    let restore = tokio::task::block_in_place(|| {
        timed(
            cli(
                &source,
                &[
                    "restore",
                    utf8(&backup_file)?,
                    "--data-dir",
                    utf8(&restored)?,
                    "--passphrase-stdin",
                ],
            ),
            &format!("{PASSPHRASE}\n"),
        )
    })?;
    let cp_restore = tokio::task::block_in_place(|| cp(&copy, &work.join("copy-again")))?;
    for dir in ["data-copy", "copy-again", "restored"] {
        std::fs::remove_dir_all(work.join(dir))?;
    }
    std::fs::remove_file(&backup_file)?;
    drop(source);

    progress("15. interlude import into a new vault, then serde_json reading the same file");
    let mut target = super::real_daemon(&interluded, &root, false)?;
    target.launch();
    unlocked_channel(&target.socket(), true).await?;
    let import =
        tokio::task::block_in_place(|| timed(cli(&target, &["import", utf8(&export_file)?]), ""))?;
    if !import
        .stdout
        .contains(&format!("Imported {stored} records"))
    {
        bail!(
            "the import did not bring every reflection in: {}",
            import.stdout
        );
    }
    target.stop();
    let serde_read =
        tokio::task::block_in_place(|| serde_json_alone("--serde-read", &export_file, None))?;
    std::fs::remove_file(&export_file)?;
    Ok(Figures {
        reflections: stored,
        export,
        export_bytes,
        serde_write,
        import,
        serde_read,
        backup,
        backup_bytes,
        cp_backup,
        data_bytes,
        restore,
        cp_restore,
    })
}
