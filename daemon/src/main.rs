//! `interluded`: parses flags, sets up logging and signals, and runs the daemon library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
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
}

fn main() -> ExitCode {
    malloc::fix_thresholds();
    let args = Args::parse();
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
