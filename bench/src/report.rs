//! The report: the rows as a Markdown table for the README, and as JSON.

use std::time::Duration;

use serde_json::{Value, json};

use super::Counts;
use super::environment::Environment;
use super::idle_memory::{Memory, mib};
use super::list_week::ListFigures;
use super::single_client::SingleClient;
use super::start_up::StartFigures;
use crate::stats::{Stats, fmt_ms, ms, ratio, stats_json};

pub(crate) struct Row {
    pub(crate) step: &'static str,
    pub(crate) what: String,
    pub(crate) figure: String,
    pub(crate) reference: String,
    pub(crate) ratio: String,
    pub(crate) aim: String,
}

#[derive(Default)]
pub(crate) struct Report {
    pub(crate) rows: Vec<Row>,
    pub(crate) json: serde_json::Map<String, Value>,
}

impl Report {
    pub(crate) fn row(
        &mut self,
        step: &'static str,
        what: String,
        figure: String,
        reference: String,
        ratio: String,
        aim: &str,
    ) {
        self.rows.push(Row {
            step,
            what,
            figure,
            reference,
            ratio,
            aim: aim.into(),
        });
    }

    pub(crate) fn raw(&mut self, raw: &Stats, n: usize) {
        self.row(
            "1",
            format!(
                "Raw 512 B append + `fdatasync`, 1 writer, in the daemon's data directory, \
                 alternating with the adds of the next row (n={n})"
            ),
            format!("p50 {} · p99 {}", fmt_ms(raw.p50), fmt_ms(raw.p99)),
            "— (the reference for 2–3)".into(),
            "—".into(),
            "—",
        );
        self.json.insert("raw_fdatasync".into(), stats_json(raw));
    }

    pub(crate) fn single(&mut self, daemon: &str, single: &SingleClient, n: usize) {
        let (s, raw) = (&single.adds, &single.raw);
        let cpu = single
            .daemon_cpu_per_add
            .map(|cpu| format!(" (daemon CPU {} per add)", fmt_ms(cpu)))
            .unwrap_or_default();
        self.row(
            "2",
            format!("AddReflection, 1 client, sequential, {daemon} (n={n})"),
            format!("p50 {} · p99 {}{cpu}", fmt_ms(s.p50), fmt_ms(s.p99)),
            format!(
                "raw (alternating) p50 {} · p99 {}",
                fmt_ms(raw.p50),
                fmt_ms(raw.p99)
            ),
            format!(
                "p50 {} · p99 {}",
                ratio(ms(s.p50), ms(raw.p50)),
                ratio(ms(s.p99), ms(raw.p99))
            ),
            "p50 ≤ 1.5× raw",
        );
        let key = if single.info.is_some() {
            "add_single_client_real"
        } else {
            "add_single_client_in_process"
        };
        let mut value = stats_json(s);
        value["raw_alternating"] = stats_json(raw);
        value["p50_vs_raw_p50"] = json!(ms(s.p50) / ms(raw.p50));
        if let Some(cpu) = single.daemon_cpu_per_add {
            value["daemon_cpu_per_add_ms"] = json!(ms(cpu));
        }
        self.json.insert(key.into(), value);
        if let Some(info) = &single.info {
            self.round_trip(info, s, raw, n);
        }
    }

    pub(crate) fn round_trip(&mut self, info: &Stats, add: &Stats, raw: &Stats, n: usize) {
        let rest = ms(add.p50) - ms(raw.p50) - ms(info.p50);
        self.row(
            "2",
            format!(
                "`Daemon.Info` round trip, 1 client, real `interluded`: no disk, no vault (n={n})"
            ),
            format!("p50 {} · p99 {}", fmt_ms(info.p50), fmt_ms(info.p99)),
            format!(
                "AddReflection p50 {} ≈ raw {} + this {} + {rest:.3} ms other",
                fmt_ms(add.p50),
                fmt_ms(raw.p50),
                fmt_ms(info.p50)
            ),
            format!("p50 {} of AddReflection", ratio(ms(info.p50), ms(add.p50))),
            "—",
        );
        self.json
            .insert("info_round_trip_real".into(), stats_json(info));
    }

    pub(crate) fn concurrent(
        &mut self,
        clients: usize,
        total: usize,
        wall: Duration,
        s: &Stats,
        raw: &Stats,
        cpu_per_add: Duration,
    ) {
        let per_second = total as f64 / wall.as_secs_f64();
        let raw_per_second = 1.0 / raw.p50.as_secs_f64();
        self.row(
            "3",
            format!(
                "AddReflection, {clients} clients (own connections), {total} in all: throughput"
            ),
            format!(
                "{per_second:.0} /s (daemon CPU {} per add)",
                fmt_ms(cpu_per_add)
            ),
            format!("raw `fdatasync`s/s, 1 writer (1 / raw p50): {raw_per_second:.0} /s"),
            ratio(per_second, raw_per_second),
            "≥ 5,000 /s",
        );
        self.row(
            "3",
            format!("AddReflection, {clients} clients: latency"),
            format!("p50 {} · p99 {}", fmt_ms(s.p50), fmt_ms(s.p99)),
            format!("raw p50 {}", fmt_ms(raw.p50)),
            format!("p50 {}", ratio(ms(s.p50), ms(raw.p50))),
            "—",
        );
        let mut value = stats_json(s);
        value["clients"] = json!(clients);
        value["total"] = json!(total);
        value["wall_s"] = json!(wall.as_secs_f64());
        value["per_second"] = json!(per_second);
        value["raw_syncs_per_second"] = json!(raw_per_second);
        value["daemon_cpu_per_add_ms"] = json!(ms(cpu_per_add));
        self.json.insert("add_concurrent_real".into(), value);
    }

    pub(crate) fn crisis(&mut self, c: &Stats, raw: &Stats) {
        self.row(
            "7",
            format!(
                "Crisis check of one generated reflection (~200 B), n={}",
                c.n
            ),
            format!("p50 {} · p99 {}", fmt_ms(c.p50), fmt_ms(c.p99)),
            format!("raw fdatasync p50 {}", fmt_ms(raw.p50)),
            format!("p50 {}", ratio(ms(c.p50), ms(raw.p50))),
            "well under the write",
        );
        self.json.insert("crisis_check".into(), stats_json(c));
    }

    pub(crate) fn list(&mut self, l: &ListFigures, counts: &Counts) {
        let stored = counts.stored;
        let per_second = stored as f64 / l.populate_wall.as_secs_f64();
        self.row(
            "4",
            format!(
                "Filling the store: {stored} reflections over 2 years, {} clients",
                counts.clients
            ),
            format!(
                "{per_second:.0} /s ({:.1} s)",
                l.populate_wall.as_secs_f64()
            ),
            "—".into(),
            "—".into(),
            "—",
        );
        self.row(
            "4",
            format!(
                "ListReflections, one week of {stored} (returns {}), limit 1000, n={}",
                l.returned, l.list.n
            ),
            format!("p50 {} · p99 {}", fmt_ms(l.list.p50), fmt_ms(l.list.p99)),
            format!(
                "GetReflection of 1 id: p50 {} (list per item: {})",
                fmt_ms(l.get.p50),
                fmt_ms(l.list.p50 / l.returned.max(1) as u32)
            ),
            format!("p50 {}", ratio(ms(l.list.p50), ms(l.get.p50))),
            "p99 ≤ 10 ms",
        );
        self.row(
            "4",
            format!(
                "DeleteReflection with {stored} stored (rewrites the store), n={}",
                l.delete.n
            ),
            format!(
                "p50 {} · max {}",
                fmt_ms(l.delete.p50),
                fmt_ms(l.delete.max)
            ),
            format!("filling the store: {:.1} s", l.populate_wall.as_secs_f64()),
            format!("p50 {}", ratio(ms(l.delete.p50), ms(l.populate_wall))),
            "—",
        );
        self.json.insert(
            "list_week".into(),
            json!({
                "stored": stored,
                "populate_s": l.populate_wall.as_secs_f64(),
                "populate_per_second": per_second,
                "since_ms": l.since_ms,
                "returned": l.returned,
                "expected": l.expected,
                "first_call_ms": ms(l.first_call),
                "list": stats_json(&l.list),
                "get_one": stats_json(&l.get),
            }),
        );
    }

    pub(crate) fn memory(&mut self, m: &Memory) {
        self.row(
            "5",
            "RSS of `interluded` right after start (socket ready, before init)".into(),
            format!("{:.1} MiB", mib(m.after_start_kib)),
            "—".into(),
            "—".into(),
            "—",
        );
        self.row(
            "5",
            "RSS of `interluded` idle: init + unlock (default Argon2), 100 adds, 2 s later".into(),
            format!(
                "{:.1} MiB (peak {:.1} MiB)",
                mib(m.idle_kib),
                mib(m.peak_kib)
            ),
            format!("after start: {:.1} MiB", mib(m.after_start_kib)),
            ratio(m.idle_kib as f64, m.after_start_kib as f64),
            "≤ 25 MB",
        );
        self.json.insert(
            "rss".into(),
            json!({ "after_start_kib": m.after_start_kib, "idle_kib": m.idle_kib, "peak_kib": m.peak_kib }),
        );
    }

    pub(crate) fn start(&mut self, s: &StartFigures, runs: usize) {
        self.row(
            "6",
            format!("`interluded` start → socket ready, 100 reflections stored (n={runs})"),
            format!(
                "p50 {} · max {} (first gRPC answer: p50 {} · max {})",
                fmt_ms(s.ready.p50),
                fmt_ms(s.ready.max),
                fmt_ms(s.answered.p50),
                fmt_ms(s.answered.max)
            ),
            format!("spawn + wait `/bin/true`: p50 {}", fmt_ms(s.true_spawn.p50)),
            format!("p50 {}", ratio(ms(s.ready.p50), ms(s.true_spawn.p50))),
            "≤ 150 ms",
        );
        self.json.insert(
            "start_to_ready".into(),
            json!({
                "socket_ready": stats_json(&s.ready),
                "first_answer": stats_json(&s.answered),
                "bin_true": stats_json(&s.true_spawn),
            }),
        );
    }

    /// Rows a module under bench/ made: what, figure, reference, ratio, aim.
    pub(crate) fn external(&mut self, step: &'static str, key: &str, rows: Vec<[String; 5]>) {
        self.json.insert(key.into(), json!(rows));
        for [what, figure, reference, ratio, aim] in rows {
            self.row(step, what, figure, reference, ratio, &aim);
        }
    }

    pub(crate) fn markdown(&self, env: &Environment) -> String {
        let mut out = format!(
            "Interlude benchmark ({} run, {}): Linux {}, {}, {} cores, load {} at start, data on {} \
             ({}).\n\n",
            env.mode,
            env.date,
            env.kernel,
            env.cpu,
            env.cores,
            env.load,
            env.fs_type,
            env.fs_device
        );
        out += "| # | Measurement | Figure | Reference | Ratio | Aim |\n";
        out += "|---|---|---|---|---|---|\n";
        for r in &self.rows {
            out += &format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                r.step, r.what, r.figure, r.reference, r.ratio, r.aim
            );
        }
        out
    }
}
