//! Group commit: one thread owns the journal; every commit waiting while an `fdatasync` runs
//! joins the next one, so 32 concurrent writers cost about one sync, not 32. Compactions run on
//! the same thread, so no write can slip between the copy and the swap.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::journal::Journal;
use super::{Op, Shared, StoreError, StoreOptions, apply, checkpoint, compact, current};

/// Commits taken into one sync at most; bounds the latency of the first in line.
const MAX_GROUP: usize = 512;

pub type Done = oneshot::Receiver<Result<(), StoreError>>;
type Reply = oneshot::Sender<Result<(), StoreError>>;

pub enum Work {
    Commit(Vec<Op>),
    Compact,
}

struct Request {
    work: Work,
    reply: Reply,
}

pub struct Committer {
    requests: mpsc::Sender<Request>,
    thread: JoinHandle<Result<(), StoreError>>,
}

impl Committer {
    pub fn spawn(handles: Shared, dir: PathBuf, options: StoreOptions, journal: Journal) -> std::io::Result<Committer> {
        let (requests, incoming) = mpsc::channel();
        let worker = Worker { handles, dir, options, journal };
        let thread = std::thread::Builder::new().name("store-commit".into()).spawn(move || worker.run(incoming))?;
        Ok(Committer { requests, thread })
    }

    pub fn submit(&self, work: Work) -> Result<Done, StoreError> {
        let (reply, done) = oneshot::channel();
        self.requests.send(Request { work, reply }).map_err(|_| StoreError::Closed)?;
        Ok(done)
    }

    /// Finishes queued work, checkpoints, and joins the thread.
    pub fn stop(self) -> Result<(), StoreError> {
        drop(self.requests);
        self.thread.join().unwrap_or(Err(StoreError::Closed))
    }
}

struct Worker {
    handles: Shared,
    dir: PathBuf,
    options: StoreOptions,
    journal: Journal,
}

impl Worker {
    fn run(mut self, incoming: mpsc::Receiver<Request>) -> Result<(), StoreError> {
        let mut next = incoming.recv().ok();
        while let Some(first) = next.take() {
            let (ops, reply) = match first.work {
                Work::Compact => {
                    let _ = first.reply.send(compact::run(&self.handles, &self.dir, &self.options, &mut self.journal));
                    next = incoming.recv().ok();
                    continue;
                }
                Work::Commit(ops) => (ops, first.reply),
            };
            let mut group = vec![(ops, reply)];
            while group.len() < MAX_GROUP {
                match incoming.try_recv() {
                    Ok(Request { work: Work::Commit(ops), reply }) => group.push((ops, reply)),
                    Ok(compaction) => {
                        next = Some(compaction);
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.commit_group(group);
            if self.journal.len() > self.options.checkpoint_bytes
                && let Err(err) = checkpoint(&current(&self.handles).db, &self.dir.join("db"), &mut self.journal)
            {
                // The journal still holds everything; the next checkpoint tries again.
                tracing::error!(error = %err, "checkpoint failed");
            }
            if next.is_none() {
                next = incoming.recv().ok();
            }
        }
        checkpoint(&current(&self.handles).db, &self.dir.join("db"), &mut self.journal)
    }

    fn commit_group(&mut self, group: Vec<(Vec<Op>, Reply)>) {
        let commits: Vec<&[Op]> = group.iter().map(|(ops, _)| ops.as_slice()).collect();
        if let Err(err) = self.journal.append_durably(&commits) {
            tracing::error!(error = %err, commits = group.len(), "journal write failed; nothing acknowledged");
            for (_, reply) in group {
                let _ = reply.send(Err(StoreError::NotDurable(std::io::Error::new(err.kind(), err.to_string()))));
            }
            return;
        }
        let handles = current(&self.handles);
        for (ops, reply) in group {
            // Durable already; a sled failure here is repaired by replay at the next start.
            let _ = reply.send(apply(&handles.trees, &ops).map_err(StoreError::from));
        }
    }
}
