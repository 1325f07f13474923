//! `interlude export`: everything the client has written, as JSON (versioned, described by
//! `cli/schema/interlude-export-v1.schema.json`) or as Markdown, both readable without
//! Interlude. Private reflections stay in the daemon unless asked for, and the export says at
//! its top which it is. A file is never replaced without `--force` or a yes on the terminal.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use interlude_plugins::Origin;
use interlude_proto::v1::{
    Controls, GetControlsRequest, GetPlanRequest, ListReflectionsRequest, ListSchedulesRequest,
    ListSessionsRequest, ListTermsRequest, Order, Reflection, SafetyPlan, Schedule, Session,
    StatusRequest, Term,
};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Ctx;
use super::checkin::{controls_json, controls_text, schedule_json, schedule_text};
use crate::args::{DataExportArgs, DataFormat};
use crate::error::{CliError, ExitCode};
use crate::output::{reflection, safety, session, term};
use crate::time;

/// Bumped on every change a reader of the JSON would notice.
pub const FORMAT_VERSION: u32 = 1;

/// Everything in one export.
struct Export {
    exported_at: Timestamp,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    includes_private: bool,
    reflections: Vec<Reflection>,
    sessions: Vec<Session>,
    terms: Vec<Term>,
    plan: SafetyPlan,
    schedules: Vec<Schedule>,
    controls: Controls,
    /// id, version, where it comes from.
    plugins: Vec<(String, String, String)>,
}

pub async fn export(ctx: &Ctx, args: &DataExportArgs) -> Result<(), CliError> {
    if let Some(path) = &args.output {
        refuse_to_replace_unasked(path, args.force)?;
    }
    let export = collect(ctx, args).await?;
    // The JSON is written as it is made, one reflection at a time: never the whole document as
    // one value or one string (100,000 reflections would take twice the memory).
    let write = |out: &mut dyn Write| -> std::io::Result<()> {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
        match args.format {
            DataFormat::Json => serde_json::to_writer_pretty(&mut out, &Document::of(&export))
                .map_err(std::io::Error::other)?,
            DataFormat::Markdown => out.write_all(to_markdown(&export).as_bytes())?,
        }
        out.flush()
    };
    match &args.output {
        None => {
            let mut stdout = std::io::stdout().lock();
            write(&mut stdout)
                .and_then(|()| stdout.write_all(b"\n"))
                .context("could not write to standard output")?;
            Ok(())
        }
        Some(path) => {
            let written = Staged::create(path).and_then(|mut staged| {
                write(staged.file())?;
                staged.commit(args.force)
            });
            written.map_err(|err| write_error(path, err))?;
            ctx.out.emit(
                || {
                    format!(
                        "Exported {} reflections, {} sessions and {} words to {}{}.",
                        export.reflections.len(),
                        export.sessions.len(),
                        export.terms.len(),
                        path.display(),
                        if export.includes_private {
                            ", private ones included"
                        } else {
                            " (private ones left out)"
                        }
                    )
                },
                || {
                    json!({
                        "file": path.display().to_string(),
                        "reflections": export.reflections.len(),
                        "sessions": export.sessions.len(),
                        "terms": export.terms.len(),
                        "includes_private": export.includes_private,
                    })
                },
            )
        }
    }
}

async fn collect(ctx: &Ctx, args: &DataExportArgs) -> Result<Export, CliError> {
    let (since, until) = (
        args.since.map(time::to_proto),
        args.until.map(time::to_proto),
    );
    let mut reflections = Vec::new();
    let mut page_token = String::new();
    // Pages of up to 1,000 (100,000 reflections take several seconds): a count at a terminal.
    let spinner = crate::progress::spinner("Exporting", ctx.out.is_json());
    loop {
        let request = ListReflectionsRequest {
            since,
            until,
            // Private entries never leave the daemon unless asked for.
            private: (!args.include_private).then_some(false),
            limit: 1000,
            page_token,
            order: Order::OldestFirst.into(),
            ..Default::default()
        };
        let page = ctx
            .daemon
            .timeline()
            .list_reflections(request)
            .await?
            .into_inner();
        reflections.extend(page.reflections);
        if let Some(spinner) = &spinner {
            spinner.set_message(format!("Exporting: {} reflections", reflections.len()));
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let sessions = all_sessions(ctx, since, until).await?;
    let terms = ctx
        .daemon
        .vocabulary()
        .list_terms(ListTermsRequest::default())
        .await?
        .into_inner()
        .terms;
    let plan = ctx
        .daemon
        .safety()
        .get_plan(GetPlanRequest {})
        .await?
        .into_inner();
    let schedules = ctx
        .daemon
        .checkins()
        .list_schedules(ListSchedulesRequest {})
        .await?
        .into_inner()
        .schedules;
    let controls = ctx
        .daemon
        .checkins()
        .get_controls(GetControlsRequest {})
        .await?
        .into_inner();
    // The plugins of the daemon's own data directory, wherever this CLI's settings point.
    let data_dir = ctx
        .daemon
        .daemon()
        .status(StatusRequest {})
        .await?
        .into_inner()
        .data_dir;
    let catalog = interlude_plugins::catalog_in(&interlude_plugins::PluginPaths::new(data_dir));
    let plugins = catalog
        .plugins
        .iter()
        .map(|entry| {
            let origin = match entry.origin {
                Origin::BuiltIn => "built-in",
                Origin::Installed { .. } => "installed",
            };
            (
                entry.id().to_owned(),
                entry.plugin.meta.version.get_ref().clone(),
                origin.to_owned(),
            )
        })
        .collect();
    Ok(Export {
        exported_at: Timestamp::now(),
        since: args.since,
        until: args.until,
        includes_private: args.include_private,
        reflections,
        sessions,
        terms,
        plan,
        schedules,
        controls,
        plugins,
    })
}

/// Every session in the window, oldest first. `ListSessions` answers newest first, up to 1,000
/// (fewer when they are long) and has no page token: each next call ends where the last began
/// (its oldest time included, so sessions sharing that time are not skipped; ids already seen are
/// dropped), until a call brings nothing new.
async fn all_sessions(
    ctx: &Ctx,
    since: Option<prost_types::Timestamp>,
    until: Option<prost_types::Timestamp>,
) -> Result<Vec<Session>, CliError> {
    let mut seen = std::collections::HashSet::new();
    let mut sessions = Vec::new();
    let mut until = until;
    loop {
        let request = ListSessionsRequest {
            since,
            until,
            limit: 1000,
        };
        let page = ctx
            .daemon
            .sessions()
            .list_sessions(request)
            .await?
            .into_inner()
            .sessions;
        let oldest = page.last().and_then(|s| s.held_at);
        let before = sessions.len();
        sessions.extend(page.into_iter().filter(|s| seen.insert(s.id.clone())));
        match oldest {
            Some(oldest) if sessions.len() > before => {
                // Exclusive bound one millisecond after the oldest: it is asked for again.
                let next = oldest.seconds * 1000 + i64::from(oldest.nanos) / 1_000_000 + 1;
                until = Some(prost_types::Timestamp {
                    seconds: next.div_euclid(1000),
                    nanos: (next.rem_euclid(1000) * 1_000_000) as i32,
                });
            }
            _ => break,
        }
    }
    sessions.reverse();
    Ok(sessions)
}

/// The export as JSON: everything but the reflections as one value, the reflections turned into
/// JSON one at a time as they are written, in the place the value keeps for them.
struct Document<'a> {
    head: Value,
    reflections: &'a [Reflection],
}

impl<'a> Document<'a> {
    fn of(export: &'a Export) -> Document<'a> {
        Document {
            head: to_json(export, Value::Null),
            reflections: &export.reflections,
        }
    }
}

impl serde::Serialize for Document<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Reflections<'a>(&'a [Reflection]);
        impl serde::Serialize for Reflections<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().map(reflection::to_json))
            }
        }
        let Value::Object(head) = &self.head else {
            return self.head.serialize(serializer);
        };
        let mut map = serializer.serialize_map(Some(head.len()))?;
        for (key, value) in head {
            if key == "reflections" {
                map.serialize_entry(key, &Reflections(self.reflections))?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// The export as one value, with `reflections` standing for the reflections' list.
fn to_json(export: &Export, reflections: Value) -> Value {
    json!({
        "format": "interlude-export",
        "format_version": FORMAT_VERSION,
        "exported_at": export.exported_at.to_string(),
        "includes_private": export.includes_private,
        "since": export.since.map(|t| t.to_string()),
        "until": export.until.map(|t| t.to_string()),
        "reflections": reflections,
        "sessions": export.sessions.iter().map(session::to_json).collect::<Vec<_>>(),
        "vocabulary": export.terms.iter().map(term::to_json).collect::<Vec<_>>(),
        "safety_plan": safety::plan_json(&export.plan),
        "check_ins": {
            "schedules": export.schedules.iter().map(schedule_json).collect::<Vec<_>>(),
            "controls": controls_json(&export.controls),
        },
        "plugins": export.plugins.iter()
            .map(|(id, version, origin)| json!({ "id": id, "version": version, "origin": origin }))
            .collect::<Vec<_>>(),
    })
}

fn to_markdown(export: &Export) -> String {
    let mut md = String::from("# Interlude export\n\n");
    md.push_str(&format!(
        "Exported {} (format version {FORMAT_VERSION}). **Private reflections are {}.**\n",
        export.exported_at,
        if export.includes_private {
            "included"
        } else {
            "not included"
        }
    ));
    if export.since.is_some() || export.until.is_some() {
        let show = |t: Option<Timestamp>| t.map_or("…".to_owned(), |t| t.to_string());
        md.push_str(&format!(
            "Window: {} to {}.\n",
            show(export.since),
            show(export.until)
        ));
    }
    md.push_str(&format!(
        "\n## Reflections ({})\n",
        export.reflections.len()
    ));
    for r in &export.reflections {
        md.push_str(&format!(
            "\n### {}\n\n{}\n",
            reflection::header(r),
            quoted(&r.text)
        ));
        for earlier in &r.history {
            md.push_str(&format!(
                "\nEarlier version (replaced {}):\n\n{}\n",
                time::local(earlier.replaced_at.as_ref()),
                quoted(&earlier.text)
            ));
        }
    }
    md.push_str(&format!("\n## Sessions ({})\n\n", export.sessions.len()));
    for s in &export.sessions {
        md.push_str(&format!("{}\n\n", session::full(s)));
    }
    md.push_str(&format!("## Vocabulary ({})\n\n", export.terms.len()));
    md.push_str(&format!("{}\n\n", term::list(&export.terms)));
    md.push_str("## Safety plan\n\n");
    md.push_str(&format!("{}\n\n", safety::steps(&export.plan)));
    md.push_str("## Check-ins\n\n");
    for s in &export.schedules {
        md.push_str(&format!("{}\n\n", schedule_text(s)));
    }
    md.push_str(&format!("{}\n\n", controls_text(&export.controls)));
    md.push_str("## Plugins\n\n");
    for (id, version, origin) in &export.plugins {
        md.push_str(&format!("- {id} {version} ({origin})\n"));
    }
    md
}

/// The client's text as a Markdown block quote, so nothing in it becomes a heading or a list.
fn quoted(text: &str) -> String {
    text.lines()
        .map(|line| format!("> {line}").trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// An existing file is replaced only with `--force` or a yes on the terminal; asked before any
/// work is done.
fn refuse_to_replace_unasked(path: &Path, force: bool) -> Result<(), CliError> {
    if force || std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    let question = format!("{} exists. Replace it?", path.display());
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) && super::confirm(&question)? {
        return Ok(());
    }
    Err(CliError::new(
        ExitCode::InvalidInput,
        format!(
            "{} exists and was left as it is; pass --force to replace it, or choose another file",
            path.display()
        ),
    ))
}

/// Written beside the target (0600), synced, then given its name: a reader never sees half an
/// export. On Linux the file has no name until it is complete (`O_TMPFILE`), so an export killed
/// midway leaves nothing behind; elsewhere, or on a file system without unnamed files, a hidden
/// `.NAME.partial-PID` is used and removed on failure. Without `replace` an existing file is never
/// overwritten, even one that appeared meanwhile.
pub(super) fn write_file(path: &Path, bytes: &[u8], replace: bool) -> Result<(), CliError> {
    let written = Staged::create(path).and_then(|mut staged| {
        staged.file().write_all(bytes)?;
        staged.commit(replace)
    });
    written.map_err(|err| write_error(path, err))
}

pub(super) fn write_error(path: &Path, err: std::io::Error) -> CliError {
    if err.kind() == std::io::ErrorKind::AlreadyExists {
        CliError::new(
            ExitCode::InvalidInput,
            format!(
                "{} appeared meanwhile and was left as it is; pass --force to replace it",
                path.display()
            ),
        )
    } else {
        anyhow::Error::new(err)
            .context(format!("could not write {}", path.display()))
            .into()
    }
}

/// A file being written for `path` (0600) that gets that name only once it is complete and
/// synced (see [`write_file`]). Dropped uncommitted, it leaves nothing behind.
pub(super) struct Staged {
    file: std::fs::File,
    path: std::path::PathBuf,
    /// `None`: unnamed (`O_TMPFILE`); otherwise the hidden name it is written under.
    partial: Option<std::path::PathBuf>,
}

impl Staged {
    pub(super) fn create(path: &Path) -> std::io::Result<Staged> {
        #[cfg(target_os = "linux")]
        if let Some(file) = create_unnamed(path)? {
            return Ok(Staged {
                file,
                path: path.to_path_buf(),
                partial: None,
            });
        }
        use std::os::unix::fs::OpenOptionsExt;
        let partial = partial_name(path);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)?;
        Ok(Staged {
            file,
            path: path.to_path_buf(),
            partial: Some(partial),
        })
    }

    pub(super) fn file(&mut self) -> &mut std::fs::File {
        &mut self.file
    }

    /// Syncs and gives the file its name; without `replace` an existing file stays.
    pub(super) fn commit(mut self, replace: bool) -> std::io::Result<()> {
        self.file.sync_all()?;
        let path = self.path.clone();
        match self.partial.take() {
            Some(partial) => {
                let named = if replace {
                    std::fs::rename(&partial, &path)
                } else {
                    std::fs::hard_link(&partial, &path)
                        .and_then(|()| std::fs::remove_file(&partial))
                };
                if named.is_err() {
                    let _ = std::fs::remove_file(&partial);
                }
                named
            }
            #[cfg(target_os = "linux")]
            None => name_unnamed(&self.file, &path, replace),
            #[cfg(not(target_os = "linux"))]
            None => Ok(()),
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(partial) = &self.partial {
            let _ = std::fs::remove_file(partial);
        }
    }
}

/// `None` when the file system has no unnamed files.
#[cfg(target_os = "linux")]
fn create_unnamed(path: &Path) -> std::io::Result<Option<std::fs::File>> {
    use rustix::fs::{Mode, OFlags};
    use rustix::io::Errno;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let flags = OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC;
    match rustix::fs::open(dir, flags, Mode::from_raw_mode(0o600)) {
        Ok(fd) => Ok(Some(std::fs::File::from(fd))),
        Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

#[cfg(target_os = "linux")]
fn name_unnamed(file: &std::fs::File, path: &Path, replace: bool) -> std::io::Result<()> {
    use rustix::fs::{AtFlags, CWD};
    use std::os::fd::AsRawFd;
    let unnamed = format!("/proc/self/fd/{}", file.as_raw_fd());
    if !replace {
        rustix::fs::linkat(CWD, unnamed.as_str(), CWD, path, AtFlags::SYMLINK_FOLLOW)?;
        return Ok(());
    }
    // A link cannot replace a file: the complete file gets a hidden name, then is renamed over.
    let staged = partial_name(path);
    rustix::fs::linkat(CWD, unnamed.as_str(), CWD, &staged, AtFlags::SYMLINK_FOLLOW)?;
    std::fs::rename(&staged, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&staged);
    })
}

fn partial_name(path: &Path) -> std::path::PathBuf {
    path.with_file_name(format!(
        ".{}.partial-{}",
        path.file_name()
            .map_or("export".into(), |n| n.to_string_lossy()),
        std::process::id()
    ))
}
