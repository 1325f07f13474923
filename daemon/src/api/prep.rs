//! `interlude.v1.Prep`: patterns and the session-prep packet (the work is in `prep`).

use std::pin::Pin;

use interlude_proto::v1;
use interlude_proto::v1::prep_server::Prep as PrepApi;
use sha2::{Digest as _, Sha256};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::{millis_from, timestamp};
use crate::domain::now_millis;
use crate::error::Error;
use crate::prep::packet::{Packet, Review, SCHEMA_VERSION};
use crate::prep::render::{Format, render};
use crate::prep::{ExportRecord, Prep, export};

pub struct PrepService {
    pub prep: Prep,
}

type BuildStream = Pin<Box<dyn Stream<Item = Result<v1::BuildEvent, Status>> + Send>>;

#[tonic::async_trait]
impl PrepApi for PrepService {
    async fn patterns(
        &self,
        request: Request<v1::PatternsRequest>,
    ) -> Result<Response<v1::PatternsResponse>, Status> {
        let r = request.into_inner();
        let window = self
            .prep
            .window(millis_from(r.since), millis_from(r.until))?;
        let patterns = self.prep.patterns(window).await?;
        Ok(Response::new(v1::PatternsResponse {
            schema_version: SCHEMA_VERSION,
            json: to_json(&patterns)?,
        }))
    }

    type BuildStream = BuildStream;

    async fn build(
        &self,
        request: Request<v1::BuildRequest>,
    ) -> Result<Response<Self::BuildStream>, Status> {
        let r = request.into_inner();
        let window = self
            .prep
            .window(millis_from(r.since), millis_from(r.until))?;
        let (events, receiver) = tokio::sync::mpsc::channel(16);
        let (sentences, mut written) = tokio::sync::mpsc::channel::<(String, String)>(16);
        let prep = self.prep.clone();
        let events_for_sentences = events.clone();
        // Sentences go out as they are written; the draft last. A client that goes away stops
        // nothing that was stored: the draft is saved whatever happens to the stream.
        tokio::spawn(async move {
            while let Some((field, text)) = written.recv().await {
                let event = v1::build_event::Event::Sentence(v1::DigestSentence { field, text });
                let _ = events_for_sentences
                    .send(Ok(v1::BuildEvent { event: Some(event) }))
                    .await;
            }
        });
        tokio::spawn(async move {
            let built = prep.build(window, !r.no_digest, Some(sentences)).await;
            let event = built
                .map_err(Status::from)
                .and_then(|p| draft_of(&p))
                .map(|d| v1::BuildEvent {
                    event: Some(v1::build_event::Event::Draft(d)),
                });
            let _ = events.send(event).await;
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        )))
    }

    async fn get_draft(
        &self,
        request: Request<v1::GetDraftRequest>,
    ) -> Result<Response<v1::Draft>, Status> {
        let packet = self.prep.draft(&request.into_inner().id)?;
        Ok(Response::new(draft_of(&packet)?))
    }

    async fn review(
        &self,
        request: Request<v1::ReviewRequest>,
    ) -> Result<Response<v1::Draft>, Status> {
        let r = request.into_inner();
        let review = Review {
            excluded: r.excluded,
            questions: r.questions,
            notes: r.notes,
            include_flagged: r.include_flagged,
        };
        let packet = self.prep.review(&r.draft_id, review).await?;
        Ok(Response::new(draft_of(&packet)?))
    }

    async fn render(
        &self,
        request: Request<v1::RenderRequest>,
    ) -> Result<Response<v1::Rendered>, Status> {
        let r = request.into_inner();
        let format = format_from(r.format)?;
        let packet = self.prep.draft(&r.draft_id)?;
        let content = render(&packet, format, &self.prep.zone)?;
        Ok(Response::new(v1::Rendered {
            draft_id: packet.id,
            media_type: format.media_type().into(),
            content,
            export_id: String::new(),
        }))
    }

    async fn export(
        &self,
        request: Request<v1::ExportRequest>,
    ) -> Result<Response<v1::Rendered>, Status> {
        let r = request.into_inner();
        let format = format_from(r.format)?;
        let recipients = export::recipients(&r.recipients)?;
        let packet = self.prep.draft(&r.draft_id)?;
        let plain = render(&packet, format, &self.prep.zone)?;
        let content = export::encrypt(&plain, &recipients)?;
        let record = ExportRecord {
            id: crate::prep::new_id()?,
            at: now_millis(),
            draft_id: packet.id.clone(),
            format: format.name().into(),
            recipients: recipients.iter().map(ToString::to_string).collect(),
            sha256: crate::crypto::hex(&Sha256::digest(&plain)),
        };
        // Recorded before it is handed over: the history never misses an export.
        self.prep.record_export(&record).await?;
        Ok(Response::new(v1::Rendered {
            draft_id: packet.id,
            media_type: "application/age".into(),
            content,
            export_id: record.id,
        }))
    }

    async fn history(
        &self,
        _request: Request<v1::HistoryRequest>,
    ) -> Result<Response<v1::HistoryResponse>, Status> {
        let (records, damaged) = self.prep.history()?;
        Ok(Response::new(v1::HistoryResponse {
            exports: records
                .into_iter()
                .map(|e| v1::ExportEntry {
                    id: e.id,
                    at: timestamp(e.at),
                    draft_id: e.draft_id,
                    format: e.format,
                    recipients: e.recipients,
                    sha256: e.sha256,
                })
                .collect(),
            damaged: damaged as u32,
        }))
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Status> {
    serde_json::to_string(value).map_err(|e| Status::from(Error::Internal(e.to_string())))
}

fn draft_of(packet: &Packet) -> Result<v1::Draft, Status> {
    Ok(v1::Draft {
        id: packet.id.clone(),
        schema_version: packet.schema_version,
        json: to_json(packet)?,
    })
}

fn format_from(format: i32) -> Result<Format, Status> {
    use v1::PacketFormat as F;
    match F::try_from(format) {
        Ok(F::Unspecified | F::Markdown) => Ok(Format::Markdown),
        Ok(F::Json) => Ok(Format::Json),
        Ok(F::Html) => Ok(Format::Html),
        Err(_) => Err(Status::invalid_argument(format!(
            "unknown packet format {format}"
        ))),
    }
}
