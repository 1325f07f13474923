//! The daemon's components through its own library, in one test binary: the store under damage
//! and erasure, the embedder and the generator against their references, the red team against the
//! generator, the crisis check's classifier, and search's internals (the resurfacing
//! threshold, vectors encrypted on disk). The harness (`interlude-e2e`) installs the models and
//! starts daemons; build the binaries first (`cargo build --workspace --bins`).

mod damage;
mod embedder;
mod erasure;
mod exercise;
mod generator;
mod prep;
mod redteam_generation;
mod safety_classifier;
mod search;
