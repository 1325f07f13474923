//! What can go wrong, as an exit code and a sentence a person can act on.

use std::fmt;

use tonic::{Code, Status};

/// How `interlude` ends, so scripts can tell failures apart.
///
/// | code | meaning |
/// |---|---|
/// | 0 | success |
/// | 1 | any other failure |
/// | 2 | usage: the command line could not be parsed (clap's own code) |
/// | 3 | the daemon is not running at the socket |
/// | 4 | the vault is locked; run `interlude unlock` |
/// | 5 | not found |
/// | 6 | invalid input, or a request the vault's current state does not allow |
/// | 7 | permission denied |
/// | 8 | `interlude` and `interluded` speak different protocol versions |
/// | 9 | stored data is damaged |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    Failure = 1,
    Usage = 2,
    DaemonNotRunning = 3,
    VaultLocked = 4,
    NotFound = 5,
    InvalidInput = 6,
    PermissionDenied = 7,
    ProtocolMismatch = 8,
    DataDamaged = 9,
}

impl ExitCode {
    /// Every exit code, in numeric order.
    pub const ALL: [ExitCode; 10] = [
        Self::Success,
        Self::Failure,
        Self::Usage,
        Self::DaemonNotRunning,
        Self::VaultLocked,
        Self::NotFound,
        Self::InvalidInput,
        Self::PermissionDenied,
        Self::ProtocolMismatch,
        Self::DataDamaged,
    ];

    /// The number the process exits with.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// What the code means, as listed in `interlude --help`.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "any other failure",
            Self::Usage => "usage: the command line could not be parsed",
            Self::DaemonNotRunning => "the daemon is not running",
            Self::VaultLocked => "the vault is locked; run `interlude unlock`",
            Self::NotFound => "not found",
            Self::InvalidInput => "invalid input, or not possible in the vault's current state",
            Self::PermissionDenied => "permission denied",
            Self::ProtocolMismatch => "interlude and interluded speak different protocol versions",
            Self::DataDamaged => "stored data is damaged",
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

/// The exit code table shown after `interlude --help`; a test keeps it in step with [`ExitCode`].
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  any other failure
  2  usage: the command line could not be parsed
  3  the daemon is not running
  4  the vault is locked; run `interlude unlock`
  5  not found
  6  invalid input, or not possible in the vault's current state
  7  permission denied
  8  interlude and interluded speak different protocol versions
  9  stored data is damaged";

/// A failed command: the exit code, the error chain, and an optional next step.
#[derive(Debug)]
pub struct CliError {
    code: ExitCode,
    error: anyhow::Error,
    hint: Option<String>,
}

impl CliError {
    pub fn new(code: ExitCode, message: impl fmt::Display) -> Self {
        Self {
            code,
            error: anyhow::anyhow!("{message}"),
            hint: None,
        }
    }

    /// Input the user can correct: exit code 6.
    pub fn invalid_input(message: impl fmt::Display) -> Self {
        Self::new(ExitCode::InvalidInput, message)
    }

    /// Adds a line that says what to do next.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn exit_code(&self) -> ExitCode {
        self.code
    }

    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// Turns a gRPC status from the daemon into an error; the daemon's message is already a
    /// sentence, so it is kept as it is.
    pub fn from_status(status: &Status) -> Self {
        let code = exit_code_for(status.code(), status.message());
        let error = Self::new(code, status_sentence(status));
        match code {
            ExitCode::VaultLocked if !status.message().contains("interlude unlock") => {
                error.with_hint("run `interlude unlock`, then try again")
            }
            _ => error,
        }
    }
}

impl fmt::Display for CliError {
    /// The whole chain on one line: `outer: inner: cause`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for CliError {}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        Self {
            code: ExitCode::Failure,
            error,
            hint: None,
        }
    }
}

impl From<Status> for CliError {
    fn from(status: Status) -> Self {
        Self::from_status(&status)
    }
}

/// The exit code for a status the daemon answered with.
pub fn exit_code_for(code: Code, message: &str) -> ExitCode {
    match code {
        Code::NotFound => ExitCode::NotFound,
        Code::FailedPrecondition if says_locked(message) => ExitCode::VaultLocked,
        Code::InvalidArgument
        | Code::OutOfRange
        | Code::AlreadyExists
        | Code::FailedPrecondition => ExitCode::InvalidInput,
        Code::PermissionDenied | Code::Unauthenticated => ExitCode::PermissionDenied,
        Code::DataLoss => ExitCode::DataDamaged,
        Code::Unavailable => ExitCode::DaemonNotRunning,
        _ => ExitCode::Failure,
    }
}

/// The daemon starts the message of a locked-vault refusal with "locked".
fn says_locked(message: &str) -> bool {
    message
        .trim_start()
        .get(..6)
        .is_some_and(|start| start.eq_ignore_ascii_case("locked"))
}

fn status_sentence(status: &Status) -> String {
    let message = status.message().trim();
    match status.code() {
        Code::Unavailable => format!(
            "lost the connection to the daemon ({}); check that `interluded` is running",
            if message.is_empty() {
                "no answer"
            } else {
                message
            }
        ),
        _ if message.is_empty() => format!("the daemon refused: {}", status.code().description()),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_vault_exits_4_and_suggests_unlocking() {
        let error =
            CliError::from_status(&Status::failed_precondition("locked: the vault is locked"));
        assert_eq!(error.exit_code(), ExitCode::VaultLocked);
        assert_eq!(error.to_string(), "locked: the vault is locked");
        assert_eq!(error.hint(), Some("run `interlude unlock`, then try again"));
    }

    #[test]
    fn the_unlock_hint_is_not_repeated_when_the_daemon_already_gives_it() {
        let error = CliError::from_status(&Status::failed_precondition(
            "locked: run `interlude unlock`",
        ));
        assert_eq!(error.exit_code(), ExitCode::VaultLocked);
        assert_eq!(error.hint(), None);
    }

    #[test]
    fn other_failed_preconditions_are_invalid_input() {
        assert_eq!(
            exit_code_for(
                Code::FailedPrecondition,
                "no vault yet; run `interlude init`"
            ),
            ExitCode::InvalidInput
        );
    }

    #[test]
    fn every_status_code_maps_to_its_named_exit_code() {
        let cases = [
            (Code::NotFound, ExitCode::NotFound),
            (Code::InvalidArgument, ExitCode::InvalidInput),
            (Code::OutOfRange, ExitCode::InvalidInput),
            (Code::AlreadyExists, ExitCode::InvalidInput),
            (Code::PermissionDenied, ExitCode::PermissionDenied),
            (Code::Unauthenticated, ExitCode::PermissionDenied),
            (Code::DataLoss, ExitCode::DataDamaged),
            (Code::Unavailable, ExitCode::DaemonNotRunning),
            (Code::Internal, ExitCode::Failure),
            (Code::Unknown, ExitCode::Failure),
        ];
        for (status, expected) in cases {
            assert_eq!(exit_code_for(status, "whatever"), expected, "{status:?}");
        }
    }

    #[test]
    fn the_daemons_sentence_is_printed_as_it_is() {
        let error = CliError::from(Status::not_found("no reflection with id 01ABC"));
        assert_eq!(error.to_string(), "no reflection with id 01ABC");
        assert_eq!(error.exit_code().code(), 5);
        assert_eq!(error.hint(), None);
    }

    #[test]
    fn an_empty_status_message_still_says_something() {
        let error = CliError::from(Status::internal(""));
        assert!(!error.to_string().is_empty());
    }

    #[test]
    fn the_help_text_lists_every_exit_code_with_its_meaning() {
        for code in ExitCode::ALL {
            let line = format!("  {}  {}", code.code(), code.meaning());
            assert!(
                EXIT_CODES_HELP.lines().any(|l| l == line),
                "missing {line:?}"
            );
        }
        assert_eq!(EXIT_CODES_HELP.lines().count(), ExitCode::ALL.len() + 1);
    }

    #[test]
    fn the_error_chain_is_printed_on_one_line() {
        let error =
            CliError::from(anyhow::anyhow!("permission denied").context("could not read /x"));
        assert_eq!(error.to_string(), "could not read /x: permission denied");
        assert_eq!(error.exit_code(), ExitCode::Failure);
    }
}
