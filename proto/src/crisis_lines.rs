//! Crisis lines by region, compiled in from `daemon/safety/resources.toml`, so that the daemon
//! and the CLI (even with the daemon down) show the same lines, offline.

use std::path::Path;

use serde::Deserialize;

use crate::v1::CrisisLine;

const RESOURCES: &str = include_str!("../../daemon/safety/resources.toml");
/// The region used when the locale names none we have lines for.
pub const FALLBACK: &str = "INTL";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    schema_version: u32,
    /// Required in the file for reviewers; nothing reads it at run time.
    #[allow(dead_code)]
    version: String,
    locales: Vec<Region>,
}

/// One region's lines.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub id: String,
    pub name: String,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub name: String,
    pub contact: String,
    #[serde(default)]
    pub hours: String,
}

impl Region {
    pub fn proto_lines(&self) -> Vec<CrisisLine> {
        self.lines
            .iter()
            .map(|l| CrisisLine {
                name: l.name.clone(),
                contact: l.contact.clone(),
                hours: l.hours.clone(),
            })
            .collect()
    }
}

fn all() -> Vec<Region> {
    // The file is compiled in and checked by a test; an unreadable one still yields the fallback.
    match toml::from_str::<File>(RESOURCES) {
        Ok(file) if file.schema_version == 1 => file.locales,
        _ => Vec::new(),
    }
}

/// The region for a locale such as `en_GB.UTF-8`, `GB` or `en-IE`; the international fallback
/// when there is no match.
pub fn for_locale(locale: &str) -> Region {
    let country = country_of(locale);
    let regions = all();
    regions
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(&country))
        .or_else(|| regions.iter().find(|r| r.id == FALLBACK))
        .cloned()
        .unwrap_or_else(|| Region {
            id: FALLBACK.into(),
            name: "Anywhere".into(),
            lines: vec![Line {
                name: "Emergency services".into(),
                contact: "your local emergency number".into(),
                hours: String::new(),
            }],
        })
}

/// The user's locale from `LC_ALL`, `LC_MESSAGES` or `LANG` (only ever a guess at the country).
pub fn system_locale() -> String {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|v| !v.is_empty() && v != "C" && v != "POSIX" && !v.starts_with("C."))
        .unwrap_or_default()
}

/// The file in the data directory that holds the country the client chose (`interlude init`,
/// `interlude country`): two letters and a newline, nothing else. It is not client material
/// that needs the vault, and help-now must read it while locked and with the daemon down.
pub const COUNTRY_FILE: &str = "crisis-country";

/// A country as the client gives it (`gb`, ` GB `): two ASCII letters, upper case; `INTL` for
/// "show the lines that work anywhere".
pub fn parse_country(text: &str) -> Result<String, String> {
    let code = text.trim().to_ascii_uppercase();
    if code == FALLBACK || (code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())) {
        Ok(code)
    } else {
        Err(format!(
            "{text:?} is not a country code: give the two letters of your country (GB, US, IE, \
             CA, AU, NZ, ...), or INTL for lines that work anywhere"
        ))
    }
}

/// The country the client chose, if they did and the file reads as one.
pub fn read_chosen(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join(COUNTRY_FILE)).ok()?;
    parse_country(&text).ok()
}

/// Records the client's choice (replacing the file in one step), creating the data directory
/// (mode 0700) if it is not there yet.
pub fn write_chosen(data_dir: &Path, code: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)?;
    let staging = data_dir.join(format!("{COUNTRY_FILE}.tmp"));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&staging)?;
    file.write_all(format!("{code}\n").as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&staging, data_dir.join(COUNTRY_FILE))
}

/// Where the country whose lines are shown came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `help-now --country` (or the older `--locale`).
    Flag,
    /// `country = "GB"` (or the older `locale`) in the config file.
    Config,
    /// The client's answer to `interlude init` or `interlude country`.
    Chosen,
    /// Nobody chose: the system's language setting, which is often not where the client is.
    SystemGuess,
    /// Nobody chose and the system says nothing: the lines that work anywhere.
    Nothing,
}

/// The settings a country can come from, most binding first.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    pub flag: Option<String>,
    pub config_country: Option<String>,
    pub config_locale: Option<String>,
    pub chosen: Option<String>,
    pub system_locale: Option<String>,
}

/// The lines to show, and a sentence that says whose they are and how to change it.
#[derive(Debug, Clone)]
pub struct Shown {
    pub region: Region,
    pub source: Source,
    pub note: String,
}

impl Sources {
    /// The settings as the daemon and the CLI find them: `flag` and the config's values as
    /// given, the choice from `data_dir`, the system locale from the environment.
    pub fn resolve(&self) -> Shown {
        let given = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let (locale, source) = if let Some(flag) = given(&self.flag) {
            (flag, Source::Flag)
        } else if let Some(country) = given(&self.config_country) {
            (country, Source::Config)
        } else if let Some(chosen) = given(&self.chosen) {
            (chosen, Source::Chosen)
        } else if let Some(locale) = given(&self.config_locale) {
            (locale, Source::Config)
        } else if let Some(system) = given(&self.system_locale) {
            (system, Source::SystemGuess)
        } else {
            (FALLBACK.to_owned(), Source::Nothing)
        };
        let mut region = for_locale(&locale);
        let guessed = matches!(source, Source::SystemGuess) && region.id != FALLBACK;
        if guessed {
            // A guess from the language setting may be the wrong country: the lines that work
            // anywhere go with it.
            region.lines.extend(for_locale(FALLBACK).lines);
        }
        let note = note(&region, source, &locale);
        Shown {
            region,
            source,
            note,
        }
    }
}

const HOW_TO_CHANGE: &str = "To change it: `interlude country XX` with your country's two letters";

fn note(region: &Region, source: Source, given: &str) -> String {
    let whose = if region.id == FALLBACK {
        "These lines work anywhere".to_owned()
    } else {
        format!("These are the lines for {}", region.name)
    };
    match source {
        Source::Flag => format!("{whose}, as asked on the command line."),
        Source::Config => format!(
            "{whose}, from your config file ({}). To change it, edit `country` there.",
            config_field(given)
        ),
        Source::Chosen if region.id == FALLBACK && given != FALLBACK => {
            format!("Interlude has no lines for {given} yet; these work anywhere. {HOW_TO_CHANGE}.")
        }
        Source::Chosen => format!("{whose}, the country you chose. {HOW_TO_CHANGE}."),
        Source::SystemGuess if region.id == FALLBACK => {
            format!("No country is chosen yet; these lines work anywhere. {HOW_TO_CHANGE}.")
        }
        Source::SystemGuess => format!(
            "{whose}, guessed from your computer's language setting ({given}), which is often not \
             where you are. {HOW_TO_CHANGE}, e.g. `interlude country GB`."
        ),
        Source::Nothing => {
            format!("No country is chosen yet; these lines work anywhere. {HOW_TO_CHANGE}.")
        }
    }
}

fn config_field(given: &str) -> String {
    if given.len() <= 4 {
        format!("country = \"{given}\"")
    } else {
        format!("locale = \"{given}\"")
    }
}

fn country_of(locale: &str) -> String {
    let base = locale.split(['.', '@']).next().unwrap_or("");
    match base.split(['_', '-']).nth(1) {
        Some(country) => country.to_ascii_uppercase(),
        None => base.to_ascii_uppercase(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_lines_parse_and_cover_the_promised_regions() {
        let file: Result<File, _> = toml::from_str(RESOURCES);
        assert!(
            file.is_ok(),
            "resources.toml does not parse: {:?}",
            file.err()
        );
        for (locale, needle) in [
            ("en_US.UTF-8", "988"),
            ("en_GB.UTF-8", "116 123"),
            ("en_IE", "116 123"),
            ("US", "911"),
            ("GB", "999"),
        ] {
            let region = for_locale(locale);
            assert!(
                region.lines.iter().any(|l| l.contact.contains(needle)),
                "{locale}: {region:?}"
            );
        }
    }

    fn sources() -> Sources {
        Sources {
            system_locale: Some("en_US.UTF-8".into()),
            ..Sources::default()
        }
    }

    #[test]
    fn a_chosen_country_wins_over_the_system_locale() {
        let shown = Sources {
            chosen: Some("GB".into()),
            ..sources()
        }
        .resolve();
        assert_eq!(shown.region.id, "GB");
        assert_eq!(shown.source, Source::Chosen);
        assert!(shown.note.contains("United Kingdom"), "{}", shown.note);
        assert!(shown.note.contains("interlude country"), "{}", shown.note);
        assert!(!shown.region.lines.iter().any(|l| l.contact.contains("988")));
    }

    #[test]
    fn the_config_country_wins_over_the_choice_and_the_flag_over_both() {
        let config = Sources {
            chosen: Some("GB".into()),
            config_country: Some("IE".into()),
            ..sources()
        };
        assert_eq!(config.resolve().region.id, "IE");
        assert!(config.resolve().note.contains("country = \"IE\""));
        let flag = Sources {
            flag: Some("AU".into()),
            ..config
        };
        assert_eq!(flag.resolve().region.id, "AU");
    }

    #[test]
    fn a_guess_from_the_locale_says_so_and_brings_the_lines_that_work_anywhere() {
        let shown = sources().resolve();
        assert_eq!(shown.source, Source::SystemGuess);
        assert!(shown.note.contains("guessed"), "{}", shown.note);
        assert!(shown.region.lines.iter().any(|l| l.contact.contains("988")));
        assert!(shown.region.lines.iter().any(|l| l.contact.contains("112")));
    }

    #[test]
    fn the_international_lines_give_a_number_to_call_offline() {
        let anywhere = Sources::default().resolve();
        assert_eq!(anywhere.region.id, FALLBACK);
        assert!(
            anywhere
                .region
                .lines
                .iter()
                .any(|l| l.contact.contains("112") && l.contact.contains("local emergency number")),
            "{:?}",
            anywhere.region
        );
    }

    #[test]
    fn a_country_is_two_letters_and_is_kept_across_a_write() {
        assert_eq!(parse_country(" gb\n").as_deref(), Ok("GB"));
        assert_eq!(parse_country("intl").as_deref(), Ok("INTL"));
        for bad in ["", "G", "GBR", "en_GB", "1A"] {
            assert!(parse_country(bad).is_err(), "{bad:?}");
        }
        let dir = std::env::temp_dir().join(format!("interlude-country-{}", std::process::id()));
        write_chosen(&dir, "NZ").unwrap();
        assert_eq!(read_chosen(&dir).as_deref(), Some("NZ"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unknown_or_missing_locale_gets_the_international_fallback() {
        assert_eq!(for_locale("fr_FR.UTF-8").id, FALLBACK);
        assert_eq!(for_locale("").id, FALLBACK);
        assert!(!for_locale("").lines.is_empty());
    }
}
