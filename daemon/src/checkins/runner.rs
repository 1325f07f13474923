//! The scheduler task: sleeps until the next check-in (or a change), delivers at most one, and
//! shows it through the notifier. It never polls: with nothing due it waits on a timer and a
//! channel, nothing else.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::Timestamp;

use super::notifier::{Choice, GENERIC_TEXT, Notice, Notifier};
use super::{CheckIns, Pending, wake};
use crate::stopping::Stopping;
use crate::vault::VaultState;

pub struct Delivery {
    /// `None` when desktop notifications are off: check-ins wait for frontends and the CLI.
    pub notifier: Option<Arc<dyn Notifier>>,
    /// Show the question itself rather than the generic text.
    pub show_prompt: bool,
    /// Run on "Check in"; `{id}` becomes the check-in's id.
    pub command: Vec<String>,
}

/// "Snooze 1h" on a notification.
const NOTIFICATION_SNOOZE_MINUTES: u32 = 60;

pub async fn run(checkins: CheckIns, delivery: Delivery, stopping: Stopping) {
    let delivery = Arc::new(delivery);
    let warned = Arc::new(AtomicBool::new(false));
    let mut vault = checkins.vault().subscribe();
    let mut shown: Option<tokio::task::JoinHandle<()>> = None;
    let stop = stopping.wait();
    tokio::pin!(stop);
    loop {
        if *vault.borrow_and_update() == VaultState::Unlocked
            && let Err(err) = checkins.load().await
        {
            tracing::warn!(error = %err, "could not read the check-in schedules");
        }
        match checkins.look(Timestamp::now()).await {
            Ok(Some(pending)) => {
                if let Some(previous) = shown.take() {
                    previous.abort();
                }
                shown = delivery.notifier.clone().map(|notifier| {
                    tokio::spawn(show(
                        checkins.clone(),
                        notifier,
                        delivery.clone(),
                        pending,
                        warned.clone(),
                    ))
                });
            }
            Ok(None) => {}
            Err(err) => tracing::error!(error = %err, "could not deliver a check-in"),
        }
        let next = checkins.next_look().await.unwrap_or_else(|err| {
            tracing::error!(error = %err, "could not plan the next check-in");
            None
        });
        tokio::select! {
            woke = async { wake::until(next?).await.ok() }, if next.is_some() => {
                if woke.is_none() {
                    tracing::error!("the check-in timer failed; waiting for the next change");
                    checkins.changed().await;
                }
            }
            () = checkins.changed() => {}
            changed = vault.changed() => if changed.is_err() { return },
            // Between looks only: a delivery under way (a state write) finishes first.
            () = &mut stop => return,
        }
    }
}

async fn show(
    checkins: CheckIns,
    notifier: Arc<dyn Notifier>,
    delivery: Arc<Delivery>,
    pending: Pending,
    warned: Arc<AtomicBool>,
) {
    let notice = Notice {
        body: if delivery.show_prompt {
            pending.prompt.clone()
        } else {
            GENERIC_TEXT.into()
        },
    };
    let choice = match notifier.show(&notice).await {
        Ok(choice) => choice,
        Err(err) => {
            // Once: the check-in still waits for `interlude checkin` and frontends.
            if !warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(error = %err, "no desktop notification server; check-ins wait in `interlude checkin`");
            }
            return;
        }
    };
    let outcome = match choice {
        Choice::CheckIn => open(&delivery.command, &pending.id),
        Choice::Snooze => checkins
            .snooze(NOTIFICATION_SNOOZE_MINUTES)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        Choice::NotNow => checkins
            .dismiss(&pending.id)
            .await
            .map_err(|e| e.to_string()),
        Choice::Dismissed => Ok(()),
    };
    if let Err(err) = outcome {
        tracing::warn!(error = %err, ?choice, "could not act on a notification");
    }
}

/// Starts the client's check-in command and reaps it in the background.
fn open(command: &[String], id: &str) -> Result<(), String> {
    let mut words = command.iter().map(|w| w.replace("{id}", id));
    let program = words.next().ok_or("no check-in command is configured")?;
    let mut child = std::process::Command::new(&program)
        .args(words)
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("could not run {program}: {e}"))?;
    tokio::task::spawn_blocking(move || child.wait());
    Ok(())
}
