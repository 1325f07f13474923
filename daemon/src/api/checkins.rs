//! `interlude.v1.CheckIns`: schedules, waiting check-ins, the client's controls, and the event
//! stream.

use std::pin::Pin;
use std::sync::Arc;

use interlude_proto::v1;
use interlude_proto::v1::check_ins_server::CheckIns as CheckInsApi;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::acknowledge::Acknowledge;
use super::daemon::vault_state_to;
use super::safety::payload_to;
use super::timeline::emotion_from;
use super::{kind_to, timestamp};
use crate::checkins::{CheckIns, ControlsEdit, Origin, Pending, ScheduleView, StoredWhen};
use crate::domain::Kind;
use crate::error::invalid;
use crate::events::Event;
use crate::safety::Safety;
use crate::stopping::{Stopping, until_stopped};

pub struct CheckInsService {
    pub checkins: CheckIns,
    pub safety: Arc<Safety>,
    pub acknowledge: Acknowledge,
    /// Open `Watch` streams end when the daemon stops.
    pub stopping: Stopping,
}

type EventStream = Pin<Box<dyn Stream<Item = Result<v1::Event, Status>> + Send>>;

#[tonic::async_trait]
impl CheckInsApi for CheckInsService {
    async fn list_schedules(
        &self,
        _: Request<v1::ListSchedulesRequest>,
    ) -> Result<Response<v1::ListSchedulesResponse>, Status> {
        let schedules = self.checkins.schedules().await?;
        Ok(Response::new(v1::ListSchedulesResponse {
            schedules: schedules.into_iter().map(schedule_to).collect(),
        }))
    }

    async fn add_schedule(
        &self,
        request: Request<v1::AddScheduleRequest>,
    ) -> Result<Response<v1::Schedule>, Status> {
        let r = request.into_inner();
        let when = when_from(r.when)?;
        let id = Some(r.id).filter(|id| !id.is_empty());
        let view = self.checkins.add_schedule(when, r.prompt, id).await?;
        Ok(Response::new(schedule_to(view)))
    }

    async fn remove_schedule(
        &self,
        request: Request<v1::RemoveScheduleRequest>,
    ) -> Result<Response<v1::RemoveScheduleResponse>, Status> {
        self.checkins
            .remove_schedule(&request.into_inner().id)
            .await?;
        Ok(Response::new(v1::RemoveScheduleResponse {}))
    }

    async fn set_schedule_enabled(
        &self,
        request: Request<v1::SetScheduleEnabledRequest>,
    ) -> Result<Response<v1::Schedule>, Status> {
        let r = request.into_inner();
        let view = self.checkins.set_enabled(&r.id, r.enabled).await?;
        Ok(Response::new(schedule_to(view)))
    }

    async fn list_pending(
        &self,
        _: Request<v1::ListPendingRequest>,
    ) -> Result<Response<v1::ListPendingResponse>, Status> {
        let view = self.checkins.pending().await?;
        Ok(Response::new(v1::ListPendingResponse {
            pending: view.pending.into_iter().map(pending_to).collect(),
            next_at: view.next_at.and_then(timestamp),
            scheduling: view.scheduling,
        }))
    }

    async fn respond(
        &self,
        request: Request<v1::RespondRequest>,
    ) -> Result<Response<v1::AddReflectionResponse>, Status> {
        let r = request.into_inner();
        let emotions = r.emotions.into_iter().map(emotion_from).collect();
        let added = self
            .checkins
            .respond(&r.checkin_id, r.text, emotions)
            .await?;
        Ok(Response::new(
            self.acknowledge.reflection(added, Kind::CheckIn).await,
        ))
    }

    async fn dismiss(
        &self,
        request: Request<v1::DismissRequest>,
    ) -> Result<Response<v1::DismissResponse>, Status> {
        self.checkins
            .dismiss(&request.into_inner().checkin_id)
            .await?;
        Ok(Response::new(v1::DismissResponse {}))
    }

    async fn snooze(
        &self,
        request: Request<v1::SnoozeRequest>,
    ) -> Result<Response<v1::Controls>, Status> {
        let controls = self.checkins.snooze(request.into_inner().minutes).await?;
        Ok(Response::new(controls_to(controls)))
    }

    async fn pause(
        &self,
        request: Request<v1::PauseRequest>,
    ) -> Result<Response<v1::Controls>, Status> {
        let controls = self.checkins.pause(&request.into_inner().through).await?;
        Ok(Response::new(controls_to(controls)))
    }

    async fn resume(
        &self,
        _: Request<v1::ResumeRequest>,
    ) -> Result<Response<v1::Controls>, Status> {
        Ok(Response::new(controls_to(self.checkins.resume().await?)))
    }

    async fn get_controls(
        &self,
        _: Request<v1::GetControlsRequest>,
    ) -> Result<Response<v1::Controls>, Status> {
        Ok(Response::new(controls_to(self.checkins.controls().await?)))
    }

    async fn set_controls(
        &self,
        request: Request<v1::SetControlsRequest>,
    ) -> Result<Response<v1::Controls>, Status> {
        let r = request.into_inner();
        let edit = ControlsEdit {
            quiet_start: r.quiet_start,
            quiet_end: r.quiet_end,
            daily_cap: r.daily_cap,
        };
        Ok(Response::new(controls_to(
            self.checkins.set_controls(edit).await?,
        )))
    }

    type WatchStream = EventStream;

    async fn watch(&self, _: Request<v1::WatchRequest>) -> Result<Response<EventStream>, Status> {
        // Subscribe before reading the current state so no change falls in between.
        let events = BroadcastStream::new(self.checkins.events().subscribe());
        let now = Event::Vault(self.checkins.vault().state());
        let safety = self.safety.clone();
        let stream = tokio_stream::once(Ok(now))
            .chain(events)
            // A watcher that fell behind misses the oldest events and carries on.
            .filter_map(move |event| event.ok().map(|e| Ok(event_to(e, &safety))));
        Ok(Response::new(Box::pin(until_stopped(
            stream,
            &self.stopping,
        ))))
    }
}

fn event_to(event: Event, safety: &Safety) -> v1::Event {
    use v1::event::Kind;
    let kind = match event {
        Event::CheckInDue(pending) => Kind::CheckInDue(pending_to(pending)),
        Event::ReflectionAdded {
            added,
            kind,
            resurfaced,
        } => Kind::ReflectionAdded(v1::ReflectionAdded {
            id: added.id,
            kind: kind_to(kind).into(),
            moment: timestamp(added.moment),
            sealed: added.sealed,
            safety: added
                .crisis
                .map(|tier| payload_to(safety.payload(Some(tier)))),
            resurfaced: resurfaced
                .into_iter()
                .map(|r| v1::ResurfacedRef {
                    id: r.id,
                    moment: timestamp(r.moment),
                    from_session: r.from_session,
                })
                .collect(),
        }),
        Event::Vault(state) => Kind::Vault(vault_state_to(state).into()),
    };
    v1::Event { kind: Some(kind) }
}

fn when_from(when: Option<v1::When>) -> Result<StoredWhen, Status> {
    use v1::when::Kind;
    let missing = || Status::from(invalid("say when: after a session, daily, or weekly"));
    Ok(match when.and_then(|w| w.kind).ok_or_else(missing)? {
        Kind::AfterSessionHours(hours) => StoredWhen::AfterSession { hours },
        Kind::Daily(at) => StoredWhen::Daily { at },
        Kind::Weekly(w) => StoredWhen::Weekly {
            days: w.days,
            at: w.at,
        },
    })
}

fn when_to(when: &StoredWhen) -> v1::When {
    use v1::when::Kind;
    let kind = match when.clone() {
        StoredWhen::AfterSession { hours } => Kind::AfterSessionHours(hours),
        StoredWhen::Daily { at } => Kind::Daily(at),
        StoredWhen::Weekly { days, at } => Kind::Weekly(v1::Weekly { days, at }),
    };
    v1::When { kind: Some(kind) }
}

fn schedule_to(view: ScheduleView) -> v1::Schedule {
    let source = view.source;
    v1::Schedule {
        when: Some(when_to(&StoredWhen::from_when(&source.when))),
        enabled: view.enabled,
        origin: match source.origin {
            Origin::BuiltIn => v1::ScheduleOrigin::BuiltIn,
            Origin::Plugin => v1::ScheduleOrigin::Plugin,
            Origin::Own => v1::ScheduleOrigin::Own,
        }
        .into(),
        plugin_id: source.plugin_id,
        prompt: source.prompt,
        id: source.id,
    }
}

fn pending_to(p: Pending) -> v1::PendingCheckIn {
    v1::PendingCheckIn {
        id: p.id,
        schedule_id: p.schedule_id,
        prompt: p.prompt,
        due_at: timestamp(p.due_at),
    }
}

fn controls_to(c: crate::checkins::ControlsView) -> v1::Controls {
    v1::Controls {
        quiet_start: c.quiet_start,
        quiet_end: c.quiet_end,
        daily_cap: c.daily_cap,
        snoozed_until: c.snoozed_until.and_then(timestamp),
        paused_through: c.paused_through.unwrap_or_default(),
    }
}
