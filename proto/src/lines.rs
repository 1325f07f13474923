//! Lines the programs show in the client's hardest moments when they have nothing of the
//! client's own to show: one copy, shared by the daemon, the CLI and frontends, and checked
//! against the mirror rules (daemon/src/safety/output.rs) by a test, like every shipped prompt.

/// Shown first by `interlude now` when the client has not named an anchor, or the vault is
/// locked: an open question, not comfort or an instruction.
pub const NOW_FALLBACK: &str = "A pause, before anything else. What is here, right now?";
