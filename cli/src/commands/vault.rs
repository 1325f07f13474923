//! `init`, `unlock`, `lock`, `status`, `passphrase`: the vault's lifecycle.

use anyhow::Context;
use interlude_proto::crisis_lines;
use interlude_proto::v1::{
    ChangePassphraseRequest, InitRequest, LockRequest, StatusRequest, StatusResponse,
    UnlockRequest, VaultState, change_passphrase_request::Current, unlock_request::Secret as Key,
};
use serde_json::json;

use super::Ctx;
use crate::args::{InitArgs, UnlockArgs};
use crate::error::CliError;
use crate::output::{count, snake_name};
use crate::secret::{Secret, SecretReader};

pub async fn init(ctx: &Ctx, args: &InitArgs) -> Result<(), CliError> {
    let passphrase = SecretReader::open(&args.secret)?.new_passphrase()?;
    let country = match &args.country {
        Some(country) => Some(country.clone()),
        None => ask_country()?,
    };
    ctx.daemon.check_listener()?;
    let response = ctx
        .daemon
        .daemon()
        .init(InitRequest {
            passphrase,
            country: country.clone().unwrap_or_default(),
        })
        .await?
        .into_inner();
    let key = response.recovery_key;
    ctx.out.emit(
        || {
            let mut text = recovery_key_notice(&key);
            text.push_str(&match &country {
                Some(code) => format!(
                    "\n\nCrisis lines: {code}. `interlude help-now` shows them at any time; \
                     `interlude country XX` changes the country."
                ),
                None => "\n\nNo country chosen for the crisis lines: `interlude help-now` guesses \
                         from this computer's language setting and adds lines that work anywhere. \
                         Choose yours with `interlude country XX` (two letters, e.g. GB)."
                    .to_owned(),
            });
            text
        },
        || json!({ "recovery_key": key, "country": country }),
    )
}

/// Asks once, in a terminal, which country's crisis lines to show; the system locale's country
/// is offered as a suggestion, never taken silently. `None` without a terminal (scripts pass
/// `--country`) or when the client leaves it.
fn ask_country() -> Result<Option<String>, CliError> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let guess = crisis_lines::for_locale(&crisis_lines::system_locale());
    let suggestion = (guess.id != crisis_lines::FALLBACK).then_some(guess.id);
    let mut stderr = std::io::stderr();
    loop {
        let offer = match &suggestion {
            Some(code) => format!(" [Enter for {code}, from this computer's language setting]"),
            None => " [Enter to skip]".to_owned(),
        };
        write!(
            stderr,
            "Which country are you in? Interlude shows that country's crisis lines.\n\
             Two letters (GB, US, IE, CA, AU, NZ, ...) or INTL{offer}: "
        )
        .and_then(|()| stderr.flush())
        .context("could not ask for the country")?;
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("could not read the country")?;
        if answer.trim().is_empty() {
            return Ok(suggestion);
        }
        match crisis_lines::parse_country(&answer) {
            Ok(code) => return Ok(Some(code)),
            Err(error) => {
                let _ = writeln!(stderr, "{error}");
            }
        }
    }
}

fn recovery_key_notice(key: &str) -> String {
    format!(
        "Your vault is ready.\n\
         \n\
         Recovery key:\n\
         \n\
         \x20   {key}\n\
         \n\
         Write it down now and keep it somewhere safe, away from this computer.\n\
         It is shown only this once. It can unlock the vault and set a new passphrase,\n\
         so guard it like the passphrase itself."
    )
}

pub async fn unlock(ctx: &Ctx, args: &UnlockArgs) -> Result<(), CliError> {
    let kind = Secret::from_flag(args.recovery_key);
    let value = SecretReader::open(&args.secret)?.existing(kind)?;
    let secret = match kind {
        Secret::Passphrase => Key::Passphrase(value),
        Secret::RecoveryKey => Key::RecoveryKey(value),
    };
    ctx.daemon.check_listener()?;
    let unsealed = ctx
        .daemon
        .daemon()
        .unlock(UnlockRequest {
            secret: Some(secret),
        })
        .await?
        .into_inner()
        .unsealed;
    ctx.out.emit(
        || unlocked_notice(unsealed),
        || json!({ "unlocked": true, "unsealed": unsealed }),
    )
}

fn unlocked_notice(unsealed: u32) -> String {
    if unsealed == 0 {
        return "Unlocked.".to_owned();
    }
    let reflections = count(unsealed, "reflection", "reflections");
    format!("Unlocked.\n{reflections} captured while locked joined your timeline.")
}

pub async fn lock(ctx: &Ctx) -> Result<(), CliError> {
    ctx.daemon.daemon().lock(LockRequest {}).await?;
    ctx.out
        .emit(|| "Locked.".to_owned(), || json!({ "locked": true }))
}

pub async fn change_passphrase(ctx: &Ctx, args: &UnlockArgs) -> Result<(), CliError> {
    let kind = Secret::from_flag(args.recovery_key);
    let mut reader = SecretReader::open(&args.secret)?;
    let value = reader.existing(kind)?;
    let new_passphrase = reader.new_passphrase()?;
    let current = match kind {
        Secret::Passphrase => Current::Passphrase(value),
        Secret::RecoveryKey => Current::RecoveryKey(value),
    };
    ctx.daemon.check_listener()?;
    ctx.daemon
        .daemon()
        .change_passphrase(ChangePassphraseRequest {
            current: Some(current),
            new_passphrase,
        })
        .await?;
    ctx.out.emit(
        || "Passphrase changed.".to_owned(),
        || json!({ "changed": true }),
    )
}

pub async fn status(ctx: &Ctx) -> Result<(), CliError> {
    let status = ctx
        .daemon
        .daemon()
        .status(StatusRequest {})
        .await?
        .into_inner();
    let socket = match status.socket.as_str() {
        "" => ctx.daemon.socket().display().to_string(),
        socket => socket.to_owned(),
    };
    let info = ctx.daemon.info();
    ctx.out.emit(
        || {
            status_text(
                &status,
                &socket,
                &info.daemon_version,
                info.protocol_version,
            )
        },
        || {
            json!({
                "vault": snake_name(status.vault().as_str_name(), "VAULT_STATE_"),
                "daemon_version": info.daemon_version,
                "protocol_version": info.protocol_version,
                "socket": socket,
                "data_dir": status.data_dir,
                "sealed_pending": status.sealed_pending,
                "idle_lock_seconds": status.idle_lock_seconds,
                "notices": status.notices,
            })
        },
    )
}

fn status_text(status: &StatusResponse, socket: &str, version: &str, protocol: u32) -> String {
    let mut lines = vec![
        format!("vault      {}", vault_state(status.vault())),
        format!("daemon     interluded {version}, protocol {protocol}"),
        format!("socket     {socket}"),
        format!("data dir   {}", status.data_dir),
        format!(
            "sealed     {} waiting for the next unlock",
            count(status.sealed_pending, "reflection", "reflections")
        ),
        format!("idle lock  {}", idle_lock(status.idle_lock_seconds)),
    ];
    lines.extend(
        status
            .notices
            .iter()
            .map(|notice| format!("notice     {notice}")),
    );
    lines.join("\n")
}

fn vault_state(state: VaultState) -> &'static str {
    match state {
        VaultState::Uninitialised => "not created yet; run `interlude init`",
        VaultState::Locked => "locked",
        VaultState::Unlocked => "unlocked",
        VaultState::Unspecified => "unknown",
    }
}

fn idle_lock(seconds: u64) -> String {
    match seconds {
        0 => "off".to_owned(),
        s if s % 60 == 0 => format!("after {}", count(s / 60, "minute", "minutes")),
        s => format!("after {}", count(s, "second", "seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlocking_mentions_reflections_that_joined_only_when_there_were_some() {
        assert_eq!(unlocked_notice(0), "Unlocked.");
        assert_eq!(
            unlocked_notice(1),
            "Unlocked.\n1 reflection captured while locked joined your timeline."
        );
        assert_eq!(
            unlocked_notice(3),
            "Unlocked.\n3 reflections captured while locked joined your timeline."
        );
    }

    #[test]
    fn the_recovery_key_notice_says_it_is_shown_once() {
        let notice = recovery_key_notice("ABCD-EFGH");
        assert!(notice.contains("\n    ABCD-EFGH\n"));
        assert!(notice.contains("Write it down"));
        assert!(notice.contains("only this once"));
        assert!(notice.contains("unlock the vault and set a new passphrase"));
    }

    #[test]
    fn the_idle_lock_is_shown_in_minutes() {
        assert_eq!(idle_lock(900), "after 15 minutes");
        assert_eq!(idle_lock(60), "after 1 minute");
        assert_eq!(idle_lock(90), "after 90 seconds");
        assert_eq!(idle_lock(0), "off");
    }

    #[test]
    fn status_puts_each_notice_on_its_own_line() {
        let mut status = StatusResponse {
            data_dir: "/d".into(),
            notices: vec!["one".into(), "two".into()],
            idle_lock_seconds: 600,
            ..Default::default()
        };
        status.set_vault(VaultState::Locked);
        let text = status_text(&status, "/s.sock", "0.1.0", 1);
        assert!(text.starts_with("vault      locked\n"), "{text}");
        assert!(text.ends_with("\nnotice     one\nnotice     two"), "{text}");
    }
}
