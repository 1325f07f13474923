//! Printing results: text for people, or one JSON object per command with `--json`.

pub mod reflection;
pub mod safety;
pub mod session;
pub mod term;

use std::io::Write;

use anyhow::Context;
use serde_json::Value;

use crate::error::CliError;

/// Where results go, and in which form.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints the human text or the JSON object; only the chosen one is built.
    pub fn emit(
        &self,
        human: impl FnOnce() -> String,
        json: impl FnOnce() -> Value,
    ) -> Result<(), CliError> {
        let mut text = if self.json {
            json().to_string()
        } else {
            human()
        };
        if !text.ends_with('\n') {
            text.push('\n');
        }
        write_stdout(&text)
    }
}

/// A closed pipe (`interlude timeline | head`) is not a failure.
fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => Ok(result.context("could not write to standard output")?),
    }
}

/// `REFLECTION_KIND_CHECK_IN` → `check_in`: the JSON form of a proto enum value.
pub fn snake_name(proto_name: &str, prefix: &str) -> String {
    proto_name
        .strip_prefix(prefix)
        .unwrap_or(proto_name)
        .to_ascii_lowercase()
}

/// Indents every non-empty line by `by`.
pub fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                String::new()
            } else {
                format!("{by}{line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `  - first line`, later lines aligned under it.
pub fn bullet(text: &str) -> String {
    let mut lines = text.lines();
    std::iter::once(format!("  - {}", lines.next().unwrap_or_default()))
        .chain(lines.map(|line| format!("    {line}")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `1 reflection`, `3 reflections`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_enum_names_become_lowercase_snake_case() {
        assert_eq!(
            snake_name("REFLECTION_KIND_CHECK_IN", "REFLECTION_KIND_"),
            "check_in"
        );
        assert_eq!(snake_name("VAULT_STATE_LOCKED", "VAULT_STATE_"), "locked");
    }

    #[test]
    fn indenting_leaves_blank_lines_blank() {
        assert_eq!(indent("one\n\ntwo", "  "), "  one\n\n  two");
    }

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(count(1u32, "reflection", "reflections"), "1 reflection");
        assert_eq!(count(3u32, "reflection", "reflections"), "3 reflections");
    }
}
