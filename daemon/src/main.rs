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
