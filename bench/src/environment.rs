//! Where the run happened: kernel, CPU, load, filesystem, build.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::workload::now_ms;

pub(crate) struct Environment {
    pub(crate) mode: &'static str,
    pub(crate) date: String,
    pub(crate) kernel: String,
    pub(crate) cpu: String,
    pub(crate) cores: usize,
    /// The 1-minute load average when the run started: other work skews every figure.
    pub(crate) load: String,
    pub(crate) fs_type: String,
    pub(crate) fs_device: String,
    pub(crate) interluded: PathBuf,
}

impl Environment {
    pub(crate) fn probe(
        quick: bool,
        fs_type: &str,
        fs_device: &str,
        interluded: &Path,
    ) -> Environment {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        Environment {
            mode: if quick { "quick" } else { "full" },
            date: utc_date(now_ms() / 1000),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            cpu,
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            load: std::fs::read_to_string("/proc/loadavg")
                .ok()
                .and_then(|l| l.split_whitespace().next().map(str::to_string))
                .unwrap_or_default(),
            fs_type: fs_type.into(),
            fs_device: fs_device.into(),
            interluded: interluded.to_path_buf(),
        }
    }

    pub(crate) fn json(&self) -> Value {
        json!({
            "mode": self.mode, "date": self.date, "kernel": self.kernel, "cpu": self.cpu, "cores": self.cores, "load_at_start": self.load,
            "filesystem": self.fs_type, "device": self.fs_device, "interluded": self.interluded,
        })
    }
}

/// The filesystem type and device holding `path`: the longest matching mount point.
pub(crate) fn filesystem_of(path: &Path) -> (String, String) {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut best: Option<(usize, String, String)> = None;
    for line in mounts.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 {
            continue;
        }
        let mount_point = fields[1].replace("\\040", " ");
        let depth = Path::new(&mount_point).components().count();
        if path.starts_with(&mount_point) && best.as_ref().is_none_or(|(d, ..)| depth >= *d) {
            best = Some((depth, fields[2].to_string(), fields[0].to_string()));
        }
    }
    best.map_or_else(|| ("unknown".into(), "unknown".into()), |(_, t, d)| (t, d))
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub(crate) fn utc_date(secs: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
