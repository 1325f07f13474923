//! Showing a check-in on the desktop. Lock screens and notification history are outside our
//! encryption, so the text is generic unless the client opted in to seeing the question.

use std::future::Future;
use std::pin::Pin;

/// What the client did with a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    CheckIn,
    Snooze,
    NotNow,
    /// Closed, expired, or clicked without choosing: the check-in stays waiting.
    Dismissed,
}

pub struct Notice {
    pub body: String,
}

pub const GENERIC_TEXT: &str = "A moment to check in?";

pub type Shown<'a> = Pin<Box<dyn Future<Output = Result<Choice, String>> + Send + 'a>>;

pub trait Notifier: Send + Sync {
    /// Shows `notice` and resolves with the client's choice. Errors when no notification server
    /// is reachable.
    fn show<'a>(&'a self, notice: &'a Notice) -> Shown<'a>;
}

/// The desktop's notification server: D-Bus on Linux, the native path on macOS.
pub struct Desktop;

const CHECK_IN: &str = "check-in";
const SNOOZE: &str = "snooze";
const NOT_NOW: &str = "not-now";

impl Notifier for Desktop {
    fn show<'a>(&'a self, notice: &'a Notice) -> Shown<'a> {
        Box::pin(async move {
            let mut notification = notify_rust::Notification::new();
            notification
                .appname("Interlude")
                .summary("Interlude")
                .body(&notice.body)
                .action(CHECK_IN, "Check in")
                .action(SNOOZE, "Snooze 1h")
                .action(NOT_NOW, "Not now");
            shown(notification).await
        })
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
async fn shown(notification: notify_rust::Notification) -> Result<Choice, String> {
    let handle = notification.show_async().await.map_err(|e| e.to_string())?;
    let mut choice = Choice::Dismissed;
    handle
        .wait_for_action_async(|response| {
            if let notify_rust::NotificationResponse::Action(action) = response {
                choice = match action.as_str() {
                    CHECK_IN => Choice::CheckIn,
                    SNOOZE => Choice::Snooze,
                    NOT_NOW => Choice::NotNow,
                    _ => Choice::Dismissed,
                };
            }
        })
        .await;
    Ok(choice)
}

#[cfg(target_os = "macos")]
async fn shown(notification: notify_rust::Notification) -> Result<Choice, String> {
    // macOS notifications from a daemon cannot carry actions back; the check-in waits.
    tokio::task::spawn_blocking(move || notification.show().map(|_| Choice::Dismissed))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}
