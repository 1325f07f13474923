//! Compiles the protos with protox (no system `protoc`) and keeps the encoded descriptor set for
//! gRPC server reflection.

use prost::Message;

const PROTOS: &[&str] = &[
    "proto/interlude/v1/daemon.proto",
    "proto/interlude/v1/timeline.proto",
    "proto/interlude/v1/sessions.proto",
    "proto/interlude/v1/vocabulary.proto",
    "proto/interlude/v1/safety.proto",
    "proto/interlude/v1/checkins.proto",
    "proto/interlude/v1/practice.proto",
    "proto/interlude/v1/models.proto",
    "proto/interlude/v1/plugins.proto",
    "proto/interlude/v1/prep.proto",
    "proto/interlude/v1/tokens.proto",
    "proto/interlude/v1/audit.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fds = protox::compile(PROTOS, ["proto"])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("interlude_descriptor.bin"),
        fds.encode_to_vec(),
    )?;
    tonic_prost_build::configure().compile_fds(fds)?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
