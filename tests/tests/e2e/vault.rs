//! The vault: creation, locking, unlocking, the recovery key, and capture while locked.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use interlude_e2e::{PASSPHRASE, TestDaemon, note};
use interlude_proto::v1::{self, change_passphrase_request, unlock_request};
use tonic::Code;

fn passphrase(p: &str) -> Option<unlock_request::Secret> {
    Some(unlock_request::Secret::Passphrase(p.into()))
}

#[tokio::test]
async fn the_daemon_starts_uninitialised_and_says_to_run_init() {
    let daemon = TestDaemon::start().await;
    let status = daemon
        .daemon()
        .status(v1::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.vault(), v1::VaultState::Uninitialised);
    let err = daemon
        .timeline()
        .add_reflection(note("before init"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("interlude init"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_restarted_daemon_is_locked_and_reads_say_how_to_unlock() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let id = daemon.add("kept across restarts").await.id;
    let daemon = daemon.restart().await;
    let status = daemon
        .daemon()
        .status(v1::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.vault(), v1::VaultState::Locked);
    let err = daemon
        .timeline()
        .get_reflection(v1::GetReflectionRequest { id: id.clone() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(err.message(), "locked: run `interlude unlock`");
    let err = daemon
        .timeline()
        .list_reflections(v1::ListReflectionsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    daemon.unlock().await;
    let got = daemon.get(&id).await;
    assert_eq!(got.text, "kept across restarts");
}

#[tokio::test]
async fn a_second_init_is_refused_and_the_first_passphrase_still_works() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let id = daemon.add("before the second init").await.id;
    let err = daemon
        .daemon()
        .init(v1::InitRequest {
            passphrase: "another passphrase".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    daemon.lock().await;
    daemon.unlock().await;
    let got = daemon.get(&id).await;
    assert_eq!(got.text, "before the second init");
}

#[tokio::test]
async fn a_short_passphrase_is_refused_at_init() {
    let daemon = TestDaemon::start().await;
    let err = daemon
        .daemon()
        .init(v1::InitRequest {
            passphrase: "short".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("at least 8 characters"));
    let status = daemon
        .daemon()
        .status(v1::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.vault(), v1::VaultState::Uninitialised);
}

#[tokio::test]
async fn a_wrong_passphrase_is_refused_after_a_delay_and_the_vault_stays_locked() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    daemon.lock().await;
    let started = Instant::now();
    let err = daemon
        .daemon()
        .unlock(v1::UnlockRequest {
            secret: passphrase("not the passphrase"),
        })
        .await
        .unwrap_err();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "a wrong guess must cost time"
    );
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(err.message().contains("wrong passphrase"));
    let status = daemon
        .daemon()
        .status(v1::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.vault(), v1::VaultState::Locked);
}

#[tokio::test]
async fn the_vault_locks_itself_after_the_idle_timeout() {
    let daemon = TestDaemon::start_with(|c| c.idle_lock_minutes = 0.5 / 60.0).await;
    daemon.init().await;
    let id = daemon.add("read soon").await.id;
    daemon
        .timeline()
        .get_reflection(v1::GetReflectionRequest { id: id.clone() })
        .await
        .unwrap();
    let mut locked = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let status = daemon
            .daemon()
            .status(v1::StatusRequest {})
            .await
            .unwrap()
            .into_inner();
        if status.vault() == v1::VaultState::Locked {
            locked = true;
            break;
        }
    }
    assert!(
        locked,
        "the vault should lock itself after half a second unused"
    );
    let err = daemon
        .timeline()
        .get_reflection(v1::GetReflectionRequest { id })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn the_recovery_key_unlocks_and_sets_a_new_passphrase() {
    let daemon = TestDaemon::start().await;
    let recovery_key = daemon.init().await;
    let id = daemon.add("recoverable").await.id;
    daemon.lock().await;
    let secret = Some(unlock_request::Secret::RecoveryKey(
        recovery_key.to_lowercase().replace('-', " "),
    ));
    daemon
        .daemon()
        .unlock(v1::UnlockRequest { secret })
        .await
        .unwrap();
    daemon.lock().await;
    daemon
        .daemon()
        .change_passphrase(v1::ChangePassphraseRequest {
            current: Some(change_passphrase_request::Current::RecoveryKey(
                recovery_key.clone(),
            )),
            new_passphrase: "a brand new passphrase".into(),
        })
        .await
        .unwrap();
    let err = daemon
        .daemon()
        .unlock(v1::UnlockRequest {
            secret: passphrase(PASSPHRASE),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    daemon
        .daemon()
        .unlock(v1::UnlockRequest {
            secret: passphrase("a brand new passphrase"),
        })
        .await
        .unwrap();
    let got = daemon.get(&id).await;
    assert_eq!(got.text, "recoverable");
}

#[tokio::test]
async fn changing_the_passphrase_needs_the_current_one() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let change = |current: &str| v1::ChangePassphraseRequest {
        current: Some(change_passphrase_request::Current::Passphrase(
            current.into(),
        )),
        new_passphrase: "the next passphrase".into(),
    };
    let err = daemon
        .daemon()
        .change_passphrase(change("a wrong guess"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    daemon
        .daemon()
        .change_passphrase(change(PASSPHRASE))
        .await
        .unwrap();
    let daemon = daemon.restart().await;
    daemon
        .daemon()
        .unlock(v1::UnlockRequest {
            secret: passphrase("the next passphrase"),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn capture_while_locked_is_sealed_and_joins_the_timeline_at_unlock() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    daemon
        .vocabulary()
        .add_term(v1::AddTermRequest {
            kind: v1::TermKind::Part.into(),
            word: "the critic".into(),
            note: String::new(),
        })
        .await
        .unwrap();
    daemon.lock().await;
    let added = daemon.add("11 pm and the critic is loud").await;
    assert!(added.sealed, "a reflection captured while locked is sealed");
    let status = daemon
        .daemon()
        .status(v1::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.sealed_pending, 1);
    // A restart in between must not lose it.
    let daemon = daemon.restart().await;
    let unlocked = daemon.unlock().await;
    assert_eq!(unlocked.unsealed, 1);
    let got = daemon.get(&added.id).await;
    assert_eq!(got.text, "11 pm and the critic is loud");
    assert_eq!(
        got.term_ids.len(),
        1,
        "vocabulary is matched when the reflection is opened"
    );
    let status = daemon
        .daemon()
        .status(v1::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.sealed_pending, 0);
}
