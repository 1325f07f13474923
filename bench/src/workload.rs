//! The generated workload: reflections of varied words, the raw `fdatasync` writer every write is compared with, and a process's CPU time.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use interlude_proto::v1;

use crate::stats::{Stats, stats};

pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// xorshift64*: plenty for picking words.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

pub(crate) const WORDS: &str = "morning walk coffee anxious calm meeting sister rain tired hopeful breath noticed \
    shoulders tight email boss laughed garden slept badly dream train late therapy journal \
    wrote felt lighter heavy chest friend called argument apologised quiet evening music \
    kitchen cooked dinner phone scrolled too long sunlight window worried about money plans \
    weekend small win finished project grateful for patience again and then the a after \
    before when it was";
pub(crate) const TAGS: &[&str] = &[
    "work", "family", "health", "sleep", "friends", "self", "body", "money",
];
pub(crate) const EMOTIONS: &[&str] = &[
    "anxious", "calm", "sad", "hopeful", "tired", "grateful", "angry", "flat", "raw",
];

/// About 200 bytes of varied words, one tag, one emotion.
pub(crate) fn reflection(rng: &mut Rng, moment_ms: Option<i64>) -> v1::AddReflectionRequest {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut text = String::with_capacity(230);
    while text.len() < 200 {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(rng.pick(&words));
    }
    text.push('.');
    v1::AddReflectionRequest {
        text,
        tags: vec![rng.pick(TAGS).into()],
        emotions: vec![v1::Emotion {
            name: rng.pick(EMOTIONS).into(),
            intensity: (rng.next() % 101) as u32,
        }],
        moment: moment_ms.map(timestamp),
        ..Default::default()
    }
}

pub(crate) fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// 512-byte records appended to a file and `fdatasync`ed one at a time: what the journal does
/// for each group commit (opened for appending like the journal, so every sync also persists the
/// new length).
pub(crate) struct RawWriter {
    pub(crate) file: File,
    pub(crate) path: PathBuf,
    pub(crate) samples: Vec<Duration>,
}

impl RawWriter {
    pub(crate) fn open(dir: &Path) -> Result<RawWriter> {
        let path = dir.join("raw-fdatasync.bench");
        let file = File::options().create(true).append(true).open(&path)?;
        Ok(RawWriter {
            file,
            path,
            samples: Vec::new(),
        })
    }

    pub(crate) fn sync(&mut self, keep: bool) -> Result<()> {
        let t = Instant::now();
        self.file.write_all(&[0x5a; 512])?;
        self.file.sync_data()?;
        if keep {
            self.samples.push(t.elapsed());
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<Stats> {
        std::fs::remove_file(&self.path)?;
        Ok(stats(self.samples))
    }
}

/// On-CPU time of every thread of `pid` so far (`/proc/<pid>/task/*/schedstat`, nanoseconds).
pub(crate) fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}
