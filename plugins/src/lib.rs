//! Modality plugins: the declarative format (`plugins/README.md`), loading a plugin directory and
//! reporting every problem with its file, line and column; the built-ins embedded in the binary;
//! signed bundles, the trust store, install and remove; the catalog of plugins in effect.
//!
//! A crate of its own so that the CLI lints, packs, signs and installs plugins without the
//! daemon's models, store and server; the daemon serves from the same catalog.

pub mod builtin;
pub mod bundle;
pub mod catalog;
pub mod cues;
mod files;
pub mod format;
#[doc(hidden)]
pub mod fuzzing;
pub mod install;
mod load;
pub mod paths;
pub mod scaffold;
pub mod settings;
pub mod signature;
pub mod trust;

pub use catalog::{Catalog, Origin, Unreadable, catalog, catalog_in, read_catalog_in};
pub use load::{Problem, load};
pub use paths::PluginPaths;
