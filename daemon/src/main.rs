//! `interluded`: parses flags, sets up logging and signals, and runs the daemon library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use interlude_daemon::{Config, Daemon};

/// The Interlude daemon: keeps your encrypted timeline and serves the `interlude` CLI and other
/// frontends over a Unix socket. It never opens a network port.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Config file (TOML). Default: $XDG_CONFIG_HOME/interlude/config.toml.
    #[arg(long, env = interlude_proto::paths::CONFIG_ENV)]
    config: Option<PathBuf>,
    /// Data directory. Default: $XDG_DATA_HOME/interlude.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Socket path. Default: $XDG_RUNTIME_DIR/interlude/interluded.sock.
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Minutes without use before the vault locks itself.
    #[arg(long)]
    idle_lock_minutes: Option<f64>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Restores a backup made by `interlude backup` into the data directory, offline (no daemon
    /// may be running for it). Reads the passphrase (or with --recovery-key the recovery key)
    /// from standard input, hidden when it is a terminal. The whole file is checked before
    /// anything is written; the vault is built beside the data directory and moved into place
    /// only when complete. `interlude restore` runs this for you.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Replace the vault already in the data directory (kept until the restored one is in
        /// place; its models are kept).
        #[arg(long)]
        replace: bool,
        /// Open the backup with the recovery key instead of the passphrase.
        #[arg(long)]
        recovery_key: bool,
        /// Print `progress DONE TOTAL` lines on standard output as it goes.
        #[arg(long)]
        progress: bool,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    malloc::fix_thresholds();
    let args = Args::parse();
    if let Some(Command::Restore {
        file,
        replace,
        recovery_key,
        progress,
        json,
    }) = &args.command
    {
        return restore::main(&args, file, *replace, *recovery_key, *progress, *json);
    }
    let config = match load_config(&args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("interluded: {err:#}");
            return ExitCode::from(78); // EX_CONFIG
        }
    };
    init_logging(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("interluded: could not start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("interluded: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(args: &Args) -> anyhow::Result<Config> {
    let path = args
        .config
        .clone()
        .unwrap_or_else(interlude_proto::paths::config_file);
    let mut config = Config::load(&path)?;
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(socket) = &args.socket {
        config.socket = Some(socket.clone());
    }
    if let Some(minutes) = args.idle_lock_minutes {
        config.idle_lock_minutes = minutes;
    }
    Ok(config)
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // Everything the daemon creates (journal, database, temporary files) is for this user only,
    // whatever the calling shell's umask.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    // Installed before the socket exists, so a SIGTERM right after it appears still drains.
    let shutdown = shutdown_signal()?;
    let daemon = Daemon::start(config).await.context("could not start")?;
    // Scripts and the README's quick start read this line to find the socket.
    println!("interluded listening on {}", daemon.socket().display());
    daemon
        .serve(shutdown)
        .await
        .context("stopped with an error")
}

/// Resolves on SIGTERM or SIGINT.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("could not handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("could not handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("shutting down");
    })
}

/// `interluded restore`: offline, on this thread, no runtime.
mod restore {
    use std::io::{BufRead, IsTerminal, Write};
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;

    use interlude_daemon::backup::BackupError;
    use interlude_daemon::backup::restore::{Request, run};
    use interlude_daemon::error::Error;
    use interlude_daemon::vault::Secret;
    use zeroize::Zeroizing;

    use super::{Args, load_config};

    pub fn main(
        args: &Args,
        file: &Path,
        replace: bool,
        recovery_key: bool,
        progress: bool,
        json: bool,
    ) -> ExitCode {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
        let config = match load_config(args) {
            Ok(config) => config,
            Err(err) => {
                eprintln!("interluded: {err:#}");
                return ExitCode::from(78);
            }
        };
        let data_dir: PathBuf = config.data_dir.clone();
        let secret = match read_secret(recovery_key) {
            Ok(secret) => secret,
            Err(err) => {
                eprintln!("interluded: could not read the secret: {err}");
                return ExitCode::FAILURE;
            }
        };
        let request = Request {
            file,
            data_dir: &data_dir,
            secret: &secret,
            replace,
            options: config.store_options(),
        };
        let mut stdout = std::io::stdout().lock();
        let mut shown = u64::MAX;
        let restored = run(&request, |done, total| {
            // At most a thousand lines, however many entries.
            let permille = done.saturating_mul(1000) / total.max(1);
            if progress && permille != shown {
                shown = permille;
                let _ = writeln!(stdout, "progress {done} {total}");
            }
        });
        match restored {
            Ok(restored) => {
                let mut stdout = std::io::stdout().lock();
                let _ = if json {
                    writeln!(
                        stdout,
                        "{}",
                        serde_json::json!({
                            "data_dir": data_dir.display().to_string(),
                            "reflections": restored.reflections,
                            "sessions": restored.sessions,
                            "entries": restored.entries,
                            "files": restored.files,
                            "replaced": restored.replaced,
                            "created_at_ms": restored.created_at,
                        })
                    )
                } else {
                    writeln!(
                        stdout,
                        "Restored {} reflections and {} sessions into {}{}.",
                        restored.reflections,
                        restored.sessions,
                        data_dir.display(),
                        if restored.replaced {
                            ", replacing the vault that was there"
                        } else {
                            ""
                        }
                    )
                };
                ExitCode::SUCCESS
            }
            Err(err) => {
                let reason = match &err {
                    // The vault's own message points at `unlock`; here the way on is restore's.
                    BackupError::Vault(Error::WrongPassphrase) => "wrong passphrase; nothing was \
                        restored. Try again, or open it with your recovery key (`interlude \
                        restore --recovery-key FILE`)"
                        .to_string(),
                    other => other.to_string(),
                };
                eprintln!("interluded: could not restore {}: {reason}", file.display());
                ExitCode::from(exit_code(&err))
            }
        }
    }

    /// The CLI's exit codes (its README table): 6 refused input, 7 wrong secret, 9 damaged.
    fn exit_code(err: &BackupError) -> u8 {
        match err {
            BackupError::Foreign(_)
            | BackupError::BadPath(_)
            | BackupError::ExistingVault(_)
            | BackupError::Read(_) => 6,
            BackupError::Vault(Error::WrongPassphrase | Error::WrongRecoveryKey) => 7,
            BackupError::Damaged { .. }
            | BackupError::DamagedHeader
            | BackupError::Truncated
            | BackupError::Trailing
            | BackupError::BadBody
            | BackupError::Vault(Error::Damaged { .. } | Error::HeaderNotAuthentic(_)) => 9,
            _ => 1,
        }
    }

    fn read_secret(recovery_key: bool) -> std::io::Result<Secret> {
        let prompt = if recovery_key {
            "Recovery key: "
        } else {
            "Passphrase: "
        };
        let line = if std::io::stdin().is_terminal() {
            Zeroizing::new(rpassword::prompt_password(prompt)?)
        } else {
            let mut line = Zeroizing::new(String::new());
            std::io::stdin().lock().read_line(&mut line)?;
            Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned())
        };
        Ok(if recovery_key {
            Secret::RecoveryKey(line)
        } else {
            Secret::Passphrase(line)
        })
    }
}

/// glibc's malloc raises its mmap threshold after a large block is freed (up to 32 MiB, and the
/// trim threshold to twice that). From then on the models' tensors land in per-thread arenas
/// that are never given back: ~240 MiB stayed resident after both models' idle unload. With both
/// thresholds fixed at 128 KiB (glibc's own starting value) large blocks keep their own mappings
/// and go back to the system when freed, and free space at the top of a heap is trimmed: ~34 MiB
/// after the unload (bench row 10). They can only be fixed before the process starts (through
/// `GLIBC_TUNABLES`; `mallopt` would need unsafe code), so the daemon executes itself once more
/// with them set: same pid, arguments and open files. A value the user set is left alone.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod malloc {
    use std::ffi::OsString;
    use std::os::unix::process::CommandExt;

    const TUNABLES: &str = "GLIBC_TUNABLES";
    const FIXED: &str = "glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072";
    /// Set on the second start, so that a glibc that ignores the tunables cannot cause a loop.
    const DONE: &str = "INTERLUDED_MALLOC_FIXED";

    pub fn fix_thresholds() {
        if std::env::var_os(DONE).is_some() {
            return;
        }
        let current = std::env::var_os(TUNABLES);
        let Some(tunables) = with_fixed(current.as_deref().and_then(|t| t.to_str())) else {
            return;
        };
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let arg0 = args.next().unwrap_or_else(|| OsString::from("interluded"));
        let err = std::process::Command::new(exe)
            .arg0(arg0)
            .args(args)
            .env(TUNABLES, tunables)
            .env(DONE, "1")
            .exec();
        // Only reached when the exec failed: run as we are, with glibc's moving thresholds.
        eprintln!("interluded: could not fix malloc's thresholds ({err}); carrying on without");
    }

    /// `GLIBC_TUNABLES` with the fixed thresholds added, or `None` when it already names either
    /// (the user's choice) or is not UTF-8.
    pub fn with_fixed(current: Option<&str>) -> Option<String> {
        match current {
            None | Some("") => Some(FIXED.to_owned()),
            Some(t)
                if t.contains("glibc.malloc.mmap_threshold")
                    || t.contains("glibc.malloc.trim_threshold") =>
            {
                None
            }
            Some(t) => Some(format!("{t}:{FIXED}")),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_fixed_thresholds_join_other_tunables_and_never_override_the_users() {
            assert_eq!(with_fixed(None).as_deref(), Some(FIXED));
            assert_eq!(with_fixed(Some("")).as_deref(), Some(FIXED));
            assert_eq!(
                with_fixed(Some("glibc.malloc.arena_max=2")),
                Some(format!("glibc.malloc.arena_max=2:{FIXED}"))
            );
            assert_eq!(with_fixed(Some("glibc.malloc.mmap_threshold=65536")), None);
            assert_eq!(with_fixed(Some("glibc.malloc.trim_threshold=0")), None);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod malloc {
    pub fn fix_thresholds() {}
}
