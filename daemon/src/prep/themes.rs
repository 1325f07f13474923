//! Themes: the window's entries grouped by meaning, each labelled with the client's own words.
//!
//! Grouping is average-linkage agglomerative clustering of the entries' sentence vectors
//! (`kodama`, a port of fastcluster), cut where groups stop resembling each other. It needs no
//! number of themes up front, is deterministic, and is quick at a year's entries (a condensed
//! distance matrix of 2,500 entries is 12 MB). Labels follow BERTopic/KeyBERT: c-TF-IDF
//! candidates from `words`, re-ranked by how close each phrase's vector is to the theme's centre.

use std::collections::{BTreeSet, HashMap};

use crate::domain::{Kind, Reflection, Term};
use crate::search::dot;

use super::packet::{Count, Quote, Recurrence, Theme};
use super::words::{Bag, class_tf_idf, pick_labels};

/// Groups merge while their mean cosine distance stays at or below this (mean cosine ≥ 0.6).
/// all-MiniLM-L6-v2 puts two entries about the same worry at about 0.4–0.7 and unrelated
/// everyday entries at 0.0–0.2.
pub const CUT_DISTANCE: f32 = 0.6;
/// An earlier entry this close to a theme's centre counts as the theme having been there before.
pub const EARLIER_SIMILARITY: f32 = 0.5;
/// At most this many themes are shown; the rest are counted.
pub const MAX_THEMES: usize = 8;
const LABEL_WORDS: usize = 3;
const QUOTES: usize = 3;
const CANDIDATES: usize = 10;

pub const RANKING: &str = "Themes are ranked by the intensity of the feelings you named, over all \
     of the theme's entries (0–100, an entry without one counts 0) × 0.4, \
     size (entries, against the largest theme) × 0.25, the share of its entries you marked to \
     bring or helpful × 0.2, and whether it was there before × 0.15. Everyday entries without a \
     named feeling sink, however many there are.";

/// The strongest intensity each entry named, summed (for [`score`]).
pub fn intensity_sum(entries: &[&Reflection]) -> u64 {
    entries
        .iter()
        .map(|r| {
            r.emotions
                .iter()
                .map(|e| u64::from(e.intensity))
                .max()
                .unwrap_or(0)
        })
        .sum()
}

/// An entry the themes read: a reflection and its unit-length vector.
pub struct Item<'a> {
    pub reflection: &'a Reflection,
    pub vector: &'a [f32],
}

/// Groups of at least two entries (indices into `vectors`), largest first.
pub fn cluster(vectors: &[&[f32]]) -> Vec<Vec<usize>> {
    let n = vectors.len();
    if n < 2 {
        return Vec::new();
    }
    let mut condensed = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            condensed.push((1.0 - dot(vectors[i], vectors[j])).max(0.0));
        }
    }
    let dendrogram = kodama::linkage(&mut condensed, n, kodama::Method::Average);
    // Union the merges below the cut; cluster n + k is the one step k made.
    let mut parent: Vec<usize> = (0..2 * n).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for (k, step) in dendrogram.steps().iter().enumerate() {
        if step.dissimilarity > CUT_DISTANCE {
            continue;
        }
        let merged = n + k;
        for side in [step.cluster1, step.cluster2] {
            let r = root(&mut parent, side);
            parent[r] = merged;
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() >= 2).collect();
    groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    groups
}

/// The unit-length mean of some vectors.
pub fn centre(vectors: impl IntoIterator<Item = impl AsRef<[f32]>>) -> Vec<f32> {
    let mut sum: Vec<f32> = Vec::new();
    for v in vectors {
        let v = v.as_ref();
        if sum.is_empty() {
            sum = vec![0.0; v.len()];
        }
        for (s, x) in sum.iter_mut().zip(v) {
            *s += x;
        }
    }
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        sum.iter_mut().for_each(|x| *x /= norm);
    }
    sum
}

/// Label candidates per group: c-TF-IDF of each group against everything else the client
/// wrote (`background`: the rest of the window and the timeline before it).
pub fn candidates(
    items: &[Item<'_>],
    groups: &[Vec<usize>],
    background: &[&str],
) -> Vec<Vec<(String, String, f32)>> {
    let texts: Vec<String> = items.iter().map(|i| i.reflection.text.clone()).collect();
    let mut in_group = vec![false; items.len()];
    let mut classes: Vec<Bag> = groups
        .iter()
        .map(|g| {
            g.iter().for_each(|&i| in_group[i] = true);
            Bag::of(g.iter().map(|&i| texts[i].as_str()))
        })
        .collect();
    let rest = texts
        .iter()
        .zip(&in_group)
        .filter(|(_, grouped)| !**grouped)
        .map(|(t, _)| t.as_str())
        .chain(background.iter().copied());
    classes.push(Bag::of(rest));
    class_tf_idf(&classes, CANDIDATES)
}

/// Everything a theme says, from its entries. `phrase_vectors` holds a unit vector per
/// candidate's surface form when the embedder could give one (KeyBERT's re-ranking); without
/// them the c-TF-IDF order stands.
pub struct Built {
    pub theme: Theme,
    pub centre: Vec<f32>,
}

pub fn build(
    items: &[Item<'_>],
    group: &[usize],
    candidates: &[(String, String, f32)],
    phrase_vectors: &HashMap<String, Vec<f32>>,
    terms: &[Term],
) -> Built {
    let centre = centre(group.iter().map(|&i| items[i].vector));
    let top = candidates.first().map_or(1.0, |c| c.2).max(f32::EPSILON);
    let mut ranked: Vec<(f32, (String, String))> = candidates
        .iter()
        .map(|(lower, surface, score)| {
            let closeness = phrase_vectors.get(surface).map_or(0.0, |v| dot(v, &centre));
            let mix = if phrase_vectors.is_empty() {
                *score / top
            } else {
                0.5 * score / top + 0.5 * closeness
            };
            (mix, (lower.clone(), surface.clone()))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let ranked: Vec<(String, String)> = ranked.into_iter().map(|(_, c)| c).collect();
    let label = pick_labels(&ranked, LABEL_WORDS);

    let mut nearest: Vec<(f32, usize)> = group
        .iter()
        .map(|&i| (dot(items[i].vector, &centre), i))
        .collect();
    nearest.sort_by(|a, b| b.0.total_cmp(&a.0));
    let quotes = nearest
        .iter()
        .take(QUOTES)
        .map(|&(_, i)| quote(items[i].reflection))
        .collect();
    let entries: Vec<&Reflection> = group.iter().map(|&i| items[i].reflection).collect();
    let (emotions, intensity) = emotions_of(&entries);
    let mentioned: BTreeSet<&str> = entries
        .iter()
        .flat_map(|r| r.term_ids.iter())
        .map(String::as_str)
        .collect();
    let theme_terms = terms
        .iter()
        .filter(|t| mentioned.contains(t.id.as_str()))
        .map(|t| t.word.clone())
        .collect();
    let mut ids: Vec<String> = entries.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    Built {
        theme: Theme {
            id: String::new(),
            label,
            quotes,
            entry_ids: ids,
            first: entries.iter().map(|r| r.moment).min().unwrap_or_default(),
            last: entries.iter().map(|r| r.moment).max().unwrap_or_default(),
            emotions,
            intensity,
            terms: theme_terms,
            recurrence: Recurrence::New,
            earlier_entries: 0,
            looping: None,
            score: 0.0,
        },
        centre,
    }
}

pub fn quote(r: &Reflection) -> Quote {
    Quote {
        id: r.id.clone(),
        moment: r.moment,
        text: crate::timeline::vectors::text_of(r),
    }
}

/// The emotions named most often (at most three) and their mean intensity.
pub fn emotions_of(entries: &[&Reflection]) -> (Vec<Count>, Option<u32>) {
    let mut counts: HashMap<String, u32> = HashMap::new();
    let mut sum = 0u64;
    let mut n = 0u64;
    for r in entries {
        for e in &r.emotions {
            *counts.entry(e.name.to_lowercase()).or_default() += 1;
            sum += u64::from(e.intensity);
            n += 1;
        }
    }
    let mut emotions: Vec<Count> = counts
        .into_iter()
        .map(|(name, count)| Count { name, count })
        .collect();
    emotions.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    emotions.truncate(3);
    (emotions, (n > 0).then(|| (sum / n) as u32))
}

/// How many of `earlier` (unit vectors) resemble the theme's centre.
pub fn earlier_like(centre: &[f32], earlier: &[&[f32]]) -> usize {
    earlier
        .iter()
        .filter(|v| dot(v, centre) >= EARLIER_SIMILARITY)
        .count()
}

/// The gentle line for a theme that came back again and again with nothing new: at least three
/// entries on three different days, no exercise among them, no vocabulary word that its first
/// entries did not already have, and intensity within 10 points from its first to its last
/// third.
pub fn looping(entries: &[&Reflection], day_of: impl Fn(i64) -> String) -> Option<String> {
    let mut sorted: Vec<&Reflection> = entries.to_vec();
    sorted.sort_by_key(|r| r.moment);
    let days: BTreeSet<String> = sorted.iter().map(|r| day_of(r.moment)).collect();
    if sorted.len() < 3 || days.len() < 3 || sorted.iter().any(|r| r.kind == Kind::Exercise) {
        return None;
    }
    let third = sorted.len().div_ceil(3);
    let (first, last) = (&sorted[..third], &sorted[sorted.len() - third..]);
    let known: BTreeSet<&String> = first.iter().flat_map(|r| r.term_ids.iter()).collect();
    if sorted
        .iter()
        .flat_map(|r| r.term_ids.iter())
        .any(|t| !known.contains(t))
    {
        return None;
    }
    let level = |part: &[&Reflection]| emotions_of(part).1;
    if let (Some(a), Some(b)) = (level(first), level(last))
        && a.abs_diff(b) > 10
    {
        return None;
    }
    Some("This one came back several times without much changing: it might be one to bring to session.".into())
}

/// The stated mix (see [`RANKING`]). Intensity counts every entry of the theme, an entry
/// without a named feeling as 0: one strong entry does not lift a group of everyday ones.
pub fn score(theme: &Theme, largest: usize, marked: usize, intensity_sum: u64) -> f32 {
    let size = theme.entry_ids.len() as f32 / largest.max(1) as f32;
    let intensity = intensity_sum as f32 / 100.0 / theme.entry_ids.len().max(1) as f32;
    let before = if theme.recurrence == Recurrence::Returning {
        1.0
    } else {
        0.0
    };
    let marked = marked as f32 / theme.entry_ids.len().max(1) as f32;
    0.25 * size + 0.4 * intensity + 0.15 * before + 0.2 * marked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        centre([v])
    }

    #[test]
    fn near_vectors_group_and_far_ones_stay_apart() {
        let vs = [
            unit(&[1.0, 0.1, 0.0]),
            unit(&[0.9, 0.2, 0.0]),
            unit(&[1.0, 0.0, 0.1]),
            unit(&[0.0, 1.0, 0.1]),
            unit(&[0.1, 1.0, 0.0]),
            unit(&[0.0, 0.0, 1.0]),
        ];
        let refs: Vec<&[f32]> = vs.iter().map(Vec::as_slice).collect();
        let groups = cluster(&refs);
        assert_eq!(
            groups,
            vec![vec![0, 1, 2], vec![3, 4]],
            "the lone one is no theme"
        );
    }
}
