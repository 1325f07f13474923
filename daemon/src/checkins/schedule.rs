//! When check-ins are due: pure logic over local civil time, with no clock and no I/O, so that
//! every rule — after a session, daily, on weekdays, quiet hours, the daily cap, snooze, pause,
//! daylight-saving changes, a time-zone change, a machine that slept — is tested with a clock
//! the test controls.
//!
//! No pile-ups and no guilt: an occurrence that cannot be delivered simply lapses, and after a
//! gap (sleep, daemon stopped) at most one overdue check-in is delivered: the most recent.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

/// When a schedule fires, in the client's local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// This long after each logged therapy session (24 h and 72 h by default).
    AfterSession { hours: i64 },
    /// Every day at a local time.
    Daily { at: Time },
    /// On these weekdays at a local time.
    Weekdays { days: Vec<Weekday>, at: Time },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub id: String,
    pub when: When,
    pub enabled: bool,
}

/// What the client controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controls {
    /// Quiet hours, local; the window may cross midnight (22:00–08:00 by default).
    pub quiet_start: Time,
    pub quiet_end: Time,
    /// At most this many check-ins on one local day.
    pub daily_cap: usize,
    /// Nothing before this moment; what falls before it is delivered then.
    pub snoozed_until: Option<Timestamp>,
    /// "On holiday": nothing on or before this local date; what falls then lapses.
    pub paused_through: Option<Date>,
}

impl Default for Controls {
    fn default() -> Self {
        Controls {
            quiet_start: Time::constant(22, 0, 0, 0),
            quiet_end: Time::constant(8, 0, 0, 0),
            daily_cap: 3,
            snoozed_until: None,
            paused_through: None,
        }
    }
}

/// One check-in to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub schedule_id: String,
    /// When it is delivered (after quiet hours and snooze moved it).
    pub at: Timestamp,
}

/// How far ahead [`Planner::next_after`] looks: a week plus a day covers every weekly schedule.
const HORIZON_DAYS: i64 = 8;

pub struct Planner<'a> {
    pub schedules: &'a [Schedule],
    /// When logged therapy sessions took place.
    pub sessions: &'a [Timestamp],
    pub controls: &'a Controls,
    /// The client's time zone now; schedules follow the local clock across changes.
    pub tz: &'a TimeZone,
}

impl Planner<'_> {
    /// The next check-in to deliver strictly after `now`, given the ones already delivered (for
    /// the daily cap). The daemon sleeps until then and no longer: it never polls.
    pub fn next_after(&self, now: Timestamp, delivered: &[Timestamp]) -> Option<Occurrence> {
        // A pause can be longer than the horizon: look from its end.
        let pause_end = self
            .controls
            .paused_through
            .and_then(|d| d.tomorrow().ok())
            .and_then(|d| self.at_local(d, Time::midnight()));
        let from = pause_end.filter(|end| *end > now).unwrap_or(now);
        let horizon = from
            .checked_add(SignedDuration::from_hours(24 * HORIZON_DAYS))
            .ok()?;
        let mut candidates = self.placed_between(day_before(from), horizon);
        candidates.retain(|o| o.at > now);
        candidates.retain(|o| self.room_on_day(o.at, delivered));
        candidates.into_iter().min_by_key(|o| o.at)
    }

    /// What to deliver on waking at `now` when the last look was at `since` (sleep, daemon
    /// stopped, or simply the timer firing): at most one, the most recent due in between.
    pub fn due(
        &self,
        since: Timestamp,
        now: Timestamp,
        delivered: &[Timestamp],
    ) -> Option<Occurrence> {
        let mut candidates = self.placed_between(day_before(since), now);
        candidates.retain(|o| o.at > since && o.at <= now);
        // Of several due at the same moment, the first schedule's wins.
        let latest = candidates.into_iter().rev().max_by_key(|o| o.at)?;
        self.room_on_day(latest.at, delivered).then_some(latest)
    }

    /// Every occurrence whose raw time is in `(after, until]`, placed (moved out of quiet hours
    /// and past a snooze) and without those a pause swallows.
    fn placed_between(&self, after: Timestamp, until: Timestamp) -> Vec<Occurrence> {
        self.schedules
            .iter()
            .filter(|s| s.enabled)
            .flat_map(|s| self.raw(s, after, until).into_iter().map(move |at| (s, at)))
            .filter_map(|(s, at)| {
                self.place(at).map(|at| Occurrence {
                    schedule_id: s.id.clone(),
                    at,
                })
            })
            .collect()
    }

    fn raw(&self, schedule: &Schedule, after: Timestamp, until: Timestamp) -> Vec<Timestamp> {
        let in_range = |t: &Timestamp| *t > after && *t <= until;
        match &schedule.when {
            When::AfterSession { hours } => self
                .sessions
                .iter()
                .filter_map(|s| s.checked_add(SignedDuration::from_hours(*hours)).ok())
                .filter(in_range)
                .collect(),
            When::Daily { at } => self
                .local_days(after, until)
                .filter_map(|d| self.at_local(d, *at))
                .filter(in_range)
                .collect(),
            When::Weekdays { days, at } => self
                .local_days(after, until)
                .filter(|d| days.contains(&d.weekday()))
                .filter_map(|d| self.at_local(d, *at))
                .filter(in_range)
                .collect(),
        }
    }

    /// Local dates from the day of `after` to the day of `until`.
    fn local_days(&self, after: Timestamp, until: Timestamp) -> impl Iterator<Item = Date> {
        let (first, last) = (
            after.to_zoned(self.tz.clone()).date(),
            until.to_zoned(self.tz.clone()).date(),
        );
        std::iter::successors(Some(first), move |d| {
            d.tomorrow().ok().filter(|next| *next <= last)
        })
    }

    /// A local date and time as a moment. A time skipped by a daylight-saving jump happens just
    /// after it (02:30 → 03:30); a time that occurs twice happens the first time.
    fn at_local(&self, date: Date, time: Time) -> Option<Timestamp> {
        self.tz
            .to_ambiguous_zoned(date.to_datetime(time))
            .compatible()
            .ok()
            .map(|z| z.timestamp())
    }

    fn place(&self, raw: Timestamp) -> Option<Timestamp> {
        let mut at = self.after_quiet_hours(raw)?;
        if let Some(snoozed) = self.controls.snoozed_until.filter(|s| *s > at) {
            at = self.after_quiet_hours(snoozed)?;
        }
        let date = at.to_zoned(self.tz.clone()).date();
        match self.controls.paused_through {
            Some(through) if date <= through => None,
            _ => Some(at),
        }
    }

    /// `at`, or the end of the quiet hours it falls in.
    fn after_quiet_hours(&self, at: Timestamp) -> Option<Timestamp> {
        let local = at.to_zoned(self.tz.clone());
        let (time, start, end) = (
            local.time(),
            self.controls.quiet_start,
            self.controls.quiet_end,
        );
        let quiet = if start <= end {
            time >= start && time < end
        } else {
            time >= start || time < end
        };
        if !quiet {
            return Some(at);
        }
        let end_date = if start > end && time >= start {
            local.date().tomorrow().ok()?
        } else {
            local.date()
        };
        self.at_local(end_date, end)
    }

    fn room_on_day(&self, at: Timestamp, delivered: &[Timestamp]) -> bool {
        let day = at.to_zoned(self.tz.clone()).date();
        let same_day = delivered
            .iter()
            .filter(|d| d.to_zoned(self.tz.clone()).date() == day)
            .count();
        same_day < self.controls.daily_cap
    }
}

fn day_before(t: Timestamp) -> Timestamp {
    t.checked_sub(24.hours()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Europe/London's rules as a POSIX string, so the tests need no time-zone database:
    /// clocks go forward at 01:00 on the last Sunday of March, back at 02:00 in October.
    fn london() -> TimeZone {
        TimeZone::posix("GMT0BST,M3.5.0/1,M10.5.0").unwrap()
    }

    fn new_york() -> TimeZone {
        TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").unwrap()
    }

    fn at(tz: &TimeZone, text: &str) -> Timestamp {
        let dt: jiff::civil::DateTime = text.parse().unwrap();
        tz.to_ambiguous_zoned(dt).compatible().unwrap().timestamp()
    }

    fn local(tz: &TimeZone, t: Timestamp) -> String {
        t.to_zoned(tz.clone())
            .strftime("%a %Y-%m-%d %H:%M %Z")
            .to_string()
    }

    fn schedule(id: &str, when: When) -> Schedule {
        Schedule {
            id: id.into(),
            when,
            enabled: true,
        }
    }

    fn after_session() -> Vec<Schedule> {
        vec![
            schedule("24h", When::AfterSession { hours: 24 }),
            schedule("72h", When::AfterSession { hours: 72 }),
        ]
    }

    fn daily(id: &str, h: i8, m: i8) -> Schedule {
        schedule(
            id,
            When::Daily {
                at: Time::constant(h, m, 0, 0),
            },
        )
    }

    /// Every delivery from `from` for `days`, as the daemon would make them: sleep until the
    /// next one, deliver it, repeat.
    fn deliveries(planner: &Planner<'_>, from: Timestamp, days: i64) -> Vec<Occurrence> {
        let end = from
            .checked_add(SignedDuration::from_hours(24 * days))
            .unwrap();
        let (mut now, mut delivered, mut out) = (from, Vec::new(), Vec::new());
        while let Some(next) = planner.next_after(now, &delivered) {
            if next.at > end {
                break;
            }
            now = next.at;
            delivered.push(next.at);
            out.push(next);
        }
        out
    }

    #[test]
    fn a_session_brings_check_ins_24_and_72_hours_later() {
        let tz = london();
        let sessions = [at(&tz, "2026-06-01T17:00")];
        let controls = Controls::default();
        let planner = Planner {
            schedules: &after_session(),
            sessions: &sessions,
            controls: &controls,
            tz: &tz,
        };
        let got: Vec<_> = deliveries(&planner, sessions[0], 7)
            .into_iter()
            .map(|o| (o.schedule_id, local(&tz, o.at)))
            .collect();
        assert_eq!(
            got,
            [
                ("24h".into(), "Tue 2026-06-02 17:00 BST".into()),
                ("72h".into(), "Thu 2026-06-04 17:00 BST".into())
            ]
        );
    }

    #[test]
    fn quiet_hours_move_a_check_in_to_the_morning() {
        let tz = london();
        let sessions = [at(&tz, "2026-06-01T23:30")];
        let controls = Controls::default();
        let planner = Planner {
            schedules: &after_session()[..1],
            sessions: &sessions,
            controls: &controls,
            tz: &tz,
        };
        let next = planner.next_after(sessions[0], &[]).unwrap();
        assert_eq!(local(&tz, next.at), "Wed 2026-06-03 08:00 BST");
    }

    #[test]
    fn the_daily_cap_lets_extra_check_ins_lapse() {
        let tz = london();
        let schedules = [
            daily("a", 9, 0),
            daily("b", 10, 0),
            daily("c", 11, 0),
            daily("d", 12, 0),
        ];
        let controls = Controls {
            daily_cap: 3,
            ..Controls::default()
        };
        let planner = Planner {
            schedules: &schedules,
            sessions: &[],
            controls: &controls,
            tz: &tz,
        };
        let got = deliveries(&planner, at(&tz, "2026-06-01T00:00"), 1);
        let ids: Vec<_> = got.iter().map(|o| o.schedule_id.as_str()).collect();
        assert_eq!(
            ids,
            ["a", "b", "c"],
            "the fourth lapses; nothing is carried over"
        );
    }

    #[test]
    fn snooze_delays_the_next_check_in_to_the_end_of_the_snooze() {
        let tz = london();
        let schedules = [daily("morning", 9, 0)];
        let controls = Controls {
            snoozed_until: Some(at(&tz, "2026-06-01T11:00")),
            ..Controls::default()
        };
        let planner = Planner {
            schedules: &schedules,
            sessions: &[],
            controls: &controls,
            tz: &tz,
        };
        let next = planner
            .next_after(at(&tz, "2026-06-01T07:00"), &[])
            .unwrap();
        assert_eq!(local(&tz, next.at), "Mon 2026-06-01 11:00 BST");
    }

    #[test]
    fn a_pause_lets_everything_lapse_until_the_day_after() {
        let tz = london();
        let schedules = [daily("morning", 9, 0)];
        let controls = Controls {
            paused_through: Some("2026-06-10".parse().unwrap()),
            ..Controls::default()
        };
        let planner = Planner {
            schedules: &schedules,
            sessions: &[],
            controls: &controls,
            tz: &tz,
        };
        let next = planner
            .next_after(at(&tz, "2026-06-01T07:00"), &[])
            .unwrap();
        assert_eq!(local(&tz, next.at), "Thu 2026-06-11 09:00 BST");
    }

    /// A check-in every night at 01:30 (quiet hours moved out of the way) over two days from
    /// `from`, in London local time.
    fn nightly_in_london(from: &str) -> Vec<String> {
        let tz = london();
        let controls = Controls {
            quiet_start: Time::constant(23, 0, 0, 0),
            quiet_end: Time::constant(0, 30, 0, 0),
            ..Controls::default()
        };
        let schedules = [daily("night", 1, 30)];
        let planner = Planner {
            schedules: &schedules,
            sessions: &[],
            controls: &controls,
            tz: &tz,
        };
        deliveries(&planner, at(&tz, from), 2)
            .into_iter()
            .map(|o| local(&tz, o.at))
            .collect()
    }

    #[test]
    fn across_the_spring_forward_gap_a_skipped_time_happens_just_after() {
        assert_eq!(
            nightly_in_london("2026-03-28T12:00"),
            ["Sun 2026-03-29 02:30 BST", "Mon 2026-03-30 01:30 BST"]
        );
    }

    #[test]
    fn across_the_autumn_fall_back_a_repeated_time_fires_once() {
        assert_eq!(
            nightly_in_london("2026-10-24T12:00"),
            ["Sun 2026-10-25 01:30 BST", "Mon 2026-10-26 01:30 GMT"]
        );
    }

    #[test]
    fn after_a_move_to_another_time_zone_the_local_clock_still_rules() {
        let schedules = [daily("morning", 9, 0)];
        let controls = Controls::default();
        let (london, new_york) = (london(), new_york());
        let now = at(&london, "2026-06-01T10:00");
        let in_new_york = Planner {
            schedules: &schedules,
            sessions: &[],
            controls: &controls,
            tz: &new_york,
        };
        // 10:00 in London is 05:00 in New York: this morning's 09:00 is still to come there.
        let next = in_new_york.next_after(now, &[]).unwrap();
        assert_eq!(local(&new_york, next.at), "Mon 2026-06-01 09:00 EDT");
    }

    #[test]
    fn after_sleeping_for_days_only_the_most_recent_check_in_is_delivered() {
        let tz = london();
        let mut schedules = after_session();
        schedules.push(daily("morning", 9, 0));
        let sessions = [at(&tz, "2026-06-01T17:00")];
        let controls = Controls::default();
        let planner = Planner {
            schedules: &schedules,
            sessions: &sessions,
            controls: &controls,
            tz: &tz,
        };
        let slept_at = at(&tz, "2026-06-01T20:00");
        let woke_at = at(&tz, "2026-06-04T20:00");
        let due = planner.due(slept_at, woke_at, &[]).unwrap();
        assert_eq!(
            (due.schedule_id.as_str(), local(&tz, due.at).as_str()),
            ("72h", "Thu 2026-06-04 17:00 BST")
        );
        assert!(
            planner.due(woke_at, woke_at, &[]).is_none(),
            "nothing piles up behind it"
        );
    }

    #[test]
    fn a_disabled_schedule_never_fires() {
        let tz = london();
        let schedules = [Schedule {
            enabled: false,
            ..daily("off", 9, 0)
        }];
        let controls = Controls::default();
        let planner = Planner {
            schedules: &schedules,
            sessions: &[],
            controls: &controls,
            tz: &tz,
        };
        assert!(
            planner
                .next_after(at(&tz, "2026-06-01T00:00"), &[])
                .is_none()
        );
    }
}
