//! `interlude backup` and `interlude restore` with the real binaries: a backup made while
//! another client keeps writing is one instant of the vault, and restores byte for byte with the
//! passphrase or the recovery key; a damaged, truncated or foreign file, or a wrong secret, is
//! refused and nothing is written; an existing vault is replaced only when asked, and never
//! under a running daemon.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use interlude_e2e::{PASSPHRASE, RealDaemon, cli_command, ok};
use interlude_proto::v1::daemon_client::DaemonClient;
use interlude_proto::v1::timeline_client::TimelineClient;
use interlude_proto::v1::{
    AddReflectionRequest, InitRequest, ListReflectionsRequest, Order, UnlockRequest, unlock_request,
};
use prost::Message;

fn note(text: String) -> AddReflectionRequest {
    AddReflectionRequest {
        text,
        tags: vec!["backup".into()],
        ..Default::default()
    }
}

/// A daemon with a vault (returns the recovery key) and `n` reflections.
async fn with_reflections(n: usize) -> (RealDaemon, String) {
    let daemon = RealDaemon::start();
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let recovery_key = DaemonClient::new(channel.clone())
        .init(InitRequest {
            passphrase: PASSPHRASE.into(),
            country: "GB".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .recovery_key;
    let mut timeline = TimelineClient::new(channel);
    for i in 0..n {
        let text = format!(
            "reflection {i}: {}",
            "the lake breath helped ".repeat(1 + i % 40)
        );
        timeline.add_reflection(note(text)).await.unwrap();
    }
    (daemon, recovery_key)
}

/// Every reflection, by id, as the bytes of its message.
async fn all_reflections(socket: &Path) -> HashMap<String, Vec<u8>> {
    let mut timeline = TimelineClient::new(interlude_proto::connect(socket).await.unwrap());
    let mut all = HashMap::new();
    let mut page_token = String::new();
    loop {
        let page = timeline
            .list_reflections(ListReflectionsRequest {
                limit: 1000,
                page_token,
                order: Order::OldestFirst.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        for reflection in page.reflections {
            all.insert(reflection.id.clone(), reflection.encode_to_vec());
        }
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

fn restore(
    daemon: &RealDaemon,
    file: &Path,
    data_dir: &Path,
    extra: &[&str],
    secret: &str,
) -> Output {
    let mut args = vec![
        "restore",
        file.to_str().unwrap(),
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--passphrase-stdin",
    ];
    args.extend_from_slice(extra);
    cli_command(
        &daemon.socket(),
        &daemon.tmp_dir(),
        &args,
        &format!("{secret}\n"),
    )
}

/// Starts a daemon on a restored data directory and unlocks it.
async fn start_on(data_dir: &Path) -> RealDaemon {
    let mut restored = RealDaemon::prepare();
    std::fs::rename(data_dir, restored.data_dir()).unwrap();
    restored.launch();
    let channel = interlude_proto::connect(&restored.socket()).await.unwrap();
    DaemonClient::new(channel)
        .unlock(UnlockRequest {
            secret: Some(unlock_request::Secret::Passphrase(PASSPHRASE.into())),
        })
        .await
        .unwrap();
    restored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_made_while_another_client_writes_is_one_instant_and_restores_byte_for_byte() {
    let (daemon, recovery_key) = with_reflections(400).await;
    let before = all_reflections(&daemon.socket()).await;
    // Another client writes one reflection after another for as long as the backup runs.
    let written = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (written, stop) = (written.clone(), stop.clone());
        let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
        tokio::spawn(async move {
            let mut timeline = TimelineClient::new(channel);
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let id = timeline
                    .add_reflection(note(format!("written during the backup {i}")))
                    .await
                    .unwrap()
                    .into_inner()
                    .id;
                written.lock().unwrap().push(id);
                i += 1;
            }
        })
    };
    while written.lock().unwrap().len() < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let file = daemon.tmp_dir().join("vault.ilbackup");
    let made = {
        let (socket, tmp, file) = (daemon.socket(), daemon.tmp_dir(), file.clone());
        tokio::task::spawn_blocking(move || {
            cli_command(&socket, &tmp, &["backup", file.to_str().unwrap()], "")
        })
        .await
        .unwrap()
    };
    ok(&made);
    // Let the writer carry on a little after the backup, then stop it.
    let after_backup = written.lock().unwrap().len();
    while written.lock().unwrap().len() < after_backup + 20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.await.unwrap();
    let written = written.lock().unwrap().clone();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let original = all_reflections(&daemon.socket()).await;

    for (how, secret, extra) in [
        ("passphrase", PASSPHRASE, &[][..]),
        (
            "recovery key",
            recovery_key.as_str(),
            &["--recovery-key"][..],
        ),
    ] {
        let target = daemon
            .tmp_dir()
            .join(format!("restored-{}", how.replace(' ', "-")));
        ok(restore(&daemon, &file, &target, extra, secret));
        let restored = start_on(&target).await;
        let got = all_reflections(&restored.socket()).await;
        for (id, bytes) in &before {
            assert_eq!(
                got.get(id),
                Some(bytes),
                "with the {how}: {id} differs or is missing"
            );
        }
        for (id, bytes) in &got {
            assert_eq!(
                original.get(id),
                Some(bytes),
                "with the {how}: {id} is not the original's"
            );
        }
        // One instant: of the other client's reflections, exactly those written before some
        // moment during the backup are in it.
        let kept: Vec<bool> = written.iter().map(|id| got.contains_key(id)).collect();
        let cut = kept.iter().position(|k| !k).unwrap_or(kept.len());
        assert!(
            kept[cut..].iter().all(|k| !k),
            "with the {how}: the backup holds a later write without an earlier one: {kept:?}"
        );
        assert!(
            cut >= 20,
            "the writes acknowledged before the backup began are in it"
        );
        assert!(cut < written.len(), "the writes after the backup are not");
        drop(restored);
    }
}

fn is_untouched(target: &Path) {
    assert!(!target.exists(), "{} was written", target.display());
    let parent = target.parent().unwrap();
    let leftovers: Vec<PathBuf> = std::fs::read_dir(parent)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".restoring-"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

#[track_caller]
fn refused(output: &Output, code: i32, says: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    assert!(stderr.contains(says), "expected {says:?} in: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_truncated_or_foreign_file_or_a_wrong_secret_is_refused_and_nothing_is_written() {
    let (daemon, _) = with_reflections(60).await;
    let file = daemon.tmp_dir().join("vault.ilbackup");
    // Locked: no backup, and no file.
    ok(daemon.cli(&["lock"]));
    refused(
        &daemon.cli(&["backup", file.to_str().unwrap()]),
        4,
        "unlock",
    );
    assert!(!file.exists());
    ok(daemon.cli_with_stdin(
        &["unlock", "--passphrase-stdin"],
        &format!("{PASSPHRASE}\n"),
    ));
    ok(daemon.cli(&["backup", file.to_str().unwrap()]));
    let good = std::fs::read(&file).unwrap();
    let tmp = daemon.tmp_dir();
    let target = tmp.join("target");
    let write = |name: &str, bytes: &[u8]| {
        let path = tmp.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let header_end = good
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(2)
        .unwrap()
        .0;
    // One flipped byte: in the header, in the first chunk, in the last.
    for at in [30, header_end + 40, good.len() / 2, good.len() - 3] {
        let mut damaged = good.clone();
        damaged[at] ^= 0x01;
        let path = write("damaged.ilbackup", &damaged);
        let output = restore(&daemon, &path, &target, &[], PASSPHRASE);
        assert!(
            output.status.code() == Some(9)
                && String::from_utf8_lossy(&output.stderr).contains("damaged"),
            "flipped byte {at}: {:?} {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        is_untouched(&target);
    }
    for cut in [good.len() - 1, good.len() / 2, header_end + 1, 10] {
        let path = write("cut.ilbackup", &good[..cut]);
        let output = restore(&daemon, &path, &target, &[], PASSPHRASE);
        assert_ne!(output.status.code(), Some(0), "cut at {cut}");
        is_untouched(&target);
    }
    refused(
        &restore(
            &daemon,
            &write("cut.ilbackup", &good[..good.len() - 1]),
            &target,
            &[],
            PASSPHRASE,
        ),
        9,
        "truncated",
    );
    let mut longer = good.clone();
    longer.extend_from_slice(b"more");
    refused(
        &restore(
            &daemon,
            &write("long.ilbackup", &longer),
            &target,
            &[],
            PASSPHRASE,
        ),
        9,
        "after its end",
    );
    // Foreign files: an export, an age file, random bytes, nothing.
    let export = tmp.join("export.json");
    ok(daemon.cli(&["export", "-o", export.to_str().unwrap()]));
    refused(
        &restore(&daemon, &export, &target, &[], PASSPHRASE),
        6,
        "perhaps an export",
    );
    let age_file = tmp.join("file.age");
    let identity = tmp.join("age-identity");
    let keygen = std::process::Command::new("age-keygen")
        .arg("-o")
        .arg(&identity)
        .output();
    match keygen {
        Ok(keygen) if keygen.status.success() => {
            let public = String::from_utf8_lossy(&keygen.stderr)
                .split_whitespace()
                .last()
                .unwrap()
                .to_owned();
            let status = std::process::Command::new("age")
                .args(["-r", &public, "-o"])
                .arg(&age_file)
                .arg(&file)
                .status()
                .unwrap();
            assert!(status.success());
        }
        // Without the age tool, its header as the age spec writes it.
        _ => std::fs::write(&age_file, b"age-encryption.org/v1\n-> X25519 abc\n").unwrap(),
    }
    refused(
        &restore(&daemon, &age_file, &target, &[], PASSPHRASE),
        6,
        "age-encrypted",
    );
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    refused(
        &restore(
            &daemon,
            &write("random.bin", &random),
            &target,
            &[],
            PASSPHRASE,
        ),
        6,
        "not an Interlude backup",
    );
    refused(
        &restore(&daemon, &write("empty", b""), &target, &[], PASSPHRASE),
        6,
        "empty",
    );
    is_untouched(&target);
    // A wrong passphrase, a wrong recovery key.
    refused(
        &restore(&daemon, &file, &target, &[], "not the passphrase"),
        7,
        "wrong passphrase; nothing was restored. Try again, or open it with your recovery key \
         (`interlude restore --recovery-key FILE`)",
    );
    refused(
        &restore(
            &daemon,
            &file,
            &target,
            &["--recovery-key"],
            "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH",
        ),
        7,
        "wrong recovery key",
    );
    is_untouched(&target);
    // The real file still restores.
    ok(restore(&daemon, &file, &target, &[], PASSPHRASE));
    assert!(target.join("db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_vault_is_replaced_only_with_replace_and_never_under_a_running_daemon() {
    let (mut daemon, _) = with_reflections(30).await;
    let file = daemon.tmp_dir().join("vault.ilbackup");
    ok(daemon.cli(&["backup", file.to_str().unwrap()]));
    let in_backup = all_reflections(&daemon.socket()).await;
    // Written after the backup: a restore takes the vault back to before it.
    let mut timeline =
        TimelineClient::new(interlude_proto::connect(&daemon.socket()).await.unwrap());
    timeline
        .add_reflection(note("after the backup".into()))
        .await
        .unwrap();
    let data_dir = daemon.data_dir();
    std::fs::create_dir_all(data_dir.join("models")).unwrap();
    std::fs::write(data_dir.join("models").join("kept"), b"weights").unwrap();
    let listing = |dir: &Path| {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing(&data_dir);
    refused(
        &restore(&daemon, &file, &data_dir, &[], PASSPHRASE),
        6,
        "already holds a vault",
    );
    refused(
        &restore(&daemon, &file, &data_dir, &["--replace"], PASSPHRASE),
        1,
        "interluded is running",
    );
    assert_eq!(listing(&data_dir), before);
    daemon.stop();
    // A damaged backup with --replace leaves the old vault as it was.
    let mut damaged = std::fs::read(&file).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x80;
    let damaged_file = daemon.tmp_dir().join("damaged.ilbackup");
    std::fs::write(&damaged_file, damaged).unwrap();
    refused(
        &restore(
            &daemon,
            &damaged_file,
            &data_dir,
            &["--replace"],
            PASSPHRASE,
        ),
        9,
        "damaged",
    );
    assert_eq!(listing(&data_dir), before);
    ok(restore(
        &daemon,
        &file,
        &data_dir,
        &["--replace"],
        PASSPHRASE,
    ));
    assert_eq!(
        std::fs::read(data_dir.join("models").join("kept")).unwrap(),
        b"weights"
    );
    daemon.launch();
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    DaemonClient::new(channel)
        .unlock(UnlockRequest {
            secret: Some(unlock_request::Secret::Passphrase(PASSPHRASE.into())),
        })
        .await
        .unwrap();
    assert_eq!(all_reflections(&daemon.socket()).await, in_backup);
}
