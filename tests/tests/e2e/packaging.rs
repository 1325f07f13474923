//! The Debian package the repository builds (`packaging/build-deb.sh`, with `dpkg-deb`):
//! installed with the real `dpkg` into a clean root (no chroot, no container), its own
//! `interlude --version`, and a capture through its own `interluded` started from there.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use interlude_e2e::{PASSPHRASE, RealDaemon, Setup, bin_dir, tools_present};

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_package_installs_into_a_clean_root_and_its_binaries_capture() {
    if !tools_present(&["dpkg", "dpkg-deb"]) {
        eprintln!("SKIPPED: dpkg is not installed; the Debian package was not built");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/build-deb.sh");
    let deb = run(Command::new(&script)
        .arg(bin_dir())
        .arg(work.path().join("out")));
    let deb = deb.trim();

    let root = work.path().join("root");
    for dir in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    // The clean root has no libc6 registered: its own libc is the host's.
    run(Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args([
            "--force-depends",
            "--force-script-chrootless",
            "--log=/dev/null",
            "-i",
            deb,
        ]));
    let listed = run(Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args(["-L", "interlude"]));
    for file in [
        "/usr/bin/interlude",
        "/usr/bin/interluded",
        "/usr/lib/systemd/user/interluded.service",
        "/usr/share/bash-completion/completions/interlude",
        "/usr/share/zsh/vendor-completions/_interlude",
        "/usr/share/fish/vendor_completions.d/interlude.fish",
        "/usr/share/man/man1/interlude.1.gz",
        "/usr/share/man/man1/interlude-reflect.1.gz",
    ] {
        assert!(
            listed.lines().any(|l| l == file),
            "{file} is in the package:\n{listed}"
        );
    }
    let unit =
        std::fs::read_to_string(root.join("usr/lib/systemd/user/interluded.service")).unwrap();
    assert!(
        unit.contains("ExecStart=\"/usr/bin/interluded\"")
            && unit.contains("%h/.local/share/interlude"),
        "{unit}"
    );

    let cli = root.join("usr/bin/interlude");
    let version = run(Command::new(&cli).arg("--version"));
    assert!(version.starts_with("interlude "), "{version}");

    let mut daemon = RealDaemon::prepare_with(Setup {
        binary: root.join("usr/bin/interluded"),
        ..Setup::tests()
    });
    daemon.launch();
    let packaged = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = Command::new(&cli)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", daemon.tmp_dir())
            .env("INTERLUDE_SOCKET", daemon.socket())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    packaged(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n"));
    packaged(&["reflect", "written through the packaged binaries"], "");
    let timeline = packaged(&["timeline"], "");
    assert!(
        timeline.contains("written through the packaged binaries"),
        "{timeline}"
    );
    daemon.stop();
}
