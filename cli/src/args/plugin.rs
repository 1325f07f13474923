//! `interlude plugin …`: writing, signing, trusting, installing and choosing modality plugins.
//! Every one works without the daemon, on the files in the data directory; after install, remove,
//! enable and disable, a running daemon is asked to put the change in effect.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::SecretArgs;

/// After the commands that change which plugins are in effect.
const RELOAD_HELP: &str = "\
A daemon running for this data directory is asked to put the change in effect at once. If none
is running, or it cannot (an older daemon, an unreadable plugin directory), the change still
stands and the daemon takes it up when it next starts. The exit code is 0 either way: the change
was made, and the message says whether the daemon has it.";

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Check plugin directories against the format (plugins/README.md); every problem with its place
    Lint {
        /// Plugin directories
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },
    /// Start a new plugin: a directory ID/ with a plugin.toml and one exercise that lint clean
    New {
        /// The plugin's id: lowercase words joined by hyphens, like `sleep-diary`
        id: String,
        #[arg(long, value_enum, default_value = "other")]
        modality: ModalityArg,
        /// Where to make it
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
    },
    /// Make a signing key pair (minisign format): NAME.pub to hand out, NAME.key to keep
    Keygen {
        /// Where to write, without the extension
        #[arg(long, value_name = "NAME")]
        out: PathBuf,
        /// Leave the secret key unencrypted (like `minisign -G -W`)
        #[arg(long)]
        no_password: bool,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// Lint a plugin directory, pack it into ID-VERSION.tar.gz and sign it (ID-VERSION.tar.gz.minisig)
    Pack {
        /// The plugin directory
        dir: PathBuf,
        /// The secret key (NAME.key from keygen, or a minisign key)
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
        /// The key has no password
        #[arg(long)]
        no_password: bool,
        /// Where to write the bundle [default: ./ID-VERSION.tar.gz]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// Sign a file: writes FILE.minisig, verifiable with `minisign -V` (for bundles, use pack)
    Sign {
        file: PathBuf,
        /// The secret key (NAME.key from keygen, or a minisign key)
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
        /// The key has no password
        #[arg(long)]
        no_password: bool,
        /// Text bound into the signature, e.g. "interlude-plugin id=cbt version=1.2.0"
        #[arg(long, value_name = "TEXT")]
        trusted_comment: Option<String>,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// Check FILE.minisig (or --sig) against trusted public keys; prints the trusted comment
    Verify {
        file: PathBuf,
        /// A trusted public key file (repeat for several)
        #[arg(long = "pubkey", value_name = "PUB", required = true)]
        pubkeys: Vec<PathBuf>,
        /// The signature [default: FILE.minisig]
        #[arg(long, value_name = "SIG")]
        sig: Option<PathBuf>,
    },
    /// Trust a public key (a minisign .pub file): bundles it signed can be installed
    Trust {
        #[arg(value_name = "PUBKEY_FILE")]
        pubkey: PathBuf,
        /// Whose key it is, as `plugin list` will show it [default: the file's comment]
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        place: PluginPlace,
    },
    /// Stop trusting a key (plugins it signed stay installed and in effect; updates to them are refused)
    Untrust {
        #[arg(value_name = "KEYID")]
        key_id: String,
        #[command(flatten)]
        place: PluginPlace,
    },
    /// Verify a signed bundle against the trusted keys and install it
    ///
    /// A plugin keeps the key that signed its first install: a later bundle for the same id
    /// signed by another key is refused, even a trusted one, until the plugin is removed. A
    /// bundle with a built-in plugin's id replaces it only with --replace-built-in (or a yes on
    /// the terminal).
    #[command(after_help = RELOAD_HELP)]
    Install {
        #[arg(value_name = "BUNDLE")]
        bundle: PathBuf,
        /// The signature [default: BUNDLE.minisig]
        #[arg(long, value_name = "SIG")]
        sig: Option<PathBuf>,
        /// Let the bundle take the place of the built-in plugin with its id (asked on a terminal)
        #[arg(long)]
        replace_built_in: bool,
        #[command(flatten)]
        place: PluginPlace,
    },
    /// Remove an installed plugin (a built-in of the same id comes back)
    #[command(after_help = RELOAD_HELP)]
    Remove {
        id: String,
        #[command(flatten)]
        place: PluginPlace,
    },
    /// The plugins in effect, the ones turned off, problems, and the trusted keys
    List {
        #[command(flatten)]
        place: PluginPlace,
    },
    /// Turn a plugin on again
    #[command(after_help = RELOAD_HELP)]
    Enable {
        id: String,
        #[command(flatten)]
        place: PluginPlace,
    },
    /// Turn a plugin off, built-in or installed, without removing it
    #[command(after_help = RELOAD_HELP)]
    Disable {
        id: String,
        #[command(flatten)]
        place: PluginPlace,
    },
}

/// Which data directory's plugins, keys and settings.
#[derive(Debug, Clone, Args)]
pub struct PluginPlace {
    /// The data directory [default: $INTERLUDE_DATA_DIR, the config file's data_dir, or ~/.local/share/interlude]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModalityArg {
    Cbt,
    Dbt,
    Act,
    Psychodynamic,
    Other,
}
