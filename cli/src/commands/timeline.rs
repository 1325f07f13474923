//! `timeline`, `show`, `edit`, `delete`: reading and changing reflections.

use interlude_proto::v1::{
    DeleteReflectionRequest, EditReflectionRequest, Emotion, EmotionList, GetReflectionRequest,
    ListReflectionsRequest, Order, Reflection, ReflectionKind, SetHelpfulRequest, StringList,
};
use serde_json::json;

use super::reflect::{with_payload_first, with_payload_json};
use super::{Ctx, confirm, nothing_deleted, require_terminal_to_confirm, safety, tell};
use crate::args::{DeleteArgs, EditArgs, HelpfulArgs, TimelineArgs};
use crate::error::CliError;
use crate::output::reflection;
use crate::{input, time};

/// The daemon's largest page.
const MAX_PAGE: u32 = 1000;

pub async fn list(ctx: &Ctx, args: &TimelineArgs) -> Result<(), CliError> {
    let window = fetch(ctx, args).await?;
    if !window.damaged_ids.is_empty() {
        tell(&damaged_notice(&window.damaged_ids));
    }
    ctx.out.emit(
        || reflection::list(&window.reflections),
        || {
            json!({
                "reflections": window.reflections.iter().map(reflection::to_json).collect::<Vec<_>>(),
                "damaged_ids": window.damaged_ids,
            })
        },
    )
}

/// What the pages held: the readable reflections and the ids that failed their integrity check.
#[derive(Debug, Default)]
struct Window {
    reflections: Vec<Reflection>,
    damaged_ids: Vec<String>,
}

/// Follows the pages until `limit` reflections are in or there are no more.
async fn fetch(ctx: &Ctx, args: &TimelineArgs) -> Result<Window, CliError> {
    let mut client = ctx.daemon.timeline();
    let mut request = first_page(args);
    let mut window = Window::default();
    loop {
        let page = client.list_reflections(request.clone()).await?.into_inner();
        let got_some = !page.reflections.is_empty() || !page.damaged_ids.is_empty();
        window.reflections.extend(page.reflections);
        window.damaged_ids.extend(page.damaged_ids);
        let remaining = remaining(args.limit, window.reflections.len());
        if remaining == 0 || page.next_page_token.is_empty() || !got_some {
            break;
        }
        request.limit = remaining.min(MAX_PAGE);
        request.page_token = page.next_page_token;
    }
    window
        .reflections
        .truncate(usize::try_from(args.limit).unwrap_or(usize::MAX));
    Ok(window)
}

fn damaged_notice(ids: &[String]) -> String {
    format!(
        "interlude: {} in this window failed the integrity check and {} left out: {}; \
         `interlude status` shows what the daemon knows",
        crate::output::count(
            u64::try_from(ids.len()).unwrap_or(u64::MAX),
            "reflection",
            "reflections"
        ),
        if ids.len() == 1 { "is" } else { "are" },
        ids.join(", ")
    )
}

fn first_page(args: &TimelineArgs) -> ListReflectionsRequest {
    let order = if args.oldest_first {
        Order::OldestFirst
    } else {
        Order::NewestFirst
    };
    ListReflectionsRequest {
        since: args.since.map(time::to_proto),
        until: args.until.map(time::to_proto),
        kind: args
            .kind
            .map_or(ReflectionKind::Unspecified, ReflectionKind::from)
            .into(),
        tag: args.tag.clone().unwrap_or_default(),
        bring_to_session: args.bring.then_some(true),
        private: None,
        limit: args.limit.min(MAX_PAGE),
        page_token: String::new(),
        order: order.into(),
    }
}

fn remaining(limit: u32, have: usize) -> u32 {
    limit.saturating_sub(u32::try_from(have).unwrap_or(u32::MAX))
}

pub async fn show(ctx: &Ctx, id: &str) -> Result<(), CliError> {
    let found = get(ctx, id).await?;
    ctx.out
        .emit(|| reflection::full(&found), || reflection::to_json(&found))
}

async fn get(ctx: &Ctx, id: &str) -> Result<Reflection, CliError> {
    let request = GetReflectionRequest { id: id.to_owned() };
    Ok(ctx
        .daemon
        .timeline()
        .get_reflection(request)
        .await?
        .into_inner())
}

pub async fn edit(ctx: &Ctx, mut args: EditArgs) -> Result<(), CliError> {
    let words = std::mem::take(&mut args.text);
    let mut request = changes(args);
    if !words.is_empty() {
        request.text = Some(input::text(&words, ctx.daemon.socket(), "").await?);
    } else if asks_nothing(&request) {
        let current = get(ctx, &request.id).await?.text;
        let text = input::text(&[], ctx.daemon.socket(), &current).await?;
        if text == current.trim_end() {
            return ctx.out.emit(
                || "Nothing changed.".to_owned(),
                || json!({ "id": request.id, "changed": false }),
            );
        }
        request.text = Some(text);
    }
    let edited = ctx
        .daemon
        .timeline()
        .edit_reflection(request)
        .await?
        .into_inner();
    // The response carries no payload; a reflection the check noticed gets the plan and the
    // lines first all the same.
    let payload = if edited.crisis {
        Some(safety::payload_from(&ctx.daemon).await)
    } else {
        None
    };
    ctx.out.emit(
        || {
            with_payload_first(
                payload.as_ref(),
                format!("Edited.\n{}", reflection::summary(&edited)),
            )
        },
        || with_payload_json(reflection::to_json(&edited), payload.as_ref()),
    )
}

/// No flags: the user wants to edit the text itself.
fn asks_nothing(request: &EditReflectionRequest) -> bool {
    *request
        == EditReflectionRequest {
            id: request.id.clone(),
            ..Default::default()
        }
}

/// Only the fields the user asked to change are set; the text is filled in by the caller.
fn changes(args: EditArgs) -> EditReflectionRequest {
    let tags =
        (args.clear_tags || !args.tags.is_empty()).then_some(StringList { values: args.tags });
    let emotions = (args.clear_emotions || !args.emotions.is_empty()).then(|| EmotionList {
        values: args.emotions.into_iter().map(Emotion::from).collect(),
    });
    EditReflectionRequest {
        id: args.id,
        text: None,
        tags,
        emotions,
        bring_to_session: flag(args.bring, args.no_bring),
        private: flag(args.private, args.not_private),
        kind: args
            .kind
            .map_or(ReflectionKind::Unspecified, ReflectionKind::from)
            .into(),
    }
}

fn flag(on: bool, off: bool) -> Option<bool> {
    match (on, off) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

pub async fn delete(ctx: &Ctx, args: &DeleteArgs) -> Result<(), CliError> {
    if !args.yes {
        require_terminal_to_confirm()?;
        let doomed = get(ctx, &args.id).await?;
        tell(&reflection::header(&doomed));
        if !confirm("Delete this reflection and its history for good?")? {
            return nothing_deleted(ctx, &args.id);
        }
    }
    let request = DeleteReflectionRequest {
        id: args.id.clone(),
    };
    ctx.daemon.timeline().delete_reflection(request).await?;
    ctx.out.emit(
        || "Deleted, with its history.".to_owned(),
        || json!({ "id": args.id, "deleted": true }),
    )
}

/// `interlude helpful ID` marks, `--undo` clears; either way the reflection is shown.
pub async fn helpful(ctx: &Ctx, args: &HelpfulArgs) -> Result<(), CliError> {
    let request = SetHelpfulRequest {
        id: args.id.clone(),
        helpful: !args.undo,
    };
    let marked = ctx
        .daemon
        .timeline()
        .set_helpful(request)
        .await?
        .into_inner();
    let said = if marked.helpful {
        "Marked helpful: it can come back when you write something like it."
    } else {
        "No longer marked helpful."
    };
    ctx.out.emit(
        || format!("{said}\n{}", reflection::summary(&marked)),
        || reflection::to_json(&marked),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn edit_args(line: &[&str]) -> EditArgs {
        let argv = ["interlude", "edit", "01JD"].iter().chain(line).copied();
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Edit(args) => args,
            other => panic!("not edit: {other:?}"),
        }
    }

    #[test]
    fn an_edit_sends_only_the_fields_asked_for() {
        let request = changes(edit_args(&["--bring", "--tag", "work"]));
        assert_eq!(request.bring_to_session, Some(true));
        assert_eq!(request.tags.as_ref().unwrap().values, ["work"]);
        assert_eq!(request.private, None);
        assert_eq!(request.emotions, None);
        assert_eq!(request.text, None);
        assert_eq!(request.kind(), ReflectionKind::Unspecified);
    }

    #[test]
    fn clearing_tags_sends_an_empty_list() {
        let request = changes(edit_args(&["--clear-tags", "--not-private"]));
        assert_eq!(request.tags, Some(StringList { values: vec![] }));
        assert_eq!(request.private, Some(false));
    }

    #[test]
    fn an_edit_without_flags_is_an_edit_of_the_text() {
        assert!(asks_nothing(&changes(edit_args(&[]))));
        assert!(!asks_nothing(&changes(edit_args(&["--no-bring"]))));
    }

    #[test]
    fn the_limit_counts_down_across_pages() {
        assert_eq!(remaining(20, 5), 15);
        assert_eq!(remaining(20, 25), 0);
    }
}
