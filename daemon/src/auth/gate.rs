//! The gate every call passes before any service sees it: who is calling (the owner on the
//! socket, or a token), and whether that caller may make this call. The verdict is a pure
//! function of the call's path, its transport and its `authorization` metadata, so the table
//! test can walk every RPC.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::Status;
use tonic::transport::server::UdsConnectInfo;

use super::scopes::{self, Needs};
use super::tokens::{Rejected, Tokens};
use crate::audit::{self, Audit, Touched};
use crate::domain::{Millis, now_millis};

/// Who made a call, put in the request's extensions for the services (and the audit log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The daemon's own user on the Unix socket, without a token.
    Owner { uid: u32 },
    /// A caller that presented a live token with this name.
    Token { name: String },
}

impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Caller::Owner { uid } => write!(f, "uid {uid}"),
            Caller::Token { name } => write!(f, "token \"{name}\""),
        }
    }
}

/// How the call arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The Unix socket, with the peer's uid when the kernel told it.
    Socket { uid: Option<u32> },
    /// Anything else (the loopback gRPC-Web listener): a token is always needed.
    Other,
}

/// Marks an answer as the gate's (metadata `interlude-refused-by: auth`), so a client can tell a
/// refused token from a service's own `UNAUTHENTICATED` (a wrong passphrase).
pub const REFUSED_BY: &str = "interlude-refused-by";

/// Decides one call.
pub fn decide(
    path: &str,
    transport: Transport,
    authorization: Option<&str>,
    tokens: &Tokens,
    owner_uid: u32,
    now: Millis,
) -> Result<Caller, Status> {
    if let Transport::Socket { uid } = transport {
        match uid {
            Some(uid) if uid == owner_uid => {
                if authorization.is_none() {
                    return Ok(Caller::Owner { uid });
                }
            }
            Some(uid) => {
                tracing::warn!(uid, "refused a caller from another user");
                return Err(refused(Status::permission_denied(
                    "this Interlude daemon belongs to another user",
                )));
            }
            None => {
                return Err(refused(Status::permission_denied(
                    "could not tell who is calling; only local callers of the same user are served",
                )));
            }
        }
    }
    let Some(authorization) = authorization else {
        return Err(refused(Status::unauthenticated(
            "this call needs a token: send `authorization: Bearer <token>` (make one with `interlude token create`)",
        )));
    };
    let presented = bearer(authorization).ok_or_else(|| {
        refused(Status::unauthenticated(
            "the authorization metadata must be `Bearer <token>`",
        ))
    })?;
    let record = tokens.check(presented, now).map_err(|rejected| {
        refused(Status::unauthenticated(match rejected {
            Rejected::Unknown => {
                "this token is not one this daemon made; make one with `interlude token create`"
            }
            Rejected::Revoked => {
                "this token was revoked; make a new one with `interlude token create`"
            }
            Rejected::Expired => {
                "this token has expired; make a new one with `interlude token create`"
            }
        }))
    })?;
    match scopes::needs(path) {
        Some(Needs::AnyToken) => {}
        Some(Needs::Scope(scope)) if record.has(scope) => {}
        Some(Needs::Scope(scope)) => {
            return Err(refused(Status::permission_denied(format!(
                "the token \"{}\" may not make this call: it needs the `{scope}` scope",
                record.name
            ))));
        }
        None => {
            return Err(refused(Status::unimplemented(
                "this daemon serves no such call",
            )));
        }
    }
    Ok(Caller::Token { name: record.name })
}

/// A handler's error travels in the headers (tonic answers errors trailers-only); without one the
/// call succeeded (for a stream: it was opened).
fn outcome<R>(response: &http::Response<R>) -> tonic::Code {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map_or(tonic::Code::Ok, tonic::Code::from_i32)
}

fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

fn refused(mut status: Status) -> Status {
    status.metadata_mut().insert(
        REFUSED_BY,
        tonic::metadata::MetadataValue::from_static("auth"),
    );
    status
}

/// The gate as a tower layer in front of every service.
#[derive(Clone)]
pub struct GateLayer {
    tokens: Tokens,
    owner_uid: u32,
    audit: Option<Audit>,
}

impl GateLayer {
    pub fn new(tokens: Tokens, owner_uid: u32) -> GateLayer {
        GateLayer {
            tokens,
            owner_uid,
            audit: None,
        }
    }

    /// Records every call that touches the client's material, and every refusal.
    pub fn audited(mut self, audit: Audit) -> GateLayer {
        self.audit = Some(audit);
        self
    }
}

/// Calls that touch none of the client's material and would only fill the trail.
fn unaudited(path: &str) -> bool {
    matches!(
        path,
        "/interlude.v1.Daemon/Info"
            | "/interlude.v1.Daemon/Status"
            | "/interlude.v1.CheckIns/Watch"
    ) || path.starts_with("/grpc.")
}

/// `Timeline/AddReflection` from `/interlude.v1.Timeline/AddReflection`.
fn action(path: &str) -> String {
    path.trim_start_matches('/')
        .trim_start_matches("interlude.v1.")
        .to_owned()
}

impl<S> tower::Layer<S> for GateLayer {
    type Service = Gate<S>;
    fn layer(&self, inner: S) -> Gate<S> {
        Gate {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Gate<S> {
    inner: S,
    layer: GateLayer,
}

type Boxed<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for Gate<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = Boxed<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let transport = match request.extensions().get::<UdsConnectInfo>() {
            Some(info) => Transport::Socket {
                uid: info.peer_cred.map(|cred| cred.uid()),
            },
            None => Transport::Other,
        };
        let authorization = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or(""));
        let path = request.uri().path().to_owned();
        match decide(
            &path,
            transport,
            authorization,
            &self.layer.tokens,
            self.layer.owner_uid,
            now_millis(),
        ) {
            Ok(caller) => {
                request.extensions_mut().insert(caller.clone());
                let answer = self.inner.call(request);
                let Some(audit) = self.layer.audit.clone().filter(|_| !unaudited(&path)) else {
                    return Box::pin(answer);
                };
                Box::pin(async move {
                    let response = answer.await?;
                    let record = response
                        .extensions()
                        .get::<Touched>()
                        .map(|t| t.0.clone())
                        .unwrap_or_default();
                    audit.record(audit::entry(
                        caller.to_string(),
                        action(&path),
                        record,
                        outcome(&response),
                    ));
                    Ok(response)
                })
            }
            Err(status) => {
                tracing::warn!(path = %path, code = ?status.code(), "refused a call at the gate");
                if let Some(audit) = &self.layer.audit {
                    let caller = match transport {
                        Transport::Socket { uid: Some(uid) } => format!("uid {uid}"),
                        _ => "a caller without a valid token".to_owned(),
                    };
                    audit.record(audit::entry(
                        caller,
                        format!("refused {}", action(&path)),
                        String::new(),
                        status.code(),
                    ));
                }
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::scopes::{Scope, TABLE};
    use crate::store::{Store, StoreOptions};

    const OWNER: u32 = 4242;

    /// Every RPC the daemon serves, read from the descriptors (not from the table under test).
    fn every_rpc() -> Vec<String> {
        [
            interlude_proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ]
        .into_iter()
        .flat_map(crate::auth::scopes::tests::paths_in)
        .collect()
    }

    fn is_refused(result: &Result<Caller, Status>) -> bool {
        match result {
            Ok(_) => false,
            Err(status) => status.metadata().get(REFUSED_BY).is_some(),
        }
    }

    #[tokio::test]
    async fn every_rpc_refuses_every_token_without_its_scope_and_every_bad_token() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, _) = Store::open(dir.path(), &StoreOptions::default()).expect("store");
        let tokens = Tokens::new(store);
        let now = now_millis();
        let hour = 3_600_000;
        let mut good = Vec::new();
        for scope in Scope::ALL {
            let (token, _) = tokens
                .create(&format!("only {scope}"), &[scope.name().to_owned()], 0)
                .await
                .expect("token");
            good.push((scope, token));
        }
        let all: Vec<String> = Scope::ALL.iter().map(|s| s.name().to_owned()).collect();
        let (revoked, _) = tokens.create("revoked", &all, 0).await.expect("token");
        tokens.revoke("revoked").await.expect("revoke");
        let (expiring, _) = tokens
            .create("expiring", &all, now + hour)
            .await
            .expect("token");
        let (real, _) = tokens.create("real", &all, 0).await.expect("token");
        let (id_part, _) = real.rsplit_once('_').expect("id and secret");
        let wrong_secret = format!("{id_part}_{}", "0".repeat(64));

        let rpcs = every_rpc();
        assert!(rpcs.len() >= 60, "{} RPCs in the descriptors", rpcs.len());
        let mut unexpected = Vec::new();
        let mut checked = 0;
        for path in &rpcs {
            let needs = scopes::needs(path).unwrap_or_else(|| {
                panic!("{path} is served but has no row in auth::scopes::TABLE")
            });
            let transports = [Transport::Other, Transport::Socket { uid: Some(OWNER) }];
            for transport in transports {
                let call = |auth: Option<&str>, at: Millis| {
                    decide(path, transport, auth, &tokens, OWNER, at)
                };
                // Bad tokens, on every transport: refused.
                for (what, auth, at) in [
                    (
                        "a wrong secret",
                        Some(format!("Bearer {wrong_secret}")),
                        now,
                    ),
                    (
                        "a made-up token",
                        Some("Bearer itk_nothing".to_owned()),
                        now,
                    ),
                    ("not a bearer", Some(format!("Basic {real}")), now),
                    ("a revoked token", Some(format!("Bearer {revoked}")), now),
                    (
                        "an expired token",
                        Some(format!("Bearer {expiring}")),
                        now + 2 * hour,
                    ),
                ] {
                    checked += 1;
                    if !is_refused(&call(auth.as_deref(), at)) {
                        unexpected.push(format!("{path} allowed {what} on {transport:?}"));
                    }
                }
                // No token: only the owner on the socket.
                checked += 1;
                let none = call(None, now);
                match transport {
                    Transport::Other if !is_refused(&none) => {
                        unexpected.push(format!("{path} allowed no token on {transport:?}"))
                    }
                    Transport::Socket { .. }
                        if none.as_ref().ok() != Some(&Caller::Owner { uid: OWNER }) =>
                    {
                        unexpected.push(format!("{path} refused the owner without a token"))
                    }
                    _ => {}
                }
                // One token per scope: allowed exactly when the table says so.
                for (scope, token) in &good {
                    checked += 1;
                    let result = call(Some(&format!("Bearer {token}")), now);
                    let should = match needs {
                        Needs::AnyToken => true,
                        Needs::Scope(needed) => needed == *scope,
                    };
                    if should == is_refused(&result) {
                        unexpected.push(format!(
                            "{path} with a `{scope}` token: expected {}, got {result:?}",
                            if should { "allowed" } else { "refused" }
                        ));
                    }
                }
            }
            // Another user on the socket: refused, token or not.
            for auth in [None, Some(format!("Bearer {real}"))] {
                checked += 1;
                let other = decide(
                    path,
                    Transport::Socket {
                        uid: Some(OWNER + 1),
                    },
                    auth.as_deref(),
                    &tokens,
                    OWNER,
                    now,
                );
                if !is_refused(&other) {
                    unexpected.push(format!("{path} allowed another uid"));
                }
            }
        }
        assert!(
            unexpected.is_empty(),
            "{} unexpected verdicts:\n{}",
            unexpected.len(),
            unexpected.join("\n")
        );
        assert_eq!(
            TABLE.len(),
            rpcs.len(),
            "the table has rows for RPCs that are not served"
        );
        println!("{} RPCs, {checked} verdicts, 0 unexpected", rpcs.len());
    }
}
