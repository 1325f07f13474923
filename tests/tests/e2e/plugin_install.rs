//! Installing signed plugin bundles through the real CLI, with no daemon running: every kind of
//! malicious or mistaken bundle is refused with a clear message and leaves the data directory
//! exactly as it was; good bundles install, upgrade, override a built-in, turn off and come out
//! again. With the real daemon running, a change is in effect at once (no restart), and a run
//! started before it finishes as it began.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use interlude_e2e::{PASSPHRASE, RealDaemon, bin, ok};
use interlude_plugins::signature;
use interlude_proto::v1::practice_client::PracticeClient;
use interlude_proto::v1::{AnswerRequest, FinishRequest, ListExercisesRequest, StartRequest};
use tonic::Code;
use tonic::transport::Channel;

/// A home with a data directory, a working directory for bundles, and a trusted key.
struct Home {
    root: tempfile::TempDir,
    secret_key: String,
}

impl Home {
    fn new() -> Home {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("work")).unwrap();
        let (public, secret_key) = signature::generate(None).unwrap();
        std::fs::write(root.path().join("work/therapist.pub"), &public).unwrap();
        std::fs::write(root.path().join("work/therapist.key"), &secret_key).unwrap();
        let home = Home { root, secret_key };
        ok(home.cli(&["plugin", "trust", "therapist.pub", "--name", "Dr Rivera"]));
        home
    }

    fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(bin("interlude"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root.path())
            .env("INTERLUDE_DATA_DIR", self.data())
            .current_dir(self.work())
            .output()
            .unwrap()
    }

    /// Writes `NAME` and `NAME.minisig` into the working directory, signed by the trusted key.
    fn signed(&self, name: &str, bundle: &[u8], comment: &str) -> String {
        self.signed_with(name, bundle, comment, &self.secret_key)
    }

    fn signed_with(&self, name: &str, bundle: &[u8], comment: &str, key: &str) -> String {
        std::fs::write(self.work().join(name), bundle).unwrap();
        let sig = signature::sign(bundle, key, None, comment).unwrap();
        std::fs::write(self.work().join(format!("{name}.minisig")), sig).unwrap();
        name.to_string()
    }

    fn install(&self, name: &str) -> Output {
        self.cli(&["plugin", "install", name])
    }

    fn list(&self) -> serde_json::Value {
        serde_json::from_str(&ok(self.cli(&["--json", "plugin", "list"]))).unwrap()
    }
}

#[track_caller]
fn refused(output: Output, code: i32, says: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(says), "expected {says:?} in:\n{stderr}");
}

/// Everything under `dir`: each path with its kind, mode and bytes (links are not followed).
fn snapshot(dir: &Path) -> Vec<(PathBuf, String, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let kind = format!("{:?} {:o}", meta.file_type(), meta.permissions().mode());
        let bytes = if meta.is_file() {
            std::fs::read(&path).unwrap()
        } else {
            Vec::new()
        };
        found.push((path.clone(), kind, bytes));
        if meta.is_dir() {
            found.extend(snapshot(&path));
        }
    }
    found.sort();
    found
}

const PLUGIN: &str = r#"schema_version = 1

[plugin]
id = "tiny"
name = "Tiny"
version = "VERSION"
modality = "other"
authors = ["Test"]
description = "A plugin written for the tests."
licence = "CC-BY-4.0"
"#;

const EXERCISE: &str = r#"schema_version = 1

[exercise]
id = "notice"
title = "Notice"
summary = "Notice what is here."
state = "any"
minutes = 2

[[exercise.steps]]
id = "what"
kind = "text"
prompt = "What is here?"
"#;

/// One archive entry, described the way an attacker would write it.
enum Item<'a> {
    File(&'a str, Vec<u8>),
    /// A header claiming `size` bytes with only `data` behind it.
    Claims(&'a str, u64),
    Dir(&'a str),
    Link(&'a str, tar::EntryType, &'a str),
}

/// Laid out as `tar -cf - -C tiny .` writes it: directory entries and `./` prefixes.
fn tiny_files(version: &str) -> Vec<Item<'static>> {
    vec![
        Item::Dir("./"),
        Item::Dir("./exercises/"),
        Item::File(
            "./plugin.toml",
            PLUGIN.replace("VERSION", version).into_bytes(),
        ),
        Item::File("./exercises/notice.toml", EXERCISE.as_bytes().to_vec()),
    ]
}

/// A tar archive with names written into the header as given: no `..` or absolute-path
/// checks, which is the point.
fn tar(items: &[Item]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for item in items {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_mtime(0);
        let (name, data): (&str, Vec<u8>) = match item {
            Item::File(name, data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(data.len() as u64);
                (name, data.clone())
            }
            Item::Claims(name, size) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(*size);
                (name, vec![b'x'; *size as usize])
            }
            Item::Dir(name) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                (name, Vec::new())
            }
            Item::Link(name, kind, target) => {
                header.set_entry_type(*kind);
                header.set_size(0);
                header.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
                (name, Vec::new())
            }
        };
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        builder.append(&header, data.as_slice()).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn tiny_bundle(version: &str) -> Vec<u8> {
    gzip(&tar(&tiny_files(version)))
}

const TINY_1: &str = "interlude-plugin id=tiny version=1.0.0";

/// A questionnaire whose second item asks about self-harm; `SAFETY` is where its rule goes.
const SCREEN: &str = r#"schema_version = 2

[exercise]
id = "screen"
title = "Screen"
summary = "Two questions."
state = "reflective"
minutes = 1

[[exercise.steps]]
id = "screen"
kind = "questionnaire"
prompt = "How often?"
options = ["Never", "Sometimes"]
items = [
  { id = "sleep", text = "Sleeping badly" },
  { id = "harm", text = "Thoughts of hurting yourself"SAFETY },
]
scoring = { instrument = "Screen", bands = [{ from = 0, to = 1, label = "low" }, { from = 2, to = 2, label = "high" }] }
"#;
const SCREEN_SAFETY: &str = ", safety = { tier = \"ideation\", options = [\"Sometimes\"] }";

/// Installs nothing, says why, and leaves every file under the home as it was.
#[track_caller]
fn refused_without_trace(home: &Home, name: &str, code: i32, says: &str) {
    let before = snapshot(home.root.path());
    refused(home.install(name), code, says);
    assert_eq!(
        snapshot(home.root.path()),
        before,
        "{name}: something was written or left behind"
    );
}

fn with(extra: Item<'static>) -> Vec<u8> {
    let mut items = tiny_files("1.0.0");
    items.push(extra);
    gzip(&tar(&items))
}

#[test]
fn malicious_and_mistaken_bundles_are_refused_and_nothing_is_written() {
    let home = Home::new();
    let good = tiny_bundle("1.0.0");
    let outside = home.root.path().join("outside");
    std::fs::create_dir(&outside).unwrap();

    let mut tampered = good.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 1;
    std::fs::write(home.work().join("tampered.tar.gz"), &tampered).unwrap();
    let sig = signature::sign(&good, &home.secret_key, None, TINY_1).unwrap();
    std::fs::write(home.work().join("tampered.tar.gz.minisig"), &sig).unwrap();
    refused_without_trace(&home, "tampered.tar.gz", 7, "does not match");

    let (_, stranger) = signature::generate(None).unwrap();
    home.signed_with("stranger.tar.gz", &good, TINY_1, &stranger);
    refused_without_trace(&home, "stranger.tar.gz", 7, "not one you trust");

    home.signed("edited.tar.gz", &good, TINY_1);
    let sig_path = home.work().join("edited.tar.gz.minisig");
    let edited = std::fs::read_to_string(&sig_path)
        .unwrap()
        .replace("version=1.0.0", "version=9.0.0");
    std::fs::write(&sig_path, edited).unwrap();
    refused_without_trace(&home, "edited.tar.gz", 7, "does not match");

    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "no-comment",
            good.clone(),
            "timestamp:1700000000\tfile:tiny.tar.gz",
            "trusted comment",
        ),
        (
            "wrong-version",
            good.clone(),
            "interlude-plugin id=tiny version=2.0.0",
            "the signature says tiny 2.0.0 but the bundle holds tiny 1.0.0",
        ),
        (
            "wrong-id",
            good.clone(),
            "interlude-plugin id=other-tiny version=1.0.0",
            "the signature says other-tiny 1.0.0 but the bundle holds tiny 1.0.0",
        ),
        (
            "id-is-a-path",
            good.clone(),
            "interlude-plugin id=../../outside version=1.0.0",
            "trusted comment",
        ),
        (
            "traversal",
            with(Item::File("../escaped.toml", b"x".to_vec())),
            TINY_1,
            "climbs out of the plugin with `..`",
        ),
        (
            "deep-traversal",
            with(Item::File("exercises/../../escaped", b"x".to_vec())),
            TINY_1,
            "climbs out",
        ),
        (
            "absolute",
            with(Item::File(
                Box::leak(outside.join("evil").display().to_string().into_boxed_str()),
                b"x".to_vec(),
            )),
            TINY_1,
            "has an absolute path",
        ),
        (
            "symlink",
            with(Item::Link(
                "exercises/link.toml",
                tar::EntryType::Symlink,
                "/etc/passwd",
            )),
            TINY_1,
            "is a symbolic link",
        ),
        (
            "symlink-dir-first",
            gzip(&tar(&[
                Item::Link("exercises", tar::EntryType::Symlink, "../../outside"),
                Item::File("exercises/notice.toml", EXERCISE.as_bytes().to_vec()),
            ])),
            TINY_1,
            "is a symbolic link",
        ),
        (
            "hard-link",
            with(Item::Link(
                "prompts.toml",
                tar::EntryType::Link,
                "/etc/passwd",
            )),
            TINY_1,
            "is a hard link",
        ),
        (
            "device",
            with(Item::Link("prompts.toml", tar::EntryType::Char, "")),
            TINY_1,
            "is a device file",
        ),
        (
            "fifo",
            with(Item::Link("prompts.toml", tar::EntryType::Fifo, "")),
            TINY_1,
            "is a named pipe",
        ),
        (
            "hidden",
            with(Item::File(
                ".installed.toml",
                b"key_id = \"forged\"".to_vec(),
            )),
            TINY_1,
            "is hidden",
        ),
        (
            "twice",
            with(Item::File("plugin.toml", b"schema_version = 1".to_vec())),
            TINY_1,
            "appears twice",
        ),
        (
            "oversized",
            with(Item::Claims("exercises/huge.toml", 2 << 20)),
            TINY_1,
            "is larger than 1024 KiB",
        ),
        ("too-many", with_many(600), TINY_1, "more than 512 entries"),
        ("bomb", bomb(), TINY_1, "decompression bomb"),
        (
            "not-a-tar",
            gzip(b"this is not an archive at all, just some text that goes on for a while"),
            TINY_1,
            "not a readable tar archive",
        ),
        (
            "invalid-plugin",
            gzip(&tar(&[Item::File(
                "plugin.toml",
                PLUGIN
                    .replace("VERSION", "1.0.0")
                    .replace("licence", "license")
                    .into_bytes(),
            )])),
            TINY_1,
            "<bundle>/plugin.toml:10:1: unknown field `license`",
        ),
        (
            "questionnaire-hiding-self-harm",
            with(Item::File(
                "exercises/screen.toml",
                SCREEN.replace("SAFETY", "").into_bytes(),
            )),
            TINY_1,
            "asks about self-harm or suicide",
        ),
        (
            "questionnaire-in-schema-1",
            with(Item::File(
                "exercises/screen.toml",
                SCREEN
                    .replace("schema_version = 2", "schema_version = 1")
                    .replace("SAFETY", SCREEN_SAFETY)
                    .into_bytes(),
            )),
            TINY_1,
            "needs `schema_version = 2`",
        ),
        (
            "questionnaire-bands-with-a-gap",
            with(Item::File(
                "exercises/screen.toml",
                SCREEN
                    .replace("SAFETY", SCREEN_SAFETY)
                    .replace("from = 2", "from = 3")
                    .into_bytes(),
            )),
            TINY_1,
            "`scoring.bands` must run from 0 to 2",
        ),
        (
            "schema-from-the-future",
            with(Item::File(
                "exercises/screen.toml",
                SCREEN
                    .replace("schema_version = 2", "schema_version = 99")
                    .replace("SAFETY", SCREEN_SAFETY)
                    .into_bytes(),
            )),
            TINY_1,
            "schema_version 99 is not one this Interlude reads",
        ),
    ];
    for (name, bundle, comment, says) in cases {
        let file = home.signed(&format!("{name}.tar.gz"), &bundle, comment);
        let code = 6;
        refused_without_trace(&home, &file, code, says);
    }
    assert!(snapshot(&outside).is_empty());
    assert!(!home.data().join("plugins").exists());
    assert!(!home.root.path().join("escaped.toml").exists());

    // Over 8 MiB is refused before it is even read in full.
    let noise: Vec<u8> = (0..9u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    home.signed("large.tar.gz", &noise, TINY_1);
    refused_without_trace(&home, "large.tar.gz", 6, "larger than 8 MiB");
}

fn with_many(count: usize) -> Vec<u8> {
    let names: Vec<String> = (0..count).map(|i| format!("exercises/n{i}.toml")).collect();
    let mut items = tiny_files("1.0.0");
    for name in &names {
        items.push(Item::File(
            Box::leak(name.clone().into_boxed_str()),
            b"schema_version = 1".to_vec(),
        ));
    }
    gzip(&tar(&items))
}

/// Each file is within the per-file limit; together they inflate past the total cap from a
/// bundle of a few tens of kilobytes.
fn bomb() -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let names: Vec<String> = (0..20).map(|i| format!("exercises/z{i}.toml")).collect();
    let mut items = tiny_files("1.0.0");
    for name in &names {
        items.push(Item::File(
            Box::leak(name.clone().into_boxed_str()),
            zeros.clone(),
        ));
    }
    let bundle = gzip(&tar(&items));
    assert!(bundle.len() < 200_000, "{}", bundle.len());
    bundle
}

#[test]
fn a_lower_version_is_refused_and_a_changed_equal_one_too() {
    let home = Home::new();
    home.signed(
        "v1.1.tar.gz",
        &tiny_bundle("1.1.0"),
        "interlude-plugin id=tiny version=1.1.0",
    );
    let said = ok(home.install("v1.1.tar.gz"));
    assert!(said.contains("Installed tiny 1.1.0"), "{said}");

    home.signed("v1.0.tar.gz", &tiny_bundle("1.0.0"), TINY_1);
    refused_without_trace(
        &home,
        "v1.0.tar.gz",
        6,
        "tiny 1.1.0 is installed and the bundle is the older 1.0.0",
    );

    let mut changed = tiny_files("1.1.0");
    changed.push(Item::File("prompts.toml", b"schema_version = 1\n".to_vec()));
    home.signed(
        "changed.tar.gz",
        &gzip(&tar(&changed)),
        "interlude-plugin id=tiny version=1.1.0",
    );
    refused_without_trace(
        &home,
        "changed.tar.gz",
        6,
        "already installed with different content",
    );

    // The very same plugin again (even packed differently) is fine and changes nothing.
    home.signed(
        "same.tar",
        &tar(&tiny_files("1.1.0")),
        "interlude-plugin id=tiny version=1.1.0",
    );
    let before = snapshot(home.root.path());
    assert!(ok(home.install("same.tar")).contains("Already installed"));
    assert_eq!(snapshot(home.root.path()), before);
}

#[test]
fn install_list_override_disable_and_remove_round_trip() {
    let home = Home::new();
    let ids = |list: &serde_json::Value| -> Vec<String> {
        list["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    };
    let list = home.list();
    assert_eq!(ids(&list), ["act", "cbt", "dbt", "psychodynamic"]);
    assert_eq!(list["trusted_keys"][0]["name"], "Dr Rivera");
    let key_id = list["trusted_keys"][0]["key_id"]
        .as_str()
        .unwrap()
        .to_string();

    // A therapist's own plugin, scaffolded, packed and signed by the CLI.
    ok(home.cli(&["plugin", "new", "sleep-diary"]));
    ok(home.cli(&["plugin", "lint", "sleep-diary"]));
    ok(home.cli(&[
        "plugin",
        "pack",
        "sleep-diary",
        "--key",
        "therapist.key",
        "--no-password",
    ]));
    let said = ok(home.install("sleep-diary-0.1.0.tar.gz"));
    assert!(said.contains("Installed sleep-diary 0.1.0"), "{said}");
    assert!(
        said.contains("The daemon picks it up when it next starts."),
        "no daemon runs: {said}"
    );
    let list = home.list();
    assert_eq!(
        ids(&list),
        ["act", "cbt", "dbt", "psychodynamic", "sleep-diary"]
    );
    let installed = &list["plugins"][4];
    assert_eq!(installed["origin"], "installed");
    assert_eq!(installed["signed_by"], key_id.as_str());

    // An upgrade replaces it.
    let toml = home.work().join("sleep-diary/plugin.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replace("0.1.0", "0.2.0")).unwrap();
    ok(home.cli(&[
        "plugin",
        "pack",
        "sleep-diary",
        "--key",
        "therapist.key",
        "--no-password",
    ]));
    assert!(ok(home.install("sleep-diary-0.2.0.tar.gz")).contains("Upgraded from 0.1.0 to"));
    assert_eq!(home.list()["plugins"][4]["version"], "0.2.0");

    // A tailored CBT plugin overrides the built-in of the same id.
    let cbt = home.work().join("cbt");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/cbt"),
        &cbt,
    );
    let text = std::fs::read_to_string(cbt.join("plugin.toml")).unwrap();
    std::fs::write(
        cbt.join("plugin.toml"),
        text.replace("version = \"1.0.0\"", "version = \"1.0.1\""),
    )
    .unwrap();
    ok(home.cli(&[
        "plugin",
        "pack",
        "cbt",
        "--key",
        "therapist.key",
        "--no-password",
    ]));
    ok(home.cli(&[
        "plugin",
        "install",
        "cbt-1.0.1.tar.gz",
        "--replace-built-in",
    ]));
    let list = home.list();
    let cbt_entry = &list["plugins"][1];
    assert_eq!(
        (cbt_entry["id"].as_str(), cbt_entry["version"].as_str()),
        (Some("cbt"), Some("1.0.1"))
    );
    assert_eq!(cbt_entry["overrides_built_in"], true);

    // Turning it off and on again is remembered; removing it brings the built-in back.
    ok(home.cli(&["plugin", "disable", "cbt"]));
    let list = home.list();
    assert!(!ids(&list).contains(&"cbt".to_string()));
    assert_eq!(
        list["disabled"],
        serde_json::json!(["cbt", "ifs", "measures", "somatic"])
    );
    ok(home.cli(&["plugin", "enable", "cbt"]));
    assert!(ids(&home.list()).contains(&"cbt".to_string()));
    let said = ok(home.cli(&["plugin", "remove", "cbt"]));
    assert!(said.contains("built-in cbt is in effect again"), "{said}");
    let list = home.list();
    assert_eq!(list["plugins"][1]["version"], "1.0.0");
    assert_eq!(list["plugins"][1]["origin"], "built-in");

    // A built-in can be turned off, not removed.
    ok(home.cli(&["plugin", "disable", "dbt"]));
    assert!(!ids(&home.list()).contains(&"dbt".to_string()));
    refused(
        home.cli(&["plugin", "remove", "dbt"]),
        5,
        "no plugin `dbt` is installed",
    );
    refused(
        home.cli(&["plugin", "disable", "nothing-here"]),
        5,
        "no plugin `nothing-here`",
    );
    ok(home.cli(&["plugin", "remove", "sleep-diary"]));
    refused(
        home.cli(&["plugin", "remove", "sleep-diary"]),
        5,
        "no plugin",
    );

    // Untrusting the key stops further installs from it.
    ok(home.cli(&["plugin", "untrust", &key_id]));
    assert_eq!(home.list()["trusted_keys"], serde_json::json!([]));
    refused(
        home.install("sleep-diary-0.2.0.tar.gz"),
        7,
        "not one you trust",
    );
    refused(
        home.cli(&["plugin", "untrust", &key_id]),
        5,
        "no trusted key",
    );
}

#[test]
fn plugin_state_is_private_and_a_broken_plugin_is_reported_not_fatal() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    home.signed("tiny.tar.gz", &tiny_bundle("1.0.0"), TINY_1);
    ok(home.install("tiny.tar.gz"));
    let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(home.data().join("plugins")), 0o700);
    assert_eq!(mode(home.data().join("plugins/tiny")), 0o700);
    assert_eq!(mode(home.data().join("plugins/tiny/plugin.toml")), 0o600);
    assert_eq!(mode(home.data().join("trusted-keys")), 0o700);

    // Someone edits the installed copy by hand and breaks it: it is skipped with its place.
    std::fs::write(
        home.data().join("plugins/tiny/plugin.toml"),
        "schema_version = 1\n[plugin]\nid = 7\n",
    )
    .unwrap();
    let list = home.list();
    assert_eq!(list["plugins"].as_array().unwrap().len(), 4);
    let problems = list["problems"].as_array().unwrap();
    assert!(
        problems[0]
            .as_str()
            .unwrap()
            .contains("plugins/tiny/plugin.toml:3:6"),
        "{problems:?}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The real daemon with a vault, and `interlude` run the way a client runs it: settings from the
/// daemon's config file, so the plugin commands find its data directory and its socket.
struct Running {
    daemon: RealDaemon,
    secret_key: String,
}

impl Running {
    fn start() -> Running {
        let daemon = RealDaemon::start();
        let init =
            daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n"));
        assert!(init.status.success());
        let (public, secret_key) = signature::generate(None).unwrap();
        std::fs::write(daemon.tmp_dir().join("therapist.pub"), &public).unwrap();
        let running = Running { daemon, secret_key };
        ok(running.cli(&["plugin", "trust", "therapist.pub"]));
        running
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(bin("interlude"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.daemon.tmp_dir())
            .env(
                "INTERLUDE_CONFIG",
                self.daemon.root.path().join("config.toml"),
            )
            .current_dir(self.daemon.tmp_dir())
            .output()
            .unwrap()
    }

    /// Writes the tiny plugin's bundle and signature into the working directory.
    fn tiny_bundle(&self) -> &'static str {
        let bundle = tiny_bundle("1.0.0");
        std::fs::write(self.daemon.tmp_dir().join("tiny.tar.gz"), &bundle).unwrap();
        let sig = signature::sign(&bundle, &self.secret_key, None, TINY_1).unwrap();
        std::fs::write(self.daemon.tmp_dir().join("tiny.tar.gz.minisig"), sig).unwrap();
        "tiny.tar.gz"
    }

    async fn practice(&self) -> PracticeClient<Channel> {
        PracticeClient::new(
            interlude_proto::connect(&self.daemon.socket())
                .await
                .unwrap(),
        )
    }
}

/// The exercises the daemon offers, as `plugin/exercise`.
async fn offered(practice: &mut PracticeClient<Channel>) -> Vec<String> {
    practice
        .list_exercises(ListExercisesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .exercises
        .into_iter()
        .map(|e| format!("{}/{}", e.plugin_id, e.exercise_id))
        .collect()
}

fn start_tiny() -> StartRequest {
    StartRequest {
        plugin_id: "tiny".into(),
        exercise_id: "notice".into(),
    }
}

#[tokio::test]
async fn a_bundle_installed_while_the_daemon_runs_is_offered_at_once_and_a_started_run_outlives_its_removal()
 {
    let running = Running::start();
    let mut practice = running.practice().await;
    assert!(!offered(&mut practice).await.contains(&"tiny/notice".into()));

    let said = ok(running.cli(&["plugin", "install", running.tiny_bundle()]));
    assert!(
        said.contains("Installed tiny 1.0.0") && said.contains("The daemon now offers it."),
        "{said}"
    );
    assert!(offered(&mut practice).await.contains(&"tiny/notice".into()));
    let run = practice.start(start_tiny()).await.unwrap().into_inner();

    let said = ok(running.cli(&["plugin", "remove", "tiny"]));
    assert!(said.contains("The daemon no longer offers it."), "{said}");
    assert!(!offered(&mut practice).await.contains(&"tiny/notice".into()));
    let gone = practice.start(start_tiny()).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);

    // The run started before the removal ends with the exercise it began with, and is saved.
    let view = practice
        .answer(AnswerRequest {
            run_id: run.run_id.clone(),
            step_id: "what".into(),
            value: "The rain on the window.".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(view.at_end);
    let saved = practice
        .finish(FinishRequest {
            run_id: run.run_id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let shown: serde_json::Value =
        serde_json::from_str(&ok(running.daemon.cli(&["show", &saved.id, "--json"]))).unwrap();
    assert_eq!(
        (shown["plugin_id"].as_str(), shown["exercise_id"].as_str()),
        (Some("tiny"), Some("notice"))
    );
}

#[tokio::test]
async fn turning_a_built_in_off_and_on_while_the_daemon_runs_takes_effect_at_once() {
    let running = Running::start();
    let mut practice = running.practice().await;
    let dbt = |offered: &[String]| offered.iter().filter(|e| e.starts_with("dbt/")).count();
    let before = dbt(&offered(&mut practice).await);
    assert!(before > 0);

    let said = ok(running.cli(&["plugin", "disable", "dbt"]));
    assert_eq!(
        said.trim(),
        "Turned dbt off. The daemon no longer offers it."
    );
    assert_eq!(dbt(&offered(&mut practice).await), 0);

    let said = ok(running.cli(&["plugin", "enable", "dbt"]));
    assert_eq!(said.trim(), "Turned dbt on. The daemon now offers it.");
    assert_eq!(dbt(&offered(&mut practice).await), before);
}

#[tokio::test]
async fn a_change_the_running_daemon_does_not_take_still_stands_and_the_message_says_so() {
    let running = Running::start();
    let mut practice = running.practice().await;
    // A settings file the daemon cannot read: it keeps the plugins in effect.
    std::fs::write(
        running.daemon.data_dir().join("plugin-settings.toml"),
        "disabled = 7\n",
    )
    .unwrap();
    let said = ok(running.cli(&["plugin", "install", running.tiny_bundle()]));
    assert!(
        said.contains("Installed tiny 1.0.0")
            && said.contains("The running daemon did not take it up (")
            && said.contains("plugin-settings.toml is not valid")
            && said.ends_with("it will when it next starts.\n"),
        "{said}"
    );
    assert!(running.daemon.data_dir().join("plugins/tiny").is_dir());
    assert!(!offered(&mut practice).await.contains(&"tiny/notice".into()));

    // Another data directory's change is not this daemon's to take.
    let other = running.daemon.root.path().join("other");
    let said = ok(running.cli(&[
        "plugin",
        "disable",
        "cbt",
        "--data-dir",
        other.to_str().unwrap(),
    ]));
    assert!(
        said.contains(&format!("serves {}", running.daemon.data_dir().display()))
            && said.contains("it will when it next starts."),
        "{said}"
    );
    assert!(
        offered(&mut practice)
            .await
            .iter()
            .any(|e| e.starts_with("cbt/"))
    );
}

/// A plugin id is pinned to the key that signed its first install: a bundle for the same id
/// signed by another key the user also trusts does not replace it.
#[test]
fn a_plugin_keeps_the_key_it_was_first_installed_with() {
    let home = Home::new();
    let (other_public, other_secret) = signature::generate(None).unwrap();
    std::fs::write(home.work().join("other.pub"), &other_public).unwrap();
    ok(home.cli(&["plugin", "trust", "other.pub", "--name", "Someone else"]));
    ok(home.install(&home.signed("tiny-1.tar.gz", &tiny_bundle("1.0.0"), TINY_1)));
    let upgrade = home.signed_with(
        "tiny-2.tar.gz",
        &tiny_bundle("1.1.0"),
        "interlude-plugin id=tiny version=1.1.0",
        &other_secret,
    );
    refused_without_trace(
        &home,
        &upgrade,
        7,
        "tiny was installed from a bundle signed by key",
    );
    // Removing it on purpose lifts the pin.
    ok(home.cli(&["plugin", "remove", "tiny"]));
    assert!(ok(home.install(&upgrade)).contains("Installed tiny 1.1.0"));
}

/// A bundle with a built-in's id replaces what the client has been using: only when asked.
#[test]
fn a_bundle_with_a_built_in_id_installs_only_when_asked_to_replace_the_built_in() {
    let home = Home::new();
    let cbt = home.work().join("cbt");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/cbt"),
        &cbt,
    );
    let text = std::fs::read_to_string(cbt.join("plugin.toml")).unwrap();
    std::fs::write(
        cbt.join("plugin.toml"),
        text.replace("version = \"1.0.0\"", "version = \"1.0.1\""),
    )
    .unwrap();
    ok(home.cli(&[
        "plugin",
        "pack",
        "cbt",
        "--key",
        "therapist.key",
        "--no-password",
    ]));
    // Not on a terminal, so nobody can be asked: refused, with the flag named.
    refused_without_trace(&home, "cbt-1.0.1.tar.gz", 7, "--replace-built-in");
    assert_eq!(home.list()["plugins"][1]["origin"], "built-in");
    ok(home.cli(&[
        "plugin",
        "install",
        "cbt-1.0.1.tar.gz",
        "--replace-built-in",
    ]));
    assert_eq!(home.list()["plugins"][1]["overrides_built_in"], true);
}

/// Untrusting a key leaves the plugins it signed in effect; the list says so and what to do.
#[test]
fn a_plugin_whose_key_is_no_longer_trusted_stays_in_effect_and_the_list_says_so() {
    let home = Home::new();
    ok(home.install(&home.signed("tiny-1.tar.gz", &tiny_bundle("1.0.0"), TINY_1)));
    let key_id = home.list()["trusted_keys"][0]["key_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(home.list()["plugins"][4]["signer_trusted"], true);
    ok(home.cli(&["plugin", "untrust", &key_id]));
    let list = home.list();
    assert_eq!(list["plugins"][4]["id"], "tiny");
    assert_eq!(list["plugins"][4]["signer_trusted"], false);
    let text = ok(home.cli(&["plugin", "list"]));
    assert!(
        text.contains("no longer trusted): it stays in effect")
            && text.contains("interlude plugin remove tiny"),
        "{text}"
    );
}
