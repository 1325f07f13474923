//! What each RPC needs: the one table. A token reaches an RPC only when it carries that scope;
//! a test walks the proto descriptors so that an RPC missing here fails the build's tests.

use std::fmt;
use std::str::FromStr;

/// What a token may do. `Display`/`FromStr` use the names the CLI and the API take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Add reflections and sessions, answer and snooze check-ins.
    Capture,
    /// Read the timeline, sessions, vocabulary, schedules, the safety plan; watch events; unlock
    /// the vault with its passphrase.
    Read,
    /// Change or delete what is there: edits, deletions, schedules, the safety plan, vocabulary.
    Edit,
    /// Run exercises (including a hard moment's).
    Practice,
    /// Patterns, the session-prep packet and its export, generation.
    Prep,
    /// Reload plugins.
    Plugins,
    /// The vault (init, passphrase), tokens, the audit log, reindexing.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::Capture,
        Scope::Read,
        Scope::Edit,
        Scope::Practice,
        Scope::Prep,
        Scope::Plugins,
        Scope::Admin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scope::Capture => "capture",
            Scope::Read => "read",
            Scope::Edit => "edit",
            Scope::Practice => "practice",
            Scope::Prep => "prep",
            Scope::Plugins => "plugins",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "`{0}` is not a scope; the scopes are capture, read, edit, practice, prep, plugins and admin"
)]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Scope, UnknownScope> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.name() == s.trim())
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// What a call needs from a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Any valid token: identity, health, reflection, locking, and help-now, which must be
    /// reachable from every frontend in every state.
    AnyToken,
    Scope(Scope),
}

use Needs::{AnyToken, Scope as S};
use Scope::{Admin, Capture, Edit, Plugins, Practice, Prep, Read};

/// Every RPC the daemon serves, by its gRPC path, and what it needs. One row per RPC.
pub const TABLE: &[(&str, Needs)] = &[
    ("/interlude.v1.Daemon/Info", AnyToken),
    ("/interlude.v1.Daemon/Status", AnyToken),
    ("/interlude.v1.Daemon/Init", S(Admin)),
    // The passphrase is what opens the vault; `read` is needed to try one, so a capture-only
    // tray app cannot guess passphrases, while the web app (read) can unlock with the client's.
    ("/interlude.v1.Daemon/Unlock", S(Read)),
    ("/interlude.v1.Daemon/Lock", AnyToken),
    ("/interlude.v1.Daemon/ChangePassphrase", S(Admin)),
    // Opens a network listener and writes the config: the owner's decision.
    ("/interlude.v1.Daemon/OpenWeb", S(Admin)),
    // The whole vault, encrypted: the owner's tool, like an import.
    ("/interlude.v1.Daemon/Backup", S(Admin)),
    ("/interlude.v1.Timeline/AddReflection", S(Capture)),
    ("/interlude.v1.Timeline/GetReflection", S(Read)),
    ("/interlude.v1.Timeline/ListReflections", S(Read)),
    ("/interlude.v1.Timeline/EditReflection", S(Edit)),
    ("/interlude.v1.Timeline/SetHelpful", S(Edit)),
    ("/interlude.v1.Timeline/DeleteReflection", S(Edit)),
    ("/interlude.v1.Timeline/Search", S(Read)),
    ("/interlude.v1.Timeline/Reindex", S(Admin)),
    // A whole export (or another journal's) at once, ids and history kept: the owner's tool.
    ("/interlude.v1.Timeline/Import", S(Admin)),
    ("/interlude.v1.Sessions/AddSession", S(Capture)),
    ("/interlude.v1.Sessions/GetSession", S(Read)),
    ("/interlude.v1.Sessions/ListSessions", S(Read)),
    ("/interlude.v1.Sessions/EditSession", S(Edit)),
    ("/interlude.v1.Sessions/DeleteSession", S(Edit)),
    ("/interlude.v1.Vocabulary/AddTerm", S(Edit)),
    ("/interlude.v1.Vocabulary/GetTerm", S(Read)),
    ("/interlude.v1.Vocabulary/ListTerms", S(Read)),
    ("/interlude.v1.Vocabulary/EditTerm", S(Edit)),
    ("/interlude.v1.Vocabulary/RemoveTerm", S(Edit)),
    ("/interlude.v1.Safety/HelpNow", AnyToken),
    ("/interlude.v1.Safety/GetPlan", S(Read)),
    ("/interlude.v1.Safety/SetPlan", S(Edit)),
    ("/interlude.v1.Safety/SetLockedCopy", S(Edit)),
    ("/interlude.v1.Safety/SetCountry", S(Edit)),
    ("/interlude.v1.CheckIns/ListSchedules", S(Read)),
    ("/interlude.v1.CheckIns/AddSchedule", S(Edit)),
    ("/interlude.v1.CheckIns/RemoveSchedule", S(Edit)),
    ("/interlude.v1.CheckIns/SetScheduleEnabled", S(Edit)),
    ("/interlude.v1.CheckIns/ListPending", S(Capture)),
    ("/interlude.v1.CheckIns/Respond", S(Capture)),
    ("/interlude.v1.CheckIns/Dismiss", S(Capture)),
    ("/interlude.v1.CheckIns/Snooze", S(Capture)),
    ("/interlude.v1.CheckIns/Pause", S(Edit)),
    ("/interlude.v1.CheckIns/Resume", S(Edit)),
    ("/interlude.v1.CheckIns/GetControls", S(Read)),
    ("/interlude.v1.CheckIns/SetControls", S(Edit)),
    ("/interlude.v1.CheckIns/Watch", S(Read)),
    ("/interlude.v1.Practice/ListExercises", S(Practice)),
    ("/interlude.v1.Practice/Start", S(Practice)),
    ("/interlude.v1.Practice/Answer", S(Practice)),
    ("/interlude.v1.Practice/Back", S(Practice)),
    ("/interlude.v1.Practice/Skip", S(Practice)),
    ("/interlude.v1.Practice/Finish", S(Practice)),
    ("/interlude.v1.Practice/Abandon", S(Practice)),
    ("/interlude.v1.Models/Status", S(Read)),
    ("/interlude.v1.Models/Generate", S(Prep)),
    ("/interlude.v1.Plugins/Reload", S(Plugins)),
    ("/interlude.v1.Prep/Patterns", S(Prep)),
    ("/interlude.v1.Prep/Build", S(Prep)),
    ("/interlude.v1.Prep/GetDraft", S(Prep)),
    ("/interlude.v1.Prep/Review", S(Prep)),
    ("/interlude.v1.Prep/Render", S(Prep)),
    ("/interlude.v1.Prep/Export", S(Prep)),
    ("/interlude.v1.Prep/History", S(Prep)),
    ("/interlude.v1.Tokens/Create", S(Admin)),
    ("/interlude.v1.Tokens/List", S(Admin)),
    ("/interlude.v1.Tokens/Revoke", S(Admin)),
    ("/interlude.v1.Audit/List", S(Admin)),
    ("/grpc.health.v1.Health/Check", AnyToken),
    ("/grpc.health.v1.Health/Watch", AnyToken),
    (
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        AnyToken,
    ),
    (
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        AnyToken,
    ),
];

/// What the RPC at `path` needs; `None` for a path the daemon does not serve (refused for
/// token callers).
pub fn needs(path: &str) -> Option<Needs> {
    TABLE
        .iter()
        .find(|(rpc, _)| *rpc == path)
        .map(|(_, needs)| *needs)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use prost::Message;

    /// Every method of every service in an encoded descriptor set, as gRPC paths.
    pub(crate) fn paths_in(encoded: &[u8]) -> Vec<String> {
        let set = prost_types::FileDescriptorSet::decode(encoded).expect("a descriptor set");
        let mut paths = Vec::new();
        for file in set.file {
            for service in &file.service {
                for method in &service.method {
                    paths.push(format!(
                        "/{}.{}/{}",
                        file.package(),
                        service.name(),
                        method.name()
                    ));
                }
            }
        }
        paths
    }

    #[test]
    fn every_rpc_in_the_protos_has_exactly_one_row() {
        let served = paths_in(interlude_proto::FILE_DESCRIPTOR_SET);
        assert!(
            served.len() > 50,
            "the descriptors list {} RPCs",
            served.len()
        );
        for path in &served {
            let rows = TABLE.iter().filter(|(rpc, _)| rpc == path).count();
            assert_eq!(rows, 1, "{path} has {rows} rows in auth::scopes::TABLE");
        }
        for (rpc, _) in TABLE {
            let known = served.iter().any(|p| p == rpc)
                || rpc.starts_with("/grpc.health.v1.")
                || rpc.starts_with("/grpc.reflection.");
            assert!(known, "{rpc} is in the table but not served");
        }
    }

    #[test]
    fn scope_names_read_back() {
        for scope in Scope::ALL {
            assert_eq!(scope.name().parse::<Scope>().ok(), Some(scope));
        }
        assert!("root".parse::<Scope>().is_err());
    }
}
