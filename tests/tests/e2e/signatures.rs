//! Plugin signatures interoperate with the real `minisign` tool (Debian package `minisign`), in
//! both directions. The test installs minisign when it can and skips loudly when it cannot.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use interlude_e2e::{bin, ok, tools_present};

fn minisign_available() -> bool {
    let available = tools_present(&["minisign"]);
    if !available {
        eprintln!(
            "SKIPPED: the `minisign` tool is not installed (`.ci/setup` installs it); interoperability is untested here"
        );
    }
    available
}

fn interlude(args: &[&str], dir: &Path) -> Output {
    Command::new(bin("interlude"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn minisign_verifies_what_interlude_signs() {
    if !minisign_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cbt.bundle"), b"a plugin bundle").unwrap();
    ok(interlude(
        &["plugin", "keygen", "--out", "therapist", "--no-password"],
        dir.path(),
    ));
    ok(interlude(
        &[
            "plugin",
            "sign",
            "cbt.bundle",
            "--key",
            "therapist.key",
            "--no-password",
            "--trusted-comment",
            "id=cbt version=1.0.0",
        ],
        dir.path(),
    ));
    let verified = Command::new("minisign")
        .args(["-V", "-m", "cbt.bundle", "-p", "therapist.pub"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let said = ok(verified);
    assert!(said.contains("id=cbt version=1.0.0"), "{said}");

    std::fs::write(dir.path().join("cbt.bundle"), b"a plugin bundlE").unwrap();
    let tampered = Command::new("minisign")
        .args(["-V", "-m", "cbt.bundle", "-p", "therapist.pub"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        !tampered.status.success(),
        "minisign refuses a changed file"
    );
}

#[test]
fn interlude_verifies_what_minisign_signs_and_refuses_changes() {
    if !minisign_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dbt.bundle"), b"another plugin bundle").unwrap();
    let keygen = Command::new("minisign")
        .args(["-G", "-W", "-p", "m.pub", "-s", "m.key"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    ok(keygen);
    let signed = Command::new("minisign")
        .args([
            "-S",
            "-s",
            "m.key",
            "-m",
            "dbt.bundle",
            "-t",
            "id=dbt version=2.1.0",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    ok(signed);
    let said = ok(interlude(
        &["plugin", "verify", "dbt.bundle", "--pubkey", "m.pub"],
        dir.path(),
    ));
    assert!(said.contains("id=dbt version=2.1.0"), "{said}");

    // Another key is not trusted; an edited trusted comment and a changed byte are refused.
    ok(interlude(
        &["plugin", "keygen", "--out", "other", "--no-password"],
        dir.path(),
    ));
    let untrusted = interlude(
        &["plugin", "verify", "dbt.bundle", "--pubkey", "other.pub"],
        dir.path(),
    );
    assert_eq!(untrusted.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&untrusted.stderr).contains("not one you trust"));
    let sig = std::fs::read_to_string(dir.path().join("dbt.bundle.minisig")).unwrap();
    std::fs::write(
        dir.path().join("edited.minisig"),
        sig.replace("version=2.1.0", "version=9.9.9"),
    )
    .unwrap();
    let edited = interlude(
        &[
            "plugin",
            "verify",
            "dbt.bundle",
            "--pubkey",
            "m.pub",
            "--sig",
            "edited.minisig",
        ],
        dir.path(),
    );
    assert_eq!(edited.status.code(), Some(7));
    std::fs::write(dir.path().join("dbt.bundle"), b"another plugin bundlE").unwrap();
    let changed = interlude(
        &["plugin", "verify", "dbt.bundle", "--pubkey", "m.pub"],
        dir.path(),
    );
    assert_eq!(changed.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&changed.stderr).contains("does not match"));
}

#[test]
fn keygen_never_overwrites_and_keeps_the_secret_key_private() {
    let dir = tempfile::tempdir().unwrap();
    ok(interlude(
        &["plugin", "keygen", "--out", "k", "--no-password"],
        dir.path(),
    ));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("k.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let again = interlude(
        &["plugin", "keygen", "--out", "k", "--no-password"],
        dir.path(),
    );
    assert_eq!(again.status.code(), Some(6));
}

/// A therapist without Interlude's signing commands: `tar` and `minisign` make a bundle that
/// installs.
#[test]
fn a_bundle_made_with_tar_and_signed_by_minisign_installs() {
    if !minisign_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        Command::new(bin("interlude"))
            .args(args)
            .env("INTERLUDE_DATA_DIR", &data)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    ok(run(&["plugin", "new", "grounding"]));
    ok(Command::new("tar")
        .args(["-czf", "grounding.tar.gz", "-C", "grounding", "."])
        .current_dir(dir.path())
        .output()
        .unwrap());
    ok(Command::new("minisign")
        .args(["-G", "-W", "-p", "m.pub", "-s", "m.key"])
        .current_dir(dir.path())
        .output()
        .unwrap());
    ok(Command::new("minisign")
        .args([
            "-S",
            "-s",
            "m.key",
            "-m",
            "grounding.tar.gz",
            "-t",
            "interlude-plugin id=grounding version=0.1.0",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap());
    ok(run(&[
        "plugin",
        "trust",
        "m.pub",
        "--name",
        "minisign user",
    ]));
    let said = ok(run(&["plugin", "install", "grounding.tar.gz"]));
    assert!(said.contains("Installed grounding 0.1.0"), "{said}");
    assert!(
        data.join("plugins/grounding/exercises/notice.toml")
            .is_file()
    );
}

#[test]
fn minisign_verifies_a_bundle_packed_by_interlude() {
    if !minisign_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    ok(interlude(
        &["plugin", "keygen", "--out", "therapist", "--no-password"],
        dir.path(),
    ));
    ok(interlude(&["plugin", "new", "grounding"], dir.path()));
    ok(interlude(
        &[
            "plugin",
            "pack",
            "grounding",
            "--key",
            "therapist.key",
            "--no-password",
        ],
        dir.path(),
    ));
    let said = ok(Command::new("minisign")
        .args(["-V", "-m", "grounding-0.1.0.tar.gz", "-p", "therapist.pub"])
        .current_dir(dir.path())
        .output()
        .unwrap());
    assert!(
        said.contains("interlude-plugin id=grounding version=0.1.0"),
        "{said}"
    );
    // And the standard tools unpack it to the plugin's files.
    std::fs::create_dir(dir.path().join("unpacked")).unwrap();
    ok(Command::new("tar")
        .args(["-xzf", "grounding-0.1.0.tar.gz", "-C", "unpacked"])
        .current_dir(dir.path())
        .output()
        .unwrap());
    ok(interlude(&["plugin", "lint", "unpacked"], dir.path()));
}
