//! `audit [--since]` and `audit verify`: the audit trail and its chain.

use interlude_proto::v1::{AuditEntry, ListAuditRequest};
use serde_json::json;

use super::Ctx;
use crate::args::{AuditArgs, AuditCommand};
use crate::error::{CliError, ExitCode};

pub async fn run(ctx: &Ctx, args: &AuditArgs) -> Result<(), CliError> {
    let request = ListAuditRequest {
        since_ms: args.since.map_or(0, |t| t.as_millisecond()),
    };
    let trail = ctx.daemon.audit().list(request).await?.into_inner();
    let verify = matches!(args.command, Some(AuditCommand::Verify));
    let unchained = if trail.unchained > 0 {
        format!(
            "\n{} entries written while locked since the daemon started are not chained yet; they are at the next write after an unlock.",
            trail.unchained
        )
    } else {
        String::new()
    };
    if verify {
        ctx.out.emit(
            || {
                if trail.first_problem.is_empty() {
                    format!("The audit trail is intact: {} entries.{unchained}", trail.entries.len())
                } else {
                    format!("The audit trail was tampered with: {}.", trail.first_problem)
                }
            },
            || json!({ "intact": trail.first_problem.is_empty(), "entries": trail.entries.len(), "first_problem": trail.first_problem, "unchained": trail.unchained }),
        )?;
        if !trail.first_problem.is_empty() {
            return Err(CliError::new(
                ExitCode::DataDamaged,
                format!("the audit trail is not intact: {}", trail.first_problem),
            ));
        }
        return Ok(());
    }
    ctx.out.emit(
        || {
            let mut text = trail
                .entries
                .iter()
                .map(line)
                .collect::<Vec<_>>()
                .join("\n");
            if trail.entries.is_empty() {
                text = "No audit entries in that window.".to_owned();
            }
            if !trail.first_problem.is_empty() {
                text += &format!(
                    "\nWARNING: the trail was tampered with: {}.",
                    trail.first_problem
                );
            }
            text + &unchained
        },
        || {
            json!({
                "entries": trail.entries.iter().map(|e| json!({
                    "seq": e.seq, "at_ms": e.at_ms, "caller": e.caller, "action": e.action,
                    "record": e.record, "outcome": e.outcome,
                })).collect::<Vec<_>>(),
                "first_problem": trail.first_problem,
                "unchained": trail.unchained,
            })
        },
    )
}

fn line(entry: &AuditEntry) -> String {
    let at = jiff::Timestamp::from_millisecond(entry.at_ms)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| "?".to_owned());
    let record = if entry.record.is_empty() {
        String::new()
    } else {
        format!(" {}", entry.record)
    };
    format!(
        "{:>6}  {at}  {}  {}{record}  {}",
        entry.seq, entry.caller, entry.action, entry.outcome
    )
}
