//! Reading a Daylio CSV export (Settings → Export entries → CSV) as Interlude reflections.
//!
//! | Daylio | Interlude |
//! |---|---|
//! | `full_date` + `time` (local; `21:10` or `9:10 pm`) | the moment (local time zone) |
//! | `note_title`, `note` (`<br>` as line breaks) | the text: the title, a blank line, the note |
//! | no title and no note | the text "Mood: MOOD. Activities: A, B." |
//! | `mood` | a tag `mood:MOOD` (Daylio's moods have no intensity, so no emotion is invented) |
//! | `activities` (`work \| family`) | tags |
//!
//! Columns are found by their header, in any order; a byte-order mark and CRLF line ends are
//! accepted. A row without a date or a readable time is skipped and counted.

use interlude_proto::v1::{Reflection, ReflectionKind};
use jiff::{civil, tz::TimeZone};

use super::Read;
use crate::time;

/// Reads `text` (the whole CSV file) in the time zone `zone`.
pub fn read(text: &str, zone: &TimeZone) -> Result<Read, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = csv
        .headers()
        .map_err(|e| format!("its first line is not a CSV header ({e})"))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(date), Some(time_of_day), Some(mood)) =
        (column("full_date"), column("time"), column("mood"))
    else {
        return Err(
            "it has no full_date, time and mood columns, so it is not Daylio's CSV export".into(),
        );
    };
    let columns = Columns {
        date,
        time_of_day,
        mood,
        activities: column("activities"),
        title: column("note_title"),
        note: column("note"),
    };
    let mut read = Read {
        reflections: Vec::new(),
        skipped: Vec::new(),
    };
    for (n, row) in csv.records().enumerate() {
        let result = row
            .map_err(|e| format!("it is not a CSV row ({e})"))
            .and_then(|row| reflection(&row, &columns, zone));
        match result {
            Ok(r) => read.reflections.push(r),
            Err(why) => read.skipped.push((n + 1, why)),
        }
    }
    Ok(read)
}

struct Columns {
    date: usize,
    time_of_day: usize,
    mood: usize,
    activities: Option<usize>,
    title: Option<usize>,
    note: Option<usize>,
}

fn reflection(
    row: &csv::StringRecord,
    columns: &Columns,
    zone: &TimeZone,
) -> Result<Reflection, String> {
    let get = |i: Option<usize>| i.and_then(|i| row.get(i)).unwrap_or_default().trim();
    let date = get(Some(columns.date))
        .parse::<civil::Date>()
        .map_err(|e| format!("its full_date is not a date ({e})"))?;
    let clock = clock(get(Some(columns.time_of_day)))?;
    let moment = date
        .to_datetime(clock)
        .to_zoned(zone.clone())
        .map_err(|e| format!("its time does not exist in the local time zone ({e})"))?
        .timestamp();
    let mood = get(Some(columns.mood)).to_lowercase();
    let activities: Vec<String> = get(columns.activities)
        .split('|')
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .collect();
    let (title, note) = (lines(get(columns.title)), lines(get(columns.note)));
    let text = match (title.as_str(), note.as_str()) {
        ("", "") if mood.is_empty() && activities.is_empty() => {
            return Err("it has no note, mood or activities".into());
        }
        ("", "") => summary(&mood, &activities),
        (title, "") => title.to_owned(),
        ("", note) => note.to_owned(),
        (title, note) => format!("{title}\n\n{note}"),
    };
    let mut tags = Vec::new();
    if !mood.is_empty() {
        tags.push(format!("mood:{mood}"));
    }
    tags.extend(activities);
    let when = time::to_proto(moment);
    Ok(Reflection {
        id: super::id_for("daylio", moment.as_millisecond(), &text),
        moment: Some(when),
        recorded_at: Some(when),
        kind: ReflectionKind::Note.into(),
        text,
        tags: super::unique(tags),
        ..Default::default()
    })
}

/// `21:10`, `9:10 pm`, `9:10 PM`, `21:10:05`.
fn clock(text: &str) -> Result<civil::Time, String> {
    let wrong = || format!("its time \"{text}\" is not a time of day");
    let lower = text.to_ascii_lowercase();
    let (digits, pm) = match (lower.strip_suffix("am"), lower.strip_suffix("pm")) {
        (Some(d), _) => (d.trim().to_owned(), Some(false)),
        (_, Some(d)) => (d.trim().to_owned(), Some(true)),
        _ => (lower.clone(), None),
    };
    // `9:10` as well as `09:10` (jiff's parser wants two digits for the hour).
    let padded = if digits.find(':') == Some(1) {
        format!("0{digits}")
    } else {
        digits
    };
    let time = padded.parse::<civil::Time>().map_err(|_| wrong())?;
    match pm {
        None => Ok(time),
        Some(_) if time.hour() == 0 || time.hour() > 12 => Err(wrong()),
        Some(pm) => {
            let hour = time.hour() % 12 + if pm { 12 } else { 0 };
            civil::Time::new(hour, time.minute(), time.second(), 0).map_err(|_| wrong())
        }
    }
}

/// Daylio writes line breaks in notes as `<br>`.
fn lines(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("<br>", "\n")
        .trim()
        .to_owned()
}

fn summary(mood: &str, activities: &[String]) -> String {
    match (mood.is_empty(), activities.is_empty()) {
        (false, true) => format!("Mood: {mood}."),
        (true, false) => format!("Activities: {}.", activities.join(", ")),
        _ => format!("Mood: {mood}. Activities: {}.", activities.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HEADER: &str = "full_date,date,weekday,time,mood,activities,note_title,note\r\n";

    #[test]
    fn a_row_maps_to_a_note_with_its_mood_and_activities_as_tags() {
        let text = format!(
            "\u{feff}{HEADER}2026-10-11,October 11,Sunday,9:10 pm,meh,\"work | family\",Froze,\"The critic again.<br>Then 🌊 breath.\"\r\n"
        );
        let read = read(&text, &TimeZone::UTC).unwrap();
        assert!(read.skipped.is_empty(), "{:?}", read.skipped);
        let r = &read.reflections[0];
        assert_eq!(r.text, "Froze\n\nThe critic again.\nThen 🌊 breath.");
        assert_eq!(r.tags, ["mood:meh", "work", "family"]);
        assert_eq!(r.moment.unwrap().seconds, 1_791_753_000);
    }

    #[test]
    fn a_row_without_a_note_says_its_mood_and_bad_rows_are_counted() {
        let text = format!(
            "{HEADER}2026-10-12,,,12:05 am,rad,,,\r\n2026-10-13,,,25:00,good,,,\r\n,,,10:00,bad,,,\r\n2026-10-14,,,10:00,,,,\r\n"
        );
        let read = read(&text, &TimeZone::UTC).unwrap();
        assert_eq!(read.reflections.len(), 1);
        assert_eq!(read.reflections[0].text, "Mood: rad.");
        assert_eq!(
            read.reflections[0].moment.unwrap().seconds % 86_400,
            5 * 60,
            "12:05 am"
        );
        let skipped: Vec<usize> = read.skipped.iter().map(|(n, _)| *n).collect();
        assert_eq!(skipped, [2, 3, 4]);
    }

    #[test]
    fn another_csv_is_refused_with_why() {
        let err = read("date,text\n2026-10-11,hello\n", &TimeZone::UTC).unwrap_err();
        assert!(err.contains("not Daylio"), "{err}");
    }
}
