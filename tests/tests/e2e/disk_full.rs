//! A full disk refuses new writes with a clear message, loses nothing acknowledged, and the
//! daemon carries on once there is room again. Needs root to mount a small tmpfs; skips loudly
//! otherwise.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use interlude_e2e::{TestDaemon, note, test_config};
use interlude_proto::v1;
use tonic::Code;

/// A tiny tmpfs, unmounted on drop.
struct SmallDisk {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).unwrap();
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={megabytes}m,mode=0700"),
                "tmpfs",
            ])
            .arg(&path)
            .output()
            .is_ok_and(|o| o.status.success());
        mounted.then_some(SmallDisk { path, _dir: dir })
    }

    /// Fills the disk up to `leave` free bytes with a file that can be removed later.
    fn fill(&self, leave: u64) -> PathBuf {
        let filler = self.path.join("filler");
        let free = free_bytes(&self.path);
        std::fs::write(&filler, vec![0u8; free.saturating_sub(leave) as usize]).unwrap();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn free_bytes(path: &Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_clearly_and_keeps_what_was_acknowledged() {
    let Some(disk) = SmallDisk::mount(8) else {
        eprintln!(
            "SKIPPED: could not mount a small tmpfs (needs root); the full-disk path is untested here"
        );
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let mut config = test_config(root.path());
    config.data_dir = disk.path.join("data");
    let daemon = TestDaemon::start_in(root, config).await;
    daemon.init().await;
    let filler = disk.fill(96 * 1024);

    let mut acked = Vec::new();
    let mut refusal = None;
    for n in 0..10_000 {
        let text = format!("entry {n}: {}", "words that take room ".repeat(20));
        match daemon.timeline().add_reflection(note(&text)).await {
            Ok(added) => acked.push((added.into_inner().id, text)),
            Err(status) => {
                refusal = Some(status);
                break;
            }
        }
    }
    let refusal = refusal.expect("the disk should fill up");
    assert_eq!(refusal.code(), Code::ResourceExhausted, "{refusal:?}");
    assert!(
        refusal.message().contains("disk full"),
        "{}",
        refusal.message()
    );
    assert!(!acked.is_empty());
    for (id, text) in &acked {
        let got = daemon
            .timeline()
            .get_reflection(v1::GetReflectionRequest { id: id.clone() })
            .await
            .unwrap();
        assert_eq!(&got.into_inner().text, text);
    }

    std::fs::remove_file(filler).unwrap();
    let after = daemon.add("room again").await;
    acked.push((after.id, "room again".into()));
    let daemon = daemon.restart().await;
    daemon.unlock().await;
    for (id, text) in &acked {
        let got = daemon
            .timeline()
            .get_reflection(v1::GetReflectionRequest { id: id.clone() })
            .await
            .unwrap();
        assert_eq!(
            &got.into_inner().text,
            text,
            "acknowledged before or after the disk was full"
        );
    }
}
