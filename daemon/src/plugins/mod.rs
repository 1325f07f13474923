//! Modality plugins: the declarative format (`plugins/README.md`), loading a plugin directory and
//! reporting every problem with its file, line and column. Signing, install and the registry
//! come with the rest of the plugins work.

pub mod format;
mod load;
pub mod signature;

pub use load::{Problem, load};
