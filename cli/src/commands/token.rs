//! `token create|list|revoke`: access tokens for other frontends.

use interlude_proto::v1::{CreateTokenRequest, ListTokensRequest, RevokeTokenRequest, TokenInfo};
use serde_json::{Value, json};

use super::Ctx;
use crate::args::TokenCreateArgs;
use crate::error::CliError;

pub async fn create(ctx: &Ctx, args: TokenCreateArgs) -> Result<(), CliError> {
    let request = CreateTokenRequest {
        name: args.name,
        scopes: args.scope,
        expires_at_ms: args.expires.map_or(0, |at| at.as_millisecond()),
    };
    let made = ctx.daemon.tokens().create(request).await?.into_inner();
    let info = made.info.unwrap_or_default();
    ctx.out.emit(
        || {
            format!(
                "{}\n\nThis is the only time the token is shown; the daemon keeps only its hash.\n{}",
                made.token,
                line(&info)
            )
        },
        || json!({ "token": made.token, "info": to_json(&info) }),
    )
}

pub async fn list(ctx: &Ctx) -> Result<(), CliError> {
    let tokens = ctx
        .daemon
        .tokens()
        .list(ListTokensRequest {})
        .await?
        .into_inner()
        .tokens;
    ctx.out.emit(
        || {
            if tokens.is_empty() {
                "No tokens. Make one with `interlude token create --name NAME --scope read`."
                    .to_owned()
            } else {
                tokens.iter().map(line).collect::<Vec<_>>().join("\n")
            }
        },
        || json!({ "tokens": tokens.iter().map(to_json).collect::<Vec<_>>() }),
    )
}

pub async fn revoke(ctx: &Ctx, name: &str) -> Result<(), CliError> {
    let request = RevokeTokenRequest {
        name: name.to_owned(),
    };
    let revoked = ctx.daemon.tokens().revoke(request).await?.into_inner();
    let info = revoked.info.unwrap_or_default();
    ctx.out
        .emit(|| format!("Revoked. {}", line(&info)), || to_json(&info))
}

fn line(info: &TokenInfo) -> String {
    let state = if info.revoked_at_ms != 0 {
        format!("revoked {}", when(info.revoked_at_ms))
    } else if info.expires_at_ms == 0 {
        "never expires".to_owned()
    } else if info.expires_at_ms <= jiff::Timestamp::now().as_millisecond() {
        format!("expired {}", when(info.expires_at_ms))
    } else {
        format!("expires {}", when(info.expires_at_ms))
    };
    format!(
        "{}  [{}]  made {}, {state}",
        info.name,
        info.scopes.join(","),
        when(info.created_at_ms)
    )
}

fn when(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| "?".to_owned())
}

fn to_json(info: &TokenInfo) -> Value {
    json!({
        "name": info.name,
        "scopes": info.scopes,
        "created_at_ms": info.created_at_ms,
        "expires_at_ms": info.expires_at_ms,
        "revoked_at_ms": info.revoked_at_ms,
    })
}
