//! `interlude checkin …`: answer what waits, and the client's say over when check-ins come.

use clap::{Args, Subcommand};

use super::values::{EmotionArg, parse_emotion};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CheckinArgs {
    /// The check-in to answer; without it, show what waits and when the next one comes
    #[arg(value_name = "ID")]
    pub id: Option<String>,

    /// Your answer; without it, read standard input or open $VISUAL/$EDITOR
    #[arg(value_name = "TEXT", requires = "id")]
    pub text: Vec<String>,

    /// An emotion and how strong it is, 0 to 100 (repeat for several)
    #[arg(long = "emotion", value_name = "NAME:INTENSITY", value_parser = parse_emotion, requires = "id")]
    pub emotions: Vec<EmotionArg>,

    #[command(subcommand)]
    pub command: Option<CheckinCommand>,
}

#[derive(Debug, Subcommand)]
pub enum CheckinCommand {
    /// When check-ins come: list, add or remove your own, turn any on or off
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Nothing for a while, e.g. `snooze 2h` or `snooze 30m`; a waiting check-in comes back after
    Snooze {
        #[arg(value_name = "DURATION", value_parser = parse_minutes)]
        minutes: u32,
    },
    /// "On holiday": no check-ins through this date (YYYY-MM-DD); they start again the day after
    Pause {
        #[arg(value_name = "DATE")]
        through: String,
    },
    /// End a snooze or a pause now
    Resume,
    /// Let a waiting check-in go; nothing else is recorded
    NotNow {
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Quiet hours, e.g. `quiet 22:00-08:00`, or `quiet off`
    Quiet {
        #[arg(value_name = "FROM-TO|off")]
        hours: String,
    },
    /// At most this many check-ins a day (0 turns them all off)
    Cap {
        #[arg(value_name = "N")]
        per_day: u32,
    },
    /// Show quiet hours, the daily cap, and any snooze or pause
    Controls,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Every schedule: built in, from plugins, and your own
    List,
    /// Add one of your own
    Add(ScheduleAddArgs),
    /// Remove one of your own
    Remove {
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Turn a schedule on
    On {
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Turn a schedule off
    Off {
        #[arg(value_name = "ID")]
        id: String,
    },
}

#[derive(Debug, Args)]
// The group is its own (not the struct's, which would hold --at and --prompt too and make
// every flag exclude the others).
#[command(group(
    clap::ArgGroup::new("when")
        .required(true)
        .multiple(false)
        .args(["daily", "weekly", "after_session"])
))]
pub struct ScheduleAddArgs {
    /// Every day at this local time, e.g. 19:30
    #[arg(long, value_name = "HH:MM")]
    pub daily: Option<String>,
    /// On these weekdays, e.g. mon,thu (with --at)
    #[arg(long, value_name = "DAYS", value_delimiter = ',', requires = "at")]
    pub weekly: Option<Vec<String>>,
    /// The local time for --weekly
    #[arg(long, value_name = "HH:MM")]
    pub at: Option<String>,
    /// This long after each session you log, e.g. 48h
    #[arg(long, value_name = "HOURS", value_parser = parse_hours)]
    pub after_session: Option<u32>,
    /// The question to ask [default: a neutral one]
    #[arg(long, value_name = "TEXT")]
    pub prompt: Option<String>,
}

/// "2h", "30m", "1h30m", "90" (minutes).
pub fn parse_minutes(text: &str) -> Result<u32, String> {
    let bad = || format!("expected a duration like 30m, 2h or 1h30m, got {text:?}");
    let text = text.trim().to_ascii_lowercase();
    if let Ok(minutes) = text.parse::<u32>() {
        return Ok(minutes);
    }
    let (mut total, mut number) = (0u32, String::new());
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u32 = number.parse().map_err(|_| bad())?;
        number.clear();
        let unit = match c {
            'd' => 24 * 60,
            'h' => 60,
            'm' => 1,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(unit)
            .and_then(|m| total.checked_add(m))
            .ok_or_else(bad)?;
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(total)
}

/// "48h", "2d", "24".
fn parse_hours(text: &str) -> Result<u32, String> {
    let minutes = parse_minutes(text)
        .map_err(|_| format!("expected hours like 24h, 48h or 3d, got {text:?}"))?;
    let whole_number = text.trim().parse::<u32>();
    match whole_number {
        Ok(hours) => Ok(hours),
        Err(_) if minutes % 60 == 0 => Ok(minutes / 60),
        Err(_) => Err(format!("use whole hours, like 24h or 36h; got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_the_way_people_write_them() {
        assert_eq!(parse_minutes("2h"), Ok(120));
        assert_eq!(parse_minutes("30m"), Ok(30));
        assert_eq!(parse_minutes("1h30m"), Ok(90));
        assert_eq!(parse_minutes("45"), Ok(45));
        assert!(parse_minutes("2 hours").is_err());
        assert!(parse_minutes("h").is_err());
        assert!(parse_minutes("0m").is_err());
        assert_eq!(parse_hours("48h"), Ok(48));
        assert_eq!(parse_hours("3d"), Ok(72));
        assert_eq!(parse_hours("24"), Ok(24));
        assert!(parse_hours("90m").is_err());
    }

    #[test]
    fn a_schedule_takes_one_when_with_its_time_and_a_question() {
        use clap::Parser;
        let parse = |args: &[&str]| {
            crate::args::Cli::try_parse_from(
                ["interlude", "checkin", "schedule", "add"]
                    .iter()
                    .chain(args),
            )
        };
        assert!(parse(&["--daily", "19:30", "--prompt", "What did today ask of you?"]).is_ok());
        assert!(parse(&["--weekly", "mon,thu", "--at", "08:00", "--prompt", "x"]).is_ok());
        assert!(parse(&["--after-session", "48h"]).is_ok());
        assert!(parse(&["--daily", "19:30", "--after-session", "48h"]).is_err());
        assert!(parse(&["--prompt", "x"]).is_err(), "a when is needed");
    }
}
