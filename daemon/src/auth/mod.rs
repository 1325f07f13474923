//! Who may call what: the scopes table, the token records, and the gate in front of every
//! service.

pub mod gate;
pub mod scopes;
pub mod tokens;

pub use gate::{Caller, GateLayer, Transport};
pub use scopes::{Needs, Scope};
pub use tokens::{TokenError, TokenRecord, Tokens};
