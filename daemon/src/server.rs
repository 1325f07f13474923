//! The daemon's lifecycle: claim the data directory, bind the socket safely, serve every gRPC
//! service behind the peer-uid check, drain and clean up on shutdown.

use std::fs::File;
use std::future::Future;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use interlude_proto::v1::audit_server::AuditServer;
use interlude_proto::v1::check_ins_server::CheckInsServer;
use interlude_proto::v1::daemon_server::DaemonServer;
use interlude_proto::v1::models_server::ModelsServer;
use interlude_proto::v1::plugins_server::PluginsServer;
use interlude_proto::v1::practice_server::PracticeServer;
use interlude_proto::v1::prep_server::PrepServer;
use interlude_proto::v1::safety_server::SafetyServer;
use interlude_proto::v1::sessions_server::SessionsServer;
use interlude_proto::v1::timeline_server::TimelineServer;
use interlude_proto::v1::tokens_server::TokensServer;
use interlude_proto::v1::vocabulary_server::VocabularyServer;
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::service::Routes;
use tonic::transport::Server;

use crate::api;
use crate::auth::{GateLayer, Tokens};
use crate::checkins::{self, CheckIns};
use crate::config::Config;
use crate::domain::Limits;
use crate::events::Events;
use crate::models::{Generation, Models};
use crate::plugins::InEffect;
use crate::practice::Practice;
use crate::safety::{Classifier, CrisisCheck, Detector, Safety};
use crate::search::Search;
use crate::stopping::{StopSwitch, Stopping};
use crate::store::{Store, StoreError};
use crate::timeline::{Changed, Timeline};
use crate::vault::Vault;
use crate::web_switch::WebSwitch;
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
    #[error(
        "{path} exists and is not a socket; Interlude never deletes it: move it away or choose another `socket` path"
    )]
    NotASocket { path: PathBuf },
    #[error(
        "{path} is a symbolic link; Interlude only uses real directories: point the config at the directory itself"
    )]
    SymlinkedDir { path: PathBuf },
    #[error(transparent)]
    NotPrivate(interlude_proto::private_dir::NotPrivate),
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Daemon(#[from] crate::error::Error),
    #[error("the built-in crisis lexicon or output rules did not load; this build is broken: {0}")]
    Lexicon(#[from] crate::safety::detect::LexiconError),
    #[error("could not describe the API for server reflection; this build is broken: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("a task of the daemon's {during} stopped unexpectedly: {source}")]
    Task {
        during: &'static str,
        source: tokio::task::JoinError,
    },
}

/// How long in-flight requests may take to finish once a stop is asked for. Streams end at the
/// stop; a unary request is at most one commit or one read.
const DRAIN: Duration = Duration::from_secs(10);
/// How long background tasks may take to finish what they are doing (an indexing batch).
const BACKGROUND_DRAIN: Duration = Duration::from_secs(30);

/// A daemon that has claimed its data directory, built everything it serves and bound its
/// socket, ready to serve. Nothing in [`Daemon::serve`] can fail before the drain.
pub struct Daemon {
    socket: PathBuf,
    listener: UnixListener,
    /// The loopback gRPC-Web listener, handed over when the config turns it on at start or
    /// `Daemon.OpenWeb` turns it on later.
    web: tokio::sync::oneshot::Receiver<crate::web_switch::Handed>,
    web_origins: Vec<String>,
    services: Services,
    _instance_lock: File,
}

/// Everything [`Daemon::serve`] runs: the gRPC routes, the background tasks' parts, and what is
/// closed on the way out.
struct Services {
    routes: Routes,
    background: Background,
    store: Store,
    vault: Arc<Vault>,
    stop: StopSwitch,
    stopping: Stopping,
    gate: GateLayer,
    audit_writer: crate::audit::Writer,
}

/// The parts of the background tasks (idle lock, model warm-up, vault events, check-ins,
/// indexing).
struct Background {
    vault: Arc<Vault>,
    crisis_check: Arc<CrisisCheck>,
    events: Events,
    checkins: CheckIns,
    delivery: checkins::Delivery,
    search: Search,
    changes: tokio::sync::mpsc::UnboundedReceiver<Changed>,
}

impl Daemon {
    /// Checks the config, claims the data directory (one daemon per directory), opens the store,
    /// builds every service and only then binds the socket: when this returns, clients can
    /// connect, and nothing that can fail is left for [`Daemon::serve`].
    pub async fn start(config: Config) -> Result<Daemon, StartError> {
        config.check()?;
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
                .map_err(|source| StartError::Task {
                    during: "store opening",
                    source,
                })??;
        let built = match bind_web(&config).await {
            Ok(at_start) => {
                let (switch, web) = WebSwitch::new(at_start, config.file.clone());
                match Services::build(&config, &socket, store.clone(), store_notices, switch).await
                {
                    Ok(services) => bind_private(&socket).map(|listener| (services, listener, web)),
                    Err(err) => Err(err),
                }
            }
            Err(err) => Err(err),
        };
        let (services, listener, web) = match built {
            Ok(built) => built,
            Err(err) => {
                // Nothing was served: fold the journal in now rather than at the next start.
                if let Err(close) = store.close() {
                    tracing::error!(error = %close, "could not close the store");
                }
                return Err(err);
            }
        };
        tracing::info!(socket = %socket.display(), data_dir = %data_dir.display(), "ready");
        Ok(Daemon {
            socket,
            listener,
            web,
            web_origins: config.api.web_origins.clone(),
            services,
            _instance_lock: instance_lock,
        })
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Serves until `shutdown` resolves, then ends open streams, lets in-flight requests finish
    /// (for at most [`DRAIN`]), stops the background tasks, makes everything durable, locks the
    /// vault and removes the socket.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
        let Daemon {
            socket,
            listener,
            web,
            web_origins,
            services,
            _instance_lock,
        } = self;
        let Services {
            routes,
            background,
            store,
            vault,
            stop,
            stopping,
            gate,
            audit_writer,
        } = services;
        let (served_tx, served_rx) = tokio::sync::oneshot::channel();
        let audit_writer = tokio::spawn(audit_writer.run(served_rx));
        let background = background.spawn(&stopping);
        let signal = async {
            shutdown.await;
            stop.stop();
        };
        // Served from the moment the listener is handed over: at once when the config turns it
        // on, or whenever `Daemon.OpenWeb` does; never after the stop.
        let web_server = {
            let (stopped, handed_or_stopped) = (stopping.wait(), stopping.wait());
            let (gate, routes) = (gate.clone(), routes.clone());
            async move {
                let (listener, address) = tokio::select! {
                    handed = web => match handed {
                        Ok(handed) => handed,
                        Err(_) => return Ok(()),
                    },
                    () = handed_or_stopped => return Ok(()),
                };
                tracing::info!(address = %address, "serving gRPC-Web and the web app on loopback");
                Server::builder()
                    .accept_http1(true)
                    .layer(crate::web::GuardLayer::new(address, &web_origins))
                    .layer(tonic_web::GrpcWebLayer::new())
                    .layer(gate)
                    .add_routes(routes)
                    .serve_with_incoming_shutdown(
                        tokio_stream::wrappers::TcpListenerStream::new(listener),
                        stopped,
                    )
                    .await
            }
        };
        let socket_server = Server::builder()
            .layer(gate)
            .add_routes(routes)
            .serve_with_incoming_shutdown(UnixListenerStream::new(listener), signal);
        let server = async move {
            let (socket_served, web_served) = tokio::join!(socket_server, web_server);
            if let Err(err) = web_served {
                tracing::error!(error = %err, "the web listener stopped with an error");
            }
            socket_served
        };
        let drain_bound = async {
            stopping.wait().await;
            tokio::time::sleep(DRAIN).await;
        };
        let served = tokio::select! {
            served = server => served,
            () = drain_bound => {
                tracing::warn!(seconds = DRAIN.as_secs(), "requests still running after the drain; stopping without them");
                Ok(())
            }
        };
        // The server may also have stopped on its own (an error): stop the rest too.
        stop.stop();
        // The server has answered its last call: the writer writes what queued and ends.
        let _ = served_tx.send(());
        if tokio::time::timeout(BACKGROUND_DRAIN, audit_writer)
            .await
            .is_err()
        {
            tracing::warn!("the audit writer did not finish in time");
        }
        for task in background {
            let abort = task.abort_handle();
            if tokio::time::timeout(BACKGROUND_DRAIN, task).await.is_err() {
                tracing::warn!("a background task did not stop in time; aborting it");
                abort.abort();
            }
        }
        vault.lock();
        let _ = std::fs::remove_file(&socket);
        let closed = tokio::task::spawn_blocking(move || store.close())
            .await
            .map_err(|source| StartError::Task {
                during: "store closing",
                source,
            })?;
        if let Err(err) = served {
            tracing::error!(error = %err, "the server stopped with an error");
        }
        closed?;
        tracing::info!("stopped");
        Ok(())
    }
}

impl Services {
    /// Everything that can fail before the socket exists.
    async fn build(
        config: &Config,
        socket: &Path,
        store: Store,
        store_notices: Vec<crate::store::Notice>,
        web: WebSwitch,
    ) -> Result<Services, StartError> {
        let data_dir = &config.data_dir;
        let vault = Arc::new(Vault::new(
            store.clone(),
            data_dir,
            config.kdf(),
            config.idle_lock(),
        )?);
        let limits = limits(config);
        let detector = Arc::new(Detector::builtin()?);
        let output_rules = Arc::new(crate::safety::output::OutputRules::builtin()?);
        let models = Models::start(config.model_settings()).map_err(|e| StartError::Io {
            action: "start the model thread for",
            path: data_dir.clone(),
            source: e,
        })?;
        let crisis_check = Arc::new(CrisisCheck {
            lexicon: detector.clone(),
            // Only the default embedder carries one (config.rs): a model the user configured has
            // no classifier fine-tuned for it.
            classifier: Classifier::new(models.clone()),
        });
        let (changes_tx, changes) = tokio::sync::mpsc::unbounded_channel();
        let timeline = Timeline::new(store.clone(), vault.clone(), limits, crisis_check.clone())
            .with_changes(changes_tx);
        let generation =
            Generation::start(config.generator_settings()).map_err(|e| StartError::Io {
                action: "start the generator thread for",
                path: data_dir.clone(),
                source: e,
            })?;
        let search = Search::new(timeline.clone(), models.clone(), vault.clone());
        let safety = Arc::new(Safety::new(
            detector,
            store.clone(),
            vault.clone(),
            limits,
            data_dir,
            config.country_sources(),
        ));
        let plugins = InEffect::read_at_start(PluginPaths::new(data_dir));
        let events = Events::new();
        let checkins = CheckIns::new(
            store.clone(),
            vault.clone(),
            timeline.clone(),
            events.clone(),
            checkins::from_catalog(&plugins.catalog()),
        );
        let (stop, stopping) = crate::stopping::stopping();
        let (health_reporter, health) = tonic_health::server::health_reporter();
        health_reporter
            .set_serving::<DaemonServer<api::DaemonService>>()
            .await;
        let acknowledge = api::Acknowledge {
            safety: safety.clone(),
            events: events.clone(),
            search: search.clone(),
        };
        let tokens = Tokens::new(store.clone());
        let mut routes = Routes::builder();
        routes
            .add_service(health)
            .add_service(reflection().build_v1()?)
            .add_service(reflection().build_v1alpha()?)
            .add_service(bounded(DaemonServer::new(api::DaemonService {
                vault: vault.clone(),
                timeline: timeline.clone(),
                data_dir: data_dir.clone(),
                socket: socket.to_path_buf(),
                notices: store_notices.iter().map(ToString::to_string).collect(),
                web,
                safety: safety.clone(),
                store: store.clone(),
                stopping: stopping.clone(),
            })))
            .add_service(bounded(TimelineServer::new(api::TimelineService {
                timeline: timeline.clone(),
                search: search.clone(),
                acknowledge: acknowledge.clone(),
            })))
            .add_service(bounded(CheckInsServer::new(api::CheckInsService {
                checkins: checkins.clone(),
                safety: safety.clone(),
                acknowledge: acknowledge.clone(),
                stopping: stopping.clone(),
            })))
            .add_service(bounded(SafetyServer::new(api::SafetyService {
                safety: safety.clone(),
            })))
            .add_service(bounded(SessionsServer::new(api::SessionsService {
                timeline: timeline.clone(),
                checkins: checkins.clone(),
            })))
            .add_service(bounded(PracticeServer::new(api::PracticeService {
                practice: Practice::new(plugins.clone(), timeline.clone(), limits),
                acknowledge,
            })))
            .add_service(bounded(PrepServer::new(api::PrepService {
                prep: crate::prep::Prep::new(
                    timeline.clone(),
                    search.clone(),
                    plugins.clone(),
                    generation.clone(),
                    safety.detector.clone(),
                    output_rules.clone(),
                ),
            })))
            .add_service(bounded(PluginsServer::new(api::PluginsService {
                plugins,
                checkins: checkins.clone(),
                reloading: tokio::sync::Mutex::default(),
            })))
            .add_service(bounded(ModelsServer::new(api::ModelsService {
                generation,
                embedder: models,
                timeline: timeline.clone(),
                detector: safety.detector.clone(),
                rules: output_rules,
                idle_unload_minutes: config.models_idle_unload_minutes,
                stopping: stopping.clone(),
            })))
            .add_service(bounded(VocabularyServer::new(api::VocabularyService {
                timeline,
            })))
            .add_service(bounded(TokensServer::new(api::TokensService {
                tokens: tokens.clone(),
            })))
            .add_service(bounded(AuditServer::new(api::AuditService {
                store: store.clone(),
                vault: vault.clone(),
            })));
        let (audit, audit_writer) = crate::audit::start(store.clone(), vault.clone());
        Ok(Services {
            routes: routes.routes(),
            background: Background {
                vault: vault.clone(),
                crisis_check,
                events,
                checkins,
                delivery: delivery(config),
                search,
                changes,
            },
            store,
            vault,
            stop,
            stopping,
            gate: if config.audit_trail {
                GateLayer::new(tokens, current_uid()).audited(audit)
            } else {
                GateLayer::new(tokens, current_uid())
            },
            audit_writer,
        })
    }
}

impl Background {
    /// Each task watches `stopping` and returns at its next waiting point; none is aborted
    /// mid-write.
    fn spawn(self, stopping: &Stopping) -> Vec<tokio::task::JoinHandle<()>> {
        let Background {
            vault,
            crisis_check,
            events,
            checkins,
            delivery,
            search,
            changes,
        } = self;
        let warm_until_stopped = {
            let stop = stopping.wait();
            let vault = vault.clone();
            // Warming up only loads the model: nothing to finish, so it may stop at any point.
            async move {
                tokio::select! {
                    () = crisis_check.keep_warm(vault) => {}
                    () = stop => {}
                }
            }
        };
        vec![
            tokio::spawn(vault.clone().run_idle_lock(stopping.clone())),
            tokio::spawn(warm_until_stopped),
            tokio::spawn(checkins::publish_vault_changes(
                vault,
                events,
                stopping.clone(),
            )),
            tokio::spawn(checkins::run(checkins, delivery, stopping.clone())),
            tokio::spawn(crate::search::run(search, changes, stopping.clone())),
        ]
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

/// The largest request or response message, each way. Responses are paged well below it (see
/// `timeline`); requests hold at most a plugin bundle.
pub const MAX_MESSAGE_BYTES: usize = interlude_proto::MAX_MESSAGE_BYTES;

/// A service with explicit message limits both ways.
fn bounded<S: Bounded>(service: S) -> S {
    service.bounded(MAX_MESSAGE_BYTES)
}

/// The generated servers' limit setters, under one name.
trait Bounded {
    fn bounded(self, bytes: usize) -> Self;
}

macro_rules! bounded {
    ($($server:ident),*) => {$(
        impl<T: Send + Sync + 'static> Bounded for $server<T>
        where
            $server<T>: Sized,
        {
            fn bounded(self, bytes: usize) -> Self {
                self.max_decoding_message_size(bytes).max_encoding_message_size(bytes)
            }
        }
    )*};
}

bounded!(
    DaemonServer,
    TimelineServer,
    CheckInsServer,
    SafetyServer,
    SessionsServer,
    PracticeServer,
    PluginsServer,
    PrepServer,
    ModelsServer,
    VocabularyServer,
    TokensServer,
    AuditServer
);

/// Starts a daemon and serves until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
    Daemon::start(config).await?.serve(shutdown).await
}

fn current_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

#[derive(Clone, Copy)]
enum DirRole {
    Data,
    Socket,
}

/// Creates `dir` as 0700 if missing; refuses one that others can reach or that is not ours, and
/// one under a directory someone else could swap it out of (see
/// [`interlude_proto::private_dir`]).
fn ensure_private_dir(dir: &Path, role: DirRole) -> Result<(), StartError> {
    let io = |action| {
        move |source| StartError::Io {
            action,
            path: dir.to_path_buf(),
            source,
        }
    };
    // lstat: a symlink's own metadata, never its target's (refused by the check below).
    if let Err(e) = std::fs::symlink_metadata(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(io("inspect")(e));
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io("create"))?;
        // `mode` is filtered by the umask and not applied to parents; set it explicitly.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io("set permissions on"))?;
    }
    use interlude_proto::private_dir::{NotPrivate, check};
    check(dir).map_err(|not_private| match not_private {
        NotPrivate::Symlink { path } => StartError::SymlinkedDir { path },
        NotPrivate::NotOwned { path, owner } => StartError::NotOwned { path, owner },
        NotPrivate::OpenToOthers { path, mode } => match role {
            DirRole::Data => StartError::DataDirTooOpen { path, mode },
            DirRole::Socket => StartError::SocketDirTooOpen { path, mode },
        },
        other => StartError::NotPrivate(other),
    })
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
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(socket) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        // A file, link or directory at the socket path is not ours to delete.
        return Err(StartError::NotASocket {
            path: socket.to_path_buf(),
        });
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

/// Binds the loopback gRPC-Web listener when the config asks for one (checked to be loopback).
async fn bind_web(
    config: &Config,
) -> Result<Option<(tokio::net::TcpListener, std::net::SocketAddr)>, StartError> {
    let Some(address) = config.web_address()? else {
        return Ok(None);
    };
    let io = |action| {
        move |source| StartError::Io {
            action,
            path: PathBuf::from(address.to_string()),
            source,
        }
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(io("listen for the web app on"))?;
    let bound = listener.local_addr().map_err(io("read the address of"))?;
    Ok(Some((listener, bound)))
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
