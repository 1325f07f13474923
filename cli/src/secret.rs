//! Reading passphrases and recovery keys: from a hidden prompt, a file, or standard input.
//!
//! Files and standard input give one secret per line, in the order they are asked for; a prompt
//! asks for a new passphrase twice.

use std::path::Path;

use anyhow::Context;

use crate::args::SecretArgs;
use crate::error::CliError;
use crate::input::read_stdin;

/// The daemon refuses shorter passphrases too; checking here saves a round trip and says why.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// What proves the right to open the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    Passphrase,
    RecoveryKey,
}

impl Secret {
    pub fn from_flag(recovery_key: bool) -> Self {
        if recovery_key {
            Self::RecoveryKey
        } else {
            Self::Passphrase
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Passphrase => "passphrase",
            Self::RecoveryKey => "recovery key",
        }
    }
}

/// Hands out secrets one at a time from wherever the user said they come from.
pub struct SecretReader {
    lines: Option<std::vec::IntoIter<String>>,
    origin: String,
    taken: usize,
}

impl SecretReader {
    pub fn open(args: &SecretArgs) -> Result<Self, CliError> {
        let (text, origin) = match (&args.passphrase_file, args.passphrase_stdin) {
            (Some(path), _) => (Some(read_file(path)?), path.display().to_string()),
            (None, true) => (Some(read_stdin("passphrase")?), "standard input".to_owned()),
            (None, false) => (None, "the terminal".to_owned()),
        };
        let lines = text.map(|text| {
            text.lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
                .into_iter()
        });
        Ok(Self {
            lines,
            origin,
            taken: 0,
        })
    }

    /// The current passphrase or the recovery key.
    pub fn existing(&mut self, secret: Secret) -> Result<String, CliError> {
        let prompt = match secret {
            Secret::Passphrase => "Passphrase: ",
            Secret::RecoveryKey => "Recovery key: ",
        };
        let value = self.next(prompt, secret.name())?;
        Ok(match secret {
            Secret::Passphrase => value,
            Secret::RecoveryKey => value.trim().to_owned(),
        })
    }

    /// A new passphrase: asked twice on a terminal, checked for length.
    pub fn new_passphrase(&mut self) -> Result<String, CliError> {
        let first = self.next("New passphrase: ", "new passphrase")?;
        check_length(&first)?;
        if self.lines.is_none() {
            let again = self.next("New passphrase again: ", "new passphrase")?;
            if again != first {
                return Err(CliError::invalid_input(
                    "the two passphrases differ; nothing was changed",
                ));
            }
        }
        Ok(first)
    }

    fn next(&mut self, prompt: &str, what: &str) -> Result<String, CliError> {
        self.taken += 1;
        let value = match &mut self.lines {
            Some(lines) => lines.next().ok_or_else(|| {
                CliError::invalid_input(format!(
                    "{} has no {what} on line {}",
                    self.origin, self.taken
                ))
            })?,
            None => prompt_hidden(prompt, what)?,
        };
        if value.is_empty() {
            return Err(CliError::invalid_input(format!(
                "the {what} from {} is empty",
                self.origin
            )));
        }
        Ok(value)
    }
}

fn check_length(passphrase: &str) -> Result<(), CliError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(CliError::invalid_input(format!(
            "a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters; a few words you \
             can remember make a good one"
        )));
    }
    Ok(())
}

fn prompt_hidden(prompt: &str, what: &str) -> Result<String, CliError> {
    rpassword::prompt_password(prompt).map_err(|_| {
        CliError::invalid_input(format!(
            "there is no terminal to ask for the {what} on; \
             pass --passphrase-file FILE or --passphrase-stdin"
        ))
    })
}

fn read_file(path: &Path) -> Result<String, CliError> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("could not read the passphrase file {}", path.display()))?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::error::ExitCode;

    fn from_lines(lines: &[&str]) -> SecretReader {
        let lines: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        SecretReader {
            lines: Some(lines.into_iter()),
            origin: "pass.txt".to_owned(),
            taken: 0,
        }
    }

    #[test]
    fn a_short_new_passphrase_is_refused_locally() {
        let error = from_lines(&["short"]).new_passphrase().unwrap_err();
        assert_eq!(error.exit_code(), ExitCode::InvalidInput);
        assert!(error.to_string().contains("at least 8 characters"));
    }

    #[test]
    fn eight_characters_are_enough_and_counted_as_characters() {
        assert!(from_lines(&["ünïcödé"]).new_passphrase().is_err());
        assert_eq!(
            from_lines(&["ünïcödé!"]).new_passphrase().unwrap(),
            "ünïcödé!"
        );
    }

    #[test]
    fn a_change_reads_the_current_then_the_new_passphrase() {
        let mut reader = from_lines(&["old passphrase", "new passphrase"]);
        assert_eq!(
            reader.existing(Secret::Passphrase).unwrap(),
            "old passphrase"
        );
        assert_eq!(reader.new_passphrase().unwrap(), "new passphrase");
    }

    #[test]
    fn a_missing_line_names_the_source_and_the_line() {
        let mut reader = from_lines(&["old passphrase"]);
        reader.existing(Secret::Passphrase).unwrap();
        let error = reader.new_passphrase().unwrap_err().to_string();
        assert_eq!(error, "pass.txt has no new passphrase on line 2");
    }

    #[test]
    fn a_recovery_key_is_trimmed_but_a_passphrase_keeps_its_spaces() {
        let mut reader = from_lines(&["  ABCD-EFGH  ", " spaced out "]);
        assert_eq!(reader.existing(Secret::RecoveryKey).unwrap(), "ABCD-EFGH");
        assert_eq!(reader.existing(Secret::Passphrase).unwrap(), " spaced out ");
    }
}
