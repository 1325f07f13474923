//! `interluded`, the Interlude daemon, as a library: `main.rs` and the tests both start it
//! through [`run`] (or [`Daemon::start`] + [`Daemon::serve`] to learn the socket first).

pub mod api;
pub mod checkins;
pub mod config;
pub mod crypto;
pub mod error;
pub mod events;
pub mod model;
pub mod models;
pub mod plugins;
pub mod practice;
pub mod safety;
pub mod search;
pub mod server;
pub mod stopping;
pub mod store;
pub mod timeline;
pub mod vault;

pub use config::Config;
pub use server::{Daemon, StartError, run};
