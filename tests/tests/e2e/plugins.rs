//! The plugin format: every shipped plugin loads clean, and each kind of mistake is reported with
//! its file, line and column (and a suggestion for a likely typo), through the real CLI too.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use interlude_e2e::bin;
use interlude_plugins::{self as plugins, Problem};

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins")
}

#[test]
fn the_built_in_plugins_load_and_lint_clean() {
    const ALL: [&str; 7] = [
        "cbt",
        "dbt",
        "act",
        "psychodynamic",
        "ifs",
        "somatic",
        "measures",
    ];
    for name in ALL {
        let plugin = plugins::load(&shipped().join(name)).unwrap_or_else(|problems| {
            panic!(
                "{name}:\n{}",
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        assert_eq!(plugin.meta.id.get_ref(), name);
        assert!(!plugin.exercises.is_empty());
        if ["cbt", "dbt", "act", "psychodynamic"].contains(&name) {
            assert!(!plugin.patterns.is_empty() && !plugin.checkins.is_empty());
        }
    }
    let lint = Command::new(bin("interlude"))
        .args(["plugin", "lint"])
        .args(ALL.map(|n| shipped().join(n)))
        .output()
        .unwrap();
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stdout)
    );
}

const PLUGIN: &str = r#"schema_version = 1

[plugin]
id = "tiny"
name = "Tiny"
version = "1.0.0"
modality = "cbt"
authors = ["Test"]
description = "A plugin written for the tests."
licence = "CC-BY-4.0"

[prep]
sections = ["notice"]
"#;

const EXERCISE: &str = r#"schema_version = 1

[exercise]
id = "notice"
title = "Notice"
summary = "Notice what is here."
state = "any"
minutes = 2

[[exercise.steps]]
id = "what"
kind = "text"
prompt = "What is here?"

[[exercise.steps]]
id = "how-strong"
kind = "scale"
prompt = "How strong?"
min = 0
max = 10
shows = "what"
"#;

const PROMPTS: &str = "schema_version = 1\n\n[[prompt]]\nid = \"open\"\ntext = \"What did {part} want today?\"\nstate = \"any\"\n";
const CHECKINS: &str = "schema_version = 1\n\n[[checkin]]\nid = \"day-after\"\nafter_session_hours = 24\nprompt = \"open\"\nexercise = \"notice\"\n";

/// Writes the tiny plugin with `file` replaced by `text`, and loads it.
fn load_with(
    file: &str,
    text: &str,
) -> (
    tempfile::TempDir,
    Result<plugins::format::Plugin, Vec<Problem>>,
) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("exercises")).unwrap();
    for (name, content) in [
        ("plugin.toml", PLUGIN),
        ("exercises/notice.toml", EXERCISE),
        ("prompts.toml", PROMPTS),
        ("checkins.toml", CHECKINS),
    ] {
        std::fs::write(
            dir.path().join(name),
            if name == file { text } else { content },
        )
        .unwrap();
    }
    let loaded = plugins::load(dir.path());
    (dir, loaded)
}

#[track_caller]
fn only_problem(file: &str, text: &str) -> Problem {
    let (_dir, loaded) = load_with(file, text);
    let problems = loaded.expect_err("the plugin should be refused");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].file.ends_with(file), "{:?}", problems[0]);
    problems[0].clone()
}

#[test]
fn the_tiny_plugin_is_valid() {
    let (_dir, loaded) = load_with("", "");
    let plugin = loaded.unwrap();
    assert_eq!(
        (
            plugin.exercises.len(),
            plugin.prompts.len(),
            plugin.checkins.len()
        ),
        (1, 1, 1)
    );
}

#[test]
fn an_unknown_field_names_its_line_and_column_and_suggests_the_field() {
    let problem = only_problem(
        "exercises/notice.toml",
        &EXERCISE.replace("title = ", "titel = "),
    );
    assert_eq!((problem.line, problem.column), (5, 1));
    assert!(
        problem.message.contains("titel") && problem.message.contains("did you mean `title`"),
        "{problem}"
    );
}

#[test]
fn a_misspelt_step_kind_suggests_the_right_one() {
    let problem = only_problem(
        "exercises/notice.toml",
        &EXERCISE.replace("kind = \"text\"", "kind = \"txt\""),
    );
    assert_eq!(problem.line, 12);
    assert!(problem.message.contains("did you mean `text`"), "{problem}");
}

#[test]
fn a_wrong_type_is_located() {
    let problem = only_problem(
        "exercises/notice.toml",
        &EXERCISE.replace("minutes = 2", "minutes = \"two\""),
    );
    assert_eq!(problem.line, 8);
}

#[test]
fn a_duplicate_id_is_refused_where_it_repeats() {
    let problem = only_problem(
        "exercises/notice.toml",
        &EXERCISE.replace("id = \"how-strong\"", "id = \"what\""),
    );
    assert_eq!(problem.line, 16);
    assert!(
        problem.message.contains("already a step with id `what`"),
        "{problem}"
    );
}

#[test]
fn dangling_references_are_refused_with_a_suggestion() {
    let problem = only_problem(
        "checkins.toml",
        &CHECKINS.replace("exercise = \"notice\"", "exercise = \"notise\""),
    );
    assert!(
        problem.message.contains("no exercise `notise`")
            && problem.message.contains("did you mean `notice`"),
        "{problem}"
    );
    let problem = only_problem(
        "exercises/notice.toml",
        &EXERCISE.replace("shows = \"what\"", "shows = \"later\""),
    );
    assert!(
        problem.message.contains("no earlier step `later`"),
        "{problem}"
    );
    let problem = only_problem("prompts.toml", &PROMPTS.replace("{part}", "{prat}"));
    assert!(
        problem.message.contains("did you mean `{part}`"),
        "{problem}"
    );
    let problem = only_problem(
        "plugin.toml",
        &PLUGIN.replace("sections = [\"notice\"]", "sections = [\"nothing\"]"),
    );
    assert!(
        problem.message.contains("no exercise or pattern `nothing`"),
        "{problem}"
    );
    let pair = "\n[[prep.pairs]]\nfirst = \"notice\"\nthen = \"notice\"\non = \"whatt\"\n";
    let problem = only_problem("plugin.toml", &format!("{PLUGIN}{pair}"));
    assert!(
        problem
            .message
            .contains("no step of both exercises `whatt`")
            && problem.message.contains("did you mean `what`"),
        "{problem}"
    );
}

#[test]
fn kind_specific_fields_are_checked() {
    let no_max = EXERCISE.replace("max = 10\n", "");
    assert!(
        only_problem("exercises/notice.toml", &no_max)
            .message
            .contains("needs `min` and `max`")
    );
    let options_on_text = EXERCISE.replace(
        "prompt = \"What is here?\"",
        "prompt = \"What is here?\"\noptions = [\"a\", \"b\"]",
    );
    assert!(
        only_problem("exercises/notice.toml", &options_on_text)
            .message
            .contains("only for choice")
    );
    let two_timings = CHECKINS.replace(
        "after_session_hours = 24",
        "after_session_hours = 24\ndaily = \"20:00\"",
    );
    assert!(
        only_problem("checkins.toml", &two_timings)
            .message
            .contains("exactly one of")
    );
    let bad_time = CHECKINS.replace("after_session_hours = 24", "daily = \"8pm\"");
    assert!(
        only_problem("checkins.toml", &bad_time)
            .message
            .contains("not a time")
    );
}

#[test]
fn a_step_s_safety_rule_is_checked_against_its_kind_and_bounds() {
    let on_scale = |rule: &str| {
        EXERCISE.replace(
            "shows = \"what\"",
            &format!("shows = \"what\"\nsafety = {rule}"),
        )
    };
    let (_dir, loaded) = load_with(
        "exercises/notice.toml",
        &on_scale("{ tier = \"ideation\", at_least = 8 }"),
    );
    assert!(loaded.is_ok(), "{:?}", loaded.err());
    for (rule, expected) in [
        (
            "{ tier = \"ideation\", at_least = 11 }",
            "at most its `max`",
        ),
        ("{ tier = \"ideation\" }", "needs `at_least`"),
        (
            "{ tier = \"ideation\", options = [\"Yes\"] }",
            "not `options`",
        ),
        ("{ tier = \"worried\", at_least = 8 }", "unknown variant"),
    ] {
        let problem = only_problem("exercises/notice.toml", &on_scale(rule));
        assert!(problem.message.contains(expected), "{rule}: {problem}");
    }
    let on_text = EXERCISE.replace(
        "prompt = \"What is here?\"",
        "prompt = \"What is here?\"\nsafety = { tier = \"acute\", at_least = 1 }",
    );
    let problem = only_problem("exercises/notice.toml", &on_text);
    assert!(problem.message.contains("for scale, choice"), "{problem}");
    assert!(problem.line > 1, "located: {problem}");
}

#[test]
fn a_rated_or_ticked_answer_about_self_harm_without_a_safety_rule_is_refused() {
    let choice = EXERCISE.replace(
        "prompt = \"What is here?\"",
        "prompt = \"What happened today?\"\nkind = \"multi_choice\"\noptions = [\"A walk\", \"Hurt yourself on purpose\"]",
    );
    let choice = choice.replacen("kind = \"text\"\n", "", 1);
    let problem = only_problem("exercises/notice.toml", &choice);
    assert!(problem.message.contains("self-harm"), "{problem}");
    let covered = choice.replace(
        "\"Hurt yourself on purpose\"]",
        "\"Hurt yourself on purpose\"]\nsafety = { tier = \"ideation\", options = [\"Hurt yourself on purpose\"] }",
    );
    let (_dir, loaded) = load_with("exercises/notice.toml", &covered);
    assert!(loaded.is_ok(), "{:?}", loaded.err());
}

#[test]
fn a_schema_1_plugin_loads_as_schema_2_but_cannot_use_what_2_added() {
    // The test plugin is written in schema 1 throughout: it loads, converted.
    let (_dir, loaded) = load_with("", "");
    let plugin = loaded.unwrap();
    assert!(
        plugin.exercises[0]
            .steps
            .iter()
            .all(|s| !s.is_instruction())
    );
    let marked = EXERCISE.replace(
        "prompt = \"What is here?\"",
        "prompt = \"What is here?\"\ninstruction = true",
    );
    let problem = only_problem("exercises/notice.toml", &marked);
    assert!(problem.message.contains("schema_version = 2"), "{problem}");
    let (_dir, loaded) = load_with(
        "exercises/notice.toml",
        &marked.replace("schema_version = 1", "schema_version = 2"),
    );
    assert!(loaded.unwrap().exercises[0].steps[0].is_instruction());
}

#[test]
fn a_newer_schema_and_a_misnamed_file_are_reported() {
    let problem = only_problem(
        "prompts.toml",
        &PROMPTS.replace("schema_version = 1", "schema_version = 3"),
    );
    assert!(problem.message.contains("schema_version 3"), "{problem}");
    let (dir, _) = load_with("", "");
    std::fs::write(dir.path().join("prompt.toml"), PROMPTS).unwrap();
    let problems = plugins::load(dir.path()).err().unwrap();
    assert!(
        problems[0].message.contains("did you mean `prompts.toml`"),
        "{problems:?}"
    );
}

#[test]
fn the_cli_prints_each_problem_with_its_place_and_exits_6() {
    let (dir, _) = load_with(
        "exercises/notice.toml",
        &EXERCISE.replace("title = ", "titel = "),
    );
    let output = Command::new(bin("interlude"))
        .args(["plugin", "lint"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("notice.toml:5:1:") && stdout.contains("did you mean `title`"),
        "{stdout}"
    );
}
