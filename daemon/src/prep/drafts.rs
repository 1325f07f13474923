//! Drafts the client reviews, stored encrypted like everything else so they survive restarts,
//! and the record of every export, which the client can list (`interlude prep history`).

use serde::{Deserialize, Serialize};

use crate::domain::{Millis, now_millis};
use crate::error::{Result, invalid};
use crate::timeline::prep::PrepKind;

use super::Prep;
use super::packet::{Packet, Review};

/// The most questions or notes, and the longest one, in bytes.
const MAX_ITEMS: usize = 64;
const MAX_ITEM_BYTES: usize = 4096;

/// What left the vault, when, for whom (never the content).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportRecord {
    pub id: String,
    pub at: Millis,
    pub draft_id: String,
    pub format: String,
    /// The age recipients it was encrypted to; empty for a plain render.
    pub recipients: Vec<String>,
    /// SHA-256 of the rendered bytes, hex.
    pub sha256: String,
}

impl Prep {
    pub(super) async fn save(&self, packet: &Packet) -> Result<()> {
        self.timeline
            .put_prep(PrepKind::Draft, &packet.id, packet)
            .await
    }

    /// The draft `id`, or the newest one when `id` is empty.
    pub fn draft(&self, id: &str) -> Result<Packet> {
        if !id.trim().is_empty() {
            return self.timeline.get_prep(PrepKind::Draft, id);
        }
        let (drafts, _) = self.timeline.list_prep::<Packet>(PrepKind::Draft)?;
        drafts.into_iter().next().ok_or_else(|| {
            invalid("there is no draft yet: `interlude prep` makes one from the entries since your last session")
        })
    }

    /// Replaces the draft's review (what is left out, questions, notes) and stores it.
    pub async fn review(&self, id: &str, review: Review) -> Result<Packet> {
        check_review(&review)?;
        let mut packet = self.draft(id)?;
        let known = packet.known_ids();
        if let Some(unknown) = review.excluded.iter().find(|x| !known.contains(x.as_str())) {
            return Err(invalid(format!(
                "\"{unknown}\" is not an entry, theme or section of this draft"
            )));
        }
        packet.review = review;
        self.save(&packet).await?;
        Ok(packet)
    }

    pub async fn record_export(&self, record: &ExportRecord) -> Result<()> {
        self.timeline
            .put_prep(PrepKind::Export, &record.id, record)
            .await
    }

    /// Every export, newest first, and how many records could not be read.
    pub fn history(&self) -> Result<(Vec<ExportRecord>, usize)> {
        self.timeline.list_prep(PrepKind::Export)
    }
}

fn check_review(review: &Review) -> Result<()> {
    for (what, items) in [("questions", &review.questions), ("notes", &review.notes)] {
        if items.len() > MAX_ITEMS {
            return Err(invalid(format!("a draft holds at most {MAX_ITEMS} {what}")));
        }
        if items.iter().any(|i| i.len() > MAX_ITEM_BYTES) {
            return Err(invalid(format!(
                "each of the {what} is at most {MAX_ITEM_BYTES} bytes"
            )));
        }
    }
    Ok(())
}

/// A new record id: a ULID of now with random bits (an error when the system has no randomness,
/// as for every other record).
pub fn new_id() -> Result<String> {
    let random = crate::crypto::random_bytes::<16>()?;
    Ok(ulid::Ulid::from_parts(now_millis() as u64, u128::from_le_bytes(random)).to_string())
}
