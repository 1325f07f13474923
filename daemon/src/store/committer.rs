//! Group commit led by the writers themselves.
//!
//! The first writer to arrive while no commit is running becomes the leader: on its own thread
//! it appends its ops and those of everyone who queued meanwhile to the journal, makes them
//! durable with one `fdatasync`, applies them to sled, answers the others, and hands the lead to
//! the next in line. One writer alone never waits for another thread to wake up; 32 writers
//! share one sync. Compactions and checkpoints take the same journal lock, so no write slips
//! between a copy and its swap.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use super::journal::Journal;
use super::{Op, Shared, StoreError, StoreOptions, apply, checkpoint, compact, current};

/// Commits taken into one sync at most; bounds the latency of the first in line.
const MAX_GROUP: usize = 512;

pub struct Committer {
    handles: Shared,
    dir: PathBuf,
    options: StoreOptions,
    /// `None` once the store is closed.
    journal: Mutex<Option<Journal>>,
    line: Mutex<Line>,
}

/// Writers waiting for the current leader, and whether there is one.
#[derive(Default)]
struct Line {
    leading: bool,
    waiting: Vec<Waiting>,
}

struct Waiting {
    ops: Vec<Op>,
    turn: oneshot::Sender<Turn>,
}

enum Turn {
    /// A leader committed these ops.
    Done(Result<(), StoreError>),
    /// Lead the next group, starting with these ops.
    Lead(Vec<Op>),
}

impl Committer {
    pub fn new(
        handles: Shared,
        dir: PathBuf,
        options: StoreOptions,
        journal: Journal,
    ) -> Committer {
        Committer {
            handles,
            dir,
            options,
            journal: Mutex::new(Some(journal)),
            line: Mutex::default(),
        }
    }

    /// Returns once `ops` are durable and applied.
    pub async fn commit(self: &Arc<Self>, ops: Vec<Op>) -> Result<(), StoreError> {
        let queued = {
            let mut line = lock(&self.line);
            if line.leading {
                let (turn, my_turn) = oneshot::channel();
                line.waiting.push(Waiting { ops, turn });
                Err(my_turn)
            } else {
                line.leading = true;
                Ok(ops)
            }
        };
        let ops = match queued {
            Ok(ops) => ops,
            Err(my_turn) => match my_turn.await.map_err(|_| StoreError::Closed)? {
                Turn::Done(result) => return result,
                Turn::Lead(ops) => ops,
            },
        };
        let this = self.clone();
        // Leading runs to the end even if this caller goes away: others wait on it.
        run_blocking(move || this.lead(ops)).await
    }

    /// Commits right away, outside any runtime (migrations at start-up).
    pub fn commit_now(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        let mut journal = lock(&self.journal);
        let journal = journal.as_mut().ok_or(StoreError::Closed)?;
        self.write_group(journal, &[&ops])
            .pop()
            .unwrap_or(Err(StoreError::Closed))
    }

    /// See [`super::Store::compact`].
    pub async fn compact(self: &Arc<Self>) -> Result<(), StoreError> {
        let this = self.clone();
        run_blocking(move || {
            let mut journal = lock(&this.journal);
            let journal = journal.as_mut().ok_or(StoreError::Closed)?;
            compact::run(&this.handles, &this.dir, &this.options, journal)
        })
        .await
    }

    /// Folds the journal into sled and refuses later commits.
    pub fn close(&self) -> Result<(), StoreError> {
        match lock(&self.journal).take() {
            Some(mut journal) => checkpoint(
                &current(&self.handles).db,
                &self.dir.join("db"),
                &mut journal,
            ),
            None => Ok(()),
        }
    }

    /// Commits `own` with everyone waiting, then passes the lead on (even if this panics, so
    /// the line never stalls). Returns `own`'s result.
    fn lead(&self, own: Vec<Op>) -> Result<(), StoreError> {
        let _pass_on = PassTheLead(self);
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
                    self.checkpoint_if_large(journal);
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

    fn pass_the_lead(&self) {
        let mut line = lock(&self.line);
        while !line.waiting.is_empty() {
            let next = line.waiting.remove(0);
            // A writer that went away cannot lead; its ops were never acknowledged.
            if next.turn.send(Turn::Lead(next.ops)).is_ok() {
                return;
            }
        }
        line.leading = false;
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

    fn checkpoint_if_large(&self, journal: &mut Journal) {
        if journal.len() > self.options.checkpoint_bytes
            && let Err(err) = checkpoint(&current(&self.handles).db, &self.dir.join("db"), journal)
        {
            // The journal still holds everything; the next checkpoint tries again.
            tracing::error!(error = %err, "checkpoint failed");
        }
    }
}

struct PassTheLead<'a>(&'a Committer);

impl Drop for PassTheLead<'_> {
    fn drop(&mut self) {
        self.0.pass_the_lead();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs blocking disk work without stalling the runtime: in place on a multi-thread runtime's
/// worker (no hand-off to another thread, so no wake-up on the write path), on the blocking
/// pool otherwise.
async fn run_blocking<F>(work: F) -> Result<(), StoreError>
where
    F: FnOnce() -> Result<(), StoreError> + Send + 'static,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::{Op, Store, StoreOptions, Tree};

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
