//! The real `interluded`'s resident memory around the models: unlocked with no model loaded,
//! right after the first meaning search has loaded the embedder, with both models loaded (after
//! one `Models.Generate` and another search), and once the idle unload
//! (`models_idle_unload_minutes`, a few seconds here) has dropped both. Also how long that first
//! search takes (checksums + load + one embedding) against a second one with the model loaded.
//! Everything goes through the public API (`Models.Status` says what is loaded), so the figures
//! do not depend on how the generator works inside.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use interlude_proto::v1;
use interlude_proto::v1::models_client::ModelsClient;
use interlude_proto::v1::timeline_client::TimelineClient;

use super::idle_memory::{mib, proc_status_kib};
use super::single_client::unlocked_channel;

/// 3 s: long enough that the searches below never see an unload, short enough to wait for.
const IDLE_UNLOAD_MINUTES: f64 = 0.05;

pub struct Figures {
    pub unlocked_kib: u64,
    pub loaded_kib: u64,
    pub peak_kib: u64,
    pub both_kib: u64,
    pub both_peak_kib: u64,
    pub unloaded_kib: u64,
    /// Of `unloaded_kib`, pages of files (the binary):
    /// clean pages the kernel takes back when it needs them.
    pub unloaded_file_kib: u64,
    pub first_search: Duration,
    pub second_search: Duration,
}

pub fn measure(
    runtime: &tokio::runtime::Runtime,
    interluded: &Path,
    root: &Path,
) -> Result<Option<Figures>> {
    let mut daemon = super::real_daemon(interluded, root, true)?;
    let config = daemon.root.path().join("config.toml");
    let toml = std::fs::read_to_string(&config)?
        + &format!("models_idle_unload_minutes = {IDLE_UNLOAD_MINUTES}\n");
    std::fs::write(&config, toml)?;
    if interlude_e2e::install_models(&daemon.data_dir()).is_none() {
        return Ok(None);
    }
    daemon.launch();
    let pid = daemon.pid();
    // Before the unlock: the unlock itself loads the embedder (the crisis check's classifier
    // is warmed then), so this is the daemon without a model.
    std::thread::sleep(Duration::from_secs(1));
    let unlocked_kib = proc_status_kib(pid, "VmRSS")?;
    let channel = runtime.block_on(unlocked_channel(&daemon.socket(), true))?;

    let search = |query: &str| {
        let mut timeline = TimelineClient::new(channel.clone());
        let started = Instant::now();
        runtime.block_on(timeline.search(v1::SearchRequest {
            query: query.into(),
            ..Default::default()
        }))?;
        anyhow::Ok(started.elapsed())
    };
    let first_search = search("anxious before the meeting at work")?;
    let second_search = search("a walk by the lake helped me breathe")?;
    if !daemon.log().contains("embedding model loaded") {
        bail!(
            "the searches did not load the embedder; its log:\n{}",
            daemon.log()
        );
    }
    let loaded_kib = proc_status_kib(pid, "VmRSS")?;
    let peak_kib = proc_status_kib(pid, "VmHWM")?;

    // Both models: one short generation loads the generator, a search right after it (re)loads
    // the embedder if the generation outlasted its idle period. Measured only once `Models.Status`
    // says both are loaded, so the figure never mixes in an unload.
    let loaded = || {
        let mut models = ModelsClient::new(channel.clone());
        let status = runtime.block_on(models.status(v1::ModelsStatusRequest {}))?;
        let loaded: Vec<(String, bool)> = status
            .into_inner()
            .models
            .into_iter()
            .map(|m| (m.role, m.loaded))
            .collect();
        anyhow::Ok(loaded)
    };
    let mut both = None;
    for _ in 0..3 {
        let mut models = ModelsClient::new(channel.clone());
        runtime.block_on(async {
            let mut stream = models
                .generate(v1::GenerateRequest {
                    facts: vec!["\"work\" came up in 4 of 6 entries this week.".into()],
                    max_tokens: 16,
                    ..Default::default()
                })
                .await?
                .into_inner();
            while stream.message().await?.is_some() {}
            anyhow::Ok(())
        })?;
        search("slept badly and woke up tired")?;
        let rss = proc_status_kib(pid, "VmRSS")?;
        if loaded()?.iter().all(|(_, loaded)| *loaded) {
            both = Some(rss);
            break;
        }
    }
    let Some(both_kib) = both else {
        bail!(
            "the two models were never loaded at the same time; status {:?}",
            loaded()?
        );
    };
    let both_peak_kib = proc_status_kib(pid, "VmHWM")?;

    let deadline = Instant::now() + Duration::from_secs(60);
    while loaded()?.iter().any(|(_, loaded)| *loaded) {
        if Instant::now() > deadline {
            bail!(
                "the models were not unloaded within 60 s; its log:\n{}",
                daemon.log()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(1));
    let unloaded_kib = proc_status_kib(pid, "VmRSS").context("RSS after unload")?;
    let unloaded_file_kib = proc_status_kib(pid, "RssFile").context("RSS after unload")?;
    daemon.stop();
    super::progress(&format!(
        "   started {:.1} MiB, embedder loaded {:.1} MiB (peak {:.1}), both loaded {:.1} MiB \
         (peak {:.1}), both unloaded {:.1} MiB",
        mib(unlocked_kib),
        mib(loaded_kib),
        mib(peak_kib),
        mib(both_kib),
        mib(both_peak_kib),
        mib(unloaded_kib)
    ));
    Ok(Some(Figures {
        unlocked_kib,
        loaded_kib,
        peak_kib,
        both_kib,
        both_peak_kib,
        unloaded_kib,
        unloaded_file_kib,
        first_search,
        second_search,
    }))
}

impl Figures {
    /// Table rows: what, figure, reference, ratio, aim.
    pub fn rows(&self) -> Vec<[String; 5]> {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        vec![
            [
                "RSS of `interluded` with the embedder loaded (unlocked, after two searches; the \
                 generator not loaded yet)"
                    .into(),
                format!(
                    "{:.1} MiB (peak {:.1} MiB)",
                    mib(self.loaded_kib),
                    mib(self.peak_kib)
                ),
                format!(
                    "started, no model loaded: {:.1} MiB",
                    mib(self.unlocked_kib)
                ),
                format!("{:.2}×", self.loaded_kib as f64 / self.unlocked_kib as f64),
                "—".into(),
            ],
            [
                "RSS of `interluded` with both models loaded (after one `Models.Generate` of 16 \
                 tokens and a search)"
                    .into(),
                format!(
                    "{:.1} MiB (peak {:.1} MiB)",
                    mib(self.both_kib),
                    mib(self.both_peak_kib)
                ),
                format!(
                    "started, no model loaded: {:.1} MiB",
                    mib(self.unlocked_kib)
                ),
                format!("{:.2}×", self.both_kib as f64 / self.unlocked_kib as f64),
                "≤ 350 MB".into(),
            ],
            [
                format!(
                    "RSS of `interluded` after both models' idle unload ({} s without use)",
                    IDLE_UNLOAD_MINUTES * 60.0
                ),
                format!(
                    "{:.1} MiB ({:.1} MiB of it file pages, {:.1} MiB anonymous)",
                    mib(self.unloaded_kib),
                    mib(self.unloaded_file_kib),
                    mib(self.unloaded_kib - self.unloaded_file_kib)
                ),
                format!(
                    "started, no model loaded: {:.1} MiB",
                    mib(self.unlocked_kib)
                ),
                format!(
                    "{:.2}×",
                    self.unloaded_kib as f64 / self.unlocked_kib as f64
                ),
                "< 40 MB".into(),
            ],
            [
                "First meaning search of a run: SHA-256 of the model files, load, embed the query"
                    .into(),
                format!("{:.0} ms", ms(self.first_search)),
                format!(
                    "second search, model loaded: {:.1} ms",
                    ms(self.second_search)
                ),
                format!("{:.1}×", ms(self.first_search) / ms(self.second_search)),
                "—".into(),
            ],
        ]
    }
}
