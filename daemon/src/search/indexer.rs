//! The background indexer: follows timeline changes and the vault, embeds queued entries in
//! batches on the embedder thread, and stores their vectors. A write's acknowledgement never
//! waits for any of this.

use tokio::sync::mpsc::UnboundedReceiver;

use super::{Job, Search};
use crate::error::Error;
use crate::models::ModelError;
use crate::stopping::Stopping;
use crate::timeline::Changed;
use crate::timeline::vectors::ToEmbed;
use crate::vault::VaultState;

/// Texts per call to the model (the throughput sweet spot measured for all-MiniLM-L6-v2).
const BATCH: usize = 32;

/// Runs until the daemon stops: three loops, one per input.
/// Runs until the daemon stops; a batch being embedded and stored finishes first.
pub async fn run(search: Search, changes: UnboundedReceiver<Changed>, stopping: Stopping) {
    tokio::join!(
        follow_changes(search.clone(), changes, stopping.clone()),
        follow_vault(search.clone(), stopping.clone()),
        embed_queued(search, stopping),
    );
}

async fn follow_changes(
    search: Search,
    mut changes: UnboundedReceiver<Changed>,
    stopping: Stopping,
) {
    let stop = stopping.wait();
    tokio::pin!(stop);
    while let Some(change) = tokio::select! {
        change = changes.recv() => change,
        () = &mut stop => None,
    } {
        // Without the model nothing can be embedded: not queueing spares every write a read,
        // a decryption and a failed embedding on another thread. Whatever has no vector is
        // queued at the next unlock or `models reindex`, once the model is there.
        let embeddable = search.inner.models.installed();
        match change {
            Changed::Reflection(key) => {
                if embeddable {
                    search.enqueue([Job::Reflection(key)]);
                }
            }
            Changed::Session(key) => {
                // The edit removed the old insights' vectors from the store already.
                search.update_index(|index| index.remove_prefix(&key));
                if embeddable {
                    search.enqueue([Job::Session(key)]);
                }
            }
            Changed::ReflectionDeleted(key) | Changed::SessionDeleted(key) => {
                search.update_index(|index| index.remove_prefix(&key));
            }
        }
    }
}

/// Locking drops the queue and the decrypted index; unlocking queues whatever has no vector.
async fn follow_vault(search: Search, stopping: Stopping) {
    let mut states = search.inner.vault.subscribe();
    let stop = stopping.wait();
    tokio::pin!(stop);
    loop {
        let state = *states.borrow_and_update();
        if state == VaultState::Unlocked {
            let queued = search.catch_up();
            if queued > 0 {
                tracing::info!(count = queued, "entries queued for indexing");
            }
        } else {
            search.forget();
        }
        let changed = tokio::select! {
            changed = states.changed() => changed.is_ok(),
            () = &mut stop => false,
        };
        if !changed {
            return;
        }
    }
}

async fn embed_queued(search: Search, stopping: Stopping) {
    let stop = stopping.wait();
    tokio::pin!(stop);
    loop {
        let batch = tokio::select! {
            batch = next_batch(&search) => batch,
            () = &mut stop => return,
        };
        embed_batch(&search, batch).await;
        search.queue().in_flight = 0;
    }
}

async fn next_batch(search: &Search) -> Vec<Job> {
    loop {
        {
            let mut queue = search.queue();
            if !queue.jobs.is_empty() {
                let n = queue.jobs.len().min(BATCH);
                let batch: Vec<Job> = queue.jobs.drain(..n).collect();
                for job in &batch {
                    queue.queued.remove(job);
                }
                queue.in_flight = batch.len();
                return batch;
            }
        }
        search.inner.wake.notified().await;
    }
}

async fn embed_batch(search: &Search, batch: Vec<Job>) {
    let timeline = &search.inner.timeline;
    let mut items: Vec<ToEmbed> = Vec::new();
    for job in batch {
        let read = match job {
            Job::Reflection(key) => timeline
                .reflection_to_embed(&key)
                .map(|i| i.into_iter().collect()),
            Job::Session(key) => timeline.session_to_embed(&key),
        };
        match read {
            Ok(found) => items.extend(found),
            Err(Error::Locked) => {
                search.forget();
                return;
            }
            Err(err) => tracing::warn!(error = %err, "an entry could not be read for indexing"),
        }
    }
    if items.is_empty() {
        return;
    }
    let texts = items.iter().map(|i| i.text.clone()).collect();
    let vectors = match search.inner.models.embed(texts).await {
        Ok(vectors) => vectors,
        Err(err @ (ModelError::Absent { .. } | ModelError::Refused { .. })) => {
            // Nothing can be indexed until the model is fixed; search reports what is missing.
            tracing::warn!(error = %err, "indexing paused");
            search.queue().jobs.clear();
            search.queue().queued.clear();
            return;
        }
        Err(err) => {
            tracing::warn!(error = %err, "a batch could not be embedded");
            return;
        }
    };
    match timeline
        .put_vectors(items.into_iter().zip(vectors).collect())
        .await
    {
        Ok(stored) => search.update_index(|index| {
            for v in stored {
                index.upsert(v);
            }
        }),
        Err(Error::Locked) => search.forget(),
        Err(err) => tracing::warn!(error = %err, "vectors could not be stored"),
    }
}
