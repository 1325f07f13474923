//! The release `interluded` the rows start.

use std::fs::File;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use interlude_e2e::test_config;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kdf {
    /// The harness's cheap Argon2: only unlocking gets faster, which no figure here measures.
    Cheap,
    /// What a user runs (64 MiB, 3 passes): it matters for memory.
    Default,
}

/// The release `interluded` in `root` (`root/data`, `root/run/interluded.sock`, `root/config.toml`),
/// like the harness's `RealDaemon` but on the bench's filesystem and logging at `info`, the
/// default (the harness logs at `debug`, which would slow every request down).
pub(crate) struct RealDaemon {
    pub(crate) binary: PathBuf,
    pub(crate) root: PathBuf,
    pub(crate) child: Option<Child>,
}

impl RealDaemon {
    pub(crate) fn prepare(binary: &Path, root: &Path, kdf: Kdf) -> Result<RealDaemon> {
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

    pub(crate) fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    pub(crate) fn socket(&self) -> PathBuf {
        test_config(&self.root).socket_path()
    }

    pub(crate) fn log_path(&self) -> PathBuf {
        self.root.join("interluded.log")
    }

    pub(crate) fn spawn(&mut self) -> Result<()> {
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
    pub(crate) fn wait_ready(&mut self, timeout: Duration, poll: Duration) -> Result<()> {
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

    pub(crate) fn start(&mut self) -> Result<()> {
        self.spawn()?;
        self.wait_ready(Duration::from_secs(30), Duration::from_millis(5))
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// SIGTERM, then waits for a clean exit.
    pub(crate) fn stop(&mut self) -> Result<()> {
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
pub(crate) fn private_dir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("could not create {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// `sun_path` holds 108 bytes with its terminating NUL.
pub(crate) fn check_socket_len(socket: &Path) -> Result<()> {
    if socket.as_os_str().len() >= 108 {
        bail!(
            "the socket path {} is too long for a Unix socket; pass a shorter --dir",
            socket.display()
        );
    }
    Ok(())
}
