//! The four built-in plugins, embedded by `build.rs` from the directories beside `src/`.

use std::path::PathBuf;

use super::format::Plugin;
use super::load::{Files, Problem, load_from};

/// One embedded plugin: its directory name (its id) and its files as (relative path, text).
#[derive(Debug)]
pub struct BuiltIn {
    pub id: &'static str,
    pub files: &'static [(&'static str, &'static str)],
}

include!(concat!(env!("OUT_DIR"), "/built_in_plugins.rs"));

impl BuiltIn {
    /// Parses the embedded copy; problems name it `<built-in>/ID/FILE`.
    pub fn load(&self) -> Result<Plugin, Vec<Problem>> {
        let shown = PathBuf::from("<built-in>").join(self.id);
        load_from(&Files::Embedded {
            shown: &shown,
            files: self.files,
        })
    }
}

/// Built-ins that are off until the client (or their therapist with them) turns them on with
/// `interlude plugin enable`: they belong to a particular way of working (parts work, somatic
/// resources built in session, measures a therapist schedules) rather than to every client.
pub const OFF_BY_DEFAULT: &[&str] = &["ifs", "measures", "somatic"];

/// The embedded plugin with this id.
pub fn find(id: &str) -> Option<&'static BuiltIn> {
    BUILT_INS.iter().find(|b| b.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_plugins_are_embedded_and_load_clean() {
        let ids: Vec<&str> = BUILT_INS.iter().map(|b| b.id).collect();
        assert_eq!(
            ids,
            [
                "act",
                "cbt",
                "dbt",
                "ifs",
                "measures",
                "psychodynamic",
                "somatic"
            ]
        );
        for built_in in BUILT_INS {
            match built_in.load() {
                Ok(plugin) => assert_eq!(plugin.meta.id.get_ref(), built_in.id),
                Err(problems) => panic!("{}: {problems:?}", built_in.id),
            }
        }
    }
}
