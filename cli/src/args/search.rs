//! `interlude search`: the same window filters as `timeline`.

use clap::Args;
use jiff::Timestamp;

use super::values::{Kind, parse_bound, parse_tag};

#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// What to look for: a few words or a sentence
    #[arg(value_name = "QUERY", required = true)]
    pub query: Vec<String>,

    /// From this moment on (e.g. 7d, yesterday, 2026-11-01)
    #[arg(long, value_name = "WHEN", value_parser = parse_bound)]
    pub since: Option<Timestamp>,

    /// Up to, not including, this moment
    #[arg(long, value_name = "WHEN", value_parser = parse_bound)]
    pub until: Option<Timestamp>,

    /// Only this kind
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,

    /// Only reflections with this tag
    #[arg(long, value_name = "TAG", value_parser = parse_tag)]
    pub tag: Option<String>,

    /// At most this many results (up to 200)
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=200))]
    pub limit: u32,
}
