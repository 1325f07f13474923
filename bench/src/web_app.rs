//! Row 14: the web app, in headless Chromium (Debian's `chromium`, over the DevTools protocol)
//! against the real `interluded` with its loopback listener on.
//!
//! - `AddReflection` from the page: Save clicked in the capture screen until "Saved." shows
//!   (Connect-ES's gRPC-Web transport over loopback HTTP/1.1, the page's encoding and decoding
//!   and its DOM update included), against the same call over the Unix socket (tonic), in
//!   alternating blocks of [`BLOCK`] so that both see the same machine; between them, the same
//!   call as gRPC-Web from this process on one kept-alive HTTP/1.1 connection with the page's
//!   token (no browser), which splits the difference into the browser's part and the web path's.
//! - First load, the browser's cache unused (the daemon serves with `no-store`): the bytes of the
//!   page, its script and its style sheet, and the time from the navigation's start to the
//!   capture screen shown with the vault's state (the first `Status` answered: the app is ready
//!   for typing), against DOMContentLoaded.
//!
//! Chromium coarsens `performance.now()` to 0.1 ms; the figures are in milliseconds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use interlude_e2e::devtools::{DevTools, chromium};
use interlude_e2e::{PASSPHRASE, tools_present};
use interlude_proto::v1;
use interlude_proto::v1::timeline_client::TimelineClient;
use serde_json::{Value, json};

use super::single_client::BLOCK;
use super::{WARM_UP, progress};
use crate::stats::{Stats, fmt_ms, ms, ratio, stats};

const TEXT: &str = "a short evening note from the web page benchmark";

pub struct Figures {
    pub page: Stats,
    pub socket: Stats,
    pub grpc_web: Stats,
    pub loads: usize,
    pub interactive: Stats,
    pub dom_content_loaded: Stats,
    /// Path and bytes of each file of the first load.
    pub files: Vec<(String, u64)>,
}

/// `None` (said loudly) without Chromium.
pub fn measure(
    runtime: &tokio::runtime::Runtime,
    interluded: &Path,
    root: &Path,
    quick: bool,
) -> Result<Option<Figures>> {
    if !tools_present(&["chromium"]) {
        eprintln!("bench: SKIPPED row 14: chromium is not installed");
        return Ok(None);
    }
    let (adds, loads) = if quick { (100, 5) } else { (500, 20) };
    let mut daemon = super::real_daemon(interluded, root, false)?;
    let config = daemon.root.path().join("config.toml");
    let text = std::fs::read_to_string(&config)? + "[api]\nweb = \"127.0.0.1:0\"\n";
    std::fs::write(&config, text)?;
    daemon.launch();
    let init = daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n"));
    if !init.status.success() {
        bail!("init failed: {}", String::from_utf8_lossy(&init.stderr));
    }
    let opened = daemon.cli(&["--json", "web", "--no-browser"]);
    let opened: Value = serde_json::from_slice(&opened.stdout).context("interlude web")?;
    let url = opened["url"].as_str().context("no url")?.to_owned();

    let profile = tempfile::tempdir()?;
    let (_browser, page) = chromium(profile.path());
    let mut tools = DevTools::connect(&page);
    tools.command("Runtime.enable", json!({}));
    tools.command("Page.enable", json!({}));
    tools.command(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": READY_MARK }),
    );

    progress(&format!("14. the web app's first load, {loads} times"));
    let mut interactive = Vec::new();
    let mut dom_content_loaded = Vec::new();
    let mut files = Vec::new();
    for _ in 0..loads {
        tools.command("Page.navigate", json!({ "url": "about:blank" }));
        tools.until("location.href === 'about:blank'", "a blank page");
        tools.command("Page.navigate", json!({ "url": url }));
        tools.until(
            "window.__interactive !== undefined",
            "the capture screen, ready",
        );
        let timing = tools.eval(LOAD_FIGURES);
        interactive.push(from_ms(&timing["interactive"]));
        dom_content_loaded.push(from_ms(&timing["dom"]));
        files = timing["files"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                let name = f[0].as_str().unwrap_or_default();
                let path = name.split_once("//").map_or(name, |(_, rest)| {
                    rest.find('/').map_or("/", |at| &rest[at..])
                });
                (
                    path.split('#').next().unwrap_or_default().to_owned(),
                    f[1].as_u64().unwrap_or(0),
                )
            })
            .filter(|(path, _): &(String, u64)| !path.starts_with("/interlude.v1."))
            .collect();
    }

    progress(&format!(
        "14. AddReflection from the page and over the socket, {adds} each, alternating"
    ));
    let socket = daemon.socket();
    let channel = runtime.block_on(interlude_proto::connect(&socket))?;
    let mut timeline = TimelineClient::new(channel);
    let request = v1::AddReflectionRequest {
        text: TEXT.into(),
        ..Default::default()
    };
    page_adds(&mut tools, WARM_UP)?;
    for _ in 0..WARM_UP {
        runtime.block_on(timeline.add_reflection(request.clone()))?;
    }
    let port: u16 = url
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .and_then(|p| p.parse().ok())
        .context("no port in the link")?;
    let token = url
        .split("#token=")
        .nth(1)
        .context("no token in the link")?;
    let mut web = GrpcWeb::connect(port, token)?;
    let body = prost::Message::encode_to_vec(&request);
    for _ in 0..WARM_UP {
        web.call(ADD, &body)?;
    }
    let (mut from_page, mut over_socket, mut grpc_web) = (Vec::new(), Vec::new(), Vec::new());
    while from_page.len() < adds {
        let k = BLOCK.min(adds - from_page.len());
        from_page.extend(page_adds(&mut tools, k)?);
        for _ in 0..k {
            let started = Instant::now();
            web.call(ADD, &body)?;
            grpc_web.push(started.elapsed());
        }
        let mut timeline = timeline.clone();
        let request = request.clone();
        let block = runtime.block_on(runtime.spawn(async move {
            let mut samples = Vec::with_capacity(k);
            for _ in 0..k {
                let started = Instant::now();
                timeline.add_reflection(request.clone()).await?;
                samples.push(started.elapsed());
            }
            Ok::<_, tonic::Status>(samples)
        }))??;
        over_socket.extend(block);
    }
    if !tools.errors.is_empty() {
        bail!("the page reported errors: {:?}", tools.errors);
    }
    daemon.stop();
    Ok(Some(Figures {
        page: stats(from_page),
        socket: stats(over_socket),
        grpc_web: stats(grpc_web),
        loads,
        interactive: stats(interactive),
        dom_content_loaded: stats(dom_content_loaded),
        files,
    }))
}

/// Set before the app's script runs: notes when the capture screen shows with the vault's state.
const READY_MARK: &str = "(() => {
  const check = () => {
    const vault = document.getElementById('vault');
    const capture = document.getElementById('capture');
    if (window.__interactive === undefined && vault && vault.textContent && capture && !capture.hidden) {
      window.__interactive = performance.now();
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
})();";

const LOAD_FIGURES: &str = "(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const files = [[nav.name, nav.encodedBodySize], ...performance.getEntriesByType('resource').map((r) => [r.name, r.encodedBodySize])];
  return { interactive: window.__interactive, dom: nav.domContentLoadedEventEnd, files };
})()";

/// `n` saves from the capture screen, each timed from the click to \"Saved.\".
fn page_adds(tools: &mut DevTools, n: usize) -> Result<Vec<Duration>> {
    let times = tools.eval(&format!(
        "(async (n) => {{
          const text = document.getElementById('text');
          const saved = document.getElementById('saved');
          const submit = document.querySelector('#capture-form button[type=submit]');
          const times = [];
          for (let i = 0; i < n; i++) {{
            saved.textContent = '';
            text.value = {TEXT:?};
            const done = new Promise((resolve, reject) => {{
              const watch = new MutationObserver(() => {{ if (saved.textContent) {{ watch.disconnect(); resolve(); }} }});
              watch.observe(saved, {{ childList: true, characterData: true, subtree: true }});
              setTimeout(() => reject(new Error(document.getElementById('problem').textContent || 'no answer in 10 s')), 10000);
            }});
            const started = performance.now();
            submit.click();
            await done;
            times.push(performance.now() - started);
          }}
          return times;
        }})({n})"
    ));
    let times: Vec<Duration> = times
        .as_array()
        .context("the page returned no times")?
        .iter()
        .map(from_ms)
        .collect();
    if times.len() != n {
        bail!("the page saved {} of {n}", times.len());
    }
    Ok(times)
}

const ADD: &str = "/interlude.v1.Timeline/AddReflection";

/// gRPC-Web as a browser sends it, from this process, on one kept-alive HTTP/1.1 connection.
struct GrpcWeb {
    reader: BufReader<TcpStream>,
    port: u16,
    token: String,
}

impl GrpcWeb {
    fn connect(port: u16, token: &str) -> Result<GrpcWeb> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        Ok(GrpcWeb {
            reader: BufReader::new(stream),
            port,
            token: token.to_owned(),
        })
    }

    /// One unary call; fails unless it answers `grpc-status: 0`.
    fn call(&mut self, path: &str, message: &[u8]) -> Result<()> {
        let mut body = vec![0u8];
        body.extend_from_slice(&(message.len() as u32).to_be_bytes());
        body.extend_from_slice(message);
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\n\r\n",
            self.port,
            self.token,
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(&body)?;
        let (mut chunked, mut length, mut status) = (false, 0usize, None);
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if lower == "transfer-encoding: chunked" {
                chunked = true;
            } else if let Some(n) = lower.strip_prefix("content-length:") {
                length = n.trim().parse()?;
            } else if let Some(code) = lower.strip_prefix("grpc-status:") {
                status = Some(code.trim().to_owned());
            }
        }
        let mut answer = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size)?;
                let size = usize::from_str_radix(size.trim(), 16)?;
                let mut chunk = vec![0u8; size + 2];
                self.reader.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                answer.extend_from_slice(&chunk[..size]);
            }
        } else {
            answer.resize(length, 0);
            self.reader.read_exact(&mut answer)?;
        }
        let trailer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        let ok = status.as_deref() == Some("0")
            || (status.is_none() && trailer.contains("grpc-status:0"));
        if !ok {
            bail!("gRPC-Web call failed: {status:?} {trailer}");
        }
        Ok(())
    }
}

fn from_ms(value: &Value) -> Duration {
    Duration::from_secs_f64(value.as_f64().unwrap_or(0.0).max(0.0) / 1000.0)
}

pub fn markdown(f: &Figures) -> String {
    let total: u64 = f.files.iter().map(|(_, bytes)| bytes).sum();
    let files = f
        .files
        .iter()
        .map(|(path, bytes)| format!("{path} {bytes}"))
        .collect::<Vec<_>>()
        .join(" + ");
    format!(
        "| # | Measurement | Figure | Reference | Ratio |\n|---|---|---|---|---|\n\
         | 14 | `AddReflection` from the web app's page: Save clicked → \"Saved.\" shown (Connect-ES gRPC-Web, loopback HTTP/1.1, headless Chromium; n={}) | p50 {} · p99 {} | the same call over the Unix socket (tonic), alternating blocks of {BLOCK}: p50 {} · p99 {} | p50 {} · p99 {} |\n\
         | 14 | The same call as gRPC-Web from a Rust client, one kept-alive HTTP/1.1 connection, the page's token (no browser; n={}) | p50 {} · p99 {} | over the Unix socket: p50 {} | p50 {} |\n\
         | 14 | The web app's first load: bytes of its files (no compression, no cache; then one `Status` call) | {total} B ({files}) | — | — |\n\
         | 14 | The web app's first load: navigation start → capture screen shown with the vault's state (n={}) | p50 {} · max {} | DOMContentLoaded p50 {} | p50 {} |\n",
        f.page.n,
        fmt_ms(f.page.p50),
        fmt_ms(f.page.p99),
        fmt_ms(f.socket.p50),
        fmt_ms(f.socket.p99),
        ratio(ms(f.page.p50), ms(f.socket.p50)),
        ratio(ms(f.page.p99), ms(f.socket.p99)),
        f.grpc_web.n,
        fmt_ms(f.grpc_web.p50),
        fmt_ms(f.grpc_web.p99),
        fmt_ms(f.socket.p50),
        ratio(ms(f.grpc_web.p50), ms(f.socket.p50)),
        f.loads,
        fmt_ms(f.interactive.p50),
        fmt_ms(f.interactive.max),
        fmt_ms(f.dom_content_loaded.p50),
        ratio(ms(f.interactive.p50), ms(f.dom_content_loaded.p50)),
    )
}
