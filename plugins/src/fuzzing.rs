//! What the fuzz targets (`fuzz/`) and their corpus replay call: a plugin's files and a signed
//! bundle's archive, from any bytes, never panicking and never writing outside a temp dir.

/// `bytes` as a plugin's `plugin.toml`, beside a valid exercise, loaded and linted.
pub fn manifest(bytes: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let exercise = "schema_version = 2\n\n[exercise]\nid = \"notice\"\ntitle = \"Notice\"\nsummary = \"s\"\nstate = \"any\"\nminutes = 1\n\n[[exercise.steps]]\nid = \"what\"\nkind = \"text\"\nprompt = \"What is here?\"\n";
    if std::fs::create_dir(dir.path().join("exercises")).is_err()
        || std::fs::write(dir.path().join("exercises/notice.toml"), exercise).is_err()
        || std::fs::write(dir.path().join("plugin.toml"), bytes).is_err()
    {
        return;
    }
    let _ = crate::load(dir.path());
}

/// `bytes` as a bundle's archive, unpacked into a temp dir (the signature is checked before
/// this in real use; here the unpacker itself meets any bytes).
pub fn bundle(bytes: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let _ = crate::bundle::unpack(bytes, &dir.path().join("plugin"));
}

#[cfg(test)]
mod tests {
    /// The fuzz corpora replayed as ordinary tests: each input handled without a panic.
    #[test]
    fn every_fuzz_corpus_input_is_handled_without_a_panic() {
        for (target, run) in [
            ("plugin_manifest", super::manifest as fn(&[u8])),
            ("bundle", super::bundle),
        ] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fuzz/corpus")
                .join(target);
            let inputs: Vec<_> = std::fs::read_dir(&dir)
                .expect("a corpus")
                .flatten()
                .collect();
            assert!(!inputs.is_empty(), "fuzz/corpus/{target} has inputs");
            for input in inputs {
                run(&std::fs::read(input.path()).expect("readable"));
            }
        }
    }
}
