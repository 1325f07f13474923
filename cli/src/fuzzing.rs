//! What the fuzz targets (`fuzz/`) and their corpus replay (`tests/fuzz_corpus.rs`) call:
//! every parser of input Interlude did not write, each taking any bytes and never panicking.

use jiff::tz::TimeZone;

/// jrnl's JSON export.
pub fn jrnl(bytes: &[u8]) {
    let _ = crate::importers::jrnl::read(&String::from_utf8_lossy(bytes), &TimeZone::UTC);
}

/// Daylio's CSV export.
pub fn daylio(bytes: &[u8]) {
    let _ = crate::importers::daylio::read(&String::from_utf8_lossy(bytes), &TimeZone::UTC);
}

/// Day One's zip or JSON.
pub fn dayone(bytes: &[u8]) {
    let _ = crate::importers::dayone::read(bytes);
}

/// An Interlude export.
pub fn export(bytes: &[u8]) {
    let _ = crate::commands::parse_export(&String::from_utf8_lossy(bytes));
}

/// Times and emotions as people type them into flags.
pub fn cli_values(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let now = jiff::Zoned::now();
    let _ = crate::time::parse_moment(&text, &now);
    let _ = crate::time::parse_bound(&text, &now);
    let _ = crate::args::parse_emotion(&text);
}

/// Replays every file of `fuzz/corpus/<target>` through `run` (the corpus replay tests).
pub fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        if let Ok(bytes) = std::fs::read(entry.path()) {
            run(&bytes);
            count += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The corpora the fuzzers built (and any crashers they found, kept beside them) replayed as
    /// ordinary tests: each input read without a panic.
    #[test]
    fn every_fuzz_corpus_input_is_read_without_a_panic() {
        for (target, run) in [
            ("import_jrnl", jrnl as fn(&[u8])),
            ("import_daylio", daylio),
            ("import_dayone", dayone),
            ("import_export", export),
            ("cli_values", cli_values),
        ] {
            assert!(replay(target, run) > 0, "fuzz/corpus/{target} has inputs");
        }
    }
}
