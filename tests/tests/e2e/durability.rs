//! Nothing acknowledged is ever lost: the real daemon is SIGKILLed at random moments, some of
//! them during start-up, while writers record every id it acknowledged; after a restart every
//! one of them is present and intact.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use interlude_e2e::{PASSPHRASE, RealDaemon, note};
use interlude_proto::v1::daemon_client::DaemonClient;
use interlude_proto::v1::timeline_client::TimelineClient;
use interlude_proto::v1::{self, unlock_request};

const WRITERS: usize = 4;

/// xorshift64*: enough randomness for kill timing, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn from_clock() -> Rng {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1;
        eprintln!("kill timing seed: {seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// What the daemon acknowledged: reflections it kept, and reflections it deleted.
#[derive(Default)]
struct Ledger {
    kept: Vec<(String, String)>,
    deleted: Vec<String>,
}

type Acked = Arc<Mutex<Ledger>>;

async fn unlock(daemon: &RealDaemon) {
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let secret = Some(unlock_request::Secret::Passphrase(PASSPHRASE.into()));
    DaemonClient::new(channel)
        .unlock(v1::UnlockRequest { secret })
        .await
        .unwrap();
}

/// Adds reflections until the daemon goes away, recording each acknowledged one. Writer 0 also
/// deletes every fifth of its entries (a deletion compacts the store, so kills land there too);
/// an entry whose deletion was not acknowledged is in an unknown state and is not checked.
async fn write_until_killed(
    daemon_socket: std::path::PathBuf,
    writer: usize,
    round: usize,
    acked: Acked,
) {
    let Ok(channel) = interlude_proto::connect(&daemon_socket).await else {
        return;
    };
    let mut timeline = TimelineClient::new(channel);
    for n in 0.. {
        let text = format!("round {round} writer {writer} entry {n}: the critic said it again");
        let id = match timeline.add_reflection(note(&text)).await {
            Ok(response) => response.into_inner().id,
            Err(_) => return,
        };
        if writer != 0 || n % 5 != 0 {
            acked.lock().unwrap().kept.push((id, text));
            continue;
        }
        match timeline
            .delete_reflection(v1::DeleteReflectionRequest { id: id.clone() })
            .await
        {
            Ok(_) => acked.lock().unwrap().deleted.push(id),
            Err(status) if status.code() == tonic::Code::FailedPrecondition => {
                acked.lock().unwrap().kept.push((id, text))
            }
            Err(_) => return,
        }
    }
}

async fn kill_repeatedly(rounds: usize) {
    let mut rng = Rng::from_clock();
    let mut daemon = RealDaemon::start();
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    DaemonClient::new(channel)
        .init(v1::InitRequest {
            passphrase: PASSPHRASE.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let acked: Acked = Arc::default();
    for round in 0..rounds {
        // Half the rounds write while locked (sealed capture), half while unlocked.
        if round % 2 == 0 {
            unlock(&daemon).await;
        }
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| tokio::spawn(write_until_killed(daemon.socket(), w, round, acked.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(5 + rng.below(60))).await;
        daemon.kill9();
        for writer in writers {
            writer.await.unwrap();
        }
        if round % 3 == 0 {
            // Killed again while starting up: replaying the journal, opening sled, binding.
            daemon.spawn();
            std::thread::sleep(Duration::from_micros(rng.below(30_000)));
            daemon.kill9();
        }
        daemon.spawn();
        daemon.wait_ready(Duration::from_secs(30));
    }
    unlock(&daemon).await;
    let ledger = std::mem::take(&mut *acked.lock().unwrap());
    assert!(
        ledger.kept.len() > rounds,
        "the writers should have been acknowledged many times ({})",
        ledger.kept.len()
    );
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let mut timeline = TimelineClient::new(channel);
    for (id, text) in &ledger.kept {
        let got = timeline
            .get_reflection(v1::GetReflectionRequest { id: id.clone() })
            .await;
        let got = got
            .unwrap_or_else(|e| panic!("acknowledged reflection {id} is missing: {e}"))
            .into_inner();
        assert_eq!(&got.text, text, "reflection {id} came back changed");
    }
    for id in &ledger.deleted {
        let got = timeline
            .get_reflection(v1::GetReflectionRequest { id: id.clone() })
            .await;
        assert_eq!(
            got.unwrap_err().code(),
            tonic::Code::NotFound,
            "acknowledged deletion of {id} was undone"
        );
    }
    let page = timeline
        .list_reflections(v1::ListReflectionsRequest {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        page.damaged_ids.is_empty(),
        "nothing is damaged: {:?}",
        page.damaged_ids
    );
    // How often sled refused its files (or was older than its snapshot) and was rebuilt.
    let log = std::fs::read_to_string(daemon.log_path()).unwrap_or_default();
    let rebuilt = log.matches("database damaged; moved aside").count();
    let sigkills = rounds + rounds.div_ceil(3);
    eprintln!(
        "{rounds} kill rounds, {sigkills} SIGKILLs: {} acknowledged reflections all present and intact, {} acknowledged deletions all gone; the database was rebuilt from the snapshot and journal {rebuilt} times",
        ledger.kept.len(),
        ledger.deleted.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_reflections_survive_kill_9() {
    kill_repeatedly(12).await;
}

/// The long run behind the README's figure: `cargo test -p interlude-e2e --test e2e durability:: -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: about 1,000 SIGKILLs"]
async fn acknowledged_reflections_survive_a_thousand_kill_9s() {
    kill_repeatedly(1000).await;
}
