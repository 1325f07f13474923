//! Group commit led by the writers themselves.
//!
//! The first writer to arrive while no commit is running becomes the leader: on its own thread
//! it appends its ops and those of everyone who queued meanwhile to the journal, makes them
//! durable with one `fdatasync`, applies them to sled, answers the others, and hands the lead to
//! the next in line. One writer alone never waits for another thread to wake up; 32 writers
//! share one sync. Compactions and rotations take the same journal lock, so no write slips
//! between a copy and its swap.
//!
//! The lead is a value ([`Lead`]) whose `Drop` passes it on. A writer whose caller goes away
//! (a client cancelling: hyper drops the handler) drops the lead with its future, or the channel
//! drops it unread, and either way the next writer in line leads: the lead can never be lost.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use super::journal::Journal;
use super::{Op, Shared, StoreError, StoreOptions, apply, compact, current, flush, rotate};

/// Commits taken into one sync at most; bounds the latency of the first in line.
const MAX_GROUP: usize = 512;

pub struct Committer {
    handles: Shared,
    dir: PathBuf,
    options: StoreOptions,
    /// `None` once the store is closed.
    journal: Mutex<Option<Journal>>,
    /// The snapshot's size: the journal may grow as large before a rotation rewrites it.
    snapshot_bytes: AtomicU64,
    line: Mutex<Line>,
    /// Backups reading the snapshot and the journal: while there are any, nothing rotates
    /// (which would overwrite both with zeros); the journal just grows a little longer.
    pins: Arc<AtomicUsize>,
}

/// Writers waiting for the current leader, and whether there is one.
#[derive(Default)]
struct Line {
    /// True while a [`Lead`] exists (held by a leader or on its way to the next one).
    leading: bool,
    waiting: VecDeque<Waiting>,
}

struct Waiting {
    ops: Vec<Op>,
    turn: oneshot::Sender<Turn>,
}

enum Turn {
    /// A leader committed these ops.
    Done(Result<(), StoreError>),
    /// Lead the next group, starting with these ops.
    Lead(Lead, Vec<Op>),
}

/// The right to lead. There is at most one; dropping it, wherever that happens (after leading,
/// in a panic, in a cancelled writer's future, unread in its channel), passes it to the next
/// writer in line or ends the line.
struct Lead(Option<Arc<Committer>>);

impl Drop for Lead {
    fn drop(&mut self) {
        if let Some(committer) = self.0.take() {
            committer.pass_the_lead();
        }
    }
}

impl Committer {
    pub fn new(
        handles: Shared,
        dir: PathBuf,
        options: StoreOptions,
        journal: Journal,
        snapshot_bytes: u64,
    ) -> Committer {
        Committer {
            handles,
            dir,
            options,
            journal: Mutex::new(Some(journal)),
            snapshot_bytes: AtomicU64::new(snapshot_bytes),
            line: Mutex::default(),
            pins: Arc::default(),
        }
    }

    /// Returns once `ops` are durable and applied.
    pub async fn commit(self: &Arc<Self>, ops: Vec<Op>) -> Result<(), StoreError> {
        let queued = {
            let mut line = lock(&self.line);
            if line.leading {
                let (turn, my_turn) = oneshot::channel();
                line.waiting.push_back(Waiting { ops, turn });
                Err(my_turn)
            } else {
                line.leading = true;
                Ok(ops)
            }
        };
        let (lead, ops) = match queued {
            Ok(ops) => (Lead(Some(self.clone())), ops),
            Err(my_turn) => match my_turn.await.map_err(|_| StoreError::Closed)? {
                Turn::Done(result) => return result,
                Turn::Lead(lead, ops) => (lead, ops),
            },
        };
        let this = self.clone();
        // Leading runs to the end even if this caller goes away: others wait on it. Should the
        // work never run (a runtime shutting down), dropping the closure drops the lead.
        run_blocking(move || this.lead(ops, lead)).await
    }

    /// Commits right away, outside any runtime (migrations at start-up).
    pub fn commit_now(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        let mut journal = lock(&self.journal);
        let journal = journal.as_mut().ok_or(StoreError::Closed)?;
        self.write_group(journal, &[&ops])
            .pop()
            .unwrap_or(Err(StoreError::Closed))
    }

    /// See [`super::Store::compact`]. Waits for backups under way: compaction rotates.
    pub async fn compact(self: &Arc<Self>) -> Result<(), StoreError> {
        loop {
            let this = self.clone();
            let done = run_blocking_value(move || {
                let mut journal = lock(&this.journal);
                let journal = journal.as_mut().ok_or(StoreError::Closed)?;
                if this.pins.load(Ordering::SeqCst) > 0 {
                    return Ok(false);
                }
                let snapshot_bytes =
                    compact::run(&this.handles, &this.dir, &this.options, journal)?;
                this.snapshot_bytes.store(snapshot_bytes, Ordering::Relaxed);
                Ok(true)
            })
            .await?;
            if done {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Pins what a backup reads: under the journal's lock (no commit half-applied), the
    /// snapshot and the journal as they are now are opened, and no rotation runs until the
    /// returned value is dropped.
    pub fn pin(&self) -> Result<super::Pinned, StoreError> {
        let journal = lock(&self.journal);
        let journal = journal.as_ref().ok_or(StoreError::Closed)?;
        let pinned = super::Pinned::open(&self.dir, journal.len(), self.pins.clone())?;
        Ok(pinned)
    }

    /// Makes sled durable and refuses later commits. The journal is kept: it is emptied only
    /// by a rotation, once a snapshot holds what it holds.
    pub fn close(&self) -> Result<(), StoreError> {
        match lock(&self.journal).take() {
            Some(_journal) => flush(&current(&self.handles), &self.dir.join("db")),
            None => Ok(()),
        }
    }

    /// Commits `own` with everyone waiting, then passes the lead on by dropping `_lead` (even
    /// if this panics, so the line never stalls). Returns `own`'s result.
    fn lead(&self, own: Vec<Op>, _lead: Lead) -> Result<(), StoreError> {
        let followers: Vec<Waiting> = {
            let mut line = lock(&self.line);
            let n = line.waiting.len().min(MAX_GROUP - 1);
            line.waiting.drain(..n).collect()
        };
        let mut results = {
            let mut journal = lock(&self.journal);
            match journal.as_mut() {
                Some(journal) => {
                    let group: Vec<&[Op]> = std::iter::once(own.as_slice())
                        .chain(followers.iter().map(|f| f.ops.as_slice()))
                        .collect();
                    let results = self.write_group(journal, &group);
                    self.rotate_if_large(journal);
                    results
                }
                None => (0..=followers.len())
                    .map(|_| Err(StoreError::Closed))
                    .collect(),
            }
        };
        let own_result = results.remove(0);
        for (follower, result) in followers.into_iter().zip(results) {
            let _ = follower.turn.send(Turn::Done(result));
        }
        own_result
    }

    /// Hands the lead to the next writer in line, or ends the line. The line's lock is not held
    /// while sending: a lead dropped during the send comes back here.
    fn pass_the_lead(self: &Arc<Self>) {
        loop {
            let next = {
                let mut line = lock(&self.line);
                match line.waiting.pop_front() {
                    Some(next) => next,
                    None => {
                        line.leading = false;
                        return;
                    }
                }
            };
            let lead = Lead(Some(self.clone()));
            match next.turn.send(Turn::Lead(lead, next.ops)) {
                Ok(()) => return,
                // A writer that went away cannot lead; its ops were never acknowledged. Take
                // the lead back without letting its `Drop` recurse, and try the next one.
                Err(Turn::Lead(mut lead, _)) => {
                    lead.0 = None;
                }
                Err(Turn::Done(_)) => {}
            }
        }
    }
    /// One journal append and sync for the whole group; one result per commit.
    fn write_group(&self, journal: &mut Journal, group: &[&[Op]]) -> Vec<Result<(), StoreError>> {
        if let Err(err) = journal.append_durably(group) {
            tracing::error!(error = %err, commits = group.len(), "journal write failed; nothing acknowledged");
            return group
                .iter()
                .map(|_| {
                    Err(StoreError::NotDurable(std::io::Error::new(
                        err.kind(),
                        err.to_string(),
                    )))
                })
                .collect();
        }
        let handles = current(&self.handles);
        // Durable already; a sled failure here is repaired by replay at the next start.
        group
            .iter()
            .map(|ops| apply(&handles.trees, ops).map_err(StoreError::from))
            .collect()
    }

    /// Rotates once the journal is larger than both the configured size and the snapshot, so
    /// rewriting the snapshot costs at most as much again as the writes themselves.
    fn rotate_if_large(&self, journal: &mut Journal) {
        if self.pins.load(Ordering::SeqCst) > 0 {
            return;
        }
        let limit = self
            .options
            .checkpoint_bytes
            .max(self.snapshot_bytes.load(Ordering::Relaxed));
        if journal.len() <= limit {
            return;
        }
        match rotate(&current(&self.handles), &self.dir, journal) {
            Ok(len) => self.snapshot_bytes.store(len, Ordering::Relaxed),
            // The journal still holds everything; the next commit tries again.
            Err(err) => tracing::error!(error = %err, "rotation failed"),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// As [`run_blocking`], for work that returns a value.
async fn run_blocking_value<T, F>(work: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        Ok(_) => tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| StoreError::Closed)?,
        Err(_) => work(),
    }
}

/// Runs blocking disk work without stalling the runtime: in place on a multi-thread runtime's
/// worker (no hand-off to another thread, so no wake-up on the write path), on the blocking
/// pool otherwise.
async fn run_blocking<F>(work: F) -> Result<(), StoreError>
where
    F: FnOnce() -> Result<(), StoreError> + Send + 'static,
{
    run_blocking_value(work).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::super::{Op, Store, StoreOptions, Tree};
    use super::lock;

    fn put(n: u8) -> Op {
        Op::Put {
            tree: Tree::Sessions,
            key: vec![n],
            value: vec![n],
        }
    }

    /// hyper drops a handler when its client cancels (RST_STREAM): a writer handed the lead but
    /// gone before it runs again must not take the lead with it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_that_goes_away_after_being_handed_the_lead_does_not_stall_later_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let committer = store.inner.committer.clone();
        // Another writer is leading.
        lock(&committer.line).leading = true;
        let mut waiting = Box::pin(committer.commit(vec![put(1)]));
        let polled_once = tokio::time::timeout(Duration::ZERO, waiting.as_mut()).await;
        assert!(polled_once.is_err(), "queued behind the leader");
        // The leader finishes and hands the lead to the waiting writer, whose caller then goes
        // away before it is polled again.
        committer.pass_the_lead();
        drop(waiting);
        let later = tokio::time::timeout(Duration::from_secs(30), store.commit(vec![put(2)])).await;
        assert!(
            later.is_ok(),
            "a later write waited forever for a lost lead"
        );
        later.unwrap().unwrap();
        assert_eq!(store.get(Tree::Sessions, &[2]).unwrap(), Some(vec![2]));
        assert_eq!(
            store.get(Tree::Sessions, &[1]).unwrap(),
            None,
            "never acknowledged"
        );
    }

    #[test]
    fn many_concurrent_writers_are_all_committed_on_either_runtime() {
        for multi_thread in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let (store, _) = Store::open(dir.path(), &StoreOptions::default()).unwrap();
            let runtime = if multi_thread {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .build()
                    .unwrap()
            } else {
                tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap()
            };
            runtime.block_on(async {
                let writers: Vec<_> = (0..32u8)
                    .map(|w| {
                        let store = store.clone();
                        tokio::spawn(async move {
                            for n in 0..20u8 {
                                let put = Op::Put {
                                    tree: Tree::Sessions,
                                    key: vec![w, n],
                                    value: vec![w ^ n],
                                };
                                store.commit(vec![put]).await.unwrap();
                            }
                        })
                    })
                    .collect();
                for writer in writers {
                    writer.await.unwrap();
                }
            });
            assert_eq!(store.len(Tree::Sessions), 32 * 20);
            store.close().unwrap();
            drop(store);
            let (store, _) = Store::open(dir.path(), &StoreOptions::default()).unwrap();
            assert_eq!(
                store.len(Tree::Sessions),
                32 * 20,
                "all durable across a reopen"
            );
            assert_eq!(
                store.get(Tree::Sessions, &[3, 4]).unwrap(),
                Some(vec![3 ^ 4])
            );
        }
    }
}
