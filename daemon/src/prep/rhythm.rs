//! When things happen: emotion and intensity day by day, and entries by hour of the week, in
//! the client's local time.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::domain::{Millis, Reflection};

use super::packet::Day;
use super::themes::emotions_of;

fn local(zone: &TimeZone, at: Millis) -> jiff::Zoned {
    Timestamp::from_millisecond(at)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(zone.clone())
}

/// `YYYY-MM-DD` of a moment, local.
pub fn day_of(zone: &TimeZone, at: Millis) -> String {
    local(zone, at).date().to_string()
}

/// Every day of the window from the first entry's day to the last one's, empty days included
/// (a gap is part of the picture).
pub fn days(zone: &TimeZone, entries: &[&Reflection]) -> Vec<Day> {
    let mut by_day: BTreeMap<jiff::civil::Date, Vec<&Reflection>> = BTreeMap::new();
    for r in entries {
        by_day
            .entry(local(zone, r.moment).date())
            .or_default()
            .push(r);
    }
    let (Some(first), Some(last)) = (
        by_day.keys().next().copied(),
        by_day.keys().next_back().copied(),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut date = first;
    while date <= last {
        let those = by_day.get(&date).map(Vec::as_slice).unwrap_or_default();
        let (emotions, intensity) = emotions_of(those);
        out.push(Day {
            date: date.to_string(),
            entries: those.len() as u32,
            intensity,
            emotions,
        });
        match date.tomorrow() {
            Ok(next) => date = next,
            Err(_) => break,
        }
    }
    out
}

/// Entries by `[weekday][hour]`, Monday first.
pub fn hour_of_week(zone: &TimeZone, entries: &[&Reflection]) -> Vec<Vec<u32>> {
    let mut grid = vec![vec![0u32; 24]; 7];
    for r in entries {
        let at = local(zone, r.moment);
        let weekday = at.weekday().to_monday_zero_offset() as usize;
        grid[weekday][at.hour() as usize] += 1;
    }
    grid
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Emotion, Kind};

    fn at(moment: &str, intensity: u32) -> Reflection {
        let ts: Timestamp = moment.parse().expect("a time");
        Reflection {
            id: String::new(),
            moment: ts.as_millisecond(),
            recorded_at: 0,
            edited_at: None,
            kind: Kind::Note,
            text: String::new(),
            emotions: vec![Emotion {
                name: "Dread".into(),
                intensity,
            }],
            tags: vec![],
            term_ids: vec![],
            bring_to_session: false,
            private: false,
            plugin_id: String::new(),
            exercise_id: String::new(),
            answers: vec![],
            crisis: false,
            history: vec![],
            prompt_id: String::new(),
            prompt: String::new(),
            helpful: false,
        }
    }

    #[test]
    fn days_run_without_gaps_and_hours_are_local() {
        let zone = TimeZone::get("Europe/London").expect("tz");
        // Sunday 2026-11-29 21:30 and Tuesday 22:10 local (UTC in winter).
        let a = at("2026-11-29T21:30:00Z", 60);
        let b = at("2026-12-01T22:10:00Z", 80);
        let entries = [&a, &b];
        let days = days(&zone, &entries);
        assert_eq!(days.len(), 3, "the empty Monday is a day too");
        assert_eq!(days[1].entries, 0);
        assert_eq!(days[2].intensity, Some(80));
        let grid = hour_of_week(&zone, &entries);
        assert_eq!(grid[6][21], 1, "Sunday 21h");
        assert_eq!(grid[1][22], 1, "Tuesday 22h");
    }
}
