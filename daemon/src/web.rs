//! The loopback gRPC-Web listener's guard (and the door to the web app's files), in front of gRPC-Web and the token gate: only
//! loopback `Host`s (a page on another name that resolves to 127.0.0.1, DNS rebinding, is
//! refused), only the listener's own origin and the origins the config lists (CORS preflights
//! answered for those, refused for others). Tokens are the gate's business: on this transport it
//! always asks for one.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Method, StatusCode, header};

/// Headers a gRPC-Web client sends and reads.
const ALLOW_HEADERS: &str = "authorization, content-type, x-grpc-web, x-user-agent, grpc-timeout";
const EXPOSE_HEADERS: &str =
    "grpc-status, grpc-message, grpc-status-details-bin, interlude-refused-by";

#[derive(Clone)]
pub struct GuardLayer {
    inner: Arc<Rules>,
}

struct Rules {
    port: u16,
    origins: Vec<String>,
}

impl GuardLayer {
    /// For a listener bound to `addr` (loopback), allowing its own origins and `extra`.
    pub fn new(addr: SocketAddr, extra: &[String]) -> GuardLayer {
        let port = addr.port();
        let mut origins: Vec<String> = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .map(|host| format!("http://{host}:{port}"))
            .collect();
        origins.extend(extra.iter().map(|o| o.trim_end_matches('/').to_owned()));
        GuardLayer {
            inner: Arc::new(Rules { port, origins }),
        }
    }
}

impl Rules {
    /// `Host` (HTTP/1.1) or the URI's authority (HTTP/2) must name loopback and our port.
    fn host_ok<B>(&self, request: &http::Request<B>) -> bool {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| request.uri().authority().map(|a| a.to_string()));
        let Some(host) = host else {
            return false;
        };
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) if !name.is_empty() => (name, port.parse::<u16>().ok()),
            _ => (host.as_str(), Some(80)),
        };
        port == Some(self.port)
            && matches!(
                name.to_ascii_lowercase().as_str(),
                "127.0.0.1" | "localhost" | "[::1]"
            )
    }

    fn origin_ok(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            rules: self.inner.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
    rules: Arc<Rules>,
}

type Boxed<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

type R = tonic::body::Body;

impl<S, B> tower::Service<http::Request<B>> for Guard<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = Boxed<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if !self.rules.host_ok(&request) {
            tracing::warn!("refused a web request for a host that is not loopback");
            return refuse(
                "this listener answers only requests for 127.0.0.1, localhost or [::1] at its own port",
            );
        }
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .map(str::to_owned);
        if let Some(origin) = &origin
            && !self.rules.origin_ok(origin)
        {
            tracing::warn!("refused a web request from an origin not listed in [api] web_origins");
            return refuse(
                "this page's origin is not allowed: add it to `web_origins` under [api] in the config",
            );
        }
        if request.method() == Method::GET || request.method() == Method::HEAD {
            return Box::pin(std::future::ready(Ok(crate::web_app::file(
                request.uri().path(),
            ))));
        }
        if request.method() == Method::OPTIONS {
            let mut response = http::Response::new(R::default());
            *response.status_mut() = StatusCode::NO_CONTENT;
            cors(&mut response, origin.as_deref());
            response.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST, GET, OPTIONS"),
            );
            response.headers_mut().insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
            return Box::pin(std::future::ready(Ok(response)));
        }
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            cors(&mut response, origin.as_deref());
            Ok(response)
        })
    }
}

fn cors<R>(response: &mut http::Response<R>, origin: Option<&str>) {
    let Some(origin) = origin.and_then(|o| HeaderValue::from_str(o).ok()) else {
        return;
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
}

/// A 403 that a gRPC-Web client also reads as PERMISSION_DENIED.
fn refuse<E: Send + 'static>(message: &'static str) -> Boxed<http::Response<R>, E> {
    let mut response: http::Response<R> = tonic::Status::permission_denied(message).into_http();
    *response.status_mut() = StatusCode::FORBIDDEN;
    Box::pin(std::future::ready(Ok(response)))
}

/// The configured address, refused unless it is loopback.
pub fn parse_address(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text.trim().parse().map_err(|_| {
        format!("`{text}` is not an address and port; use 127.0.0.1:PORT (e.g. 127.0.0.1:7777)")
    })?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "`{text}` is not a loopback address; the web listener only binds 127.0.0.1 or [::1], so that nothing outside this computer can reach it"
        ));
    }
    Ok(addr)
}
