//! `web`: opens the web app with a short-lived token in the link's fragment (the browser never
//! sends a fragment to a server, so it is in no server's log). When the daemon's web listener is
//! off, it is turned on first (`Daemon.OpenWeb`), and the daemon records it in its config file.

use interlude_proto::v1::{CreateTokenRequest, OpenWebRequest, StatusRequest};
use serde_json::json;

use super::Ctx;
use crate::args::WebArgs;
use crate::error::CliError;

/// What the app's token may do: everything but the vault and tokens (`admin`) and plugins.
const SCOPES: &[&str] = &["capture", "read", "edit", "practice", "prep"];
const HOURS: i64 = 12;

pub async fn open(ctx: &Ctx, args: &WebArgs) -> Result<(), CliError> {
    let status = ctx
        .daemon
        .daemon()
        .status(StatusRequest {})
        .await?
        .into_inner();
    let (web, turned_on) = if status.web.is_empty() {
        let opened = turn_on(ctx).await?;
        let said = if opened.config_file.is_empty() {
            format!(
                "Turned the web app's listener on at {}. {}",
                opened.web, opened.note
            )
        } else {
            format!(
                "Turned the web app's listener on at {} (kept on in {}).",
                opened.web, opened.config_file
            )
        };
        (opened.web, Some(said))
    } else {
        (status.web, None)
    };
    let now = jiff::Timestamp::now().as_millisecond();
    let made = ctx
        .daemon
        .tokens()
        .create(CreateTokenRequest {
            name: format!(
                "web app {}",
                // To the millisecond: two `interlude web` in one second get two tokens.
                jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M:%S%.3f")
            ),
            scopes: SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            expires_at_ms: now + HOURS * 3_600_000,
        })
        .await?
        .into_inner();
    let url = format!("{web}/#token={}", made.token);
    let opened = !args.no_browser && !ctx.out.is_json() && open_browser(&url);
    let first = turned_on
        .as_ref()
        .map(|s| format!("{s}\n"))
        .unwrap_or_default();
    ctx.out.emit(
        || {
            if opened {
                format!("{first}Opened the web app in your browser (the link works for {HOURS} hours).")
            } else {
                format!("{first}Open this link in your browser (it works for {HOURS} hours; keep it to yourself):\n{url}")
            }
        },
        || json!({ "url": url, "expires_at_ms": now + HOURS * 3_600_000, "turned_on": turned_on.is_some() }),
    )
}

/// Asks the daemon to turn its loopback listener on; an older daemon without `OpenWeb` gets the
/// config line to add by hand.
async fn turn_on(ctx: &Ctx) -> Result<interlude_proto::v1::OpenWebResponse, CliError> {
    match ctx
        .daemon
        .daemon()
        .open_web(OpenWebRequest::default())
        .await
    {
        Ok(response) => Ok(response.into_inner()),
        Err(status) if status.code() == tonic::Code::Unimplemented => Err(CliError::invalid_input(
            "the web app is off, and this daemon is too old to turn it on",
        )
        .with_hint(
            "add `[api]` and `web = \"127.0.0.1:7777\"` (any free port) to the config file, restart interluded, and run `interlude web` again",
        )),
        Err(status) => Err(status.into()),
    }
}

/// `xdg-open` (or `open` on macOS) when there is a display; false when none could be started.
fn open_browser(url: &str) -> bool {
    let has_display = std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some()
        || cfg!(target_os = "macos");
    if !has_display {
        return false;
    }
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
