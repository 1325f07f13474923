//! Embeds the built-in plugins (every directory beside `src/` with a `plugin.toml`) in the crate:
//! a generated table of `include_str!`s, so the daemon and the CLI need no files beside them and a
//! changed plugin rebuilds.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed={}", root.display());
    let mut plugins: Vec<PathBuf> = read_dir(root)
        .into_iter()
        .filter(|p| p.join("plugin.toml").is_file())
        .collect();
    plugins.sort();
    let mut code = String::from("pub static BUILT_INS: &[BuiltIn] = &[\n");
    for plugin in &plugins {
        let id = plugin
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a plugin directory name is UTF-8");
        let mut files = Vec::new();
        collect(plugin, plugin, &mut files);
        files.sort();
        writeln!(code, "    BuiltIn {{ id: {id:?}, files: &[").expect("writing to a String");
        for (relative, absolute) in files {
            println!("cargo:rerun-if-changed={}", absolute.display());
            writeln!(
                code,
                "        ({relative:?}, include_str!({:?})),",
                absolute.display().to_string()
            )
            .expect("writing to a String");
        }
        code.push_str("    ] },\n");
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("built_in_plugins.rs"), code).expect("OUT_DIR is writable");
}

fn read_dir(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .collect()
}

/// Every file under `dir`, as (path relative to the plugin with `/`, absolute path).
fn collect(plugin: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    for path in read_dir(dir) {
        if path.is_dir() {
            collect(plugin, &path, files);
        } else {
            let relative = path.strip_prefix(plugin).expect("under the plugin");
            let relative = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let absolute = path.canonicalize().expect("a plugin file can be resolved");
            files.push((relative, absolute));
        }
    }
}
