//! Reading a jrnl journal (`jrnl --export json`) as Interlude reflections.
//!
//! | jrnl | Interlude |
//! |---|---|
//! | `date` + `time` (local) | the moment (local time zone) |
//! | `title`, `body` | the text: the title, a blank line, the body |
//! | `tags` (`@work`) | tags (`work`) |
//! | `starred` | marked helpful |
//!
//! Each entry's id is derived from its moment and its text, so importing the same export again
//! finds every entry already there. A UTF-8 byte-order mark and CRLF line ends are accepted; an
//! entry without a date, or with neither title nor body, is skipped and counted.

use interlude_proto::v1::{Reflection, ReflectionKind};
use jiff::{Zoned, civil, tz::TimeZone};
use serde_json::Value;

use super::Read;
use crate::time;

/// Reads `text` (the whole export) in the time zone `zone`.
pub fn read(text: &str, zone: &TimeZone) -> Result<Read, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("it is not JSON ({e})"))?;
    let entries = doc["entries"]
        .as_array()
        .ok_or("it has no `entries` list, so it is not jrnl's JSON export")?;
    let mut read = Read {
        reflections: Vec::new(),
        skipped: Vec::new(),
    };
    for (n, entry) in entries.iter().enumerate() {
        match reflection(entry, zone) {
            Ok(r) => read.reflections.push(r),
            Err(why) => read.skipped.push((n + 1, why)),
        }
    }
    Ok(read)
}

fn reflection(entry: &Value, zone: &TimeZone) -> Result<Reflection, String> {
    let field = |key: &str| {
        entry[key]
            .as_str()
            .unwrap_or_default()
            .replace("\r\n", "\n")
    };
    let (title, body) = (field("title"), field("body"));
    let text = match (title.trim(), body.trim()) {
        ("", "") => return Err("it has neither title nor body".into()),
        (title, "") => title.to_owned(),
        ("", body) => body.to_owned(),
        (title, body) => format!("{title}\n\n{body}"),
    };
    let date = entry["date"]
        .as_str()
        .ok_or("it has no date")?
        .parse::<civil::Date>()
        .map_err(|e| format!("its date is not a date ({e})"))?;
    let clock = match entry["time"].as_str() {
        Some(t) if !t.trim().is_empty() => t
            .trim()
            .parse::<civil::Time>()
            .map_err(|e| format!("its time is not a time of day ({e})"))?,
        _ => civil::Time::midnight(),
    };
    let moment = date
        .to_datetime(clock)
        .to_zoned(zone.clone())
        .map(|z: Zoned| z.timestamp())
        .map_err(|e| format!("its time does not exist in the local time zone ({e})"))?;
    let tags = entry["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(|t| t.trim().trim_start_matches(['@', '#']).to_lowercase())
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let tags_unique = super::unique(tags);
    let when = time::to_proto(moment);
    Ok(Reflection {
        id: super::id_for("jrnl", moment.as_millisecond(), &text),
        moment: Some(when),
        recorded_at: Some(when),
        kind: ReflectionKind::Note.into(),
        text,
        tags: tags_unique,
        helpful: entry["starred"].as_bool().unwrap_or(false),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    #[test]
    fn an_entry_maps_to_a_reflection_with_a_stable_id() {
        let text = "\u{feff}{\"tags\":{\"@work\":1},\"entries\":[{\"title\":\"Froze in the meeting.\",\
            \"body\":\"The critic again.\\r\\nThen 🌊 breath.\",\"date\":\"2026-10-11\",\"time\":\"21:10\",\
            \"tags\":[\"@work\",\"@Work\"],\"starred\":true}]}";
        let found = read(text, &utc()).unwrap();
        assert!(found.skipped.is_empty());
        let r = &found.reflections[0];
        assert_eq!(
            r.text,
            "Froze in the meeting.\n\nThe critic again.\nThen 🌊 breath."
        );
        assert_eq!(r.tags, ["work"]);
        assert!(r.helpful);
        assert_eq!(r.moment.unwrap().seconds, 1_791_753_000);
        assert_eq!(r.id.len(), 26);
        assert_eq!(
            read(text, &utc()).unwrap().reflections[0].id,
            r.id,
            "the same id again"
        );
    }

    #[test]
    fn entries_with_missing_fields_are_skipped_or_defaulted_and_counted() {
        let text = r#"{"entries":[
            {"title":"no time","date":"2026-10-11"},
            {"body":"no date"},
            {"date":"2026-10-11","time":"09:00"},
            {"title":"bad date","date":"2026-13-40"}
        ]}"#;
        let found = read(text, &utc()).unwrap();
        assert_eq!(found.reflections.len(), 1);
        assert_eq!(found.reflections[0].text, "no time");
        let skipped: Vec<usize> = found.skipped.iter().map(|(n, _)| *n).collect();
        assert_eq!(skipped, [2, 3, 4]);
    }

    #[test]
    fn something_else_is_refused_with_why() {
        assert!(read("[1,2]", &utc()).unwrap_err().contains("entries"));
        assert!(read("not json", &utc()).unwrap_err().contains("not JSON"));
    }
}
