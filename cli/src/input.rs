//! Where the text of a reflection comes from: the words on the command line, standard input when
//! it is piped, or the editor when it is a terminal.

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::Context;

use crate::editor;
use crate::error::CliError;

/// The text to save; `current` prefills the editor when editing.
pub async fn text(words: &[String], socket: &Path, current: &str) -> Result<String, CliError> {
    let text = if !words.is_empty() {
        words.join(" ")
    } else if !std::io::stdin().is_terminal() {
        read_stdin("text")?
    } else {
        editor::edit(socket, current).await?
    };
    non_empty(text)
}

/// All of standard input; `what` names it in the error.
pub fn read_stdin(what: &str) -> Result<String, CliError> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .with_context(|| format!("could not read the {what} from standard input"))?;
    Ok(text)
}

/// Trailing newlines that editors add are not part of the text.
fn non_empty(text: String) -> Result<String, CliError> {
    let text = text.trim_end();
    if text.trim().is_empty() {
        return Err(CliError::invalid_input(
            "the text is empty; nothing was saved",
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_editors_trailing_newline_is_dropped_but_indentation_kept() {
        assert_eq!(
            non_empty("  a list:\n  - one\n\n".into()).unwrap(),
            "  a list:\n  - one"
        );
    }

    #[test]
    fn blank_text_is_refused() {
        let error = non_empty(" \n\t\n".into()).unwrap_err();
        assert_eq!(error.exit_code(), crate::error::ExitCode::InvalidInput);
    }
}
