//! The gRPC services: one file per service, proto ⇄ domain conversion only, and `acknowledge`,
//! what every service that saves a reflection answers. The work happens in `vault` and `timeline`.

mod acknowledge;
mod audit;
mod checkins;
mod daemon;
mod models;
mod plugins;
mod practice;
mod prep;
mod safety;
mod sessions;
mod timeline;
mod tokens;
mod vocabulary;

pub use acknowledge::Acknowledge;
pub use audit::AuditService;
pub use checkins::CheckInsService;
pub use daemon::DaemonService;
pub use models::ModelsService;
pub use plugins::PluginsService;
pub use practice::PracticeService;
pub use prep::PrepService;
pub use safety::SafetyService;
pub use sessions::SessionsService;
pub use timeline::TimelineService;
pub use tokens::TokensService;
pub use vocabulary::VocabularyService;

use interlude_proto::v1;
use tonic::Status;

use crate::domain::{self, Millis};
use crate::error::Error;
use crate::models::ModelError;
use crate::store::StoreError;

/// A response that names, for the audit trail, the record it read or changed (its id only).
pub(crate) fn touched<T>(message: T, id: String) -> tonic::Response<T> {
    let mut response = tonic::Response::new(message);
    response.extensions_mut().insert(crate::audit::Touched(id));
    response
}

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        let message = err.to_string();
        match err {
            Error::Locked | Error::NotInitialised => Status::failed_precondition(message),
            Error::AlreadyInitialised | Error::AlreadyExists(_) => Status::already_exists(message),
            Error::WrongPassphrase | Error::WrongRecoveryKey => Status::unauthenticated(message),
            Error::Invalid(_) => Status::invalid_argument(message),
            Error::NotFound { .. } => Status::not_found(message),
            Error::Damaged { .. } | Error::HeaderNotAuthentic(_) | Error::KdfOutOfBounds(_) => {
                Status::data_loss(message)
            }
            Error::Store(StoreError::NotDurable(_)) => Status::resource_exhausted(message),
            Error::Store(StoreError::Closed) => Status::unavailable(message),
            Error::Models(ModelError::Absent { .. } | ModelError::Refused { .. }) => {
                Status::failed_precondition(message)
            }
            Error::Models(_) => Status::internal(message),
            Error::Store(_) | Error::Crypto(_) | Error::Internal(_) => {
                tracing::error!(error = %message, "request failed");
                Status::internal(message)
            }
        }
    }
}

pub fn millis_from(ts: Option<prost_types::Timestamp>) -> Option<Millis> {
    ts.map(|t| {
        t.seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(t.nanos) / 1_000_000)
    })
}

pub fn timestamp(millis: Millis) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: millis.div_euclid(1000),
        nanos: (millis.rem_euclid(1000) * 1_000_000) as i32,
    })
}

/// `Unspecified` means "any" in filters and "note" when adding.
pub fn kind_from(kind: i32) -> Result<Option<domain::Kind>, Status> {
    use v1::ReflectionKind as K;
    Ok(
        match K::try_from(kind)
            .map_err(|_| Status::invalid_argument(format!("unknown reflection kind {kind}")))?
        {
            K::Unspecified => None,
            K::Note => Some(domain::Kind::Note),
            K::CheckIn => Some(domain::Kind::CheckIn),
            K::Exercise => Some(domain::Kind::Exercise),
            K::SessionInsight => Some(domain::Kind::SessionInsight),
            K::Dream => Some(domain::Kind::Dream),
            K::RelationshipEpisode => Some(domain::Kind::RelationshipEpisode),
        },
    )
}

pub fn kind_to(kind: domain::Kind) -> v1::ReflectionKind {
    use v1::ReflectionKind as K;
    match kind {
        domain::Kind::Note => K::Note,
        domain::Kind::CheckIn => K::CheckIn,
        domain::Kind::Exercise => K::Exercise,
        domain::Kind::SessionInsight => K::SessionInsight,
        domain::Kind::Dream => K::Dream,
        domain::Kind::RelationshipEpisode => K::RelationshipEpisode,
    }
}
