//! `interlude.v1.Vocabulary`: the client's own words.

use interlude_proto::v1;
use interlude_proto::v1::vocabulary_server::Vocabulary;
use tonic::{Request, Response, Status};

use crate::domain::{self, TermKind};
use crate::timeline::Timeline;

pub struct VocabularyService {
    pub timeline: Timeline,
}

#[tonic::async_trait]
impl Vocabulary for VocabularyService {
    async fn add_term(
        &self,
        request: Request<v1::AddTermRequest>,
    ) -> Result<Response<v1::Term>, Status> {
        let r = request.into_inner();
        let kind = term_kind_from(r.kind)?.ok_or_else(|| {
            Status::invalid_argument(
                "say what kind of word it is: part, anchor, trigger, value or person",
            )
        })?;
        Ok(Response::new(term_to(
            self.timeline.add_term(kind, r.word, r.note).await?,
        )))
    }

    async fn get_term(
        &self,
        request: Request<v1::GetTermRequest>,
    ) -> Result<Response<v1::Term>, Status> {
        Ok(Response::new(term_to(
            self.timeline.get_term(&request.into_inner().id)?,
        )))
    }

    async fn list_terms(
        &self,
        request: Request<v1::ListTermsRequest>,
    ) -> Result<Response<v1::ListTermsResponse>, Status> {
        let terms = self
            .timeline
            .list_terms(term_kind_from(request.into_inner().kind)?)?;
        Ok(Response::new(v1::ListTermsResponse {
            terms: terms.into_iter().map(term_to).collect(),
        }))
    }

    async fn edit_term(
        &self,
        request: Request<v1::EditTermRequest>,
    ) -> Result<Response<v1::Term>, Status> {
        let r = request.into_inner();
        let term = self
            .timeline
            .edit_term(&r.id, term_kind_from(r.kind)?, r.word, r.note)
            .await?;
        Ok(Response::new(term_to(term)))
    }

    async fn remove_term(
        &self,
        request: Request<v1::RemoveTermRequest>,
    ) -> Result<Response<v1::RemoveTermResponse>, Status> {
        self.timeline.remove_term(&request.into_inner().id).await?;
        Ok(Response::new(v1::RemoveTermResponse {}))
    }
}

fn term_kind_from(kind: i32) -> Result<Option<TermKind>, Status> {
    use v1::TermKind as K;
    Ok(
        match K::try_from(kind)
            .map_err(|_| Status::invalid_argument(format!("unknown term kind {kind}")))?
        {
            K::Unspecified => None,
            K::Part => Some(TermKind::Part),
            K::Anchor => Some(TermKind::Anchor),
            K::Trigger => Some(TermKind::Trigger),
            K::Value => Some(TermKind::Value),
            K::Person => Some(TermKind::Person),
        },
    )
}

pub(super) fn term_from(t: v1::Term) -> Result<domain::Term, Status> {
    let kind = term_kind_from(t.kind)?
        .ok_or_else(|| Status::invalid_argument(format!("term {} has no kind", t.id)))?;
    Ok(domain::Term {
        id: t.id,
        kind,
        word: t.word,
        note: t.note,
    })
}

fn term_to(t: domain::Term) -> v1::Term {
    let kind = match t.kind {
        TermKind::Part => v1::TermKind::Part,
        TermKind::Anchor => v1::TermKind::Anchor,
        TermKind::Trigger => v1::TermKind::Trigger,
        TermKind::Value => v1::TermKind::Value,
        TermKind::Person => v1::TermKind::Person,
    };
    v1::Term {
        id: t.id,
        kind: kind.into(),
        word: t.word,
        note: t.note,
    }
}
