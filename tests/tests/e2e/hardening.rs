//! Hardening: writes that never wedge when clients cancel, and responses that stay readable
//! with the largest legal entries.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use interlude_e2e::{TestDaemon, note};
use interlude_proto::v1;
use interlude_proto::v1::daemon_client::DaemonClient;
use interlude_proto::v1::timeline_client::TimelineClient;

/// A request still waiting after this long is wedged, not slow.
const WEDGED: Duration = Duration::from_secs(60);
const CLIENTS: u64 = 64;
const WRITING_FOR: Duration = Duration::from_secs(5);

/// xorshift64*: random enough for when to cancel, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[derive(Default)]
struct ClientRun {
    acknowledged: Vec<String>,
    cancelled: usize,
    /// Of the requests that were not cancelled.
    latencies: Vec<Duration>,
}

/// One client on its own connection: writes until `until`, cancelling about one request in four
/// at a random moment within its first 3 ms.
async fn write_and_cancel(daemon_socket: std::path::PathBuf, c: u64, until: Instant) -> ClientRun {
    let channel = interlude_proto::connect(&daemon_socket).await.unwrap();
    let timeline = TimelineClient::new(channel);
    let seed = u64::from(std::process::id()) ^ (c + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut rng = Rng(seed | 1);
    let mut run = ClientRun::default();
    let mut n = 0u64;
    while Instant::now() < until {
        n += 1;
        let mut client = timeline.clone();
        let request = async move {
            client
                .add_reflection(note(&format!("load client {c} entry {n}")))
                .await
        };
        let started = Instant::now();
        if rng.next().is_multiple_of(4) {
            let after = Duration::from_micros(rng.next() % 3_000);
            match tokio::time::timeout(after, request).await {
                Ok(response) => run.acknowledged.push(response.unwrap().into_inner().id),
                Err(_) => run.cancelled += 1,
            }
        } else {
            let response = tokio::time::timeout(WEDGED, request)
                .await
                .expect("a write waited past the bound: the commit line is wedged");
            run.latencies.push(started.elapsed());
            run.acknowledged.push(response.unwrap().into_inner().id);
        }
    }
    run
}

async fn every_id(daemon: &TestDaemon) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut page_token = String::new();
    loop {
        let page = daemon
            .timeline()
            .list_reflections(v1::ListReflectionsRequest {
                limit: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.damaged_ids.is_empty());
        ids.extend(page.reflections.into_iter().map(|r| r.id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        page_token = page.next_page_token;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_clients_cancelling_a_quarter_of_their_writes_never_wedge_the_rest_and_lose_nothing()
 {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let until = Instant::now() + WRITING_FOR;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| tokio::spawn(write_and_cancel(daemon.socket(), c, until)))
        .collect();
    let mut acknowledged = Vec::new();
    let mut cancelled = 0;
    let mut latencies = Vec::new();
    for client in clients {
        let run = client.await.unwrap();
        acknowledged.extend(run.acknowledged);
        cancelled += run.cancelled;
        latencies.extend(run.latencies);
    }
    latencies.sort();
    eprintln!(
        "FIGURES cancellation load: {CLIENTS} clients for {WRITING_FOR:?}: {} acknowledged, {cancelled} cancelled, \
         completed-request latency p50 {:?} p99 {:?} max {:?}",
        acknowledged.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
    );
    assert!(cancelled > 0, "some requests were cancelled");
    let info = tokio::time::timeout(
        WEDGED,
        DaemonClient::new(interlude_proto::connect(&daemon.socket()).await.unwrap())
            .info(v1::InfoRequest {}),
    )
    .await
    .expect("the daemon still answers");
    info.unwrap();
    let present = every_id(&daemon).await;
    let missing = acknowledged
        .iter()
        .filter(|id| !present.contains(*id))
        .count();
    assert_eq!(missing, 0, "acknowledged writes missing before a restart");

    let daemon = tokio::time::timeout(WEDGED, daemon.restart())
        .await
        .expect("the daemon stops and starts again after the load");
    daemon.unlock().await;
    let present = every_id(&daemon).await;
    let missing = acknowledged
        .iter()
        .filter(|id| !present.contains(*id))
        .count();
    assert_eq!(missing, 0, "acknowledged writes missing after a restart");
}

/// The longest text a reflection may have under the default config (64 KiB), with a marker so
/// that each one differs.
fn longest_text(n: usize) -> String {
    let marker = format!("entry {n} ");
    let mut text = marker.clone();
    text.push_str(&"x".repeat(64 * 1024 - marker.len()));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_the_longest_reflections_fits_a_client_with_tonics_default_limit() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    // 100 × 64 KiB is 6.4 MiB: over tonic's 4 MiB default were it one response.
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let mut timeline = daemon.timeline();
            tokio::spawn(async move {
                for n in (w..100).step_by(4) {
                    timeline
                        .add_reflection(note(&longest_text(n)))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let mut seen = HashSet::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = daemon
            .timeline()
            .list_reflections(v1::ListReflectionsRequest {
                limit: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .expect("a page a default client can decode")
            .into_inner();
        pages += 1;
        assert!(!page.reflections.is_empty());
        seen.extend(page.reflections.into_iter().map(|r| r.id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(seen.len(), 100, "every reflection listed once");
    assert!(pages > 1, "the listing was split by size, not by count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reflection_edited_sixty_four_times_at_the_longest_length_still_reads_with_its_first_version()
 {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let first = longest_text(0);
    let id = daemon.add(&first).await.id;
    // 65 versions of 64 KiB are over 4 MiB: one response could not carry them all.
    for n in 1..=64 {
        daemon
            .timeline()
            .edit_reflection(v1::EditReflectionRequest {
                id: id.clone(),
                text: Some(longest_text(n)),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let reflection = daemon.get(&id).await;
    assert_eq!(reflection.text, longest_text(64));
    assert_eq!(
        reflection.history.first().map(|r| r.text.as_str()),
        Some(first.as_str()),
        "the first version is kept"
    );
    assert_eq!(
        reflection.history.last().map(|r| r.text.clone()),
        Some(longest_text(63)),
        "the version just replaced is kept"
    );
    assert!(
        reflection.history.len() < 60,
        "older versions between were compacted"
    );
    let listed = daemon
        .timeline()
        .list_reflections(v1::ListReflectionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.reflections.len(), 1);
}

#[tokio::test]
async fn the_clients_own_check_in_question_is_not_shown_while_locked() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let question = "Is the critic louder after calls with my father?";
    daemon
        .checkins()
        .add_schedule(v1::AddScheduleRequest {
            when: Some(v1::When {
                kind: Some(v1::when::Kind::Daily("21:00".into())),
            }),
            prompt: question.into(),
            id: String::new(),
        })
        .await
        .unwrap();
    let prompts = |schedules: Vec<v1::Schedule>| -> Vec<String> {
        schedules.into_iter().map(|s| s.prompt).collect()
    };
    let unlocked = daemon
        .checkins()
        .list_schedules(v1::ListSchedulesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(prompts(unlocked.schedules).iter().any(|p| p == question));
    daemon.lock().await;
    let locked = daemon
        .checkins()
        .list_schedules(v1::ListSchedulesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        !prompts(locked.schedules)
            .iter()
            .any(|p| p.contains("critic")),
        "the client's own words are readable only unlocked"
    );
}

#[tokio::test]
async fn a_file_at_the_socket_path_that_is_not_a_socket_is_never_deleted() {
    let root = tempfile::tempdir().unwrap();
    let config = interlude_e2e::test_config(root.path());
    let socket = config.socket_path();
    let run_dir = socket.parent().unwrap();
    std::fs::create_dir_all(run_dir).unwrap();
    std::fs::set_permissions(run_dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    std::fs::write(&socket, "someone's notes").unwrap();
    let err = interlude_daemon::Daemon::start(config).await.err().unwrap();
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&socket).unwrap(), "someone's notes");
}

#[tokio::test]
async fn an_idle_lock_of_infinite_or_huge_minutes_is_a_config_error_not_a_panic() {
    for minutes in [f64::INFINITY, f64::NAN, 1e300, -1.0] {
        let root = tempfile::tempdir().unwrap();
        let mut config = interlude_e2e::test_config(root.path());
        config.idle_lock_minutes = minutes;
        let err = interlude_daemon::Daemon::start(config).await.err().unwrap();
        assert!(err.to_string().contains("idle_lock_minutes"), "{err}");
    }
}

/// A fault-injection run: `INTERLUDE_FAULT_SHIM` names an `LD_PRELOAD` library that makes the
/// journal's `fdatasync` fail with EIO and its `write` with ENOSPC while the file named by
/// `FAILSYNC_FLAG` exists (`tests/fault/failsync.c`: `gcc -shared -fPIC -o libfailsync.so
/// tests/fault/failsync.c -ldl`). Writers keep writing while
/// the faults come and go; afterwards, started without the shim, every acknowledged write is
/// there, and every refused one got a clear error. Skips loudly without the shim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a fault-injection shim: INTERLUDE_FAULT_SHIM=/path/libfailsync.so"]
async fn failing_syncs_and_writes_lose_nothing_acknowledged_and_say_so() {
    let Some(shim) = std::env::var_os("INTERLUDE_FAULT_SHIM") else {
        eprintln!("SKIPPED: INTERLUDE_FAULT_SHIM is not set");
        return;
    };
    let mut daemon = interlude_e2e::RealDaemon::prepare();
    let flag = daemon.root.path().join("failing");
    daemon.env = vec![
        ("LD_PRELOAD".into(), shim.to_string_lossy().into_owned()),
        ("FAILSYNC_FLAG".into(), flag.to_string_lossy().into_owned()),
    ];
    daemon.spawn();
    daemon.wait_ready(Duration::from_secs(30));
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    DaemonClient::new(channel.clone())
        .init(v1::InitRequest {
            passphrase: interlude_e2e::PASSPHRASE.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut timeline = TimelineClient::new(channel.clone());
    let (mut acknowledged, mut refused) = (Vec::new(), Vec::new());
    for round in 0..20 {
        if round % 2 == 1 {
            std::fs::write(&flag, "").unwrap();
        } else {
            let _ = std::fs::remove_file(&flag);
        }
        for n in 0..25 {
            match timeline
                .add_reflection(note(&format!("fault round {round} entry {n}")))
                .await
            {
                Ok(r) => acknowledged.push(r.into_inner().id),
                Err(status) => refused.push(status),
            }
        }
    }
    let _ = std::fs::remove_file(&flag);
    eprintln!(
        "FIGURES fault injection: {} acknowledged, {} refused while fdatasync/write failed",
        acknowledged.len(),
        refused.len()
    );
    assert!(!refused.is_empty(), "the shim made some writes fail");
    for status in &refused {
        assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
        assert!(status.message().contains("nothing was saved"), "{status:?}");
    }
    daemon.signal("TERM");
    let mut daemon = tokio::task::spawn_blocking(move || {
        let mut daemon = daemon;
        daemon.wait();
        daemon
    })
    .await
    .unwrap();
    daemon.env.clear();
    daemon.spawn();
    daemon.wait_ready(Duration::from_secs(30));
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let secret = Some(v1::unlock_request::Secret::Passphrase(
        interlude_e2e::PASSPHRASE.into(),
    ));
    DaemonClient::new(channel.clone())
        .unlock(v1::UnlockRequest { secret })
        .await
        .unwrap();
    let mut timeline = TimelineClient::new(channel);
    for id in acknowledged {
        timeline
            .get_reflection(v1::GetReflectionRequest { id })
            .await
            .expect("an acknowledged write is there after the faults");
    }
}
