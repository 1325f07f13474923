//! The audit trail: who touched the client's material (the caller as a uid or a token's name,
//! the call, the record id, the outcome; never content). Entries are sealed to the vault's
//! public key, so they are written in every state, and chained: each carries
//! HMAC-SHA256(audit key, previous MAC | sequence | sealed entry), the audit key derived from the
//! data key. Entries written before the first unlock since the daemon started wait unchained at
//! the end of the trail and are chained, in order, by the next write after an unlock.
//!
//! One writer task owns the sequence and the chain, and writes what queued up in one commit, so
//! a call never waits for its audit entry: entries are gathered for 100 ms and written in one
//! commit (a crash can lose the last 100 ms of entries of calls already answered; nothing else).

use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::crypto::{self, Key};
use crate::domain::{Millis, now_millis};
use crate::error::Error;
use crate::store::{Op, Store, Tree};
use crate::vault::Vault;

const MAC_LEN: usize = 32;
const UNCHAINED: [u8; MAC_LEN] = [0; MAC_LEN];
/// The end of the chained trail, in the meta tree: its last sequence number and MAC under a MAC
/// of their own, written in the same commit as the entries. Without it, a trail with its newest
/// entries removed would still check.
const END_KEY: &[u8] = b"audit-end";
/// How long the writer gathers entries before one commit.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(100);
/// At most this many entries wait for the writer; beyond it an entry is dropped and logged.
const QUEUE: usize = 4096;

/// One thing that happened, as the API records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub at: Millis,
    /// `uid 1000`, `token "tray app"`, or `unknown` for a refused caller.
    pub caller: String,
    /// The gRPC call, e.g. `Timeline/AddReflection`, or `refused Timeline/GetReflection`.
    pub action: String,
    /// The record the call named or made, when it did.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub record: String,
    /// The gRPC status code's name: `OK`, `NOT_FOUND`, `UNAUTHENTICATED`, ...
    pub outcome: String,
}

/// A record id a service names for the audit trail, put in its response's extensions.
#[derive(Debug, Clone)]
pub struct Touched(pub String);

/// The handle calls append through: cheap to clone, never blocks.
#[derive(Clone)]
pub struct Audit {
    queue: mpsc::Sender<Entry>,
}

impl Audit {
    pub fn record(&self, entry: Entry) {
        if self.queue.try_send(entry).is_err() {
            tracing::error!("the audit queue is full or closed; an audit entry was dropped");
        }
    }
}

/// What reading the trail found.
#[derive(Debug, Default)]
pub struct Verified {
    pub entries: Vec<(u64, Entry)>,
    /// Written since the daemon started and before the vault was first unlocked: not chained yet.
    pub unchained: usize,
    /// The first entry that was changed or is missing, as a sentence.
    pub first_problem: Option<String>,
}

/// The last sequence number, the last chained MAC, and the unchained entries after it.
type Tail = (u64, [u8; MAC_LEN], Vec<(u64, Vec<u8>)>);

/// The writer: owns the chain.
pub struct Writer {
    store: Store,
    vault: Arc<Vault>,
    queue: mpsc::Receiver<Entry>,
    audit_key: Option<Key>,
}

pub fn start(store: Store, vault: Arc<Vault>) -> (Audit, Writer) {
    let (tx, rx) = mpsc::channel(QUEUE);
    (
        Audit { queue: tx },
        Writer {
            store,
            vault,
            queue: rx,
            audit_key: None,
        },
    )
}

impl Writer {
    /// Writes until every [`Audit`] handle is gone or `served` says the server has stopped
    /// (a connection task may keep a handle longer), then writes what queued and returns.
    pub async fn run(mut self, served: tokio::sync::oneshot::Receiver<()>) {
        let mut batch = Vec::new();
        let mut served = std::pin::pin!(served);
        loop {
            tokio::select! {
                received = self.queue.recv_many(&mut batch, 256) => {
                    if received == 0 {
                        return;
                    }
                    // Gather what follows for a moment, so that the trail costs one commit per
                    // COALESCE rather than one per call.
                    let stopped = tokio::select! {
                        () = tokio::time::sleep(COALESCE) => false,
                        _ = &mut served => true,
                    };
                    while let Ok(entry) = self.queue.try_recv() {
                        batch.push(entry);
                    }
                    self.write_logged(std::mem::take(&mut batch)).await;
                    if stopped {
                        return;
                    }
                }
                _ = &mut served => {
                    while let Ok(entry) = self.queue.try_recv() {
                        batch.push(entry);
                    }
                    self.write_logged(batch).await;
                    return;
                }
            }
        }
    }

    async fn write_logged(&mut self, batch: Vec<Entry>) {
        if batch.is_empty() {
            return;
        }
        if let Err(err) = self.write(batch).await {
            tracing::error!(error = %err, "could not write audit entries");
        }
    }

    async fn write(&mut self, entries: Vec<Entry>) -> Result<(), Error> {
        if self.audit_key.is_none()
            && let Ok(keys) = self.vault.keys_in_background()
        {
            self.audit_key = Some(audit_key(&keys.data));
        }
        let Ok(public) = self.vault.public_key() else {
            // No vault yet: nothing of the client's exists to be touched.
            return Ok(());
        };
        let (last, mut prev, pending) = self.tail()?;
        let mut seq = last.max(self.marked_end()?);
        let mut ops = Vec::new();
        // Chain what waited for a key, in order.
        if let Some(key) = &self.audit_key {
            for (pending_seq, sealed) in pending {
                let mac = link(key, &prev, pending_seq, &sealed);
                ops.push(put(pending_seq, &mac, &sealed));
                prev = mac;
            }
        }
        for entry in entries {
            seq += 1;
            let json = serde_json::to_vec(&entry).map_err(|e| Error::Internal(e.to_string()))?;
            let sealed = crypto::seal(&public, &json, &ad(seq))?;
            let mac = match &self.audit_key {
                Some(key) => link(key, &prev, seq, &sealed),
                None => UNCHAINED,
            };
            ops.push(put(seq, &mac, &sealed));
            prev = mac;
        }
        if let Some(key) = &self.audit_key {
            // Everything is chained now: the last entry is the end.
            ops.push(end_marker(key, seq, &prev));
        }
        self.store.commit(ops).await?;
        Ok(())
    }

    /// The last sequence number, the last chained MAC, and the unchained entries at the end.
    fn tail(&self) -> Result<Tail, Error> {
        let mut pending = Vec::new();
        let mut last_seq = None;
        for pair in self.store.range(Tree::Audit, .., true) {
            let (key, value) = pair?;
            let seq = seq_of(&key)?;
            last_seq.get_or_insert(seq);
            let (mac, sealed) = split(&value)?;
            if mac == UNCHAINED {
                pending.push((seq, sealed.to_vec()));
            } else {
                pending.reverse();
                return Ok((last_seq.unwrap_or(seq), mac, pending));
            }
        }
        pending.reverse();
        Ok((last_seq.unwrap_or(0), UNCHAINED, pending))
    }

    /// The last sequence number the end marker names (read without the key: it only moves the
    /// numbering on, so that entries removed from the end show as missing once more are written).
    fn marked_end(&self) -> Result<u64, Error> {
        Ok(self
            .store
            .get(Tree::Meta, END_KEY)?
            .and_then(|bytes| bytes.first_chunk::<8>().map(|seq| u64::from_be_bytes(*seq)))
            .unwrap_or(0))
    }
}

/// Reads the whole trail (needs the vault unlocked) and checks the chain from the start.
pub fn verify(store: &Store, vault: &Vault, since: Millis) -> Result<Verified, Error> {
    let keys = vault.keys()?;
    let key = audit_key(&keys.data);
    let mut out = Verified::default();
    // Read before the entries, so that entries written meanwhile only come after it.
    let end = match store.get(Tree::Meta, END_KEY)? {
        Some(bytes) => match read_end(&key, &bytes) {
            Some(end) => Some(end),
            None => {
                out.first_problem = Some("the trail's end marker was changed".into());
                None
            }
        },
        None => None,
    };
    let mut end_seen = false;
    let mut chained = false;
    let mut prev = UNCHAINED;
    let mut expected = 1u64;
    for pair in store.range(Tree::Audit, .., false) {
        let (k, value) = pair?;
        let seq = seq_of(&k)?;
        if seq != expected && out.first_problem.is_none() {
            out.first_problem = Some(format!(
                "entry {expected} is missing (the next one there is {seq})"
            ));
        }
        expected = seq + 1;
        let (mac, sealed) = split(&value)?;
        let opened = crypto::unseal(&keys.secret, sealed, &ad(seq))
            .ok()
            .and_then(|json| serde_json::from_slice::<Entry>(&json).ok());
        if mac == UNCHAINED {
            out.unchained += 1;
        } else if link(&key, &prev, seq, sealed) != mac && out.first_problem.is_none() {
            out.first_problem = Some(format!("entry {seq} was changed"));
        }
        if mac != UNCHAINED {
            prev = mac;
            chained = true;
        }
        if let Some((end_seq, end_mac)) = end
            && seq == end_seq
        {
            end_seen = true;
            if mac != end_mac && out.first_problem.is_none() {
                out.first_problem =
                    Some(format!("entry {seq} was changed (the trail ended there)"));
            }
        }
        match opened {
            Some(entry) if entry.at >= since => out.entries.push((seq, entry)),
            Some(_) => {}
            None if out.first_problem.is_none() => {
                out.first_problem = Some(format!("entry {seq} was changed (it does not open)"));
            }
            None => {}
        }
    }
    if out.first_problem.is_none() {
        out.first_problem = match end {
            Some((end_seq, _)) if !end_seen => Some(format!(
                "the newest entries are missing: the trail ended at entry {end_seq}, now at entry {}",
                expected - 1
            )),
            None if chained => Some(
                "the trail's end marker is missing (its newest entries may have been removed)"
                    .into(),
            ),
            _ => None,
        };
    }
    Ok(out)
}

fn end_marker(key: &Key, seq: u64, mac: &[u8; MAC_LEN]) -> Op {
    let mut value = seq.to_be_bytes().to_vec();
    value.extend_from_slice(mac);
    value.extend_from_slice(&link(key, mac, seq, END_KEY));
    Op::Put {
        tree: Tree::Meta,
        key: END_KEY.to_vec(),
        value,
    }
}

/// The end marker's sequence number and MAC, or `None` when it does not check.
fn read_end(key: &Key, bytes: &[u8]) -> Option<(u64, [u8; MAC_LEN])> {
    let (seq, rest) = bytes.split_first_chunk::<8>()?;
    let (mac, tag) = rest.split_first_chunk::<MAC_LEN>()?;
    let seq = u64::from_be_bytes(*seq);
    (tag == link(key, mac, seq, END_KEY)).then_some((seq, *mac))
}

pub fn entry(caller: String, action: String, record: String, outcome: tonic::Code) -> Entry {
    Entry {
        at: now_millis(),
        caller,
        action,
        record,
        outcome: format!("{outcome:?}"),
    }
}

fn audit_key(data: &Key) -> Key {
    crypto::derive(
        b"interlude/audit",
        data.as_slice(),
        b"interlude/audit/chain/v1",
    )
}

fn link(key: &Key, prev: &[u8; MAC_LEN], seq: u64, sealed: &[u8]) -> [u8; MAC_LEN] {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_slice())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(prev);
    mac.update(&seq.to_be_bytes());
    mac.update(sealed);
    mac.finalize().into_bytes().into()
}

fn ad(seq: u64) -> Vec<u8> {
    crypto::record_ad(Tree::Audit.name(), &seq.to_be_bytes())
}

fn put(seq: u64, mac: &[u8; MAC_LEN], sealed: &[u8]) -> Op {
    let mut value = Vec::with_capacity(MAC_LEN + sealed.len());
    value.extend_from_slice(mac);
    value.extend_from_slice(sealed);
    Op::Put {
        tree: Tree::Audit,
        key: seq.to_be_bytes().to_vec(),
        value,
    }
}

fn seq_of(key: &[u8]) -> Result<u64, Error> {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| Error::Internal("an audit key is not a sequence number".into()))
}

fn split(value: &[u8]) -> Result<([u8; MAC_LEN], &[u8]), Error> {
    if value.len() < MAC_LEN {
        return Err(Error::Internal("an audit entry is too short".into()));
    }
    let (mac, sealed) = value.split_at(MAC_LEN);
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(mac);
    Ok((out, sealed))
}
