//! Reading a plugin directory: every file parsed strictly, every reference checked, and every
//! problem reported at once with its file, line and column, plus a suggestion for a likely typo.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::Spanned;

use super::format::{
    CheckInsFile, ExerciseFile, OLDEST_SCHEMA_VERSION, PatternsFile, Plugin, PluginFile,
    PromptsFile, SCHEMA_VERSION, Step, StepKind, StepSafety, VOCABULARY_KINDS,
};

/// One thing wrong with a plugin, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

const OPTIONAL_FILES: [&str; 3] = ["prompts.toml", "checkins.toml", "patterns.toml"];
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Loads the plugin in `dir`, or every problem found in it.
pub fn load(dir: &Path) -> Result<Plugin, Vec<Problem>> {
    load_from(&Files::Dir(dir))
}

/// Where a plugin's files are read from: a directory, or the copy embedded in the binary.
pub(crate) enum Files<'a> {
    Dir(&'a Path),
    /// `shown` names the plugin in problems; `files` are (relative path with `/`, text).
    Embedded {
        shown: &'a Path,
        files: &'a [(&'static str, &'static str)],
    },
}

impl Files<'_> {
    fn path(&self, relative: &str) -> PathBuf {
        match self {
            Files::Dir(dir) => dir.join(relative),
            Files::Embedded { shown, .. } => shown.join(relative),
        }
    }

    fn read(&self, relative: &str) -> std::io::Result<String> {
        match self {
            Files::Dir(dir) => std::fs::read_to_string(dir.join(relative)),
            Files::Embedded { files, .. } => files
                .iter()
                .find(|(name, _)| *name == relative)
                .map(|(_, text)| text.to_string())
                .ok_or_else(|| std::io::ErrorKind::NotFound.into()),
        }
    }

    fn exists(&self, relative: &str) -> bool {
        match self {
            Files::Dir(dir) => dir.join(relative).exists(),
            Files::Embedded { files, .. } => files.iter().any(|(name, _)| *name == relative),
        }
    }

    /// The entries of a directory (`""` for the plugin itself) as (name, is a regular file), or
    /// `None` when it cannot be read.
    fn list(&self, relative: &str) -> Option<Vec<(String, bool)>> {
        match self {
            Files::Dir(dir) => {
                let entries = std::fs::read_dir(dir.join(relative)).ok()?;
                Some(
                    entries
                        .flatten()
                        .map(|e| {
                            let is_file = e.file_type().is_ok_and(|t| t.is_file());
                            (e.file_name().to_string_lossy().into_owned(), is_file)
                        })
                        .collect(),
                )
            }
            Files::Embedded { files, .. } => {
                let prefix = if relative.is_empty() {
                    String::new()
                } else {
                    format!("{relative}/")
                };
                let mut names: Vec<(String, bool)> = files
                    .iter()
                    .filter_map(|(name, _)| name.strip_prefix(prefix.as_str()))
                    .map(|rest| match rest.split_once('/') {
                        Some((dir, _)) => (dir.to_string(), false),
                        None => (rest.to_string(), true),
                    })
                    .collect();
                names.dedup();
                (!names.is_empty() || relative.is_empty()).then_some(names)
            }
        }
    }
}

pub(crate) fn load_from(files: &Files) -> Result<Plugin, Vec<Problem>> {
    let mut problems = Vec::new();
    check_layout(files, &mut problems);
    let plugin: Option<(Source, PluginFile)> = parse(files, "plugin.toml", &mut problems);
    let mut exercises = Vec::new();
    for name in toml_files(files, "exercises", &mut problems) {
        if let Some(parsed) = parse::<ExerciseFile>(files, &name, &mut problems) {
            exercises.push(parsed);
        }
    }
    let prompts = parse_optional::<PromptsFile>(files, "prompts.toml", &mut problems);
    let checkins = parse_optional::<CheckInsFile>(files, "checkins.toml", &mut problems);
    let patterns = parse_optional::<PatternsFile>(files, "patterns.toml", &mut problems);
    let Some((plugin_source, plugin)) = plugin else {
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }

    let mut check = Checker { problems };
    check.id(&plugin_source, &plugin.plugin.id);
    check.version(&plugin_source, &plugin.plugin.version);
    let mut exercise_ids = Seen::default();
    for (source, file) in &exercises {
        check.schema(source, &file.schema_version);
        exercise_ids.add(&mut check, source, &file.exercise.id, "exercise");
        check.steps(source, &file.exercise.steps);
        check.newer_fields(source, *file.schema_version.get_ref(), &file.exercise.steps);
    }
    let mut prompt_ids = Seen::default();
    if let Some((source, file)) = &prompts {
        check.schema(source, &file.schema_version);
        for prompt in &file.prompt {
            prompt_ids.add(&mut check, source, &prompt.id, "prompt");
            check.placeholders(source, &prompt.text);
        }
    }
    let mut pattern_ids = Seen::default();
    if let Some((source, file)) = &patterns {
        check.schema(source, &file.schema_version);
        for pattern in &file.pattern {
            pattern_ids.add(&mut check, source, &pattern.id, "pattern");
            for (list, what) in [(&pattern.cues, "cues"), (&pattern.exemplars, "exemplars")] {
                if list.get_ref().is_empty() {
                    check.at(
                        source,
                        list.span(),
                        format!("`{what}` needs at least one entry"),
                    );
                }
            }
        }
    }
    if let Some((source, file)) = &checkins {
        check.schema(source, &file.schema_version);
        let mut checkin_ids = Seen::default();
        for checkin in &file.checkin {
            checkin_ids.add(&mut check, source, &checkin.id, "check-in");
            check.checkin_timing(source, checkin);
            if let Some(prompt) = &checkin.prompt {
                check.reference(source, prompt, &prompt_ids.ids, "prompt in prompts.toml");
            }
            if let Some(exercise) = &checkin.exercise {
                check.reference(source, exercise, &exercise_ids.ids, "exercise");
            }
        }
    }
    check.schema(&plugin_source, &plugin.schema_version);
    let sections: HashSet<String> = exercise_ids.ids.union(&pattern_ids.ids).cloned().collect();
    for section in &plugin.prep.sections {
        check.reference(&plugin_source, section, &sections, "exercise or pattern");
    }
    // Follow-ups name a text step of another exercise of this plugin.
    let text_steps: HashSet<String> = exercises
        .iter()
        .flat_map(|(_, f)| {
            let exercise = f.exercise.id.get_ref().clone();
            f.exercise
                .steps
                .iter()
                .filter(|s| *s.kind.get_ref() == StepKind::Text)
                .map(move |s| format!("{exercise}.{}", s.id.get_ref()))
        })
        .collect();
    for (source, file) in &exercises {
        for step in &file.exercise.steps {
            let Some(from) = &step.suggest_from else {
                continue;
            };
            if *step.kind.get_ref() != StepKind::Text {
                check.at(
                    source,
                    from.span(),
                    "`suggest_from` is for text steps".to_string(),
                );
            }
            check.reference(source, from, &text_steps, "text step (EXERCISE.STEP)");
        }
    }
    for pair in &plugin.prep.pairs {
        check.reference(&plugin_source, &pair.first, &exercise_ids.ids, "exercise");
        check.reference(&plugin_source, &pair.then, &exercise_ids.ids, "exercise");
        let steps_of = |id: &Spanned<String>| -> HashSet<String> {
            exercises
                .iter()
                .find(|(_, f)| f.exercise.id.get_ref() == id.get_ref())
                .map(|(_, f)| {
                    f.exercise
                        .steps
                        .iter()
                        .map(|s| s.id.get_ref().clone())
                        .collect()
                })
                .unwrap_or_default()
        };
        let shared: HashSet<String> = steps_of(&pair.first)
            .intersection(&steps_of(&pair.then))
            .cloned()
            .collect();
        check.reference(&plugin_source, &pair.on, &shared, "step of both exercises");
    }
    if !check.problems.is_empty() {
        return Err(check.problems);
    }
    Ok(Plugin {
        meta: plugin.plugin,
        prep: plugin.prep,
        exercises: exercises.into_iter().map(|(_, f)| f.exercise).collect(),
        prompts: prompts.map(|(_, f)| f.prompt).unwrap_or_default(),
        checkins: checkins.map(|(_, f)| f.checkin).unwrap_or_default(),
        patterns: patterns.map(|(_, f)| f.pattern).unwrap_or_default(),
    })
}

/// A file's text, kept to turn byte spans into lines and columns.
struct Source {
    path: PathBuf,
    text: String,
}

impl Source {
    fn problem(&self, span: Option<Range<usize>>, message: String) -> Problem {
        let offset = span.map_or(0, |s| s.start).min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Problem {
            file: self.path.clone(),
            line,
            column,
            message,
        }
    }
}

fn parse<T: DeserializeOwned>(
    files: &Files,
    relative: &str,
    problems: &mut Vec<Problem>,
) -> Option<(Source, T)> {
    let path = files.path(relative);
    let text = match files.read(relative) {
        Ok(text) => text,
        Err(err) => {
            let message = if err.kind() == std::io::ErrorKind::NotFound {
                "missing: every plugin has a plugin.toml (see plugins/README.md)".to_string()
            } else {
                format!("could not read it: {err}")
            };
            problems.push(Problem {
                file: path,
                line: 1,
                column: 1,
                message,
            });
            return None;
        }
    };
    let source = Source { path, text };
    match toml::from_str::<T>(&source.text) {
        Ok(value) => Some((source, value)),
        Err(err) => {
            let message = with_suggestion(err.message().trim());
            problems.push(source.problem(err.span(), message));
            None
        }
    }
}

fn parse_optional<T: DeserializeOwned>(
    files: &Files,
    relative: &str,
    problems: &mut Vec<Problem>,
) -> Option<(Source, T)> {
    if files.exists(relative) {
        parse(files, relative, problems)
    } else {
        None
    }
}

/// serde names the unknown field or variant and the expected ones in backticks; a close match
/// is probably what was meant.
/// Whether a prompt or an option speaks of self-harm or suicide.
pub fn names_self_harm(text: &str) -> bool {
    let text = text.to_lowercase().replace(['-', '\u{2011}'], " ");
    [
        "harm yourself",
        "hurt yourself",
        "harming yourself",
        "hurting yourself",
        "self harm",
        "suicid",
        "kill yourself",
        "killing yourself",
        "end your life",
        "ending your life",
        "harm myself",
        "hurt myself",
        "kill myself",
    ]
    .iter()
    .any(|phrase| text.contains(phrase))
}

fn with_suggestion(message: &str) -> String {
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let is_unknown = message.starts_with("unknown field") || message.starts_with("unknown variant");
    match quoted.split_first() {
        Some((unknown, expected)) if is_unknown => match closest(unknown, expected.iter().copied())
        {
            Some(guess) => format!("{message}; did you mean `{guess}`?"),
            None => message.to_string(),
        },
        _ => message.to_string(),
    }
}

fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Only the documented files: a misnamed one would otherwise be ignored without a word.
fn check_layout(files: &Files, problems: &mut Vec<Problem>) {
    let Some(entries) = files.list("") else {
        problems.push(Problem {
            file: files.path(""),
            line: 1,
            column: 1,
            message: "is not a readable directory".into(),
        });
        return;
    };
    let known: Vec<&str> = ["plugin.toml", "exercises"]
        .into_iter()
        .chain(OPTIONAL_FILES)
        .collect();
    for (name, _) in entries {
        if known.contains(&name.as_str()) || name == "README.md" || name.starts_with('.') {
            continue;
        }
        let hint = closest(&name, known.iter().copied())
            .map(|g| format!("; did you mean `{g}`?"))
            .unwrap_or_default();
        problems.push(Problem {
            file: files.path(&name),
            line: 1,
            column: 1,
            message: format!(
                "unknown file in a plugin (expected {}){hint}",
                known.join(", ")
            ),
        });
    }
}

/// The relative paths of the `.toml` files in `dir`, sorted.
fn toml_files(files: &Files, dir: &str, problems: &mut Vec<Problem>) -> Vec<String> {
    let Some(entries) = files.list(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (name, is_file) in entries {
        let relative = format!("{dir}/{name}");
        if name.ends_with(".toml") && is_file {
            found.push(relative);
        } else {
            problems.push(Problem {
                file: files.path(&relative),
                line: 1,
                column: 1,
                message: "only .toml files, one exercise each, belong in exercises/".into(),
            });
        }
    }
    found.sort();
    found
}

/// Ids seen so far of one kind.
#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
}

impl Seen {
    fn add(&mut self, check: &mut Checker, source: &Source, id: &Spanned<String>, what: &str) {
        check.id(source, id);
        if !self.ids.insert(id.get_ref().clone()) {
            check.at(
                source,
                id.span(),
                format!(
                    "there is already a {what} with id `{}`; ids must be unique",
                    id.get_ref()
                ),
            );
        }
    }
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn at(&mut self, source: &Source, span: Range<usize>, message: String) {
        self.problems.push(source.problem(Some(span), message));
    }

    fn schema(&mut self, source: &Source, version: &Spanned<u32>) {
        if !(OLDEST_SCHEMA_VERSION..=SCHEMA_VERSION).contains(version.get_ref()) {
            let message = format!(
                "schema_version {} is not one this Interlude reads (it reads {OLDEST_SCHEMA_VERSION} to {SCHEMA_VERSION}); update Interlude or convert the plugin",
                version.get_ref()
            );
            self.at(source, version.span(), message);
        }
    }

    /// A version 1 file is read as version 2 without what version 2 added; using an addition
    /// means the file is version 2 and should say so.
    fn newer_fields(&mut self, source: &Source, version: u32, steps: &[Step]) {
        if version >= 2 {
            return;
        }
        for step in steps {
            if let Some(instruction) = &step.instruction {
                self.at(
                    source,
                    instruction.span(),
                    "`instruction` needs `schema_version = 2` at the top of the file".into(),
                );
            }
            if *step.kind.get_ref() == StepKind::Questionnaire {
                self.at(
                    source,
                    step.kind.span(),
                    "a questionnaire step needs `schema_version = 2` at the top of the file".into(),
                );
            }
        }
    }

    fn id(&mut self, source: &Source, id: &Spanned<String>) {
        let text = id.get_ref();
        if !super::format::is_valid_id(text) {
            self.at(source, id.span(), format!("`{text}` is not a valid id: use lowercase words joined by hyphens, like `thought-record`"));
        }
    }

    fn version(&mut self, source: &Source, version: &Spanned<String>) {
        if super::format::Version::parse(version.get_ref()).is_none() {
            self.at(
                source,
                version.span(),
                format!(
                    "`{}` is not a version: use major.minor.patch, like `1.0.0`",
                    version.get_ref()
                ),
            );
        }
    }

    fn reference(
        &mut self,
        source: &Source,
        name: &Spanned<String>,
        known: &HashSet<String>,
        what: &str,
    ) {
        if known.contains(name.get_ref()) {
            return;
        }
        let hint = closest(name.get_ref(), known.iter().map(String::as_str))
            .map(|g| format!("; did you mean `{g}`?"))
            .unwrap_or_default();
        self.at(
            source,
            name.span(),
            format!(
                "there is no {what} `{}` in this plugin{hint}",
                name.get_ref()
            ),
        );
    }

    fn placeholders(&mut self, source: &Source, text: &Spanned<String>) {
        for piece in text.get_ref().split('{').skip(1) {
            let name = piece.split('}').next().unwrap_or_default();
            if !VOCABULARY_KINDS.contains(&name) {
                let hint = closest(name, VOCABULARY_KINDS.iter().copied())
                    .map(|g| format!("; did you mean `{{{g}}}`?"))
                    .unwrap_or_default();
                self.at(
                    source,
                    text.span(),
                    format!(
                        "`{{{name}}}` is not one of the client's kinds of words ({}){hint}",
                        VOCABULARY_KINDS.join(", ")
                    ),
                );
            }
        }
    }

    fn steps(&mut self, source: &Source, steps: &[Step]) {
        let mut seen = Seen::default();
        let ids: Vec<&str> = steps.iter().map(|s| s.id.get_ref().as_str()).collect();
        for (index, step) in steps.iter().enumerate() {
            seen.add(self, source, &step.id, "step");
            self.step_fields(source, step);
            let earlier: HashSet<String> = ids[..index].iter().map(|s| s.to_string()).collect();
            let later: HashSet<String> = ids[index + 1..].iter().map(|s| s.to_string()).collect();
            if let Some(shows) = &step.shows {
                self.reference(source, shows, &earlier, "earlier step");
            }
            for branch in &step.branch {
                if !step.options.contains(branch.when.get_ref()) {
                    self.at(
                        source,
                        branch.when.span(),
                        format!(
                            "`{}` is not one of this step's options",
                            branch.when.get_ref()
                        ),
                    );
                }
                self.reference(source, &branch.goto, &later, "later step");
            }
        }
    }

    fn step_safety(&mut self, source: &Source, step: &Step, safety: &Spanned<StepSafety>) {
        let rule = safety.get_ref();
        let problem = match *step.kind.get_ref() {
            StepKind::Scale => match rule.at_least {
                _ if !rule.options.is_empty() => {
                    Some("a scale step's `safety` takes `at_least`, not `options`".to_owned())
                }
                Some(at)
                    if step.min.is_some_and(|min| at > min)
                        && step.max.is_some_and(|max| at <= max) =>
                {
                    None
                }
                Some(_) => Some(
                    "`safety.at_least` must be above the scale's `min` and at most its `max`"
                        .into(),
                ),
                None => Some(
                    "a scale step's `safety` needs `at_least`, the lowest rating that raises it"
                        .into(),
                ),
            },
            StepKind::Choice | StepKind::MultiChoice => {
                match rule.options.iter().find(|o| !step.options.contains(o)) {
                    _ if rule.at_least.is_some() => {
                        Some("a choice step's `safety` takes `options`, not `at_least`".into())
                    }
                    _ if rule.options.is_empty() => Some(
                        "a choice step's `safety` needs `options`: the answers that raise it"
                            .into(),
                    ),
                    Some(unknown) => Some(format!(
                        "`safety.options` names {unknown:?}, which is not one of the step's options"
                    )),
                    None => None,
                }
            }
            _ => Some("`safety` is for scale, choice and multi_choice steps".into()),
        };
        if let Some(message) = problem {
            self.at(source, safety.span(), message);
        }
    }

    /// A questionnaire: options to answer with, items with unique ids, item safety rules
    /// naming its options, and bands that cover every possible total once.
    fn questionnaire(&mut self, source: &Source, step: &Step) {
        let span = step.kind.span();
        if *step.kind.get_ref() != StepKind::Questionnaire {
            if !step.items.is_empty() || step.scoring.is_some() {
                self.at(
                    source,
                    span,
                    "`items` and `scoring` are only for questionnaire steps".into(),
                );
            }
            return;
        }
        if step.items.is_empty() {
            self.at(
                source,
                span.clone(),
                "a questionnaire step needs `items`".into(),
            );
        }
        let mut seen = Seen::default();
        for item in &step.items {
            seen.add(self, source, &item.id, "questionnaire item");
            if let Some(safety) = &item.safety {
                let rule = safety.get_ref();
                let problem = if rule.at_least.is_some() || rule.options.is_empty() {
                    Some("an item's `safety` takes `options`: the answers that raise it".into())
                } else {
                    rule.options
                        .iter()
                        .find(|o| !step.options.contains(o))
                        .map(|o| format!("`safety.options` names {o:?}, which is not one of the step's options"))
                };
                if let Some(message) = problem {
                    self.at(source, safety.span(), message);
                }
            } else if names_self_harm(&item.text) {
                self.at(
                    source,
                    item.id.span(),
                    format!(
                        "item `{}` asks about self-harm or suicide, so it needs a `safety` rule \
                         with the answers that raise the plan",
                        item.id.get_ref()
                    ),
                );
            }
        }
        let Some(scoring) = &step.scoring else {
            return;
        };
        let highest = i64::try_from(
            step.items
                .len()
                .saturating_mul(step.options.len().saturating_sub(1)),
        )
        .unwrap_or(i64::MAX);
        let mut next = 0;
        for band in scoring.bands.get_ref() {
            if band.from != next || band.to < band.from {
                break;
            }
            next = band.to + 1;
        }
        if next != highest + 1 {
            self.at(
                source,
                scoring.bands.span(),
                format!(
                    "`scoring.bands` must run from 0 to {highest} (every item scored 0 to {}), \
                     each band starting where the one before ended",
                    step.options.len().saturating_sub(1)
                ),
            );
        }
    }

    /// A rated or chosen answer about self-harm or suicide must raise the safety plan as the
    /// words would: the crisis check reads words, and a number or a ticked box has none.
    /// (Written answers need no rule: the check reads them.)
    fn self_harm_covered(&mut self, source: &Source, step: &Step) {
        let kind = *step.kind.get_ref();
        let rule = step.safety.as_ref().map(Spanned::get_ref);
        let missing = match kind {
            StepKind::Scale if names_self_harm(&step.prompt) => {
                rule.is_none_or(|r| r.at_least.is_none())
            }
            StepKind::Choice | StepKind::MultiChoice => {
                let asks = names_self_harm(&step.prompt);
                let named: Vec<&String> =
                    step.options.iter().filter(|o| names_self_harm(o)).collect();
                let covered = |o: &String| rule.is_some_and(|r| r.options.contains(o));
                (asks && rule.is_none_or(|r| r.options.is_empty()))
                    || named.iter().any(|o| !covered(o))
            }
            _ => false,
        };
        if missing {
            self.at(
                source,
                step.kind.span(),
                format!(
                    "step `{}` asks about self-harm or suicide, so the answers that mean a hard \
                     moment need a `safety` rule (every option that names it, or `at_least` on \
                     a scale): the crisis check reads words, not ratings or ticked boxes",
                    step.id.get_ref()
                ),
            );
        }
    }

    fn step_fields(&mut self, source: &Source, step: &Step) {
        let kind = *step.kind.get_ref();
        let span = step.kind.span();
        let choice = matches!(
            kind,
            StepKind::Choice | StepKind::MultiChoice | StepKind::Questionnaire
        );
        if choice && step.options.len() < 2 {
            self.at(
                source,
                span.clone(),
                "a choice step needs `options` with at least two entries".into(),
            );
        }
        if !choice && !step.options.is_empty() {
            self.at(
                source,
                span.clone(),
                "`options` is only for choice and multi_choice steps".into(),
            );
        }
        if let Some(safety) = &step.safety {
            self.step_safety(source, step, safety);
        }
        self.self_harm_covered(source, step);
        self.questionnaire(source, step);
        if !step.branch.is_empty() && kind != StepKind::Choice {
            self.at(
                source,
                span.clone(),
                "`branch` is only for choice steps".into(),
            );
        }
        match (kind, step.min, step.max) {
            (StepKind::Scale, Some(min), Some(max)) if min < max => {}
            (StepKind::Scale, _, _) => self.at(
                source,
                span.clone(),
                "a scale step needs `min` and `max`, with min below max".into(),
            ),
            (_, None, None) => {}
            _ => self.at(
                source,
                span.clone(),
                "`min` and `max` are only for scale steps".into(),
            ),
        }
        if !step.labels.is_empty() && (kind != StepKind::Scale || step.labels.len() != 2) {
            self.at(
                source,
                span.clone(),
                "`labels` is for scale steps: two entries, one for each end".into(),
            );
        }
        match (&step.vocabulary, kind) {
            (Some(v), StepKind::Vocabulary) if VOCABULARY_KINDS.contains(&v.get_ref().as_str()) => {
            }
            (Some(v), StepKind::Vocabulary) => {
                let known: HashSet<String> =
                    VOCABULARY_KINDS.iter().map(|k| k.to_string()).collect();
                self.reference(
                    source,
                    v,
                    &known,
                    "kind of word (part, anchor, trigger, value, person) called",
                );
            }
            (None, StepKind::Vocabulary) => self.at(
                source,
                span.clone(),
                "a vocabulary step needs `vocabulary`: part, anchor, trigger, value or person"
                    .into(),
            ),
            (Some(v), _) => self.at(
                source,
                v.span(),
                "`vocabulary` is only for vocabulary steps".into(),
            ),
            (None, _) => {}
        }
        match (step.seconds, kind) {
            (Some(s), StepKind::Timer) if s > 0 => {}
            (_, StepKind::Timer) => self.at(
                source,
                span,
                "a timer step needs `seconds` above zero".into(),
            ),
            (Some(_), _) => self.at(source, span, "`seconds` is only for timer steps".into()),
            (None, _) => {}
        }
    }

    fn checkin_timing(&mut self, source: &Source, checkin: &super::format::CheckIn) {
        let kinds = [
            checkin.after_session_hours.is_some(),
            checkin.daily.is_some(),
            checkin.weekdays.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            self.at(source, checkin.id.span(), "a check-in needs exactly one of `after_session_hours`, `daily`, or `weekdays` with `at`".into());
        }
        if let Some(daily) = &checkin.daily {
            self.clock_time(source, daily);
        }
        match (&checkin.weekdays, &checkin.at) {
            (Some(days), Some(at)) => {
                self.clock_time(source, at);
                for day in days {
                    if !WEEKDAYS.contains(&day.get_ref().as_str()) {
                        self.at(
                            source,
                            day.span(),
                            format!(
                                "`{}` is not a weekday: use {}",
                                day.get_ref(),
                                WEEKDAYS.join(", ")
                            ),
                        );
                    }
                }
            }
            (Some(_), None) => self.at(
                source,
                checkin.id.span(),
                "`weekdays` needs `at`, a time like \"19:00\"".into(),
            ),
            (None, Some(at)) => self.at(
                source,
                at.span(),
                "`at` goes with `weekdays`; for every day use `daily`".into(),
            ),
            (None, None) => {}
        }
    }

    fn clock_time(&mut self, source: &Source, time: &Spanned<String>) {
        let valid = time.get_ref().split_once(':').is_some_and(|(h, m)| {
            h.len() == 2
                && m.len() == 2
                && h.parse::<u8>().is_ok_and(|h| h < 24)
                && m.parse::<u8>().is_ok_and(|m| m < 60)
        });
        if !valid {
            self.at(
                source,
                time.span(),
                format!(
                    "`{}` is not a time: use 24-hour HH:MM, like \"20:00\"",
                    time.get_ref()
                ),
            );
        }
    }
}
