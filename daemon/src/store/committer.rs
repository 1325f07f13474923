//! Group commit: one thread owns the journal; every commit waiting while an `fdatasync` runs
//! joins the next one, so 32 concurrent writers cost about one sync, not 32.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::journal::Journal;
use super::{Op, StoreError, apply, checkpoint};

/// Commits taken into one sync at most; bounds the latency of the first in line.
const MAX_GROUP: usize = 512;

type Reply = oneshot::Sender<Result<(), StoreError>>;

struct Request {
    ops: Vec<Op>,
    reply: Reply,
}

pub struct Committer {
    requests: mpsc::Sender<Request>,
    thread: JoinHandle<Result<(), StoreError>>,
}

impl Committer {
    pub fn spawn(
        db: sled::Db,
        trees: Vec<sled::Tree>,
        db_path: PathBuf,
        journal: Journal,
        checkpoint_bytes: u64,
    ) -> std::io::Result<Committer> {
        let (requests, incoming) = mpsc::channel();
        let worker = Worker { db, trees, db_path, journal, checkpoint_bytes };
        let thread = std::thread::Builder::new().name("store-commit".into()).spawn(move || worker.run(incoming))?;
        Ok(Committer { requests, thread })
    }

    pub fn submit(&self, ops: Vec<Op>) -> Result<oneshot::Receiver<Result<(), StoreError>>, StoreError> {
        let (reply, done) = oneshot::channel();
        self.requests.send(Request { ops, reply }).map_err(|_| StoreError::Closed)?;
        Ok(done)
    }

    /// Finishes queued commits, checkpoints, and joins the thread.
    pub fn stop(self) -> Result<(), StoreError> {
        drop(self.requests);
        self.thread.join().unwrap_or(Err(StoreError::Closed))
    }
}

struct Worker {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    db_path: PathBuf,
    journal: Journal,
    checkpoint_bytes: u64,
}

impl Worker {
    fn run(mut self, incoming: mpsc::Receiver<Request>) -> Result<(), StoreError> {
        while let Ok(first) = incoming.recv() {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match incoming.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            self.commit_group(group);
            if self.journal.len() > self.checkpoint_bytes
                && let Err(err) = checkpoint(&self.db, &self.db_path, &mut self.journal)
            {
                // The journal still holds everything; the next checkpoint tries again.
                tracing::error!(error = %err, "checkpoint failed");
            }
        }
        checkpoint(&self.db, &self.db_path, &mut self.journal)
    }

    fn commit_group(&mut self, group: Vec<Request>) {
        let commits: Vec<&[Op]> = group.iter().map(|r| r.ops.as_slice()).collect();
        if let Err(err) = self.journal.append_durably(&commits) {
            tracing::error!(error = %err, commits = group.len(), "journal write failed; nothing acknowledged");
            for request in group {
                let _ = request.reply.send(Err(StoreError::NotDurable(std::io::Error::new(err.kind(), err.to_string()))));
            }
            return;
        }
        for request in group {
            // Durable already; a sled failure here is repaired by replay at the next start.
            let applied = apply(&self.trees, &request.ops).map_err(StoreError::from);
            let _ = request.reply.send(applied);
        }
    }
}
