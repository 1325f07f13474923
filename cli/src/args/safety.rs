//! The arguments of `help-now` and `safety-plan`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Clone, Args)]
pub struct HelpNowArgs {
    /// Where to look for the readable-while-locked copy of the plan when the daemon does not
    /// answer [default: $INTERLUDE_DATA_DIR, the config file's data_dir, or ~/.local/share/interlude]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Whose crisis lines to show this once, e.g. GB [default: the config file's country, the
    /// country you chose (`interlude country`), else a guess from the system locale]
    #[arg(long, value_name = "CC", alias = "locale")]
    pub country: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SafetyPlanCommand {
    /// Show your safety plan, and whether it is readable while the vault is locked
    Show,
    /// Write or change your plan in $VISUAL/$EDITOR (or read Markdown from standard input)
    Edit,
    /// Write your plan out as Markdown or as a page to print
    Export(ExportArgs),
    /// Keep (on) or remove (off) an unencrypted copy of only the plan, for help-now while locked
    ReadableWhileLocked(LockedCopyArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Markdown (the same form `safety-plan edit` uses) or a print-friendly HTML page
    #[arg(long, value_enum, default_value_t = ExportFormat::Markdown)]
    pub format: ExportFormat,

    /// Write to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    #[value(alias = "md")]
    Markdown,
    Html,
}

#[derive(Debug, Clone, Args)]
pub struct LockedCopyArgs {
    #[arg(value_enum)]
    pub state: OnOff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    #[test]
    fn the_safety_commands_parse() {
        let cli = Cli::try_parse_from([
            "interlude",
            "safety-plan",
            "export",
            "--format",
            "html",
            "-o",
            "plan.html",
        ])
        .unwrap();
        let Command::SafetyPlan(SafetyPlanCommand::Export(args)) = cli.command else {
            panic!("not export");
        };
        assert_eq!(args.format, ExportFormat::Html);
        assert_eq!(args.output, Some(PathBuf::from("plan.html")));
        let cli = Cli::try_parse_from(["interlude", "safety-plan", "readable-while-locked", "on"])
            .unwrap();
        assert!(matches!(
            cli.command,
            Command::SafetyPlan(SafetyPlanCommand::ReadableWhileLocked(LockedCopyArgs {
                state: OnOff::On
            }))
        ));
        let cli = Cli::try_parse_from(["interlude", "help-now", "--country", "GB"]).unwrap();
        let Command::HelpNow(args) = cli.command else {
            panic!("not help-now");
        };
        assert_eq!(args.country.as_deref(), Some("GB"));
    }
}
