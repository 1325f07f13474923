//! `interluded`, the Interlude daemon, as a library: `main.rs` and the tests both start it
//! through [`run`] (or [`Daemon::start`] + [`Daemon::serve`] to learn the socket first).

pub mod api;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod checkins;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod events;
pub mod plugins;
pub mod practice;
pub mod prep;
pub mod safety;
pub mod search;
pub mod server;
pub mod stopping;
pub mod store;
pub mod summary;
pub mod timeline;
pub mod vault;
pub mod web;
pub mod web_app;
pub mod web_switch;

/// The models are a crate of their own (`models/`); the daemon's modules name them `crate::models`.
pub use interlude_models as models;

pub use config::Config;
pub use server::{Daemon, StartError, run};
