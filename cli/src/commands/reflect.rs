//! `reflect`: capture a moment. One round trip after Info, and it works while locked.

use interlude_proto::v1::{AddReflectionRequest, AddReflectionResponse, Emotion, ReflectionKind};
use serde_json::json;

use super::Ctx;
use crate::args::ReflectArgs;
use crate::error::CliError;
use crate::{input, time};

pub async fn reflect(ctx: &Ctx, args: ReflectArgs) -> Result<(), CliError> {
    let text = input::text(&args.text, ctx.daemon.socket(), "").await?;
    let request = AddReflectionRequest {
        text,
        kind: ReflectionKind::from(args.kind).into(),
        emotions: args.emotions.into_iter().map(Emotion::from).collect(),
        tags: args.tags,
        bring_to_session: args.bring,
        private: args.private,
        moment: args.at.map(time::to_proto),
        ..Default::default()
    };
    let saved = ctx
        .daemon
        .timeline()
        .add_reflection(request)
        .await?
        .into_inner();
    ctx.out.emit(
        || saved_notice(&saved),
        || {
            json!({
                "id": saved.id,
                "moment": time::rfc3339(saved.moment.as_ref()),
                "sealed": saved.sealed,
            })
        },
    )
}

fn saved_notice(saved: &AddReflectionResponse) -> String {
    let when = time::local(saved.moment.as_ref());
    if saved.sealed {
        format!(
            "Saved, sealed while the vault is locked. Reading it needs `interlude unlock`.\n{}  {when}",
            saved.id
        )
    } else {
        format!("Saved.  {}  {when}", saved.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_reflection_says_it_needs_an_unlock_to_read() {
        let saved = AddReflectionResponse {
            id: "01JD".into(),
            moment: None,
            sealed: true,
        };
        let notice = saved_notice(&saved);
        assert!(notice.starts_with(
            "Saved, sealed while the vault is locked. Reading it needs `interlude unlock`.\n01JD"
        ));
    }

    #[test]
    fn a_saved_reflection_shows_its_id() {
        let saved = AddReflectionResponse {
            id: "01JD".into(),
            moment: None,
            sealed: false,
        };
        assert!(saved_notice(&saved).starts_with("Saved.  01JD  "));
    }
}
