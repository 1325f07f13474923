//! The files that run `interluded` as the user's own service: a systemd user unit on Linux and a
//! launchd agent on macOS. Text only (no I/O), so both are checked by the tests on any system.

use std::path::Path;

/// The unit's file name under `~/.config/systemd/user/`.
pub const SYSTEMD_UNIT: &str = "interluded.service";
/// The agent's label and file name (`~/Library/LaunchAgents/LABEL.plist`).
pub const LAUNCHD_LABEL: &str = "org.interlude.interluded";

/// A systemd user unit that starts `interluded` at login and again after a failure, with no
/// network, a read-only system and home except its own data and runtime directories.
pub fn systemd_unit(interluded: &Path, data_dir: &Path) -> String {
    format!(
        "\
# Written by `interlude daemon install`; `interlude daemon uninstall` removes it.
[Unit]
Description=Interlude: your journal between therapy sessions (interluded)
Documentation=man:interlude(1)

[Service]
Type=simple
ExecStart={exec}
Restart=on-failure
RestartSec=2
UMask=0077
# Nothing but its own files is writable; no network at all (the API is a Unix socket).
NoNewPrivileges=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths=-{data} -%t
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_UNIX
IPAddressDeny=any
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
# The models take a few hundred MiB while loaded; this bounds a runaway, not normal use.
MemoryMax=2G

[Install]
WantedBy=default.target
",
        exec = systemd_quote(interluded),
        data = systemd_quote(data_dir),
    )
}

/// A launchd agent that starts `interluded` at login and again if it stops with a failure.
pub fn launchd_plist(interluded: &Path, log: &Path) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by `interlude daemon install`; `interlude daemon uninstall` removes it. -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>{LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
    <string>{exec}</string>
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ProcessType</key>
  <string>Background</string>
  <key>Umask</key>
  <integer>63</integer>
  <key>StandardErrorPath</key>
  <string>{log}</string>
</dict>
</plist>
"#,
        exec = xml_escape(&interluded.to_string_lossy()),
        log = xml_escape(&log.to_string_lossy()),
    )
}

/// A path as one systemd word: quoted, with `\`, `"` and `%` escaped.
fn systemd_quote(path: &Path) -> String {
    let text = path
        .to_string_lossy()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%");
    format!("\"{text}\"")
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_runs_the_daemon_with_restart_and_hardening_and_quotes_odd_paths() {
        let unit = systemd_unit(
            Path::new("/home/a b/bin/interluded"),
            Path::new("/home/a b/.local/share/interlude 100%"),
        );
        assert!(
            unit.contains("ExecStart=\"/home/a b/bin/interluded\"\n"),
            "{unit}"
        );
        assert!(unit.contains("ReadWritePaths=-\"/home/a b/.local/share/interlude 100%%\" -%t"));
        for option in [
            "Restart=on-failure",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "ProtectSystem=strict",
            "ProtectHome=read-only",
            "RestrictAddressFamilies=AF_UNIX",
            "MemoryMax=",
            "UMask=0077",
            "WantedBy=default.target",
        ] {
            assert!(unit.contains(option), "missing {option}");
        }
    }

    #[test]
    fn the_launchd_agent_is_a_plist_that_keeps_the_daemon_running_and_escapes_paths() {
        let plist = launchd_plist(
            Path::new("/Users/a&b/bin/interluded"),
            Path::new("/Users/a&b/Library/Logs/interluded.log"),
        );
        assert!(plist.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist"));
        assert!(plist.contains("<string>org.interlude.interluded</string>"));
        assert!(plist.contains("<string>/Users/a&amp;b/bin/interluded</string>"));
        assert!(!plist.contains("a&b"), "every path is escaped");
        assert!(plist.contains(
            "<key>KeepAlive</key>\n  <dict>\n    <key>SuccessfulExit</key>\n    <false/>"
        ));
        assert!(plist.contains("<key>RunAtLoad</key>\n  <true/>"));
        // Balanced: every element opened is closed.
        for tag in ["plist", "dict", "array"] {
            assert_eq!(
                plist.matches(&format!("<{tag}")).count(),
                plist.matches(&format!("</{tag}>")).count(),
                "{tag}"
            );
        }
    }
}
