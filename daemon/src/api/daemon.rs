//! `interlude.v1.Daemon`: info, status, and the vault's lifecycle.

use std::path::PathBuf;
use std::sync::Arc;

use interlude_proto::crisis_lines;
use interlude_proto::v1::daemon_server::Daemon;
use interlude_proto::v1::{self, change_passphrase_request, unlock_request};
use tonic::{Request, Response, Status};
use zeroize::Zeroizing;

use crate::timeline::Timeline;
use crate::vault::{Secret, Vault, VaultState};
use crate::web_switch::{self, OpenError, WebSwitch};

pub struct DaemonService {
    pub vault: Arc<Vault>,
    pub timeline: Timeline,
    pub data_dir: PathBuf,
    pub socket: PathBuf,
    pub notices: Vec<String>,
    /// The web listener: where it is when on, and the switch that turns it on.
    pub web: WebSwitch,
    /// Asked at each status whether the crisis lines' country was chosen.
    pub safety: Arc<crate::safety::Safety>,
    /// What a backup reads.
    pub store: crate::store::Store,
    /// A backup under way ends at a stop.
    pub stopping: crate::stopping::Stopping,
}

type BackupStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<v1::BackupChunk, Status>> + Send>>;

/// Chunks in flight between the backup's thread and the client.
const BACKUP_QUEUE: usize = 8;

fn backup_status(err: crate::backup::BackupError) -> Status {
    use crate::backup::BackupError;
    match err {
        BackupError::Vault(err) => err.into(),
        BackupError::Store(crate::store::StoreError::Closed) | BackupError::Stopped(_) => {
            Status::unavailable(format!("the backup was not finished: {err}"))
        }
        other => {
            tracing::error!(error = %other, "backup failed");
            Status::internal(format!("the backup failed: {other}"))
        }
    }
}

impl DaemonService {
    /// Said while nobody has chosen the crisis lines' country (a vault made before Interlude
    /// asked, or `init` from a script without `--country`): the lines are only a guess.
    fn country_notice(&self) -> Option<String> {
        use crisis_lines::Source;
        let shown = self.safety.lines();
        let shows = match shown.source {
            Source::SystemGuess if shown.region.id != crisis_lines::FALLBACK => format!(
                "a guess from this computer's language setting ({}) with lines that work anywhere",
                shown.region.name
            ),
            Source::SystemGuess | Source::Nothing => "lines that work anywhere".to_owned(),
            _ => return None,
        };
        Some(format!(
            "No country is chosen for the crisis lines, so help-now shows {shows}. Choose yours \
             with `interlude country XX` (two letters, e.g. GB)."
        ))
    }
}

#[tonic::async_trait]
impl Daemon for DaemonService {
    type BackupStream = BackupStream;

    /// Made on a blocking thread, at the pace the client reads; it stops when the client goes
    /// away or the daemon stops.
    async fn backup(
        &self,
        _: Request<v1::BackupRequest>,
    ) -> Result<Response<Self::BackupStream>, Status> {
        let keys = self.vault.keys()?;
        let header = self.vault.header_bytes()?;
        let (chunks, receiver) = tokio::sync::mpsc::channel(BACKUP_QUEUE);
        let (store, data_dir, stopping) = (
            self.store.clone(),
            self.data_dir.clone(),
            self.stopping.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let made =
                crate::backup::make(&store, &data_dir, &keys, &header, |data, done, total| {
                    !stopping.is_stopping()
                        && chunks
                            .blocking_send(Ok(v1::BackupChunk { data, done, total }))
                            .is_ok()
                });
            match made {
                Ok(summary) => tracing::info!(
                    entries = summary.entries,
                    files = summary.files,
                    bytes = summary.bytes,
                    "backup made"
                ),
                Err(err) => {
                    let _ = chunks.blocking_send(Err(backup_status(err)));
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        )))
    }

    async fn info(
        &self,
        _: Request<v1::InfoRequest>,
    ) -> Result<Response<v1::InfoResponse>, Status> {
        Ok(Response::new(v1::InfoResponse {
            daemon_version: env!("CARGO_PKG_VERSION").into(),
            protocol_version: interlude_proto::PROTOCOL_VERSION,
        }))
    }

    async fn status(
        &self,
        _: Request<v1::StatusRequest>,
    ) -> Result<Response<v1::StatusResponse>, Status> {
        let vault = vault_state_to(self.vault.state());
        Ok(Response::new(v1::StatusResponse {
            vault: vault.into(),
            data_dir: self.data_dir.display().to_string(),
            socket: self.socket.display().to_string(),
            sealed_pending: self.timeline.sealed_pending() as u32,
            idle_lock_seconds: self.vault.idle_lock().as_secs(),
            notices: self
                .notices
                .iter()
                .cloned()
                .chain(self.timeline.crisis_check_notice())
                .chain(self.country_notice())
                .collect(),
            web: self
                .web
                .address()
                .map(|a| format!("http://{a}"))
                .unwrap_or_default(),
        }))
    }

    async fn init(
        &self,
        request: Request<v1::InitRequest>,
    ) -> Result<Response<v1::InitResponse>, Status> {
        let request = request.into_inner();
        // Checked before the vault is made, so that a mistyped country changes nothing.
        let country = Some(request.country.trim())
            .filter(|c| !c.is_empty())
            .map(crisis_lines::parse_country)
            .transpose()
            .map_err(Status::invalid_argument)?;
        let passphrase = Zeroizing::new(request.passphrase);
        let recovery_key = self.vault.init(&passphrase).await?;
        tracing::info!("vault created");
        if let Some(country) = country {
            // The vault is made either way; a country not recorded is said in help-now.
            if let Err(error) = crisis_lines::write_chosen(&self.data_dir, &country) {
                tracing::warn!(%error, "could not record the crisis lines' country");
            }
        }
        Ok(Response::new(v1::InitResponse { recovery_key }))
    }

    async fn open_web(
        &self,
        request: Request<v1::OpenWebRequest>,
    ) -> Result<Response<v1::OpenWebResponse>, Status> {
        let opened =
            self.web
                .open(&request.into_inner().address)
                .await
                .map_err(|error| match error {
                    OpenError::Address(_) => Status::invalid_argument(error.to_string()),
                    OpenError::Bind { .. } | OpenError::Stopping => {
                        Status::failed_precondition(error.to_string())
                    }
                })?;
        let mut response = v1::OpenWebResponse {
            web: format!("http://{}", opened.address),
            opened: opened.now_on,
            ..Default::default()
        };
        if !opened.now_on {
            return Ok(Response::new(response));
        }
        tracing::info!(address = %opened.address, "turned the web listener on");
        let line = format!("`[api]` and `web = \"{}\"`", opened.address);
        match self.web.config_file() {
            Some(file) => match web_switch::record_in_config(file, opened.address) {
                Ok(()) => response.config_file = file.display().to_string(),
                Err(error) => {
                    tracing::warn!(%error, "could not record the web listener in the config file");
                    response.note = format!(
                        "It is on until the daemon stops: {error}. To keep it on, add {line} to the config file."
                    );
                }
            },
            None => {
                response.note = format!(
                    "It is on until the daemon stops (it was started without a config file). To keep it on, add {line} to its config."
                );
            }
        }
        Ok(Response::new(response))
    }

    async fn unlock(
        &self,
        request: Request<v1::UnlockRequest>,
    ) -> Result<Response<v1::UnlockResponse>, Status> {
        let secret = match request.into_inner().secret {
            Some(unlock_request::Secret::Passphrase(p)) => Secret::Passphrase(Zeroizing::new(p)),
            Some(unlock_request::Secret::RecoveryKey(k)) => Secret::RecoveryKey(Zeroizing::new(k)),
            None => {
                return Err(Status::invalid_argument(
                    "give a passphrase or a recovery key",
                ));
            }
        };
        self.vault.unlock(&secret).await?;
        tracing::info!("vault unlocked");
        let unsealed = self.timeline.unseal_pending().await?;
        Ok(Response::new(v1::UnlockResponse {
            unsealed: unsealed as u32,
        }))
    }

    async fn lock(
        &self,
        _: Request<v1::LockRequest>,
    ) -> Result<Response<v1::LockResponse>, Status> {
        self.vault.lock();
        tracing::info!("vault locked");
        Ok(Response::new(v1::LockResponse {}))
    }

    async fn change_passphrase(
        &self,
        request: Request<v1::ChangePassphraseRequest>,
    ) -> Result<Response<v1::ChangePassphraseResponse>, Status> {
        let request = request.into_inner();
        let current = match request.current {
            Some(change_passphrase_request::Current::Passphrase(p)) => {
                Secret::Passphrase(Zeroizing::new(p))
            }
            Some(change_passphrase_request::Current::RecoveryKey(k)) => {
                Secret::RecoveryKey(Zeroizing::new(k))
            }
            None => {
                return Err(Status::invalid_argument(
                    "give the current passphrase or the recovery key",
                ));
            }
        };
        let new = Zeroizing::new(request.new_passphrase);
        self.vault.change_passphrase(&current, &new).await?;
        tracing::info!("passphrase changed");
        Ok(Response::new(v1::ChangePassphraseResponse {}))
    }
}

pub fn vault_state_to(state: VaultState) -> v1::VaultState {
    match state {
        VaultState::Uninitialised => v1::VaultState::Uninitialised,
        VaultState::Locked => v1::VaultState::Locked,
        VaultState::Unlocked => v1::VaultState::Unlocked,
    }
}
