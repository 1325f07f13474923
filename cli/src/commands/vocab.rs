//! `vocab add|list|remove`: the client's own words.

use interlude_proto::v1::{AddTermRequest, ListTermsRequest, RemoveTermRequest, TermKind};
use serde_json::json;

use super::Ctx;
use crate::args::{VocabAddArgs, VocabListArgs};
use crate::error::CliError;
use crate::output::term;

pub async fn add(ctx: &Ctx, args: VocabAddArgs) -> Result<(), CliError> {
    let word = args.word.join(" ");
    if word.trim().is_empty() {
        return Err(CliError::invalid_input(
            "the word is empty; write it after the kind, like `interlude vocab add part \"the critic\"`",
        ));
    }
    let request = AddTermRequest {
        kind: TermKind::from(args.kind).into(),
        word: word.trim().to_owned(),
        note: args.note.unwrap_or_default(),
    };
    let added = ctx
        .daemon
        .vocabulary()
        .add_term(request)
        .await?
        .into_inner();
    ctx.out.emit(
        || format!("Added.\n{}", term::line(&added)),
        || term::to_json(&added),
    )
}

pub async fn list(ctx: &Ctx, args: &VocabListArgs) -> Result<(), CliError> {
    let kind = args.kind.map_or(TermKind::Unspecified, TermKind::from);
    let request = ListTermsRequest { kind: kind.into() };
    let terms = ctx
        .daemon
        .vocabulary()
        .list_terms(request)
        .await?
        .into_inner()
        .terms;
    ctx.out.emit(
        || term::list(&terms),
        || json!({ "terms": terms.iter().map(term::to_json).collect::<Vec<_>>() }),
    )
}

pub async fn remove(ctx: &Ctx, id: &str) -> Result<(), CliError> {
    let request = RemoveTermRequest { id: id.to_owned() };
    ctx.daemon.vocabulary().remove_term(request).await?;
    ctx.out.emit(
        || "Removed.".to_owned(),
        || json!({ "id": id, "removed": true }),
    )
}
