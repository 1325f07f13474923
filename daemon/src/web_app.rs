//! The web app's files, embedded at build time from the committed bundle (`daemon/web/dist/`,
//! built from `daemon/web/` by `npm run build`; a test fails when it is stale): the daemon never
//! fetches anything and cargo never runs npm. Served on the loopback listener with a strict content security policy: the page
//! may load only its own files and talk only to the daemon that served it.

use http::{HeaderValue, StatusCode, header};

const FILES: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../web/dist/index.html"),
    ),
    (
        "/index.html",
        "text/html; charset=utf-8",
        include_str!("../web/dist/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/dist/app.js"),
    ),
    (
        "/app.css",
        "text/css; charset=utf-8",
        include_str!("../web/dist/app.css"),
    ),
];

const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The file at `path`, or a 404.
pub fn file(path: &str) -> http::Response<tonic::body::Body> {
    let Some((_, kind, content)) = FILES.iter().find(|(p, _, _)| *p == path) else {
        let mut response = http::Response::new(tonic::body::Body::new(String::from(
            "Not here. Open the link `interlude web` prints.",
        )));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    };
    let mut response = http::Response::new(tonic::body::Body::new(String::from(*content)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
