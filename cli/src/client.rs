//! The connection to `interluded`: connect, check the protocol, hand out service clients.

use std::path::{Path, PathBuf};

use interlude_proto::v1::{
    InfoRequest, InfoResponse, check_ins_client::CheckInsClient, daemon_client::DaemonClient,
    plugins_client::PluginsClient, practice_client::PracticeClient, safety_client::SafetyClient,
    sessions_client::SessionsClient, timeline_client::TimelineClient,
    vocabulary_client::VocabularyClient,
};
use interlude_proto::{MAX_MESSAGE_BYTES, PROTOCOL_VERSION};
use tonic::transport::Channel;

use crate::error::{CliError, ExitCode};

/// A daemon that answered and speaks our protocol.
#[derive(Debug, Clone)]
pub struct Daemon {
    channel: Channel,
    socket: PathBuf,
    info: InfoResponse,
}

impl Daemon {
    /// Connects to the socket and checks that the daemon speaks [`PROTOCOL_VERSION`].
    pub async fn connect(socket: &Path) -> Result<Self, CliError> {
        let channel = interlude_proto::connect(socket)
            .await
            .map_err(|error| connect_error(socket, &error))?;
        let info = DaemonClient::new(channel.clone())
            .info(InfoRequest {})
            .await
            .map_err(|status| info_error(socket, &status))?
            .into_inner();
        check_protocol(socket, &info)?;
        Ok(Self {
            channel,
            socket: socket.to_owned(),
            info,
        })
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Before a passphrase or recovery key is sent: the socket's directory is ours and closed to
    /// others, and the process listening on the socket runs as us (SO_PEERCRED). Anyone else
    /// could be a stand-in collecting secrets.
    pub fn check_listener(&self) -> Result<(), CliError> {
        check_listener(&self.socket)
    }

    pub fn info(&self) -> &InfoResponse {
        &self.info
    }

    pub fn models(&self) -> interlude_proto::v1::models_client::ModelsClient<Channel> {
        interlude_proto::v1::models_client::ModelsClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    pub fn daemon(&self) -> DaemonClient<Channel> {
        DaemonClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    pub fn timeline(&self) -> TimelineClient<Channel> {
        TimelineClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    pub fn checkins(&self) -> CheckInsClient<Channel> {
        CheckInsClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    pub fn sessions(&self) -> SessionsClient<Channel> {
        SessionsClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    pub fn prep(&self) -> interlude_proto::v1::prep_client::PrepClient<Channel> {
        interlude_proto::v1::prep_client::PrepClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    pub fn vocabulary(&self) -> VocabularyClient<Channel> {
        VocabularyClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    pub fn practice(&self) -> PracticeClient<Channel> {
        PracticeClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    pub fn plugins(&self) -> PluginsClient<Channel> {
        PluginsClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    pub fn audit(&self) -> interlude_proto::v1::audit_client::AuditClient<Channel> {
        interlude_proto::v1::audit_client::AuditClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
    }

    pub fn tokens(&self) -> interlude_proto::v1::tokens_client::TokensClient<Channel> {
        interlude_proto::v1::tokens_client::TokensClient::new(self.channel.clone())
    }

    pub fn safety(&self) -> SafetyClient<Channel> {
        SafetyClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }
}

fn check_listener(socket: &Path) -> Result<(), CliError> {
    let refuse = |why: String| {
        CliError::new(
            ExitCode::PermissionDenied,
            format!(
                "not sending a secret to {}: {why}; check who runs the daemon, or set INTERLUDE_SOCKET to your own",
                socket.display()
            ),
        )
    };
    let me = rustix::process::getuid().as_raw();
    let dir = socket.parent().unwrap_or(Path::new("/"));
    interlude_proto::private_dir::check(dir)
        .map_err(|e| refuse(format!("its directory is not private: {e}")))?;
    let stream = std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| refuse(format!("it does not answer ({e})")))?;
    let peer = rustix::net::sockopt::socket_peercred(&stream)
        .map_err(|e| refuse(format!("who listens cannot be told ({e})")))?;
    if peer.uid.as_raw() != me {
        return Err(refuse(format!("it is served by uid {}", peer.uid.as_raw())));
    }
    Ok(())
}

fn connect_error(socket: &Path, error: &tonic::transport::Error) -> CliError {
    if is_permission_denied(error) {
        return CliError::new(
            ExitCode::PermissionDenied,
            format!(
                "not allowed to open the daemon's socket at {}; it belongs to another user; \
                 start your own with `interluded`, or pass --socket",
                socket.display()
            ),
        );
    }
    not_running(socket)
}

fn not_running(socket: &Path) -> CliError {
    CliError::new(
        ExitCode::DaemonNotRunning,
        format!(
            "the daemon is not running at {}; start it with `interluded`",
            socket.display()
        ),
    )
}

fn is_permission_denied(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::PermissionDenied;
        }
        source = current.source();
    }
    false
}

fn info_error(socket: &Path, status: &tonic::Status) -> CliError {
    match status.code() {
        tonic::Code::Unimplemented => CliError::new(
            ExitCode::ProtocolMismatch,
            format!(
                "whatever listens at {} does not answer like interluded; check --socket",
                socket.display()
            ),
        ),
        tonic::Code::Unavailable => not_running(socket),
        _ => CliError::from_status(status),
    }
}

fn check_protocol(socket: &Path, info: &InfoResponse) -> Result<(), CliError> {
    if info.protocol_version == PROTOCOL_VERSION {
        return Ok(());
    }
    Err(CliError::new(
        ExitCode::ProtocolMismatch,
        format!(
            "interlude speaks protocol {PROTOCOL_VERSION} but the daemon at {} speaks {}; \
             install matching versions of interlude and interluded (daemon version {})",
            socket.display(),
            info.protocol_version,
            info.daemon_version
        ),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_different_protocol_is_refused_with_both_numbers_and_what_to_do() {
        let info = InfoResponse {
            daemon_version: "9.9.9".into(),
            protocol_version: PROTOCOL_VERSION + 1,
        };
        let error = check_protocol(Path::new("/run/i.sock"), &info).unwrap_err();
        assert_eq!(error.exit_code(), ExitCode::ProtocolMismatch);
        let message = error.to_string();
        assert!(
            message.contains(&format!("speaks protocol {PROTOCOL_VERSION}")),
            "{message}"
        );
        assert!(
            message.contains(&format!("speaks {}", PROTOCOL_VERSION + 1)),
            "{message}"
        );
        assert!(message.contains("/run/i.sock"), "{message}");
        assert!(message.contains("daemon version 9.9.9"), "{message}");
    }

    #[test]
    fn the_same_protocol_is_accepted() {
        let info = InfoResponse {
            daemon_version: "0.1.0".into(),
            protocol_version: PROTOCOL_VERSION,
        };
        assert!(check_protocol(Path::new("/x"), &info).is_ok());
    }

    #[test]
    fn nothing_listening_means_the_daemon_is_not_running() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let socket = Path::new("/nonexistent-interlude-test/interluded.sock");
        let error = runtime.block_on(Daemon::connect(socket)).unwrap_err();
        assert_eq!(error.exit_code(), ExitCode::DaemonNotRunning);
        assert_eq!(
            error.to_string(),
            "the daemon is not running at /nonexistent-interlude-test/interluded.sock; \
             start it with `interluded`"
        );
    }
}
