//! The plugins in effect: the embedded built-ins, then the user's plugin directory overriding
//! them by id, minus the ones turned off. Reads only; a broken plugin is reported and skipped.

use std::path::{Path, PathBuf};

use super::builtin::BUILT_INS;
use super::format::{Plugin, is_valid_id};
use super::load::{Problem, load};
use super::paths::PluginPaths;
use super::settings::{Settings, SettingsError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Embedded in the binary.
    BuiltIn,
    /// From the user's plugin directory; `overrides` says a built-in has the same id.
    Installed { dir: PathBuf, overrides: bool },
}

#[derive(Debug)]
pub struct Entry {
    pub plugin: Plugin,
    pub origin: Origin,
}

impl Entry {
    pub fn id(&self) -> &str {
        self.plugin.meta.id.get_ref()
    }
}

#[derive(Debug, Default)]
pub struct Catalog {
    /// The plugins in effect, by id.
    pub plugins: Vec<Entry>,
    /// Ids that are there but turned off.
    pub disabled: Vec<String>,
    /// What is wrong with the plugins that were skipped (and with the settings file).
    pub problems: Vec<Problem>,
}

impl Catalog {
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.plugins.iter().find(|e| e.id() == id)
    }
}

/// The catalog for a data directory: its plugin directory and its settings.
pub fn catalog_in(paths: &PluginPaths) -> Catalog {
    let (settings, problem) = match Settings::load(&paths.settings()) {
        Ok(settings) => (settings, None),
        // A damaged settings file turns nothing off rather than hiding every plugin.
        Err(e) => (
            Settings::default(),
            Some(Problem {
                file: paths.settings(),
                line: 1,
                column: 1,
                message: e.to_string(),
            }),
        ),
    };
    let mut found = catalog(&paths.plugin_dir(), &settings);
    found.problems.extend(problem);
    found
}

/// Why a catalog to replace the one in effect could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("could not read the plugin directory {}: {source}", path.display())]
    PluginDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The catalog for a data directory, to replace one already in effect. Unlike [`catalog_in`],
/// a settings file or plugin directory that cannot be read is an error: reading on would turn
/// plugins back on or drop every installed one while the client is using them.
pub fn read_catalog_in(paths: &PluginPaths) -> Result<Catalog, Unreadable> {
    let settings = Settings::load(&paths.settings())?;
    let plugin_dir = paths.plugin_dir();
    let dirs = user_plugin_dirs(&plugin_dir).map_err(|source| Unreadable::PluginDir {
        path: plugin_dir.clone(),
        source,
    })?;
    Ok(assemble(dirs, &settings))
}

/// The effective plugins: built-ins, overridden by a plugin of the same id in `plugin_dir`
/// (a missing directory is an empty one), without those `settings` turns off. A user plugin that
/// does not load is reported in `problems`; a built-in it meant to override stays in effect.
pub fn catalog(plugin_dir: &Path, settings: &Settings) -> Catalog {
    let (dirs, problem) = match user_plugin_dirs(plugin_dir) {
        Ok(dirs) => (dirs, None),
        Err(e) => (
            Vec::new(),
            Some(Problem {
                file: plugin_dir.to_path_buf(),
                line: 1,
                column: 1,
                message: format!("could not read the plugin directory: {e}"),
            }),
        ),
    };
    let mut found = assemble(dirs, settings);
    found.problems.extend(problem);
    found
}

/// Built-ins, then the plugins in `dirs` overriding them by id, minus those turned off.
fn assemble(dirs: Vec<PathBuf>, settings: &Settings) -> Catalog {
    let mut catalog = Catalog::default();
    let mut entries: Vec<Entry> = Vec::new();
    for built_in in BUILT_INS {
        match built_in.load() {
            Ok(plugin) => entries.push(Entry {
                plugin,
                origin: Origin::BuiltIn,
            }),
            Err(problems) => catalog.problems.extend(problems),
        }
    }
    for dir in dirs {
        let plugin = match load(&dir) {
            Ok(plugin) => plugin,
            Err(problems) => {
                catalog.problems.extend(problems);
                continue;
            }
        };
        let id = plugin.meta.id.get_ref().clone();
        if dir.file_name().is_none_or(|name| name != id.as_str()) {
            catalog.problems.push(Problem {
                file: dir.join("plugin.toml"),
                line: 1,
                column: 1,
                message: format!(
                    "this directory holds the plugin `{id}`; rename the directory to `{id}` so it can be told apart"
                ),
            });
            continue;
        }
        let overrides = entries.iter().any(|e| e.id() == id);
        entries.retain(|e| e.id() != id);
        entries.push(Entry {
            plugin,
            origin: Origin::Installed { dir, overrides },
        });
    }
    entries.sort_by(|a, b| a.id().cmp(b.id()));
    for entry in entries {
        let built_in = matches!(entry.origin, Origin::BuiltIn);
        if settings.is_off(entry.id(), built_in) {
            catalog.disabled.push(entry.id().to_string());
        } else {
            catalog.plugins.push(entry);
        }
    }
    catalog
}

/// The plugin directories in `plugin_dir`, sorted; hidden entries (staging areas of an install
/// in progress) are not plugins.
fn user_plugin_dirs(plugin_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(plugin_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Whether `id` names a plugin in the catalog or turned off in it.
pub fn knows(catalog: &Catalog, id: &str) -> bool {
    is_valid_id(id) && (catalog.get(id).is_some() || catalog.disabled.iter().any(|d| d == id))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Writes a minimal valid plugin `id` at `version` into `dir`.
    fn write_plugin(dir: &Path, id: &str, version: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("plugin.toml"),
            format!(
                "schema_version = 1\n[plugin]\nid = \"{id}\"\nname = \"N\"\nversion = \"{version}\"\nmodality = \"other\"\nauthors = []\ndescription = \"D\"\nlicence = \"L\"\n"
            ),
        )
        .unwrap();
    }

    fn ids(catalog: &Catalog) -> Vec<&str> {
        catalog.plugins.iter().map(Entry::id).collect()
    }

    #[test]
    fn with_no_plugin_directory_the_built_ins_are_in_effect() {
        let dir = tempfile::tempdir().unwrap();
        let found = catalog(&dir.path().join("missing"), &Settings::default());
        assert_eq!(ids(&found), ["act", "cbt", "dbt", "psychodynamic"]);
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        assert!(found.plugins.iter().all(|e| e.origin == Origin::BuiltIn));
    }

    #[test]
    fn a_user_plugin_overrides_a_built_in_and_disabling_hides_it() {
        let dir = tempfile::tempdir().unwrap();
        write_plugin(&dir.path().join("cbt"), "cbt", "7.0.0");
        write_plugin(&dir.path().join("extra"), "extra", "1.0.0");
        std::fs::create_dir(dir.path().join(".staging-123")).unwrap();
        let found = catalog(dir.path(), &Settings::default());
        assert_eq!(ids(&found), ["act", "cbt", "dbt", "extra", "psychodynamic"]);
        let cbt = found.get("cbt").unwrap();
        assert_eq!(cbt.plugin.meta.version.get_ref(), "7.0.0");
        assert!(matches!(
            cbt.origin,
            Origin::Installed {
                overrides: true,
                ..
            }
        ));

        let mut settings = Settings::default();
        settings.set_enabled("cbt", false).unwrap();
        settings.set_enabled("extra", false).unwrap();
        let found = catalog(dir.path(), &settings);
        assert_eq!(ids(&found), ["act", "dbt", "psychodynamic"]);
        assert_eq!(
            found.disabled,
            ["cbt", "extra", "ifs", "measures", "somatic"]
        );
    }

    #[test]
    fn the_built_ins_for_one_way_of_working_are_off_until_turned_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::default();
        let found = catalog(dir.path(), &settings);
        assert!(found.get("ifs").is_none() && found.disabled.contains(&"ifs".to_owned()));
        assert!(settings.set_enabled("ifs", true).unwrap(), "a change");
        assert!(catalog(dir.path(), &settings).get("ifs").is_some());
        let path = dir.path().join("settings.toml");
        settings.save(&path).unwrap();
        let read = Settings::load(&path).unwrap();
        assert!(catalog(dir.path(), &read).get("ifs").is_some(), "kept");
        settings.set_enabled("ifs", false).unwrap();
        assert!(catalog(dir.path(), &settings).get("ifs").is_none());
    }

    #[test]
    fn a_catalog_to_replace_one_in_effect_must_be_readable_where_the_start_goes_on() {
        let data = tempfile::tempdir().unwrap();
        let paths = PluginPaths::new(data.path());
        write_plugin(&paths.plugin_dir().join("extra"), "extra", "1.0.0");
        assert!(read_catalog_in(&paths).unwrap().get("extra").is_some());

        std::fs::write(paths.settings(), "disabled = 7\n").unwrap();
        assert!(matches!(
            read_catalog_in(&paths),
            Err(Unreadable::Settings(_))
        ));
        // At start the same file turns nothing off, and says so.
        let found = catalog_in(&paths);
        assert!(found.get("extra").is_some() && found.problems.len() == 1);

        std::fs::remove_file(paths.settings()).unwrap();
        std::fs::remove_dir_all(paths.plugin_dir()).unwrap();
        std::fs::write(paths.plugin_dir(), "not a directory").unwrap();
        let refused = read_catalog_in(&paths).unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("could not read the plugin directory"),
            "{refused}"
        );
        assert_eq!(
            ids(&catalog_in(&paths)),
            ["act", "cbt", "dbt", "psychodynamic"]
        );
    }

    #[test]
    fn a_broken_or_misnamed_user_plugin_is_reported_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        write_plugin(&dir.path().join("cbt"), "cbt", "not-a-version");
        write_plugin(&dir.path().join("wrong-name"), "other-id", "1.0.0");
        let found = catalog(dir.path(), &Settings::default());
        // The built-in CBT stays in effect when its override is broken.
        assert_eq!(ids(&found), ["act", "cbt", "dbt", "psychodynamic"]);
        assert_eq!(found.get("cbt").unwrap().origin, Origin::BuiltIn);
        assert_eq!(found.problems.len(), 2, "{:?}", found.problems);
        assert!(
            found.problems[0]
                .to_string()
                .contains("cbt/plugin.toml:5:11")
        );
        assert!(
            found.problems[1]
                .message
                .contains("rename the directory to `other-id`")
        );
    }
}
