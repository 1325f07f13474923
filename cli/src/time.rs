//! Reading the times people type (`--at`, `--since`, `--until`) and showing times back to them.
//!
//! Everything without an explicit offset is read in the local time zone.

use std::fmt;

use jiff::{Span, Timestamp, Zoned, civil, fmt::strtime, tz::TimeZone};

/// The forms `--at` accepts, for error messages and help.
pub const MOMENT_FORMS: &str = "now, 21:00, today 21:00, yesterday 21:00, today, yesterday, \
2026-11-20, 2026-11-20 21:00, 2h ago, 30m ago, 3d ago, 2w ago, \
or ISO 8601 such as 2026-11-20T21:00:00 (local) or 2026-11-20T21:00:00+01:00";

/// The extra forms `--since` and `--until` accept.
pub const DURATION_FORMS: &str = "a bare duration such as 30m, 12h, 7d or 2w (that long ago)";

/// A time that could not be read, with what to type instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError(String);

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TimeError {}

/// Reads a moment for `--at`, relative to `now` and in `now`'s time zone.
pub fn parse_moment(input: &str, now: &Zoned) -> Result<Timestamp, TimeError> {
    read_moment(input, now).unwrap_or_else(|| {
        Err(TimeError(format!(
            "could not read \"{input}\" as a time; use one of: {MOMENT_FORMS}"
        )))
    })
}

/// Reads a window bound for `--since` or `--until`: any moment, or a bare duration before now.
pub fn parse_bound(input: &str, now: &Zoned) -> Result<Timestamp, TimeError> {
    if let Some(span) = parse_duration(input.trim()) {
        return span.and_then(|span| before(now, span, input));
    }
    read_moment(input, now).unwrap_or_else(|| {
        Err(TimeError(format!(
            "could not read \"{input}\" as a time; use {DURATION_FORMS}, or one of: {MOMENT_FORMS}"
        )))
    })
}

/// `None` when the input has none of the known shapes; `Some(Err)` when it has one but is wrong.
fn read_moment(input: &str, now: &Zoned) -> Option<Result<Timestamp, TimeError>> {
    let text = input.trim().to_ascii_lowercase();
    if text == "now" {
        return Some(Ok(now.timestamp()));
    }
    if let Some(amount) = text.strip_suffix("ago") {
        return parse_duration(amount.trim()).map(|span| span.and_then(|s| before(now, s, input)));
    }
    if let Ok(exact) = input.trim().parse::<Timestamp>() {
        return Some(Ok(exact));
    }
    read_local(&text, now)
}

/// `today`, `yesterday`, `HH:MM`, `today HH:MM`, `yesterday HH:MM`, `YYYY-MM-DD [HH:MM]`.
fn read_local(text: &str, now: &Zoned) -> Option<Result<Timestamp, TimeError>> {
    let (day, clock) = split_day_and_clock(text);
    let date = match day {
        "today" => Ok(now.date()),
        "yesterday" => now.date().yesterday().map_err(|e| TimeError(e.to_string())),
        _ if looks_like_date(day) => day
            .parse::<civil::Date>()
            .map_err(|e| TimeError(format!("\"{day}\" is not a date: {e}"))),
        _ => return None,
    };
    Some(date.and_then(|date| local_at(date, clock, now)))
}

/// `2026-11-20 21:00`, `2026-11-20t21:00`, `21:00` (today) or a day alone.
fn split_day_and_clock(text: &str) -> (&str, Option<&str>) {
    if let Some((day, clock)) = text.split_once(' ') {
        return (day, Some(clock.trim()));
    }
    match (text.get(..10), text.get(10..11), text.get(11..)) {
        (Some(day), Some("t"), Some(clock)) if looks_like_date(day) => (day, Some(clock)),
        _ if text.contains(':') => ("today", Some(text)),
        _ => (text, None),
    }
}

fn local_at(date: civil::Date, clock: Option<&str>, now: &Zoned) -> Result<Timestamp, TimeError> {
    let time = match clock {
        Some(clock) => parse_clock(clock)?,
        None => civil::Time::midnight(),
    };
    in_zone(date.to_datetime(time), now)
}

fn looks_like_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
}

/// `H:MM` or `HH:MM`, 00:00 to 23:59, optionally with seconds (`:SS`) and a fraction (`.250`),
/// as ISO 8601 writes them.
fn parse_clock(text: &str) -> Result<civil::Time, TimeError> {
    let wrong = || {
        TimeError(format!(
            "\"{text}\" is not a time of day; use HH:MM (or HH:MM:SS) from 00:00 to 23:59"
        ))
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (clock, fraction) = match text.split_once(['.', ',']) {
        Some((clock, fraction)) if all_digits(fraction) && fraction.len() <= 9 => {
            (clock, Some(fraction))
        }
        Some(_) => return Err(wrong()),
        None => (text, None),
    };
    let mut parts = clock.split(':');
    let (hour, minute, second) = (parts.next(), parts.next(), parts.next());
    let (Some(hour), Some(minute)) = (hour, minute) else {
        return Err(wrong());
    };
    let two = |s: &str| s.len() == 2 && all_digits(s);
    if parts.next().is_some()
        || !all_digits(hour)
        || hour.len() > 2
        || !two(minute)
        || second.is_some_and(|s| !two(s))
        || (fraction.is_some() && second.is_none())
    {
        return Err(wrong());
    }
    let number = |s: &str| s.parse::<i8>().map_err(|_| wrong());
    let second = second.map_or(Ok(0), number)?;
    let nanos = match fraction {
        Some(digits) => format!("{digits:0<9}")
            .parse::<i32>()
            .map_err(|_| wrong())?,
        None => 0,
    };
    civil::Time::new(number(hour)?, number(minute)?, second, nanos).map_err(|_| wrong())
}

fn in_zone(datetime: civil::DateTime, now: &Zoned) -> Result<Timestamp, TimeError> {
    datetime
        .to_zoned(now.time_zone().clone())
        .map(|zoned| zoned.timestamp())
        .map_err(|e| {
            TimeError(format!(
                "{datetime} does not exist in the local time zone: {e}"
            ))
        })
}

/// `30m`, `12h`, `7d`, `2w`, also with a space or a word: `2 hours`, `3 days`.
/// `None` when `text` is not a duration; an error when it is one too long to be a time span
/// (found by the `cli_values` fuzz target: "212010122d" used to panic).
fn parse_duration(text: &str) -> Option<Result<Span, TimeError>> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let amount: i64 = text.get(..digits)?.parse().ok()?;
    let span = Span::new();
    let span = match text.get(digits..)?.trim() {
        "m" | "min" | "mins" | "minute" | "minutes" => span.try_minutes(amount),
        "h" | "hr" | "hrs" | "hour" | "hours" => span.try_hours(amount),
        "d" | "day" | "days" => span.try_days(amount),
        "w" | "wk" | "wks" | "week" | "weeks" => span.try_weeks(amount),
        _ => return None,
    };
    Some(span.map_err(|_| TimeError(format!("\"{}\" reaches too far back", text.trim()))))
}

/// Days and weeks are calendar days in the local zone, so "1d ago" is the same clock time
/// yesterday even across a daylight saving change.
fn before(now: &Zoned, span: Span, input: &str) -> Result<Timestamp, TimeError> {
    now.checked_sub(span)
        .map(|zoned| zoned.timestamp())
        .map_err(|_| TimeError(format!("\"{}\" reaches too far back", input.trim())))
}

/// The wire form of a moment.
pub fn to_proto(timestamp: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: timestamp.as_second(),
        nanos: timestamp.subsec_nanosecond(),
    }
}

/// A moment from the wire; `None` when the daemon sent something out of range.
pub fn from_proto(timestamp: &prost_types::Timestamp) -> Option<Timestamp> {
    Timestamp::new(timestamp.seconds, timestamp.nanos).ok()
}

/// RFC 3339 in UTC for JSON output, or `None` when unset.
pub fn rfc3339(timestamp: Option<&prost_types::Timestamp>) -> Option<String> {
    timestamp.and_then(from_proto).map(|t| t.to_string())
}

/// A moment as people read it, in the local zone: `Tue 19 Nov 21:04`, with the year when it is
/// not this year.
pub fn local(timestamp: Option<&prost_types::Timestamp>) -> String {
    let now = Zoned::now();
    match timestamp.and_then(from_proto) {
        Some(t) => display_in(t, now.time_zone(), now.year()),
        None => "(no time)".to_owned(),
    }
}

/// [`local`] with the zone and the current year given, for tests.
pub fn display_in(timestamp: Timestamp, zone: &TimeZone, current_year: i16) -> String {
    let zoned = timestamp.to_zoned(zone.clone());
    let format = if zoned.year() == current_year {
        "%a %-d %b %H:%M"
    } else {
        "%a %-d %b %Y %H:%M"
    };
    strtime::format(format, &zoned).unwrap_or_else(|_| zoned.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Central European time with its daylight saving rules; spring forward on 2026-03-29.
    fn berlin() -> TimeZone {
        TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()
    }

    fn at(text: &str) -> Zoned {
        text.parse::<civil::DateTime>()
            .unwrap()
            .to_zoned(berlin())
            .unwrap()
    }

    fn instant(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_span_too_long_for_a_calendar_is_an_error_not_a_panic() {
        let now = at("2026-11-20T10:15");
        for text in ["212010122d", "9999999999999w", "99999999999999h ago"] {
            let err = parse_bound(text, &now).expect_err(text);
            assert!(err.to_string().contains("reaches too far back"), "{err}");
        }
    }

    #[test]
    fn now_is_now() {
        let now = at("2026-11-20T10:15");
        assert_eq!(parse_moment("now", &now).unwrap(), now.timestamp());
    }

    #[test]
    fn rfc3339_keeps_its_own_offset() {
        let now = at("2026-11-20T10:15");
        assert_eq!(
            parse_moment("2026-11-20T21:00:00+01:00", &now).unwrap(),
            instant("2026-11-20T20:00:00Z")
        );
        assert_eq!(
            parse_moment("2026-06-01T08:30:00Z", &now).unwrap(),
            instant("2026-06-01T08:30:00Z")
        );
    }

    /// What scripts and other tools write (ISO 8601): local without an offset, with or without
    /// seconds (and a fraction), with `T` or a space; with an offset or `Z` it is exact.
    #[test]
    fn iso_8601_local_times_with_or_without_seconds_or_an_offset_are_read() {
        let now = at("2026-11-20T10:15");
        let cases = [
            ("2026-10-11T21:10:00", "2026-10-11T19:10:00Z"),
            ("2026-10-11T21:10", "2026-10-11T19:10:00Z"),
            ("2026-10-11 21:10:30", "2026-10-11T19:10:30Z"),
            ("2026-10-11T21:10:30.250", "2026-10-11T19:10:30.25Z"),
            ("2026-11-11T21:10:00", "2026-11-11T20:10:00Z"),
            ("2026-10-11T21:10:00+01:00", "2026-10-11T20:10:00Z"),
            ("2026-10-11T21:10+01:00", "2026-10-11T20:10:00Z"),
            ("2026-10-11T21:10:00Z", "2026-10-11T21:10:00Z"),
            ("2026-10-11t21:10:00z", "2026-10-11T21:10:00Z"),
            ("21:10:05", "2026-11-20T20:10:05Z"),
        ];
        for (typed, meant) in cases {
            assert_eq!(
                parse_moment(typed, &now),
                Ok(instant(meant)),
                "--at {typed}"
            );
            assert_eq!(
                parse_bound(typed, &now),
                Ok(instant(meant)),
                "--since {typed}"
            );
        }
        for wrong in [
            "2026-10-11T21:10:61",
            "2026-10-11T21:1",
            "2026-10-11T24:00:00",
        ] {
            let err = parse_moment(wrong, &now).unwrap_err().to_string();
            assert!(err.contains("is not a time of day"), "{wrong}: {err}");
        }
    }

    #[test]
    fn a_bare_clock_time_is_today_in_local_time() {
        let now = at("2026-11-20T10:15");
        assert_eq!(
            parse_moment("21:00", &now).unwrap(),
            instant("2026-11-20T20:00:00Z")
        );
        assert_eq!(
            parse_moment("9:05", &now).unwrap(),
            instant("2026-11-20T08:05:00Z")
        );
        assert_eq!(
            parse_moment("today 21:00", &now).unwrap(),
            instant("2026-11-20T20:00:00Z")
        );
    }

    #[test]
    fn yesterday_at_nine_pm_is_local_time_the_day_before() {
        let now = at("2026-11-20T10:15");
        assert_eq!(
            parse_moment("yesterday 21:00", &now).unwrap(),
            instant("2026-11-19T20:00:00Z")
        );
    }

    #[test]
    fn yesterday_evening_before_a_spring_forward_keeps_winter_time() {
        let now = at("2026-03-29T12:00");
        assert_eq!(
            parse_moment("yesterday 21:00", &now).unwrap(),
            instant("2026-03-28T20:00:00Z")
        );
    }

    #[test]
    fn a_date_alone_is_local_midnight() {
        let now = at("2026-11-20T10:15");
        assert_eq!(
            parse_moment("2026-07-01", &now).unwrap(),
            instant("2026-06-30T22:00:00Z")
        );
        assert_eq!(
            parse_moment("today", &now).unwrap(),
            instant("2026-11-19T23:00:00Z")
        );
        assert_eq!(
            parse_moment("yesterday", &now).unwrap(),
            instant("2026-11-18T23:00:00Z")
        );
    }

    #[test]
    fn a_date_with_a_clock_time_is_local_time() {
        let now = at("2026-11-20T10:15");
        assert_eq!(
            parse_moment("2026-07-01 07:30", &now).unwrap(),
            instant("2026-07-01T05:30:00Z")
        );
        assert_eq!(
            parse_moment("2026-07-01T07:30", &now).unwrap(),
            instant("2026-07-01T05:30:00Z")
        );
    }

    #[test]
    fn hours_and_minutes_ago_are_exact() {
        let now = at("2026-11-20T10:15");
        assert_eq!(
            parse_moment("2h ago", &now).unwrap(),
            instant("2026-11-20T07:15:00Z")
        );
        assert_eq!(
            parse_moment("30m ago", &now).unwrap(),
            instant("2026-11-20T08:45:00Z")
        );
        assert_eq!(
            parse_moment("2 hours ago", &now).unwrap(),
            instant("2026-11-20T07:15:00Z")
        );
    }

    #[test]
    fn days_ago_are_calendar_days_across_daylight_saving() {
        let now = at("2026-03-30T12:00");
        assert_eq!(
            parse_moment("3d ago", &now).unwrap(),
            instant("2026-03-27T11:00:00Z")
        );
    }

    #[test]
    fn a_bare_duration_is_a_bound_but_not_a_moment() {
        let now = at("2026-11-20T10:15");
        assert_eq!(
            parse_bound("7d", &now).unwrap(),
            instant("2026-11-13T09:15:00Z")
        );
        assert_eq!(
            parse_bound("12h", &now).unwrap(),
            instant("2026-11-19T21:15:00Z")
        );
        assert_eq!(
            parse_bound("30m", &now).unwrap(),
            instant("2026-11-20T08:45:00Z")
        );
        assert_eq!(
            parse_bound("2w", &now).unwrap(),
            instant("2026-11-06T09:15:00Z")
        );
        assert!(parse_moment("7d", &now).is_err());
    }

    #[test]
    fn bounds_accept_every_moment_form() {
        let now = at("2026-11-20T10:15");
        assert_eq!(
            parse_bound("yesterday", &now).unwrap(),
            instant("2026-11-18T23:00:00Z")
        );
        assert_eq!(
            parse_bound("3d ago", &now).unwrap(),
            instant("2026-11-17T09:15:00Z")
        );
    }

    #[test]
    fn an_unknown_form_lists_the_accepted_ones() {
        let now = at("2026-11-20T10:15");
        let error = parse_moment("last tuesday", &now).unwrap_err().to_string();
        assert!(error.contains("\"last tuesday\""), "{error}");
        assert!(error.contains("yesterday 21:00"), "{error}");
        assert!(error.contains("2h ago"), "{error}");
        let error = parse_bound("soonish", &now).unwrap_err().to_string();
        assert!(error.contains("7d"), "{error}");
    }

    #[test]
    fn an_impossible_clock_time_says_what_range_is_allowed() {
        let now = at("2026-11-20T10:15");
        let error = parse_moment("25:00", &now).unwrap_err().to_string();
        assert!(error.contains("00:00 to 23:59"), "{error}");
        assert!(parse_moment("today 7:5", &now).is_err());
    }

    #[test]
    fn an_impossible_date_is_refused() {
        let now = at("2026-11-20T10:15");
        let error = parse_moment("2026-02-30", &now).unwrap_err().to_string();
        assert!(error.contains("is not a date"), "{error}");
    }

    #[test]
    fn a_moment_survives_the_trip_through_the_wire_form() {
        let moment = instant("2026-11-20T20:00:00.25Z");
        assert_eq!(from_proto(&to_proto(moment)), Some(moment));
    }

    #[test]
    fn times_this_year_are_shown_without_the_year() {
        let moment = instant("2026-11-19T20:04:00Z");
        assert_eq!(display_in(moment, &berlin(), 2026), "Thu 19 Nov 21:04");
        assert_eq!(display_in(moment, &berlin(), 2027), "Thu 19 Nov 2026 21:04");
        let early = instant("2026-11-05T08:00:00Z");
        assert_eq!(display_in(early, &berlin(), 2026), "Thu 5 Nov 09:00");
    }
}
