//! The Interlude protocol: generated gRPC types, the protocol number, the default paths, the
//! settings read without the daemon, the crisis tiers and lines, the private-directory check, and
//! the connect helper shared by the daemon, the CLI and the tests.

pub mod crisis;
pub mod crisis_lines;
pub mod lines;
pub mod models;
pub mod paths;
pub mod private_dir;
pub mod settings;

/// Generated code for package `interlude.v1` (prost output: not ours to restyle).
#[allow(clippy::large_enum_variant)]
pub mod v1 {
    tonic::include_proto!("interlude.v1");
}

/// Bumped on every incompatible change of `interlude.v1`; the CLI refuses to talk across a mismatch.
pub const PROTOCOL_VERSION: u32 = 1;

/// Encoded `FileDescriptorSet` of every proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/interlude_descriptor.bin"));

/// The largest gRPC message either side accepts or sends (tonic's default is 4 MiB to decode and
/// no limit to encode). The daemon pages responses to about 2 MiB, so clients with tonic's
/// default limit read everything too; this leaves room for the longest single entry with its
/// history, and for plugin bundles.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Opens a channel to the daemon's Unix socket. Fails fast when nothing listens there.
pub async fn connect(
    socket: &std::path::Path,
) -> Result<tonic::transport::Channel, tonic::transport::Error> {
    let uri = format!("unix://{}", socket.display());
    tonic::transport::Endpoint::from_shared(uri)?
        .connect_timeout(std::time::Duration::from_secs(2))
        .connect()
        .await
}
