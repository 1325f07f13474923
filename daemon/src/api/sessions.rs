//! `interlude.v1.Sessions`: therapy sessions and their insights.

use interlude_proto::v1;
use interlude_proto::v1::sessions_server::Sessions;
use tonic::{Request, Response, Status};

use super::{millis_from, timestamp};
use crate::checkins::CheckIns;
use crate::domain;
use crate::timeline::{MAX_SESSIONS_PAGE, SessionEdit, Timeline};

pub struct SessionsService {
    pub timeline: Timeline,
    /// Told of every change: check-ins come 24 and 72 hours after a session.
    pub checkins: CheckIns,
}

use super::touched;

#[tonic::async_trait]
impl Sessions for SessionsService {
    async fn add_session(
        &self,
        request: Request<v1::AddSessionRequest>,
    ) -> Result<Response<v1::Session>, Status> {
        let r = request.into_inner();
        let session = self
            .timeline
            .add_session(millis_from(r.held_at), r.insights, r.note)
            .await?;
        self.checkins.sessions_changed().await;
        let answer = session_to(session);
        let id = answer.id.clone();
        Ok(touched(answer, id))
    }

    async fn get_session(
        &self,
        request: Request<v1::GetSessionRequest>,
    ) -> Result<Response<v1::Session>, Status> {
        let id = request.into_inner().id;
        let session = session_to(self.timeline.get_session(&id)?);
        Ok(touched(session, id))
    }

    async fn list_sessions(
        &self,
        request: Request<v1::ListSessionsRequest>,
    ) -> Result<Response<v1::ListSessionsResponse>, Status> {
        let r = request.into_inner();
        let list = self.timeline.list_sessions(
            millis_from(r.since),
            millis_from(r.until),
            (r.limit as usize).min(MAX_SESSIONS_PAGE),
        )?;
        Ok(Response::new(v1::ListSessionsResponse {
            sessions: list.sessions.into_iter().map(session_to).collect(),
            damaged_ids: list.damaged,
        }))
    }

    async fn edit_session(
        &self,
        request: Request<v1::EditSessionRequest>,
    ) -> Result<Response<v1::Session>, Status> {
        let r = request.into_inner();
        let edit = SessionEdit {
            held_at: millis_from(r.held_at),
            insights: r.insights.map(|i| i.values),
            note: r.note,
        };
        let session = self.timeline.edit_session(&r.id, edit).await?;
        self.checkins.sessions_changed().await;
        Ok(touched(session_to(session), r.id))
    }

    async fn delete_session(
        &self,
        request: Request<v1::DeleteSessionRequest>,
    ) -> Result<Response<v1::DeleteSessionResponse>, Status> {
        let id = request.into_inner().id;
        self.timeline.delete_session(&id).await?;
        self.checkins.sessions_changed().await;
        Ok(touched(v1::DeleteSessionResponse {}, id))
    }
}

pub(super) fn session_from(s: v1::Session) -> domain::Session {
    domain::Session {
        id: s.id,
        held_at: millis_from(s.held_at).unwrap_or_default(),
        insights: s.insights,
        note: s.note,
    }
}

fn session_to(s: domain::Session) -> v1::Session {
    v1::Session {
        id: s.id,
        held_at: timestamp(s.held_at),
        insights: s.insights,
        note: s.note,
    }
}
