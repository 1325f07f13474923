//! `session add|list|show|edit|delete`: the therapy sessions the client logs.

use interlude_proto::v1::{
    AddSessionRequest, DeleteSessionRequest, EditSessionRequest, GetSessionRequest, InsightList,
    ListSessionsRequest, Session,
};
use serde_json::json;

use super::{Ctx, confirm, nothing_deleted, require_terminal_to_confirm, tell};
use crate::args::{DeleteArgs, SessionAddArgs, SessionEditArgs, SessionListArgs};
use crate::error::CliError;
use crate::output::session;
use crate::time;

pub async fn add(ctx: &Ctx, args: SessionAddArgs) -> Result<(), CliError> {
    let request = AddSessionRequest {
        held_at: args.at.map(time::to_proto),
        insights: args.insights,
        note: args.note.unwrap_or_default(),
    };
    let added = ctx
        .daemon
        .sessions()
        .add_session(request)
        .await?
        .into_inner();
    ctx.out.emit(
        || format!("Session logged.\n{}", session::full(&added)),
        || session::to_json(&added),
    )
}

pub async fn list(ctx: &Ctx, args: &SessionListArgs) -> Result<(), CliError> {
    let request = ListSessionsRequest {
        limit: args.limit.unwrap_or(0),
        ..Default::default()
    };
    let sessions = ctx
        .daemon
        .sessions()
        .list_sessions(request)
        .await?
        .into_inner()
        .sessions;
    ctx.out.emit(
        || session::list(&sessions),
        || json!({ "sessions": sessions.iter().map(session::to_json).collect::<Vec<_>>() }),
    )
}

pub async fn show(ctx: &Ctx, id: &str) -> Result<(), CliError> {
    let found = get(ctx, id).await?;
    ctx.out
        .emit(|| session::full(&found), || session::to_json(&found))
}

async fn get(ctx: &Ctx, id: &str) -> Result<Session, CliError> {
    let request = GetSessionRequest { id: id.to_owned() };
    Ok(ctx
        .daemon
        .sessions()
        .get_session(request)
        .await?
        .into_inner())
}

pub async fn edit(ctx: &Ctx, args: SessionEditArgs) -> Result<(), CliError> {
    let insights = (args.clear_insights || !args.insights.is_empty()).then_some(InsightList {
        values: args.insights,
    });
    let request = EditSessionRequest {
        id: args.id,
        held_at: args.at.map(time::to_proto),
        insights,
        note: args.note,
    };
    let edited = ctx
        .daemon
        .sessions()
        .edit_session(request)
        .await?
        .into_inner();
    ctx.out.emit(
        || format!("Edited.\n{}", session::full(&edited)),
        || session::to_json(&edited),
    )
}

pub async fn delete(ctx: &Ctx, args: &DeleteArgs) -> Result<(), CliError> {
    if !args.yes {
        require_terminal_to_confirm()?;
        let doomed = get(ctx, &args.id).await?;
        tell(&session::header(&doomed));
        if !confirm("Delete this session for good?")? {
            return nothing_deleted(ctx, &args.id);
        }
    }
    let request = DeleteSessionRequest {
        id: args.id.clone(),
    };
    ctx.daemon.sessions().delete_session(request).await?;
    ctx.out.emit(
        || "Deleted.".to_owned(),
        || json!({ "id": args.id, "deleted": true }),
    )
}
