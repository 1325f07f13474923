//! Synthetic timelines with planted patterns, for the session-prep evaluation and benchmark.
//! Written for the test, not tuned to one timeline: every entry is assembled from varied parts
//! by a seeded generator, and the planted patterns sit among ordinary noise (meals, errands,
//! weather, television, chores).

/// One generated entry; `pattern` names the planted pattern it belongs to (`None`: noise).
#[derive(Debug, Clone)]
pub struct Entry {
    pub text: String,
    /// Milliseconds since the epoch (UTC).
    pub moment: i64,
    pub emotion: Option<(&'static str, u32)>,
    pub bring_to_session: bool,
    pub private: bool,
    pub pattern: Option<&'static str>,
}

impl Entry {
    /// The entry as a client would add it.
    pub fn request(&self) -> interlude_proto::v1::AddReflectionRequest {
        interlude_proto::v1::AddReflectionRequest {
            text: self.text.clone(),
            emotions: self
                .emotion
                .iter()
                .map(|(name, intensity)| interlude_proto::v1::Emotion {
                    name: (*name).into(),
                    intensity: *intensity,
                })
                .collect(),
            bring_to_session: self.bring_to_session,
            private: self.private,
            moment: Some(prost_types::Timestamp {
                seconds: self.moment.div_euclid(1000),
                nanos: 0,
            }),
            ..Default::default()
        }
    }
}

pub const PATTERNS: [&str; 5] = [
    "sunday-dread",
    "conflict-withdrawal",
    "part-before-behaviour",
    "helpful-skill",
    "loop",
];

/// splitmix64: small, seedable, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const DREAD: &[&str] = &[
    "Sunday evening and the dread about Monday has started again.",
    "That heavy Sunday-night feeling about the work week is back.",
    "Can't settle tonight, my stomach is in knots about going into the office tomorrow.",
    "Another Sunday ruined by thinking about the meetings waiting for me on Monday.",
    "The weekend is ending and I'm already dreading my inbox at work.",
    "Sunday night again, lying awake rehearsing tomorrow's stand-up at work.",
];
const CONFLICT: &[&str] = &[
    "Argued with Dana about the washing up and then shut myself in the bedroom for the evening.",
    "Dana snapped at me about money and I went quiet and stopped answering her.",
    "Another row with Dana over nothing, I took my laptop to the spare room and stayed there.",
    "Dana criticised how I handled her mum and I just withdrew, didn't speak to her all night.",
    "Fell out with Dana about the holiday plans and I avoided her until she went to bed.",
    "Dana raised her voice and I left the flat and ignored her messages for hours.",
];
const PART: &[&str] = &[
    "The critic showed up this morning telling me I'm lazy, and I skipped the gym.",
    "Heard the critic again before lunch, so I cancelled on my friends.",
    "The critic was loud all afternoon and I ended up not sending the application.",
    "The critic said the draft was rubbish and I closed the document and scrolled my phone for two hours.",
    "My critic started up in the shower and by the evening I'd binged a whole series instead of calling Mum.",
    "Before the class the critic kicked in and I turned round and went home.",
];
const SKILL: &[&str] = &[
    "Did the slow breathing before the presentation and it took the edge off.",
    "Tried the paced breathing when I felt the panic rising on the bus, it helped a bit.",
    "Used the breathing exercise before the difficult call and my hands stopped shaking.",
    "Breathing out slowly for a few minutes calmed me down before I spoke up in the meeting.",
    "Remembered to do the breathing when my chest went tight, and it eased.",
    "Ten slow breaths in the toilets at work, it actually made the afternoon manageable.",
];
const LOOP: &[&str] = &[
    "Worried about money again, the bills keep piling up.",
    "Money worries again tonight, the credit card bill is sitting there unopened.",
    "Can't stop thinking about the overdraft and the bills again.",
    "Money again. The bills, the rent, the card. Same as yesterday.",
    "Lying awake adding up the bills again.",
    "The money worry is back, another bill came today.",
];
const NOISE: &[&str] = &[
    "Made {food} for dinner and watched {show}.",
    "Picked up groceries and posted a parcel on the way home.",
    "Rain all day, did two loads of laundry.",
    "Walked to {place} and back, nothing special.",
    "Cleaned the kitchen and sorted the recycling.",
    "Had {food} for lunch at my desk.",
    "Watched {show} and went to bed early.",
    "Bought new shoelaces and a lightbulb at {place}.",
    "Fixed the wobbly chair, finally.",
    "Sunny afternoon, sat in {place} for a bit.",
    "Paid the council tax online and booked a dentist appointment.",
    "Cooked {food} with too much garlic.",
    "Hoovered the flat and watered the plants.",
    "The bus was late, read a few pages of my book.",
];
const FOOD: &[&str] = &[
    "pasta",
    "a curry",
    "soup",
    "toast",
    "a stir fry",
    "fish and chips",
];
const SHOW: &[&str] = &[
    "a documentary",
    "the football",
    "an old film",
    "a cooking show",
];
const PLACE: &[&str] = &[
    "the park",
    "the high street",
    "the hardware shop",
    "the library",
];
const OPENERS: &[&str] = &[
    "",
    "",
    "",
    "Long day. ",
    "Quick note. ",
    "Writing this down. ",
];
const CLOSERS: &[&str] = &[
    "",
    "",
    "",
    " Not sure what to make of it.",
    " Anyway.",
    " Tired now.",
];

fn fill(rng: &mut Rng, template: &str) -> String {
    template
        .replace("{food}", rng.pick(FOOD))
        .replace("{show}", rng.pick(SHOW))
        .replace("{place}", rng.pick(PLACE))
}

/// A planted pattern: on which weekdays (0 = Monday) it comes, its texts, the feeling named
/// with it (lowest intensity and spread), and at which hours (first and spread).
struct Planted {
    pattern: &'static str,
    weekdays: &'static [i64],
    texts: &'static [&'static str],
    emotion: &'static str,
    intensity: u32,
    spread: usize,
    hour: i64,
    hours: usize,
}

const PLANTED: [Planted; 5] = [
    // Dread on Sunday evenings.
    Planted {
        pattern: "sunday-dread",
        weekdays: &[6],
        texts: DREAD,
        emotion: "dread",
        intensity: 65,
        spread: 20,
        hour: 20,
        hours: 3,
    },
    // A conflict with a named person, then withdrawal.
    Planted {
        pattern: "conflict-withdrawal",
        weekdays: &[2, 5],
        texts: CONFLICT,
        emotion: "hurt",
        intensity: 55,
        spread: 25,
        hour: 19,
        hours: 2,
    },
    // A named part before a behaviour.
    Planted {
        pattern: "part-before-behaviour",
        weekdays: &[1, 4],
        texts: PART,
        emotion: "ashamed",
        intensity: 50,
        spread: 25,
        hour: 9,
        hours: 8,
    },
    // A skill that helps.
    Planted {
        pattern: "helpful-skill",
        weekdays: &[0, 3],
        texts: SKILL,
        emotion: "calmer",
        intensity: 30,
        spread: 20,
        hour: 8,
        hours: 10,
    },
    // The loop: the same worry at the same intensity, late at night.
    Planted {
        pattern: "loop",
        weekdays: &[0, 2, 4, 6],
        texts: LOOP,
        emotion: "worried",
        intensity: 58,
        spread: 5,
        hour: 23,
        hours: 1,
    },
];

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const HOUR_MS: i64 = 60 * 60 * 1000;

/// A timeline of `days` days ending at `end` (ms, UTC; should be a Monday 00:00 so Sundays are
/// Sundays), about seven entries a day. Each planted pattern recurs through the whole span.
pub fn generate(seed: u64, days: i64, end: i64) -> Vec<Entry> {
    let mut rng = Rng(seed);
    let start = end - days * DAY_MS;
    let mut out = Vec::new();
    for day in 0..days {
        let midnight = start + day * DAY_MS;
        // Day 0 is a Monday when `end` is one.
        let weekday = day.rem_euclid(7);
        for p in PLANTED.iter().filter(|p| p.weekdays.contains(&weekday)) {
            let pattern = p.pattern;
            let text = rng.pick(p.texts).to_string();
            let intensity = p.intensity + rng.below(p.spread) as u32;
            let hour = p.hour + rng.below(p.hours) as i64;
            let bring = pattern == "conflict-withdrawal" && rng.below(3) == 0;
            let emotion = p.emotion;
            out.push(entry(
                &mut rng,
                text,
                midnight,
                hour,
                Some((emotion, intensity)),
                bring,
                Some(pattern),
            ));
        }
        // Noise fills the day to about seven entries.
        for _ in 0..(4 + rng.below(3)) {
            let template = rng.pick(NOISE);
            let text = fill(&mut rng, template);
            let hour = 7 + rng.below(15) as i64;
            out.push(entry(&mut rng, text, midnight, hour, None, false, None));
        }
    }
    out.sort_by_key(|e| e.moment);
    out
}

fn entry(
    rng: &mut Rng,
    text: String,
    midnight: i64,
    hour: i64,
    emotion: Option<(&'static str, u32)>,
    bring_to_session: bool,
    pattern: Option<&'static str>,
) -> Entry {
    let text = format!("{}{}{}", rng.pick(OPENERS), text, rng.pick(CLOSERS));
    let minute = rng.below(60) as i64;
    Entry {
        text,
        moment: midnight + hour * HOUR_MS + minute * 60_000,
        emotion,
        bring_to_session,
        private: false,
        pattern,
    }
}

/// Planted-pattern recall in the top five themes of a packet's `patterns.themes`: a pattern is
/// found when one of those themes holds at least 40% of the pattern's entries and at least half
/// of the theme is that pattern. `pattern_of` maps reflection ids to the pattern they carry.
pub fn recall_in_top_five(
    themes: &serde_json::Value,
    pattern_of: &std::collections::HashMap<String, &str>,
) -> f32 {
    let mut found = std::collections::HashSet::new();
    for theme in themes.as_array().into_iter().flatten().take(5) {
        let ids: Vec<&str> = theme["entry_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .collect();
        for pattern in PATTERNS {
            let total = pattern_of.values().filter(|p| **p == pattern).count();
            let hits = ids
                .iter()
                .filter(|id| pattern_of.get(**id) == Some(&pattern))
                .count();
            if total > 0 && hits * 10 >= total * 4 && hits * 2 >= ids.len() {
                found.insert(pattern);
            }
        }
    }
    found.len() as f32 / PATTERNS.len() as f32
}
