//! Damage on disk reads as an error, never as garbage and never as a panic; a database that
//! cannot be opened is moved aside and the user is told.

#![allow(clippy::unwrap_used)]

use interlude_daemon::store::{Op, Store, StoreOptions, Tree};
use interlude_e2e::{TestDaemon, ulid_key};
use interlude_proto::v1;
use tonic::Code;

/// Stops the daemon, edits the raw store with `change`, and starts it again, unlocked.
async fn tamper(daemon: TestDaemon, change: impl FnOnce(&Store) + Send + 'static) -> TestDaemon {
    let (root, config) = daemon.stop().await;
    let dir = config.data_dir.clone();
    tokio::task::spawn_blocking(move || {
        let (store, _) = Store::open(&dir, &StoreOptions::default()).unwrap();
        change(&store);
        store.close().unwrap();
    })
    .await
    .unwrap();
    let daemon = TestDaemon::start_in(root, config).await;
    daemon.unlock().await;
    daemon
}

fn put(store: &Store, tree: Tree, key: Vec<u8>, value: Vec<u8>) {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(store.commit(vec![Op::Put { tree, key, value }]))
        .unwrap();
}

#[tokio::test]
async fn swapped_values_read_as_data_loss_not_as_each_other() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let a = daemon.add("entry A").await.id;
    let b = daemon.add("entry B").await.id;
    let (ka, kb) = (ulid_key(&a), ulid_key(&b));
    let daemon = tamper(daemon, move |store| {
        let va = store.get(Tree::Reflections, &ka).unwrap().unwrap();
        let vb = store.get(Tree::Reflections, &kb).unwrap().unwrap();
        put(store, Tree::Reflections, ka, vb);
        put(store, Tree::Reflections, kb, va);
    })
    .await;
    for id in [&a, &b] {
        let err = daemon
            .timeline()
            .get_reflection(v1::GetReflectionRequest { id: id.clone() })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::DataLoss);
        assert!(err.message().contains("damaged"), "{}", err.message());
    }
    let page = daemon
        .timeline()
        .list_reflections(v1::ListReflectionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(page.reflections.is_empty());
    let mut damaged = page.damaged_ids;
    damaged.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(damaged, expected);
}

#[tokio::test]
async fn a_flipped_byte_reads_as_data_loss_and_the_rest_still_reads() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let hit = daemon.add("this one gets a bit flipped").await.id;
    let fine = daemon.add("this one is fine").await.id;
    let key = ulid_key(&hit);
    let daemon = tamper(daemon, move |store| {
        let mut value = store.get(Tree::Reflections, &key).unwrap().unwrap();
        let middle = value.len() / 2;
        value[middle] ^= 0x01;
        put(store, Tree::Reflections, key, value);
    })
    .await;
    let err = daemon
        .timeline()
        .get_reflection(v1::GetReflectionRequest { id: hit.clone() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DataLoss);
    let got = daemon.get(&fine).await;
    assert_eq!(got.text, "this one is fine");
    let page = daemon
        .timeline()
        .list_reflections(v1::ListReflectionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.reflections.len(), 1);
    assert_eq!(page.damaged_ids, [hit]);
}

#[tokio::test]
async fn a_database_that_cannot_be_opened_is_moved_aside_rebuilt_whole_and_the_user_is_told() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let before = daemon.add("written before the damage").await.id;
    // A restart folds the journal into sled: the entry is no longer only in the journal.
    let daemon = daemon.restart().await;
    daemon.unlock().await;
    let also_before = daemon
        .add("written after a restart, before the damage")
        .await
        .id;
    let (root, config) = daemon.stop().await;
    let db_dir = config.data_dir.join("db");
    for file in interlude_e2e::files_under(&db_dir) {
        let len = std::fs::metadata(&file).unwrap().len() as usize;
        std::fs::write(&file, vec![0xA5; len.max(64)]).unwrap();
    }
    let daemon = TestDaemon::start_in(root, config.clone()).await;
    let status = daemon
        .daemon()
        .status(v1::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    let notice = status.notices.join("\n");
    assert!(
        notice.contains("moved to") && notice.contains("db.damaged-"),
        "{notice}"
    );
    let moved: Vec<_> = std::fs::read_dir(&config.data_dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("db.damaged-"))
        .collect();
    assert_eq!(moved.len(), 1, "the damaged database is kept, not deleted");
    // The vault survives (its header is also kept outside the database): the passphrase still
    // opens it, and capture works again at once.
    assert_eq!(status.vault(), v1::VaultState::Locked);
    daemon.unlock().await;
    for id in [before, also_before] {
        daemon
            .timeline()
            .get_reflection(v1::GetReflectionRequest { id })
            .await
            .expect("nothing acknowledged before the damage is lost");
    }
    daemon.add("written after the damage").await;
}

/// One damaged session is skipped and named; the others list, and check-ins still load from
/// them.
#[tokio::test]
async fn a_damaged_session_is_skipped_and_reported_and_check_ins_still_load() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let add = |note: &'static str| {
        let mut sessions = daemon.sessions();
        async move {
            sessions
                .add_session(v1::AddSessionRequest {
                    note: note.into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .id
        }
    };
    let hit = add("this session gets a bit flipped").await;
    let fine = add("this session is fine").await;
    let key = ulid_key(&hit);
    let daemon = tamper(daemon, move |store| {
        let mut value = store.get(Tree::Sessions, &key).unwrap().unwrap();
        let middle = value.len() / 2;
        value[middle] ^= 0x01;
        put(store, Tree::Sessions, key, value);
    })
    .await;
    let listed = daemon
        .sessions()
        .list_sessions(v1::ListSessionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = listed.sessions.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids, [fine]);
    assert_eq!(listed.damaged_ids, [hit]);
    let pending = daemon
        .checkins()
        .list_pending(v1::ListPendingRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(pending.scheduling, "check-ins loaded despite the damage");
    assert!(pending.next_at.is_some());
}
