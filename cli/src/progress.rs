//! Progress for work that can take more than a second (import, the session-prep packet), drawn
//! with `indicatif` on standard error — and only when both standard output and standard error
//! are terminals and `--json` is off, so nothing a script reads or a file receives ever holds a
//! bar.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Whether to draw: people watching, not scripts.
fn wanted(stdout_is_terminal: bool, stderr_is_terminal: bool, json: bool) -> bool {
    stdout_is_terminal && stderr_is_terminal && !json
}

fn here(json: bool) -> bool {
    wanted(
        std::io::stdout().is_terminal(),
        std::io::stderr().is_terminal(),
        json,
    )
}

/// A bar over `total` items, or nothing when nobody is watching.
pub fn bar(total: u64, what: &str, json: bool) -> Option<ProgressBar> {
    if !here(json) {
        return None;
    }
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} ({eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_owned());
    Some(bar)
}

/// A spinner with a message, for work whose length is unknown, or nothing.
pub fn spinner(what: &str, json: bool) -> Option<ProgressBar> {
    if !here(json) {
        return None;
    }
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(what.to_owned());
    spinner.enable_steady_tick(Duration::from_millis(120));
    Some(spinner)
}

#[cfg(test)]
mod tests {
    use super::wanted;

    #[test]
    fn bars_only_for_people_at_a_terminal() {
        assert!(wanted(true, true, false));
        assert!(
            !wanted(false, true, false),
            "stdout to a pipe or a file: no bar"
        );
        assert!(!wanted(true, false, false), "stderr redirected: no bar");
        assert!(!wanted(true, true, true), "--json: no bar");
    }
}
