//! Gentle check-ins: when they come (`schedule`, pure), where schedules come from (`sources`),
//! what is remembered (`state`), and the running scheduler (`runner`) that wakes only when
//! something is due and hands check-ins to a [`notifier::Notifier`].
//!
//! The scheduler needs the vault's secret key once after the daemon starts, to read its state;
//! from then on it keeps only timing in memory (schedule times, session times, controls), so it
//! keeps working while the vault is idle-locked, and writes its state sealed.

pub mod notifier;
mod runner;
pub mod schedule;
pub(crate) mod sources;
mod state;
mod wake;

pub use runner::{Delivery, run};
pub use sources::{LOCKED_PROMPT, Origin, Source, from_catalog};
pub use state::{Pending, StoredWhen};

use std::sync::{Arc, PoisonError, RwLock};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use tokio::sync::{Mutex, Notify};

use crate::domain::{Emotion, Kind, Millis, NewReflection, now_millis};
use crate::error::{Error, Result, invalid};
use crate::events::{Event, Events};
use crate::stopping::Stopping;
use crate::store::Store;
use crate::timeline::{Added, Timeline};
use crate::vault::{Vault, VaultState};
use schedule::{Planner, Schedule};
use state::{OwnSchedule, State, StoredControls};

/// A waiting check-in nobody answered lapses after this long.
const PENDING_LIFETIME_MS: Millis = 12 * 3600 * 1000;
/// Deliveries older than this no longer count towards any daily cap.
const DELIVERED_KEPT_MS: Millis = 9 * 24 * 3600 * 1000;
const MAX_OWN_SCHEDULES: usize = 32;
const MAX_PROMPT_BYTES: usize = 500;

#[derive(Clone)]
pub struct CheckIns {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    vault: Arc<Vault>,
    timeline: Timeline,
    events: Events,
    /// Plugin and built-in schedules; the plugin ones are replaced when the plugins change.
    sources: RwLock<Arc<Vec<Source>>>,
    loaded: Mutex<Option<Loaded>>,
    changed: Notify,
}

struct Loaded {
    state: State,
    /// When logged therapy sessions took place.
    sessions: Vec<Timestamp>,
}

/// A schedule as the client sees it.
#[derive(Debug, Clone)]
pub struct ScheduleView {
    pub source: Source,
    pub enabled: bool,
}

#[derive(Debug, Clone)]
pub struct PendingView {
    pub pending: Option<Pending>,
    pub next_at: Option<Millis>,
    pub scheduling: bool,
}

pub type ControlsView = StoredControls;

/// A change to the client's controls; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ControlsEdit {
    pub quiet_start: Option<String>,
    pub quiet_end: Option<String>,
    pub daily_cap: Option<u32>,
}

impl CheckIns {
    /// `plugin_sources`: schedules of enabled plugins, ahead of the built-in ones so that a
    /// plugin's question wins when both come due at the same moment.
    pub fn new(
        store: Store,
        vault: Arc<Vault>,
        timeline: Timeline,
        events: Events,
        plugin_sources: Vec<Source>,
    ) -> CheckIns {
        CheckIns {
            inner: Arc::new(Inner {
                store,
                vault,
                timeline,
                events,
                sources: RwLock::new(with_built_in(plugin_sources)),
                loaded: Mutex::new(None),
                changed: Notify::new(),
            }),
        }
    }

    /// Puts the schedules of the plugins now in effect in place of the earlier ones (see
    /// [`from_catalog`]); the client's on/off choices stay with each schedule's id. A schedule
    /// that appears counts from now: like a looser rule, it never delivers what came before.
    pub async fn set_plugin_sources(&self, plugin_sources: Vec<Source>) {
        let mut loaded = self.inner.loaded.lock().await;
        *self
            .inner
            .sources
            .write()
            .unwrap_or_else(PoisonError::into_inner) = with_built_in(plugin_sources);
        if let Some(loaded) = loaded.as_mut() {
            // In memory only, like every look that delivers nothing.
            lapse_until_now(&mut loaded.state);
        }
        drop(loaded);
        self.inner.changed.notify_one();
    }

    fn sources(&self) -> Arc<Vec<Source>> {
        // Replacing is one assignment, so a poisoned lock still holds whole sources.
        Arc::clone(
            &self
                .inner
                .sources
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    pub fn vault(&self) -> &Arc<Vault> {
        &self.inner.vault
    }

    pub fn events(&self) -> &Events {
        &self.inner.events
    }

    /// Reads the stored state and session times once the vault is unlocked. Idempotent.
    pub async fn load(&self) -> Result<()> {
        let mut loaded = self.inner.loaded.lock().await;
        if loaded.is_some() {
            return Ok(());
        }
        let keys = self.inner.vault.keys()?;
        let mut state = match state::load(&self.inner.store, &keys) {
            Ok(state) => state,
            Err(err @ Error::Damaged { .. }) => {
                // Only preferences and timing live here; start again rather than stop check-ins.
                tracing::error!(error = %err, "check-in state unreadable; using the defaults");
                State::default()
            }
            Err(err) => return Err(err),
        };
        // A first start has nothing overdue.
        state.looked_at.get_or_insert_with(now_millis);
        *loaded = Some(Loaded {
            state,
            sessions: self.session_times()?,
        });
        drop(loaded);
        self.inner.changed.notify_one();
        Ok(())
    }

    /// Call after sessions are added, edited or removed (the vault is unlocked then).
    pub async fn sessions_changed(&self) {
        let times = self.session_times();
        let mut loaded = self.inner.loaded.lock().await;
        match (loaded.as_mut(), times) {
            (Some(loaded), Ok(times)) => loaded.sessions = times,
            (_, Err(err)) => tracing::warn!(error = %err, "could not read session times"),
            (None, _) => {}
        }
        drop(loaded);
        self.inner.changed.notify_one();
    }

    fn session_times(&self) -> Result<Vec<Timestamp>> {
        Ok(self
            .inner
            .timeline
            .list_sessions(None, None, usize::MAX)?
            .sessions
            .iter()
            .filter_map(|s| Timestamp::from_millisecond(s.held_at).ok())
            .collect())
    }

    /// While locked, the client's own questions (their words) are not shown.
    pub async fn schedules(&self) -> Result<Vec<ScheduleView>> {
        let locked = self.locked();
        self.with_state(|state| {
            let mut views = views(&self.sources(), state);
            if locked {
                for view in views.iter_mut().filter(|v| v.source.origin == Origin::Own) {
                    view.source.prompt = LOCKED_PROMPT.into();
                }
            }
            Ok(views)
        })
        .await
    }

    fn locked(&self) -> bool {
        self.inner.vault.state() != VaultState::Unlocked
    }

    /// Adds one of the client's own schedules, under `id` when given (an import keeps the
    /// exported one's).
    pub async fn add_schedule(
        &self,
        when: StoredWhen,
        prompt: String,
        id: Option<String>,
    ) -> Result<ScheduleView> {
        let when = when.parse()?;
        if prompt.len() > MAX_PROMPT_BYTES {
            return Err(invalid(format!(
                "a check-in question can be at most {MAX_PROMPT_BYTES} bytes"
            )));
        }
        let id = match id {
            Some(id) => own_id(&id)?,
            None => format!("own-{}", ulid::Ulid::new().to_string().to_lowercase()),
        };
        let own = OwnSchedule {
            id: id.clone(),
            when,
            prompt: prompt.trim().to_string(),
        };
        self.update(|state| {
            if state.own.len() >= MAX_OWN_SCHEDULES {
                return Err(invalid(format!(
                    "you have {MAX_OWN_SCHEDULES} schedules of your own; remove one first"
                )));
            }
            if state.own.iter().any(|s| s.id == own.id) {
                return Err(Error::AlreadyExists(format!(
                    "a schedule of yours with the id {} is already here",
                    own.id
                )));
            }
            state.own.push(own.clone());
            Ok(())
        })
        .await?;
        self.schedule(&id).await
    }

    pub async fn remove_schedule(&self, id: &str) -> Result<()> {
        let id = id.trim();
        self.update(|state| {
            let before = state.own.len();
            state.own.retain(|s| s.id != id);
            if state.own.len() == before {
                return Err(self.not_own(id));
            }
            state.switched.remove(id);
            Ok(())
        })
        .await
        .map(drop)
    }

    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<ScheduleView> {
        let id = id.trim().to_string();
        self.update(|state| {
            let known = views(&self.sources(), state)
                .iter()
                .any(|v| v.source.id == id);
            if !known {
                return Err(Error::NotFound {
                    what: "check-in schedule",
                    id: id.clone(),
                });
            }
            state.switched.insert(id.clone(), enabled);
            Ok(())
        })
        .await?;
        self.schedule(&id).await
    }

    async fn schedule(&self, id: &str) -> Result<ScheduleView> {
        self.schedules()
            .await?
            .into_iter()
            .find(|v| v.source.id == id)
            .ok_or_else(|| Error::NotFound {
                what: "check-in schedule",
                id: id.into(),
            })
    }

    fn not_own(&self, id: &str) -> Error {
        if self.sources().iter().any(|s| s.id == id) {
            invalid(format!(
                "{id} is not one of your own schedules; turn it off instead"
            ))
        } else {
            Error::NotFound {
                what: "check-in schedule",
                id: id.into(),
            }
        }
    }

    /// What waits for an answer and when the next check-in comes. Before the first unlock since
    /// the daemon started, nothing is scheduled yet, and it says so.
    pub async fn pending(&self) -> Result<PendingView> {
        let loaded = self.inner.loaded.lock().await;
        let Some(loaded) = loaded.as_ref() else {
            return Ok(PendingView {
                pending: None,
                next_at: None,
                scheduling: false,
            });
        };
        let now = Timestamp::now();
        let mut pending = live_pending(&loaded.state, now.as_millisecond()).cloned();
        if let Some(pending) = pending.as_mut().filter(|_| self.locked())
            && loaded.state.own.iter().any(|o| o.id == pending.schedule_id)
        {
            pending.prompt = LOCKED_PROMPT.into();
        }
        Ok(PendingView {
            pending,
            next_at: self.next_wake(loaded, now)?.map(|t| t.as_millisecond()),
            scheduling: true,
        })
    }

    /// Saves the answer as a reflection of kind check-in, linked to its question. Works while
    /// the vault is locked (the reflection is sealed until the next unlock).
    pub async fn respond(&self, id: &str, text: String, emotions: Vec<Emotion>) -> Result<Added> {
        let pending = self.take_pending(id).await?;
        let added = self
            .inner
            .timeline
            .add_reflection(NewReflection {
                text,
                kind: Kind::CheckIn,
                emotions,
                tags: Vec::new(),
                bring_to_session: false,
                private: false,
                moment: None,
                plugin_id: pending.plugin_id.clone(),
                exercise_id: String::new(),
                answers: Vec::new(),
                prompt_id: pending.prompt_id.clone(),
                prompt: pending.prompt.clone(),
                raised: None,
            })
            .await?;
        // Saved first: a failed save leaves the check-in waiting.
        self.update(|state| {
            state.pending.take_if(|p| p.id == pending.id);
            Ok(())
        })
        .await?;
        Ok(added)
    }

    async fn take_pending(&self, id: &str) -> Result<Pending> {
        self.with_state(|state| {
            live_pending(state, now_millis())
                .filter(|p| p.id == id.trim())
                .cloned()
                .ok_or_else(|| Error::NotFound {
                    what: "waiting check-in",
                    id: id.into(),
                })
        })
        .await
    }

    /// "Not now": the check-in lapses; nothing else is recorded.
    pub async fn dismiss(&self, id: &str) -> Result<()> {
        let pending = self.take_pending(id).await?;
        self.update(|state| {
            state.pending.take_if(|p| p.id == pending.id);
            Ok(())
        })
        .await
        .map(drop)
    }

    /// Nothing until `minutes` from now; a waiting check-in comes back then.
    pub async fn snooze(&self, minutes: u32) -> Result<StoredControls> {
        if minutes == 0 || minutes > 7 * 24 * 60 {
            return Err(invalid(
                "snooze for a time between 1 minute and 7 days; to stop for longer, pause",
            ));
        }
        let until = now_millis() + i64::from(minutes) * 60_000;
        self.update(|state| {
            state.controls.snoozed_until = Some(until);
            if let Some(pending) = state.pending.take() {
                state.snoozed = Some(pending);
            }
            Ok(())
        })
        .await
    }

    /// "On holiday": everything through `through` (a local date) lapses.
    pub async fn pause(&self, through: &str) -> Result<StoredControls> {
        let date = state::parse_date(through)?;
        let today = Timestamp::now().to_zoned(TimeZone::system()).date();
        if date < today {
            return Err(invalid(format!(
                "{date} has passed; pause through today or a later date"
            )));
        }
        self.update(|state| {
            state.controls.paused_through = Some(date.to_string());
            state.pending = None;
            state.snoozed = None;
            Ok(())
        })
        .await
    }

    /// Ends a snooze and a pause.
    pub async fn resume(&self) -> Result<StoredControls> {
        self.update(|state| {
            state.controls.snoozed_until = None;
            state.controls.paused_through = None;
            lapse_until_now(state);
            Ok(())
        })
        .await
    }

    pub async fn controls(&self) -> Result<StoredControls> {
        self.with_state(|state| Ok(state.controls.clone())).await
    }

    pub async fn set_controls(&self, edit: ControlsEdit) -> Result<StoredControls> {
        let parse = |t: Option<String>| t.map(|t| state::parse_time(&t).map(state::hh_mm));
        let (start, end) = (
            parse(edit.quiet_start).transpose()?,
            parse(edit.quiet_end).transpose()?,
        );
        if edit.daily_cap.is_some_and(|cap| cap > 24) {
            return Err(invalid("the daily cap is a number from 0 (none) to 24"));
        }
        self.update(|state| {
            let controls = &mut state.controls;
            controls.quiet_start = start.clone().unwrap_or(controls.quiet_start.clone());
            controls.quiet_end = end.clone().unwrap_or(controls.quiet_end.clone());
            controls.daily_cap = edit.daily_cap.unwrap_or(controls.daily_cap);
            lapse_until_now(state);
            Ok(())
        })
        .await
    }

    /// Reads the loaded state; before the first unlock since the daemon started there is none.
    async fn with_state<T>(&self, read: impl FnOnce(&State) -> Result<T>) -> Result<T> {
        let loaded = self.loaded_or_load().await?;
        let guard = loaded;
        read(&guard.as_ref().ok_or(Error::Locked)?.state)
    }

    async fn loaded_or_load(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Loaded>>> {
        if self.inner.loaded.lock().await.is_none() {
            self.load().await?;
        }
        Ok(self.inner.loaded.lock().await)
    }

    /// Changes the state durably, then in memory: a failed write changes nothing.
    async fn update(
        &self,
        change: impl FnOnce(&mut State) -> Result<()>,
    ) -> Result<StoredControls> {
        let mut guard = self.loaded_or_load().await?;
        let loaded = guard.as_mut().ok_or(Error::Locked)?;
        let mut next = loaded.state.clone();
        change(&mut next)?;
        let op = state::save(&self.inner.vault, &next)?;
        self.inner.store.commit(vec![op]).await?;
        loaded.state = next;
        let controls = loaded.state.controls.clone();
        drop(guard);
        self.inner.changed.notify_one();
        Ok(controls)
    }

    /// Resolves when schedules, controls or sessions changed.
    pub async fn changed(&self) {
        self.inner.changed.notified().await
    }

    /// When the scheduler should next look, if anything is scheduled at all.
    pub async fn next_look(&self) -> Result<Option<Timestamp>> {
        let loaded = self.inner.loaded.lock().await;
        match loaded.as_ref() {
            Some(loaded) => self.next_wake(loaded, Timestamp::now()),
            None => Ok(None),
        }
    }

    fn next_wake(&self, loaded: &Loaded, now: Timestamp) -> Result<Option<Timestamp>> {
        let (schedules, controls) = planning(&self.sources(), &loaded.state)?;
        let tz = TimeZone::system();
        let planner = Planner {
            schedules: &schedules,
            sessions: &loaded.sessions,
            controls: &controls,
            tz: &tz,
        };
        let planned = planner
            .next_after(now, &delivered(&loaded.state))
            .map(|o| o.at);
        let returning = loaded.state.snoozed.as_ref().and(controls.snoozed_until);
        Ok([planned, returning].into_iter().flatten().min())
    }

    /// Looks at `now`: delivers at most one check-in (the most recent due since the last look,
    /// or one coming back from a snooze) and remembers that it looked.
    pub async fn look(&self, now: Timestamp) -> Result<Option<Pending>> {
        let mut guard = self.inner.loaded.lock().await;
        let Some(loaded) = guard.as_mut() else {
            return Ok(None);
        };
        let sources = self.sources();
        let (schedules, controls) = planning(&sources, &loaded.state)?;
        let tz = TimeZone::system();
        let planner = Planner {
            schedules: &schedules,
            sessions: &loaded.sessions,
            controls: &controls,
            tz: &tz,
        };
        let state = &loaded.state;
        let since = state
            .looked_at
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .unwrap_or(now);
        let planned = planner.due(since, now, &delivered(state));
        let snooze_over = controls.snoozed_until.is_none_or(|until| until <= now);
        let mut next = state.clone();
        next.looked_at = Some(now.as_millisecond());
        let returning = if snooze_over {
            next.snoozed.take()
        } else {
            None
        };
        let delivery = match planned {
            Some(occurrence) => {
                let source = source(&sources, state, &occurrence.schedule_id)?;
                Some(Pending {
                    id: ulid::Ulid::new().to_string(),
                    schedule_id: source.id,
                    plugin_id: source.plugin_id,
                    prompt_id: source.prompt_id,
                    prompt: source.prompt,
                    due_at: occurrence.at.as_millisecond(),
                })
            }
            None => returning.map(|p| Pending {
                due_at: now.as_millisecond(),
                ..p
            }),
        };
        let Some(pending) = delivery else {
            // Only a delivery needs to be remembered across a restart.
            loaded.state.looked_at = next.looked_at;
            loaded.state.snoozed = next.snoozed;
            return Ok(None);
        };
        next.delivered.push(now.as_millisecond());
        next.delivered
            .retain(|&at| at > now.as_millisecond() - DELIVERED_KEPT_MS);
        next.pending = Some(pending.clone());
        let op = state::save(&self.inner.vault, &next)?;
        self.inner.store.commit(vec![op]).await?;
        loaded.state = next;
        drop(guard);
        self.inner
            .events
            .publish(Event::CheckInDue(pending.clone()));
        Ok(Some(pending))
    }
}

/// Plugin schedules ahead of the built-in ones, so that a plugin's question wins when both come
/// due at the same moment.
fn with_built_in(plugin_sources: Vec<Source>) -> Arc<Vec<Source>> {
    let mut sources = plugin_sources;
    sources.extend(sources::built_in());
    Arc::new(sources)
}

fn source(sources: &[Source], state: &State, id: &str) -> Result<Source> {
    views(sources, state)
        .into_iter()
        .map(|v| v.source)
        .find(|s| s.id == id)
        .ok_or_else(|| Error::Internal(format!("schedule {id} vanished")))
}

fn views(sources: &[Source], state: &State) -> Vec<ScheduleView> {
    let own = state.own.iter().filter_map(|o| sources::own(o).ok());
    sources
        .iter()
        .cloned()
        .chain(own)
        .map(|source| ScheduleView {
            enabled: state
                .switched
                .get(&source.id)
                .copied()
                .unwrap_or(source.on_by_default),
            source,
        })
        .collect()
}

fn planning(sources: &[Source], state: &State) -> Result<(Vec<Schedule>, schedule::Controls)> {
    let schedules = views(sources, state)
        .into_iter()
        .map(|v| Schedule {
            id: v.source.id,
            when: v.source.when,
            enabled: v.enabled,
        })
        .collect();
    Ok((schedules, state.controls.to_controls()?))
}

fn delivered(state: &State) -> Vec<Timestamp> {
    state
        .delivered
        .iter()
        .filter_map(|&ms| Timestamp::from_millisecond(ms).ok())
        .collect()
}

/// What the old rules kept back (a pause, the cap, quiet hours) has lapsed: looser rules apply
/// from now on, never to the past.
fn lapse_until_now(state: &mut State) {
    state.looked_at = Some(now_millis().max(state.looked_at.unwrap_or(0)));
}

fn live_pending(state: &State, now: Millis) -> Option<&Pending> {
    state
        .pending
        .as_ref()
        .filter(|p| now - p.due_at < PENDING_LIFETIME_MS)
}

/// Forwards lock state changes to the event stream.
pub async fn publish_vault_changes(vault: Arc<Vault>, events: Events, stopping: Stopping) {
    let mut changes = vault.subscribe();
    let stop = stopping.wait();
    tokio::pin!(stop);
    while tokio::select! {
        changed = changes.changed() => changed.is_ok(),
        () = &mut stop => false,
    } {
        let state: VaultState = *changes.borrow_and_update();
        events.publish(Event::Vault(state));
    }
}

/// An id given for one's own schedule: `own-` and a ULID, as the daemon makes them.
fn own_id(id: &str) -> Result<String> {
    let id = id.trim().to_lowercase();
    match id.strip_prefix("own-") {
        Some(ulid) if ulid::Ulid::from_string(ulid).is_ok() => Ok(id),
        _ => Err(invalid(format!(
            "`{}` is not an id of one of your own schedules (`own-` and a ULID)",
            id.chars().take(40).collect::<String>()
        ))),
    }
}
