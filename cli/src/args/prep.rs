//! `interlude patterns` and `interlude prep …`: the week in the client's own words.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use jiff::Timestamp;

use super::values::parse_bound;

#[derive(Debug, Clone, Args)]
pub struct WindowArgs {
    /// From this moment on [default: your last logged session, or 7 days ago]
    #[arg(long, value_name = "WHEN", value_parser = parse_bound)]
    pub since: Option<Timestamp>,

    /// Up to, not including, this moment [default: now]
    #[arg(long, value_name = "WHEN", value_parser = parse_bound)]
    pub until: Option<Timestamp>,
}

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  interlude prep\n  interlude prep --format html -o week.html\n  \
    interlude prep edit\n  interlude prep export --to-therapist age1... -o week.html.age"
)]
pub struct PrepArgs {
    #[command(subcommand)]
    pub command: Option<PrepCommand>,

    #[command(flatten)]
    pub window: WindowArgs,

    /// Leave out the digest (no model writes anything)
    #[arg(long)]
    pub no_digest: bool,

    #[command(flatten)]
    pub render: RenderArgs,
}

#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// How to render it
    #[arg(long, value_enum, default_value_t = PacketFormat::Markdown)]
    pub format: PacketFormat,

    /// Write to FILE (readable by you alone) instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PacketFormat {
    #[value(alias = "md")]
    Markdown,
    Json,
    Html,
}

#[derive(Debug, Clone, Subcommand)]
pub enum PrepCommand {
    /// Show the newest draft again (with your review applied), without rebuilding it
    Show(RenderArgs),
    /// Review the newest draft in $EDITOR: leave out entries, themes or sections; add questions and notes
    Edit,
    /// Encrypt the reviewed draft to your therapist's age key
    Export(ExportArgs),
    /// Every export so far: when, which draft, to whom
    History,
}

#[derive(Debug, Clone, Args)]
#[group(id = "to", required = true, multiple = true)]
pub struct ExportArgs {
    /// The therapist's age public key (age1…); repeat for more than one
    #[arg(long, value_name = "AGE_KEY", group = "to")]
    pub to_therapist: Vec<String>,

    /// A file of age public keys, one per line
    #[arg(long, value_name = "FILE", group = "to")]
    pub recipients_file: Option<PathBuf>,

    #[command(flatten)]
    pub render: RenderArgs,
}
