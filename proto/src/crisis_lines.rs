//! Crisis lines by region, compiled in from `daemon/safety/resources.toml`, so that the daemon
//! and the CLI (even with the daemon down) show the same lines, offline.

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

/// The country part of the user's locale from `LC_ALL`, `LC_MESSAGES` or `LANG`.
pub fn system_locale() -> String {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|v| !v.is_empty() && v != "C" && v != "POSIX" && !v.starts_with("C."))
        .unwrap_or_default()
}

fn country_of(locale: &str) -> String {
    let base = locale.split(['.', '@']).next().unwrap_or("");
    match base.split(['_', '-']).nth(1) {
        Some(country) => country.to_ascii_uppercase(),
        None => base.to_ascii_uppercase(),
    }
}

#[cfg(test)]
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

    #[test]
    fn an_unknown_or_missing_locale_gets_the_international_fallback() {
        assert_eq!(for_locale("fr_FR.UTF-8").id, FALLBACK);
        assert_eq!(for_locale("").id, FALLBACK);
        assert!(!for_locale("").lines.is_empty());
    }
}
