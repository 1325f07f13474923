//! Deleting is erasing: the deleted reflection's stored bytes are nowhere under the data
//! directory afterwards, not in the database, not in the journal, not in a file left behind.

#![allow(clippy::unwrap_used)]

use interlude_daemon::store::{Store, StoreOptions, Tree};
use interlude_e2e::{TestDaemon, files_containing, ulid_key};
use interlude_proto::v1;
use tonic::Code;

/// The stored value's nonce: 24 random bytes that appear nowhere else.
async fn stored_nonce(daemon: TestDaemon, id: &str) -> (TestDaemon, Vec<u8>) {
    let (root, config) = daemon.stop().await;
    let (dir, key) = (config.data_dir.clone(), ulid_key(id));
    let nonce = tokio::task::spawn_blocking(move || {
        let (store, _) = Store::open(&dir, &StoreOptions::default()).unwrap();
        let value = store.get(Tree::Reflections, &key).unwrap().unwrap();
        store.close().unwrap();
        value[1..25].to_vec()
    })
    .await
    .unwrap();
    assert!(
        !files_containing(&config.data_dir, &nonce).is_empty(),
        "the nonce is on disk before the delete"
    );
    let daemon = TestDaemon::start_in(root, config).await;
    daemon.unlock().await;
    (daemon, nonce)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_reflection_leaves_no_trace_on_disk() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let doomed = daemon.add("something I no longer want kept").await.id;
    let kept: Vec<String> = add_many(&daemon, 50).await;
    let (daemon, nonce) = stored_nonce(daemon, &doomed).await;
    // Written again since the restart: some of it sits in the journal, some in sled.
    daemon
        .timeline()
        .edit_reflection(v1::EditReflectionRequest {
            id: doomed.clone(),
            text: Some("edited before deletion".into()),
            ..Default::default()
        })
        .await
        .unwrap();

    daemon
        .timeline()
        .delete_reflection(v1::DeleteReflectionRequest { id: doomed.clone() })
        .await
        .unwrap();
    let leaks = files_containing(daemon.data_dir(), &nonce);
    assert!(leaks.is_empty(), "the deleted value is still in {leaks:?}");
    let err = daemon
        .timeline()
        .get_reflection(v1::GetReflectionRequest { id: doomed })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // Everything else survives the rewrite, and the store keeps working, across a restart.
    let after = daemon.add("written after the compaction").await.id;
    let daemon = daemon.restart().await;
    daemon.unlock().await;
    for id in kept.iter().chain([&after]) {
        daemon
            .timeline()
            .get_reflection(v1::GetReflectionRequest { id: id.clone() })
            .await
            .unwrap();
    }
    let leftovers: Vec<_> = std::fs::read_dir(daemon.data_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("db.") || name.starts_with("snapshot."))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no old database or snapshot is left behind: {leftovers:?}"
    );
}

async fn add_many(daemon: &TestDaemon, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(daemon.add(&format!("kept {i}")).await.id);
    }
    ids
}
