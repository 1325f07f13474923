//! `interlude practice` and `interlude now`: exercises from the plugins, one question at a time.

use clap::{Args, ValueEnum};

use super::ModalityArg;

#[derive(Debug, Args)]
pub struct PracticeArgs {
    /// The exercise to run, as PLUGIN/EXERCISE (`cbt/thought-record`) or just EXERCISE when only
    /// one plugin has it; without it, list the exercises
    #[arg(value_name = "EXERCISE")]
    pub exercise: Option<String>,

    /// List only this modality's exercises
    #[arg(long, value_enum, conflicts_with = "exercise")]
    pub modality: Option<ModalityArg>,

    /// List only exercises that suit this state (those for any state included)
    #[arg(long, value_enum, conflicts_with = "exercise")]
    pub state: Option<StateArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateArg {
    /// A moment of high feeling
    Activated,
    /// A calmer time to look back
    Reflective,
}
