//! The daemon's lifecycle: claim the data directory, bind the socket safely, serve every gRPC
//! service behind the peer-uid check, drain and clean up on shutdown.

use std::fs::File;
use std::future::Future;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use interlude_proto::v1::check_ins_server::CheckInsServer;
use interlude_proto::v1::daemon_server::DaemonServer;
use interlude_proto::v1::models_server::ModelsServer;
use interlude_proto::v1::plugins_server::PluginsServer;
use interlude_proto::v1::practice_server::PracticeServer;
use interlude_proto::v1::safety_server::SafetyServer;
use interlude_proto::v1::sessions_server::SessionsServer;
use interlude_proto::v1::timeline_server::TimelineServer;
use interlude_proto::v1::vocabulary_server::VocabularyServer;
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::transport::Server;
use tonic::transport::server::UdsConnectInfo;
use tonic::{Request, Status};

use crate::api;
use crate::checkins::{self, CheckIns};
use crate::config::Config;
use crate::domain::Limits;
use crate::events::Events;
use crate::models::{Generation, Models};
use crate::plugins::InEffect;
use crate::practice::Practice;
use crate::safety::{CrisisCheck, Detector, Meaning, Safety};
use crate::search::Search;
use crate::store::{Store, StoreError};
use crate::timeline::{Changed, Timeline};
use crate::vault::Vault;
use interlude_plugins::PluginPaths;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "the data directory {path} can be read by other users (mode {mode:o}); run `chmod 700 {path}` and start again"
    )]
    DataDirTooOpen { path: PathBuf, mode: u32 },
    #[error(
        "the socket directory {path} can be reached by other users (mode {mode:o}); run `chmod 700 {path}`"
    )]
    SocketDirTooOpen { path: PathBuf, mode: u32 },
    #[error(
        "{path} belongs to another user (uid {owner}); Interlude only uses directories you own"
    )]
    NotOwned { path: PathBuf, owner: u32 },
    #[error(
        "interluded is already running for {data_dir} (socket {socket}); stop it first, or use another data directory"
    )]
    AlreadyRunning { data_dir: PathBuf, socket: PathBuf },
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Daemon(#[from] crate::error::Error),
}

/// A daemon that has claimed its data directory and bound its socket, ready to serve.
pub struct Daemon {
    config: Config,
    socket: PathBuf,
    listener: UnixListener,
    store: Store,
    vault: Arc<Vault>,
    timeline: Timeline,
    safety: Arc<Safety>,
    checkins: CheckIns,
    crisis_check: Arc<CrisisCheck>,
    events: Events,
    /// The plugins in effect: read at start, replaced by `Plugins.Reload`.
    plugins: InEffect,
    /// Meaning search, background indexing and resurfacing (the embedder behind it).
    search: Search,
    /// The embedder's handle (shared with `search`) and the generator's.
    models: Models,
    generation: Generation,
    changes: tokio::sync::mpsc::UnboundedReceiver<Changed>,
    notices: Vec<String>,
    _instance_lock: File,
}

impl Daemon {
    /// Claims the data directory (one daemon per directory), opens the store and binds the socket.
    /// When this returns, clients can connect.
    pub async fn start(config: Config) -> Result<Daemon, StartError> {
        let data_dir = config.data_dir.clone();
        let socket = config.socket_path();
        ensure_private_dir(&data_dir, DirRole::Data)?;
        let instance_lock = claim_instance(&data_dir, &socket)?;
        let socket_dir = socket.parent().unwrap_or(Path::new("/")).to_path_buf();
        ensure_private_dir(&socket_dir, DirRole::Socket)?;
        remove_stale_socket(&data_dir, &socket)?;

        let options = config.store_options();
        let store_dir = data_dir.clone();
        let (store, store_notices) =
            tokio::task::spawn_blocking(move || Store::open(&store_dir, &options))
                .await
                .map_err(|e| crate::error::Error::Internal(e.to_string()))??;
        let vault = Arc::new(Vault::new(
            store.clone(),
            &data_dir,
            config.kdf(),
            config.idle_lock(),
        )?);
        let limits = limits(&config);
        let detector = Arc::new(
            Detector::builtin().map_err(|e| crate::error::Error::Internal(e.to_string()))?,
        );
        let models = Models::start(config.model_settings()).map_err(|e| StartError::Io {
            action: "start the model thread for",
            path: config.data_dir.clone(),
            source: e,
        })?;
        let crisis_check = Arc::new(CrisisCheck {
            lexicon: detector.clone(),
            meaning: Some(
                Meaning::builtin(models.clone())
                    .map_err(|e| crate::error::Error::Internal(e.to_string()))?,
            ),
        });
        let (changes_tx, changes) = tokio::sync::mpsc::unbounded_channel();
        let timeline = Timeline::new(store.clone(), vault.clone(), limits, crisis_check.clone())
            .with_changes(changes_tx);
        let generation =
            Generation::start(config.generator_settings()).map_err(|e| StartError::Io {
                action: "start the generator thread for",
                path: config.data_dir.clone(),
                source: e,
            })?;
        let search = Search::new(timeline.clone(), models.clone(), vault.clone());
        let locale = config.locale();
        let safety = Arc::new(Safety::new(
            detector,
            store.clone(),
            vault.clone(),
            limits,
            &data_dir,
            &locale,
        ));
        let plugins = InEffect::read_at_start(PluginPaths::new(&data_dir));
        let events = Events::new();
        let checkins = CheckIns::new(
            store.clone(),
            vault.clone(),
            timeline.clone(),
            events.clone(),
            checkins::from_catalog(&plugins.catalog()),
        );
        let listener = bind_private(&socket)?;
        tracing::info!(socket = %socket.display(), data_dir = %data_dir.display(), "ready");
        Ok(Daemon {
            config,
            socket,
            listener,
            store,
            vault,
            timeline,
            safety,
            checkins,
            crisis_check,
            events,
            plugins,
            search,
            models,
            generation,
            changes,
            notices: store_notices.iter().map(ToString::to_string).collect(),
            _instance_lock: instance_lock,
        })
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish, makes everything
    /// durable, locks the vault and removes the socket.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
        let Daemon {
            config,
            socket,
            listener,
            store,
            vault,
            timeline,
            safety,
            checkins,
            crisis_check,
            events,
            plugins,
            search,
            models,
            generation,
            changes,
            notices,
            _instance_lock,
        } = self;
        let output_rules = Arc::new(
            crate::safety::output::OutputRules::builtin()
                .map_err(|e| crate::error::Error::Internal(e.to_string()))?,
        );
        let (health_reporter, health) = tonic_health::server::health_reporter();
        health_reporter
            .set_serving::<DaemonServer<api::DaemonService>>()
            .await;
        let internal =
            |e: tonic_reflection::server::Error| crate::error::Error::Internal(e.to_string());
        let reflection_v1 = reflection().build_v1().map_err(internal)?;
        let reflection_v1alpha = reflection().build_v1alpha().map_err(internal)?;
        let daemon = api::DaemonService {
            vault: vault.clone(),
            timeline: timeline.clone(),
            data_dir: config.data_dir.clone(),
            socket: socket.clone(),
            notices,
        };
        let background = [
            tokio::spawn(vault.clone().run_idle_lock()),
            tokio::spawn(crisis_check.keep_warm(vault.clone())),
            tokio::spawn(checkins::publish_vault_changes(
                vault.clone(),
                events.clone(),
            )),
            tokio::spawn(checkins::run(checkins.clone(), delivery(&config))),
            tokio::spawn(crate::search::run(search.clone(), changes)),
        ];
        let acknowledge = api::Acknowledge {
            safety: safety.clone(),
            events: events.clone(),
            search: search.clone(),
        };
        let served = Server::builder()
            .layer(tonic::service::InterceptorLayer::new(same_user_only))
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(DaemonServer::new(daemon))
            .add_service(TimelineServer::new(api::TimelineService {
                timeline: timeline.clone(),
                search,
                acknowledge: acknowledge.clone(),
            }))
            .add_service(CheckInsServer::new(api::CheckInsService {
                checkins: checkins.clone(),
                safety: safety.clone(),
                acknowledge: acknowledge.clone(),
            }))
            .add_service(SafetyServer::new(api::SafetyService {
                safety: safety.clone(),
            }))
            .add_service(SessionsServer::new(api::SessionsService {
                timeline: timeline.clone(),
                checkins: checkins.clone(),
            }))
            .add_service(PracticeServer::new(api::PracticeService {
                practice: Practice::new(plugins.clone(), timeline.clone(), limits(&config)),
                acknowledge,
            }))
            .add_service(PluginsServer::new(api::PluginsService {
                plugins,
                checkins,
                reloading: tokio::sync::Mutex::default(),
            }))
            .add_service(ModelsServer::new(api::ModelsService {
                generation,
                embedder: models,
                timeline: timeline.clone(),
                detector: safety.detector.clone(),
                rules: output_rules,
                idle_unload_minutes: config.models_idle_unload_minutes,
            }))
            .add_service(VocabularyServer::new(api::VocabularyService { timeline }))
            .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
            .await;
        // Awaited, not only aborted: what they hold (the store among it) is dropped before the
        // database is closed, so a daemon started right after in the same process can open it.
        for task in background {
            task.abort();
            let _ = task.await;
        }
        vault.lock();
        let _ = std::fs::remove_file(&socket);
        let closed = tokio::task::spawn_blocking(move || store.close())
            .await
            .map_err(|e| crate::error::Error::Internal(e.to_string()))?;
        if let Err(err) = served {
            tracing::error!(error = %err, "the server stopped with an error");
        }
        closed?;
        tracing::info!("stopped");
        Ok(())
    }
}

fn limits(config: &Config) -> Limits {
    Limits {
        max_text_bytes: config.max_text_kib * 1024,
    }
}

/// How check-ins reach the client, from the config.
fn delivery(config: &Config) -> checkins::Delivery {
    checkins::Delivery {
        notifier: config.notifications.then(|| {
            Arc::new(checkins::notifier::Desktop) as Arc<dyn checkins::notifier::Notifier>
        }),
        show_prompt: config.notification_shows_prompt,
        command: config.checkin_command.clone(),
    }
}

/// Server reflection describing every service served, for tools without the proto files.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(interlude_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// Starts a daemon and serves until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
    Daemon::start(config).await?.serve(shutdown).await
}

/// Localhost is not a trust boundary: only the user the daemon runs as may call it.
fn same_user_only(request: Request<()>) -> Result<Request<()>, Status> {
    let caller = request
        .extensions()
        .get::<UdsConnectInfo>()
        .and_then(|info| info.peer_cred)
        .map(|cred| cred.uid());
    match caller {
        Some(uid) if uid == current_uid() => Ok(request),
        Some(uid) => {
            tracing::warn!(uid, "refused a caller from another user");
            Err(Status::permission_denied(
                "this Interlude daemon belongs to another user",
            ))
        }
        None => Err(Status::permission_denied(
            "could not tell who is calling; only local callers of the same user are served",
        )),
    }
}

fn current_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

#[derive(Clone, Copy)]
enum DirRole {
    Data,
    Socket,
}

/// Creates `dir` as 0700 if missing; refuses one that others can reach or that is not ours.
fn ensure_private_dir(dir: &Path, role: DirRole) -> Result<(), StartError> {
    let io = |action| {
        move |source| StartError::Io {
            action,
            path: dir.to_path_buf(),
            source,
        }
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io("create"))?;
            // `mode` is filtered by the umask and not applied to parents; set it explicitly.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io("set permissions on"))
        }
        Err(source) => Err(StartError::Io {
            action: "inspect",
            path: dir.to_path_buf(),
            source,
        }),
        Ok(meta) => {
            if meta.uid() != current_uid() {
                return Err(StartError::NotOwned {
                    path: dir.to_path_buf(),
                    owner: meta.uid(),
                });
            }
            let mode = meta.mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(match role {
                    DirRole::Data => StartError::DataDirTooOpen {
                        path: dir.to_path_buf(),
                        mode,
                    },
                    DirRole::Socket => StartError::SocketDirTooOpen {
                        path: dir.to_path_buf(),
                        mode,
                    },
                });
            }
            Ok(())
        }
    }
}

/// One daemon per data directory: an exclusive lock held for the daemon's life.
fn claim_instance(data_dir: &Path, socket: &Path) -> Result<File, StartError> {
    let path = data_dir.join("interluded.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StartError::Io {
            action: "open the lock file",
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StartError::AlreadyRunning {
            data_dir: data_dir.to_path_buf(),
            socket: socket.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(StartError::Io {
            action: "lock",
            path,
            source,
        }),
    }
}

/// A socket file nobody answers on is left over from a crash; one that answers belongs to a
/// running daemon (perhaps for another data directory) and is never taken over.
fn remove_stale_socket(data_dir: &Path, socket: &Path) -> Result<(), StartError> {
    if std::fs::symlink_metadata(socket).is_err() {
        return Ok(());
    }
    if std::os::unix::net::UnixStream::connect(socket).is_ok() {
        return Err(StartError::AlreadyRunning {
            data_dir: data_dir.to_path_buf(),
            socket: socket.to_path_buf(),
        });
    }
    tracing::info!(socket = %socket.display(), "removing a stale socket");
    std::fs::remove_file(socket).map_err(|source| StartError::Io {
        action: "remove the stale socket",
        path: socket.to_path_buf(),
        source,
    })
}

/// Binds, sets mode 0600, and only then listens, so there is no moment at which another user
/// could connect.
fn bind_private(socket: &Path) -> Result<UnixListener, StartError> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let io = |action| {
        move |source| StartError::Io {
            action,
            path: socket.to_path_buf(),
            source,
        }
    };
    let raw = Socket::new(Domain::UNIX, Type::STREAM.cloexec(), None).map_err(io("create"))?;
    raw.bind(&SockAddr::unix(socket).map_err(io("use the socket path"))?)
        .map_err(io("bind"))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .map_err(io("set permissions on"))?;
    raw.listen(1024).map_err(io("listen on"))?;
    raw.set_nonblocking(true).map_err(io("configure"))?;
    UnixListener::from_std(std::os::unix::net::UnixListener::from(raw)).map_err(io("register"))
}
