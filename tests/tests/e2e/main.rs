//! The end-to-end tests as one test binary (one link instead of one per file, as ripgrep does):
//! the real `interluded` and `interlude` on real sockets, driven through gRPC and the CLI, one
//! module per area. Build the binaries first (`cargo build --workspace --bins`); one area runs
//! alone with `cargo test -p interlude-e2e --test e2e MODULE::`.

mod audit;
mod backup;
mod bad_input;
mod checkins;
mod cli;
mod cli_safety;
mod disk_full;
mod durability;
mod editor;
mod export;
mod fixture;
mod hardening;
mod lifecycle;
mod models;
mod notifications;
mod packaging;
mod plugin_install;
mod plugins;
mod practice;
mod prep;
mod privacy;
mod python_client;
mod reflection;
mod safety;
mod shutdown;
mod signatures;
mod timeline;
mod tokens;
mod vault;
mod web;
mod web_app;
mod web_bundle;
