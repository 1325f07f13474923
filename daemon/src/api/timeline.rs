//! `interlude.v1.Timeline`: reflections.

use interlude_proto::v1;
use interlude_proto::v1::timeline_server::Timeline as TimelineApi;
use tonic::{Request, Response, Status};

use super::acknowledge::Acknowledge;
use super::{kind_from, kind_to, millis_from, timestamp};
use crate::domain::{self, NewReflection, Order, ReflectionEdit, ReflectionQuery};
use crate::search::{Search, SearchQuery};
use crate::timeline::{ImportBatch, Timeline};

pub struct TimelineService {
    pub timeline: Timeline,
    pub search: Search,
    pub acknowledge: Acknowledge,
}

use super::touched;

#[tonic::async_trait]
impl TimelineApi for TimelineService {
    async fn add_reflection(
        &self,
        request: Request<v1::AddReflectionRequest>,
    ) -> Result<Response<v1::AddReflectionResponse>, Status> {
        let r = request.into_inner();
        let new = NewReflection {
            text: r.text,
            kind: kind_from(r.kind)?.unwrap_or(domain::Kind::Note),
            emotions: r.emotions.into_iter().map(emotion_from).collect(),
            tags: r.tags,
            bring_to_session: r.bring_to_session,
            private: r.private,
            moment: millis_from(r.moment),
            plugin_id: r.plugin_id,
            exercise_id: r.exercise_id,
            prompt_id: String::new(),
            prompt: String::new(),
            raised: None,
            answers: r
                .answers
                .into_iter()
                .map(|a| domain::Answer {
                    step_id: a.step_id,
                    value: a.value,
                })
                .collect(),
        };
        let kind = new.kind;
        let added = self.timeline.add_reflection(new).await?;
        let answer = self.acknowledge.reflection(added, kind).await;
        let id = answer.id.clone();
        Ok(touched(answer, id))
    }

    async fn get_reflection(
        &self,
        request: Request<v1::GetReflectionRequest>,
    ) -> Result<Response<v1::Reflection>, Status> {
        let reflection = self.timeline.get_reflection(&request.into_inner().id)?;
        let id = reflection.id.to_string();
        Ok(touched(reflection_to(reflection), id))
    }

    async fn list_reflections(
        &self,
        request: Request<v1::ListReflectionsRequest>,
    ) -> Result<Response<v1::ListReflectionsResponse>, Status> {
        let r = request.into_inner();
        let query = ReflectionQuery {
            since: millis_from(r.since),
            until: millis_from(r.until),
            kind: kind_from(r.kind)?,
            tag: Some(r.tag).filter(|t| !t.is_empty()),
            bring_to_session: r.bring_to_session,
            private: r.private,
            limit: r.limit as usize,
            after: Some(r.page_token).filter(|t| !t.is_empty()),
            order: match v1::Order::try_from(r.order) {
                Ok(v1::Order::OldestFirst) => Order::OldestFirst,
                Ok(_) => Order::NewestFirst,
                Err(_) => {
                    return Err(Status::invalid_argument(format!(
                        "unknown order {}",
                        r.order
                    )));
                }
            },
        };
        let page = self.timeline.list_reflections(&query)?;
        Ok(Response::new(v1::ListReflectionsResponse {
            reflections: page.reflections.into_iter().map(reflection_to).collect(),
            next_page_token: page.next.unwrap_or_default(),
            damaged_ids: page.damaged,
        }))
    }

    async fn edit_reflection(
        &self,
        request: Request<v1::EditReflectionRequest>,
    ) -> Result<Response<v1::Reflection>, Status> {
        let r = request.into_inner();
        let edit = ReflectionEdit {
            text: r.text,
            tags: r.tags.map(|t| t.values),
            emotions: r
                .emotions
                .map(|e| e.values.into_iter().map(emotion_from).collect()),
            bring_to_session: r.bring_to_session,
            private: r.private,
            kind: kind_from(r.kind)?,
        };
        let reflection = self.timeline.edit_reflection(&r.id, edit).await?;
        Ok(touched(reflection_to(reflection), r.id))
    }

    async fn set_helpful(
        &self,
        request: Request<v1::SetHelpfulRequest>,
    ) -> Result<Response<v1::Reflection>, Status> {
        let r = request.into_inner();
        let reflection = self.search.set_helpful(&r.id, r.helpful).await?;
        Ok(touched(reflection_to(reflection), r.id))
    }

    async fn search(
        &self,
        request: Request<v1::SearchRequest>,
    ) -> Result<Response<v1::SearchResponse>, Status> {
        let r = request.into_inner();
        let query = SearchQuery {
            text: r.query,
            window: ReflectionQuery {
                since: millis_from(r.since),
                until: millis_from(r.until),
                kind: kind_from(r.kind)?,
                tag: Some(r.tag).filter(|t| !t.is_empty()),
                bring_to_session: None,
                private: None,
                limit: 0,
                after: None,
                order: Order::NewestFirst,
            },
            limit: r.limit as usize,
        };
        let found = self.search.search(query).await?;
        Ok(Response::new(v1::SearchResponse {
            results: found
                .hits
                .into_iter()
                .map(|h| v1::SearchResult {
                    id: h.id,
                    moment: timestamp(h.moment),
                    kind: kind_to(h.kind).into(),
                    snippet: h.snippet,
                    score: h.score,
                    meaning: h.meaning,
                    words: h.words,
                })
                .collect(),
            words_only: found.words_only,
            notice: found.notice,
            not_indexed: found.not_indexed as u32,
            indexing: found.indexing as u32,
            damaged_ids: found.damaged,
        }))
    }

    async fn reindex(
        &self,
        _: Request<v1::ReindexRequest>,
    ) -> Result<Response<v1::ReindexResponse>, Status> {
        let queued = self.search.reindex()?;
        Ok(Response::new(v1::ReindexResponse {
            queued: queued as u32,
        }))
    }

    async fn delete_reflection(
        &self,
        request: Request<v1::DeleteReflectionRequest>,
    ) -> Result<Response<v1::DeleteReflectionResponse>, Status> {
        let id = request.into_inner().id;
        self.timeline.delete_reflection(&id).await?;
        Ok(touched(v1::DeleteReflectionResponse {}, id))
    }

    async fn import(
        &self,
        request: Request<v1::ImportRequest>,
    ) -> Result<Response<v1::ImportResponse>, Status> {
        let r = request.into_inner();
        let batch = ImportBatch {
            reflections: r
                .reflections
                .into_iter()
                .map(reflection_from)
                .collect::<Result<_, _>>()?,
            sessions: r
                .sessions
                .into_iter()
                .map(super::sessions::session_from)
                .collect(),
            terms: r
                .terms
                .into_iter()
                .map(super::vocabulary::term_from)
                .collect::<Result<_, _>>()?,
        };
        let done = self.timeline.import(batch).await?;
        Ok(Response::new(v1::ImportResponse {
            added: done.added as u32,
            already_present: done.already_present as u32,
        }))
    }
}

pub fn emotion_from(e: v1::Emotion) -> domain::Emotion {
    domain::Emotion {
        name: e.name,
        intensity: e.intensity,
    }
}

fn emotion_to(e: domain::Emotion) -> v1::Emotion {
    v1::Emotion {
        name: e.name,
        intensity: e.intensity,
    }
}

/// An exported reflection as it was stored: every field kept.
fn reflection_from(r: v1::Reflection) -> Result<domain::Reflection, Status> {
    let time = |ts: Option<prost_types::Timestamp>, what: &str| {
        millis_from(ts)
            .ok_or_else(|| Status::invalid_argument(format!("reflection {} has no {what}", r.id)))
    };
    Ok(domain::Reflection {
        moment: time(r.moment, "moment")?,
        recorded_at: time(r.recorded_at, "recorded_at")?,
        edited_at: millis_from(r.edited_at),
        kind: kind_from(r.kind)?.unwrap_or(domain::Kind::Note),
        emotions: r.emotions.into_iter().map(emotion_from).collect(),
        answers: r
            .answers
            .into_iter()
            .map(|a| domain::Answer {
                step_id: a.step_id,
                value: a.value,
            })
            .collect(),
        history: r
            .history
            .into_iter()
            .map(|h| domain::Revision {
                replaced_at: millis_from(h.replaced_at).unwrap_or_default(),
                text: h.text,
                emotions: h.emotions.into_iter().map(emotion_from).collect(),
                tags: h.tags,
            })
            .collect(),
        id: r.id,
        text: r.text,
        tags: r.tags,
        term_ids: r.term_ids,
        bring_to_session: r.bring_to_session,
        private: r.private,
        plugin_id: r.plugin_id,
        exercise_id: r.exercise_id,
        crisis: r.crisis,
        prompt_id: r.prompt_id,
        prompt: r.prompt,
        helpful: r.helpful,
    })
}

fn reflection_to(r: domain::Reflection) -> v1::Reflection {
    v1::Reflection {
        id: r.id,
        moment: timestamp(r.moment),
        recorded_at: timestamp(r.recorded_at),
        edited_at: r.edited_at.and_then(timestamp),
        kind: kind_to(r.kind).into(),
        text: r.text,
        emotions: r.emotions.into_iter().map(emotion_to).collect(),
        tags: r.tags,
        term_ids: r.term_ids,
        bring_to_session: r.bring_to_session,
        private: r.private,
        plugin_id: r.plugin_id,
        exercise_id: r.exercise_id,
        prompt_id: r.prompt_id,
        prompt: r.prompt,
        answers: r
            .answers
            .into_iter()
            .map(|a| v1::Answer {
                step_id: a.step_id,
                value: a.value,
            })
            .collect(),
        crisis: r.crisis,
        helpful: r.helpful,
        history: r
            .history
            .into_iter()
            .map(|h| v1::Revision {
                replaced_at: timestamp(h.replaced_at),
                text: h.text,
                emotions: h.emotions.into_iter().map(emotion_to).collect(),
                tags: h.tags,
            })
            .collect(),
    }
}
