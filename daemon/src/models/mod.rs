//! Local models on the CPU (candle). So far: the embedder. Worker threads, lazy loading, idle
//! unloading, the generator and search come with the rest of the models work.

pub mod embedder;

pub use embedder::Embedder;
