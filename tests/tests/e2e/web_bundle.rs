//! The web app's bundle the daemon embeds (`daemon/web/dist/`) is committed, so that cargo never
//! needs npm; this test runs the real npm build (`npm ci`, buf's code generation, the type check
//! and esbuild) on a copy of the sources in a temporary directory and fails when the committed
//! bundle differs from what it makes.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use interlude_e2e::tools_present;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The sources of the app: everything under `daemon/web` but what npm installs or builds.
fn copy_sources(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if ["node_modules", "dist", "gen"].contains(&name.to_str().unwrap()) {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_sources(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

fn npm(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("npm")
        .args(args)
        .current_dir(dir)
        .env("NO_UPDATE_NOTIFIER", "1")
        .output()
        .unwrap()
}

#[test]
fn the_committed_web_bundle_is_what_the_npm_build_makes_from_the_sources() {
    if !tools_present(&["npm", "node"]) {
        eprintln!(
            "SKIPPED: npm is not installed (.ci/setup installs it); the committed web bundle was not checked against its sources"
        );
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let web = root.path().join("daemon/web");
    copy_sources(&repo().join("daemon/web"), &web);
    // The protos sit where buf.gen.yaml's command looks for them.
    std::os::unix::fs::symlink(repo().join("proto"), root.path().join("proto")).unwrap();

    let installed = npm(&web, &["ci", "--no-audit", "--no-fund", "--prefer-offline"]);
    let said = String::from_utf8_lossy(&installed.stderr).into_owned();
    if !installed.status.success()
        && ["ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED"]
            .iter()
            .any(|e| said.contains(e))
    {
        eprintln!(
            "SKIPPED: npm could not reach its registry; the committed web bundle was not checked against its sources:\n{said}"
        );
        return;
    }
    assert!(installed.status.success(), "npm ci failed:\n{said}");
    let built = npm(&web, &["run", "build"]);
    assert!(
        built.status.success(),
        "npm run build failed:\n{}\n{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );

    let committed = repo().join("daemon/web/dist");
    let mut names: Vec<String> = std::fs::read_dir(web.join("dist"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut committed_names: Vec<String> = std::fs::read_dir(&committed)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    committed_names.sort();
    assert_eq!(
        names, committed_names,
        "daemon/web/dist has other files than the build makes"
    );
    for name in names {
        assert!(
            std::fs::read(web.join("dist").join(&name)).unwrap()
                == std::fs::read(committed.join(&name)).unwrap(),
            "daemon/web/dist/{name} is not what the sources build: run `npm ci && npm run build` in daemon/web and commit daemon/web/dist"
        );
    }
}
