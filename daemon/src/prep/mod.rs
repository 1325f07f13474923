//! Patterns in the client's own words, and the session-prep packet that carries the week into
//! the room. `patterns` reads a window; `drafts` keeps the client's reviewed packet; `render`
//! is the one renderer every format and every export goes through.
//!
//! Private entries are never read. Entries the crisis check flagged are never in a theme, a
//! quote, a section or the digest: the packet lists them apart, and only the client's review
//! puts them in.

mod digest;
mod drafts;
pub mod export;
pub mod packet;
pub mod render;
mod rhythm;
mod sections;
mod themes;
mod words;

use std::collections::HashMap;
use std::sync::Arc;

use jiff::tz::TimeZone;

use crate::domain::{Kind, Millis, Order, Reflection, ReflectionQuery, now_millis};
use crate::error::{Result, invalid};
use crate::models::Generation;
use crate::plugins::InEffect;
use crate::safety::Detector;
use crate::safety::output::OutputRules;
use crate::search::{Search, dot};
use crate::timeline::Timeline;

pub use drafts::{ExportRecord, new_id};
use packet::{Fading, Insight, Packet, Patterns, Recurrence, Window};

const DAY: Millis = 24 * 60 * 60 * 1000;
/// Without a logged session, the window is the last week.
const DEFAULT_DAYS: Millis = 7;
/// Recurrence looks back this many windows of the same length.
const WINDOWS_BACK: i64 = 4;
/// A window's entry this close to an insight kept from the last session came back to it.
const INSIGHT_SIMILARITY: f32 = 0.4;
/// The most entries one window reads (about ten years of daily entries).
const MAX_ENTRIES: usize = 20_000;

#[derive(Clone)]
pub struct Prep {
    pub(crate) timeline: Timeline,
    pub(crate) search: Search,
    pub(crate) plugins: InEffect,
    pub(crate) generation: Generation,
    pub(crate) detector: Arc<Detector>,
    pub(crate) rules: Arc<OutputRules>,
    pub(crate) zone: TimeZone,
}

impl Prep {
    pub fn new(
        timeline: Timeline,
        search: Search,
        plugins: InEffect,
        generation: Generation,
        detector: Arc<Detector>,
        rules: Arc<OutputRules>,
    ) -> Prep {
        Prep {
            timeline,
            search,
            plugins,
            generation,
            detector,
            rules,
            zone: TimeZone::system(),
        }
    }

    /// The window asked for: by default from the last logged session (or the last week) to now.
    pub fn window(&self, since: Option<Millis>, until: Option<Millis>) -> Result<Window> {
        crate::domain::check_range(since, until)?;
        let until = until.unwrap_or_else(now_millis);
        let (since, since_session) = match since {
            Some(since) => (since, None),
            None => {
                let last = self.timeline.list_sessions(None, Some(until), 1)?;
                match last.sessions.first() {
                    Some(s) => (s.held_at, Some(s.id.clone())),
                    None => (until - DEFAULT_DAYS * DAY, None),
                }
            }
        };
        if since >= until {
            return Err(invalid(
                "the window is empty: `since` must be before `until`",
            ));
        }
        Ok(Window {
            since,
            until,
            since_session,
            time_zone: self.zone.iana_name().unwrap_or("local").to_string(),
        })
    }

    fn read(&self, since: Option<Millis>, until: Millis) -> Result<(Vec<Reflection>, Vec<String>)> {
        let (mut found, damaged) = self.timeline.reflections_matching(&ReflectionQuery {
            since,
            until: Some(until),
            kind: None,
            tag: None,
            bring_to_session: None,
            private: Some(false),
            limit: MAX_ENTRIES,
            after: None,
            order: Order::NewestFirst,
        })?;
        // The query keeps private entries out; its limit is not applied by the store.
        found.truncate(MAX_ENTRIES);
        Ok((found, damaged))
    }

    /// Everything the packet shows except the digest and the review.
    pub async fn patterns(&self, window: Window) -> Result<Patterns> {
        let length = window.until - window.since;
        let (in_window, damaged) = self.read(Some(window.since), window.until)?;
        let (before, _) = self.read(None, window.since)?;
        let terms = self.timeline.list_terms(None)?;
        let catalog = self.plugins.catalog();
        let mut notices = Vec::new();
        if !damaged.is_empty() {
            notices.push(format!(
                "{} entries in this window fail their integrity check and are left out",
                damaged.len()
            ));
        }

        let (flagged, readable): (Vec<&Reflection>, Vec<&Reflection>) =
            in_window.iter().partition(|r| r.crisis);
        let flagged = quotes_of(&flagged, |_| true);
        let brought = quotes_of(&readable, |r| r.bring_to_session);
        let helpful = quotes_of(&readable, |r| r.helpful);

        let earlier_from = window.since - WINDOWS_BACK * length;
        let earlier: Vec<&Reflection> = before
            .iter()
            .filter(|r| !r.crisis && r.moment >= earlier_from)
            .collect();
        let previous: Vec<&Reflection> = earlier
            .iter()
            .copied()
            .filter(|r| r.moment >= window.since - length)
            .collect();
        let everything: Vec<&Reflection> = readable.iter().chain(&earlier).copied().collect();
        let vectors = match self.search.vectors_for(&everything).await {
            Ok(v) => v,
            Err(err) => {
                notices.push(format!(
                    "{err}. Themes, recurrence and meaning matches need it; the rest of the \
                     packet is complete"
                ));
                HashMap::new()
            }
        };
        let embedder = !vectors.is_empty() || readable.is_empty();

        let (themes, fading) = if embedder {
            let background: Vec<&str> = before
                .iter()
                .filter(|r| !r.crisis)
                .map(|r| r.text.as_str())
                .collect();
            let window_themes = self
                .ranked_themes(&readable, &earlier, &vectors, &background, &terms)
                .await;
            let fading = self
                .fading(
                    &previous,
                    &readable,
                    &window_themes,
                    &vectors,
                    &background,
                    &terms,
                )
                .await;
            let mut themes: Vec<_> = window_themes.into_iter().map(|(t, _)| t).collect();
            themes.truncate(themes::MAX_THEMES);
            for (i, theme) in themes.iter_mut().enumerate() {
                theme.id = format!("theme-{}", i + 1);
            }
            (themes, fading)
        } else {
            (Vec::new(), Vec::new())
        };

        let exemplar_texts = sections::exemplars(&catalog);
        let exemplar_vectors = if embedder && !exemplar_texts.is_empty() {
            self.embed_map(exemplar_texts).await
        } else {
            HashMap::new()
        };
        let insights = self.insights(&window, &readable, &vectors).await?;
        Ok(Patterns {
            entries: readable.len(),
            ranking: themes::RANKING.into(),
            themes,
            fading,
            days: rhythm::days(&self.zone, &readable),
            hour_of_week: rhythm::hour_of_week(&self.zone, &readable),
            vocabulary: sections::vocabulary(&terms, &readable),
            follow_through: sections::follow_through(&catalog, &readable),
            sections: sections::sections(&catalog, &readable, &vectors, &exemplar_vectors),
            measures: sections::measures(&catalog, &readable),
            flagged,
            brought,
            helpful,
            insights,
            notices,
            window,
        })
    }

    /// The window's themes with their centres, best first: recurrence against the `earlier`
    /// entries, looping, and the stated ranking.
    async fn ranked_themes(
        &self,
        readable: &[&Reflection],
        earlier: &[&Reflection],
        vectors: &HashMap<String, Vec<f32>>,
        background: &[&str],
        terms: &[crate::domain::Term],
    ) -> Vec<(packet::Theme, Vec<f32>)> {
        let earlier_vectors: Vec<&[f32]> = earlier
            .iter()
            .filter_map(|r| vectors.get(&r.id))
            .map(Vec::as_slice)
            .collect();
        let mut found = Vec::new();
        for (mut theme, centre) in self.themes(readable, vectors, background, terms).await {
            theme.earlier_entries = themes::earlier_like(&centre, &earlier_vectors);
            if theme.earlier_entries > 0 {
                theme.recurrence = Recurrence::Returning;
            }
            let entries: Vec<&Reflection> = readable
                .iter()
                .copied()
                .filter(|r| theme.entry_ids.contains(&r.id))
                .collect();
            theme.looping = themes::looping(&entries, |at| rhythm::day_of(&self.zone, at));
            let marked = entries
                .iter()
                .filter(|r| r.bring_to_session || r.helpful)
                .count();
            found.push((theme, centre, marked, themes::intensity_sum(&entries)));
        }
        let largest = found
            .iter()
            .map(|(t, ..)| t.entry_ids.len())
            .max()
            .unwrap_or(1);
        for (theme, _, marked, intensity) in &mut found {
            theme.score = themes::score(theme, largest, *marked, *intensity);
        }
        found.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
        found.into_iter().map(|(t, c, ..)| (t, c)).collect()
    }

    /// The previous window's themes (of at least three entries) that nothing in this one
    /// resembles.
    async fn fading(
        &self,
        previous: &[&Reflection],
        readable: &[&Reflection],
        current: &[(packet::Theme, Vec<f32>)],
        vectors: &HashMap<String, Vec<f32>>,
        background: &[&str],
        terms: &[crate::domain::Term],
    ) -> Vec<Fading> {
        let near = |centre: &[f32], v: &[f32]| dot(v, centre) >= themes::EARLIER_SIMILARITY;
        let mut fading = Vec::new();
        for (theme, centre) in self.themes(previous, vectors, background, terms).await {
            let back = current.iter().any(|(_, c)| near(&centre, c))
                || readable
                    .iter()
                    .filter_map(|r| vectors.get(&r.id))
                    .any(|v| near(&centre, v));
            if !back && theme.entry_ids.len() >= 3 {
                fading.push(Fading {
                    label: theme.label,
                    entries: theme.entry_ids.len(),
                });
            }
        }
        fading
    }

    /// Themes of some entries, with their centres, unranked.
    async fn themes(
        &self,
        entries: &[&Reflection],
        vectors: &HashMap<String, Vec<f32>>,
        background: &[&str],
        terms: &[crate::domain::Term],
    ) -> Vec<(packet::Theme, Vec<f32>)> {
        let items: Vec<themes::Item<'_>> = entries
            .iter()
            .filter(|r| r.kind != Kind::SessionInsight)
            .filter_map(|r| {
                vectors.get(&r.id).map(|v| themes::Item {
                    reflection: r,
                    vector: v,
                })
            })
            .collect();
        let groups = themes::cluster(&items.iter().map(|i| i.vector).collect::<Vec<_>>());
        let groups: Vec<Vec<usize>> = groups.into_iter().take(4 * themes::MAX_THEMES).collect();
        let candidates = themes::candidates(&items, &groups, background);
        let phrases: Vec<String> = candidates
            .iter()
            .flat_map(|c| c.iter().map(|(_, surface, _)| surface.clone()))
            .collect();
        let phrase_vectors = self.embed_map(phrases).await;
        groups
            .iter()
            .zip(&candidates)
            .map(|(group, candidates)| {
                let built = themes::build(&items, group, candidates, &phrase_vectors, terms);
                (built.theme, built.centre)
            })
            .collect()
    }

    /// Vectors for some texts, by text; empty when the embedder cannot run.
    pub(super) async fn embed_map(&self, mut texts: Vec<String>) -> HashMap<String, Vec<f32>> {
        texts.sort();
        texts.dedup();
        let mut map = HashMap::new();
        for batch in texts.chunks(64) {
            match self.search.models().embed(batch.to_vec()).await {
                Ok(vectors) => map.extend(batch.iter().cloned().zip(vectors)),
                Err(_) => return HashMap::new(),
            }
        }
        map
    }

    /// The insights kept from the session the window starts at, and the entries that came back
    /// to them.
    async fn insights(
        &self,
        window: &Window,
        entries: &[&Reflection],
        vectors: &HashMap<String, Vec<f32>>,
    ) -> Result<Vec<Insight>> {
        let Some(id) = &window.since_session else {
            return Ok(Vec::new());
        };
        let session = self.timeline.get_session(id)?;
        let insight_vectors = self.embed_map(session.insights.clone()).await;
        Ok(session
            .insights
            .iter()
            .map(|text| {
                let mut came_back: Vec<_> = insight_vectors
                    .get(text)
                    .map(|iv| {
                        entries
                            .iter()
                            .filter(|r| {
                                vectors
                                    .get(&r.id)
                                    .is_some_and(|v| dot(v, iv) >= INSIGHT_SIMILARITY)
                            })
                            .map(|r| themes::quote(r))
                            .collect()
                    })
                    .unwrap_or_default();
                came_back.sort_by_key(|q| q.moment);
                Insight {
                    text: text.clone(),
                    session_id: session.id.clone(),
                    came_back,
                }
            })
            .collect())
    }

    /// A new draft for the window: the patterns, then the digest (sentences go to `written` as
    /// they pass the checks), stored encrypted before it is returned.
    pub async fn build(
        &self,
        window: Window,
        write_digest: bool,
        written: Option<tokio::sync::mpsc::Sender<(String, String)>>,
    ) -> Result<Packet> {
        let patterns = self.patterns(window).await?;
        let digest = if write_digest {
            digest::write(self, &patterns, written).await
        } else {
            packet::Digest::default()
        };
        let packet = Packet {
            schema_version: packet::SCHEMA_VERSION,
            id: drafts::new_id()?,
            created_at: now_millis(),
            patterns,
            digest,
            review: packet::Review::default(),
        };
        self.save(&packet).await?;
        Ok(packet)
    }
}

/// The entries `keep` picks, as quotes, oldest first.
fn quotes_of(entries: &[&Reflection], keep: impl Fn(&Reflection) -> bool) -> Vec<packet::Quote> {
    let mut quotes: Vec<_> = entries
        .iter()
        .filter(|r| keep(r))
        .map(|r| themes::quote(r))
        .collect();
    quotes.sort_by_key(|q| q.moment);
    quotes
}
