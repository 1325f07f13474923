//! The daemon's error type. Every variant reads as a sentence a person can act on; `api` maps
//! each to a gRPC status code.

use crate::crypto::CryptoError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("locked: run `interlude unlock`")]
    Locked,
    #[error("there is no vault yet: run `interlude init`")]
    NotInitialised,
    #[error(
        "a vault already exists; nothing was changed (to change the passphrase run `interlude passphrase`)"
    )]
    AlreadyInitialised,
    #[error(
        "wrong passphrase; try again, or unlock with your recovery key (`interlude unlock --recovery-key`)"
    )]
    WrongPassphrase,
    #[error("wrong recovery key; check it for typos (groups of four letters and digits)")]
    WrongRecoveryKey,
    #[error("{0}")]
    Invalid(String),
    /// A record with that id is already here (an import keeping ids).
    #[error("{0}")]
    AlreadyExists(String),
    #[error("no {what} with id {id}; {} lists ids", list_command(what))]
    NotFound { what: &'static str, id: String },
    #[error(
        "{what} {id} is damaged and cannot be read (it fails its integrity check); the rest of your data is unaffected"
    )]
    Damaged { what: &'static str, id: String },
    #[error(
        "the vault header does not match the vault's keys ({0}): it was changed on disk, so nothing was unlocked; restore `vault-header.json` and the database from a backup you trust"
    )]
    HeaderNotAuthentic(&'static str),
    #[error(
        "the vault header asks for {0}: it was changed on disk; nothing was derived. Unlock with your recovery key (`interlude unlock --recovery-key`), or restore `vault-header.json` from a backup"
    )]
    KdfOutOfBounds(crate::vault::KdfOutOfBounds),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Models(#[from] crate::models::ModelError),
    #[error("internal error: {0}")]
    Internal(String),
}

fn list_command(what: &str) -> &'static str {
    match what {
        "session" => "`interlude session list`",
        "vocabulary term" => "`interlude vocab list`",
        _ => "`interlude timeline`",
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub fn invalid(message: impl Into<String>) -> Error {
    Error::Invalid(message.into())
}

impl From<crate::domain::Invalid> for Error {
    fn from(invalid: crate::domain::Invalid) -> Error {
        Error::Invalid(invalid.0)
    }
}
