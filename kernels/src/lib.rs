//! Hot loops of the daemon's models, compiled for several CPU levels and chosen at run time.
//!
//! A separate crate so that it is optimised even in debug builds (see the workspace's
//! `[profile.dev.package.interlude-kernels]`), and so the product binary stays portable:
//! nothing here depends on the build machine's `target-cpu`.

pub mod nn;
pub mod quant;
