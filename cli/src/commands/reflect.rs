//! `reflect`: capture a moment. One round trip after Info, and it works while locked.

use interlude_proto::v1::{
    AddReflectionRequest, AddReflectionResponse, Emotion, ReflectionKind, Resurfaced, SafetyPayload,
};
use serde_json::{Value, json};

use super::{Ctx, safety};
use crate::args::ReflectArgs;
use crate::error::CliError;
use crate::output::indent;
use crate::output::safety as shown;
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
    // When the check noticed something, the client's plan and the lines come first.
    let payload = saved.safety.clone().map(safety::complete);
    ctx.out.emit(
        || {
            let notice = saved_notice(&saved) + &resurfaced_text(&saved.resurfaced);
            with_payload_first(payload.as_ref(), notice)
        },
        || {
            let saved = json!({
                "id": saved.id,
                "moment": time::rfc3339(saved.moment.as_ref()),
                "sealed": saved.sealed,
                "resurfaced": resurfaced_json(&saved.resurfaced),
            });
            with_payload_json(saved, payload.as_ref())
        },
    )
}

/// The safety payload, if any, then the usual notice.
pub fn with_payload_first(payload: Option<&SafetyPayload>, notice: String) -> String {
    match payload {
        Some(payload) => format!("{}\n\n{notice}", shown::payload_text(payload)),
        None => notice,
    }
}

/// The JSON object with the safety payload, if any, under `safety`.
pub fn with_payload_json(mut value: Value, payload: Option<&SafetyPayload>) -> Value {
    if let Some(payload) = payload {
        value["safety"] = shown::payload_json(payload);
    }
    value
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

/// Earlier entries this one resembles, in the client's own words, under the confirmation.
pub fn resurfaced_text(resurfaced: &[Resurfaced]) -> String {
    resurfaced
        .iter()
        .map(|r| {
            let day = r
                .moment
                .as_ref()
                .and_then(time::from_proto)
                .map(|t| t.to_zoned(jiff::tz::TimeZone::system()))
                .and_then(|z| jiff::fmt::strtime::format("%-d %B", &z).ok())
                .unwrap_or_else(|| "an earlier day".into());
            let place = if r.from_session {
                " (kept from a session)"
            } else if r.helpful {
                " (marked helpful)"
            } else {
                ""
            };
            format!("\n\nYou wrote on {day}{place}:\n{}", indent(&r.text, "  "))
        })
        .collect()
}

pub fn resurfaced_json(resurfaced: &[Resurfaced]) -> Value {
    resurfaced
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "moment": time::rfc3339(r.moment.as_ref()),
                "text": r.text,
                "similarity": r.similarity,
                "from_session": r.from_session,
                "helpful": r.helpful,
            })
        })
        .collect()
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
            ..Default::default()
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
            ..Default::default()
        };
        assert!(saved_notice(&saved).starts_with("Saved.  01JD  "));
    }

    #[test]
    fn the_payload_comes_before_saved() {
        let payload = SafetyPayload {
            message: "What you wrote is saved, exactly as you wrote it.".into(),
            region: "Anywhere".into(),
            ..Default::default()
        };
        let text = with_payload_first(Some(&payload), "Saved.  01JD".into());
        assert!(
            text.starts_with("What you wrote is saved, exactly as you wrote it.\n\n"),
            "{text}"
        );
        assert!(text.contains("interlude safety-plan edit"), "{text}");
        assert!(text.ends_with("\n\nSaved.  01JD"), "{text}");
        assert_eq!(with_payload_first(None, "Saved.".into()), "Saved.");
    }
}
