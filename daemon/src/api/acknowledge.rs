//! What every RPC that saves a reflection does once it is durable (AddReflection, a check-in
//! answer, an exercise result): tell watchers, and answer with the safety payload and the earlier
//! entries the new one resembles.

use std::sync::Arc;

use interlude_proto::v1;

use super::safety::payload_to;
use super::timestamp;
use crate::domain::Kind;
use crate::events::{EarlierEntry, Event, Events};
use crate::safety::Safety;
use crate::search::{Resurfaced, Search};
use crate::timeline::Added;

#[derive(Clone)]
pub struct Acknowledge {
    pub safety: Arc<Safety>,
    pub events: Events,
    pub search: Search,
}

impl Acknowledge {
    /// Never an error: the reflection is saved already, and resurfacing only adds to the answer.
    pub async fn reflection(&self, added: Added, kind: Kind) -> v1::AddReflectionResponse {
        // When the crisis check fired, watchers hear at once: the safety payload never waits.
        let crisis = added.crisis.is_some();
        if crisis {
            self.publish(&added, kind, &[]);
        }
        let resurfaced = self.search.resurface(&added.id).await;
        if !crisis {
            self.publish(&added, kind, &resurfaced);
        }
        v1::AddReflectionResponse {
            id: added.id,
            moment: timestamp(added.moment),
            sealed: added.sealed,
            safety: added
                .crisis
                .map(|tier| payload_to(self.safety.payload(Some(tier)))),
            resurfaced: resurfaced.into_iter().map(resurfaced_to).collect(),
        }
    }

    /// Ids and dates only: events never carry the client's text.
    fn publish(&self, added: &Added, kind: Kind, resurfaced: &[Resurfaced]) {
        self.events.publish(Event::ReflectionAdded {
            added: added.clone(),
            kind,
            resurfaced: resurfaced
                .iter()
                .map(|r| EarlierEntry {
                    id: r.id.clone(),
                    moment: r.moment,
                    from_session: r.from_session,
                })
                .collect(),
        });
    }
}

fn resurfaced_to(r: Resurfaced) -> v1::Resurfaced {
    v1::Resurfaced {
        id: r.id,
        moment: timestamp(r.moment),
        text: r.text,
        similarity: r.similarity,
        from_session: r.from_session,
        helpful: r.helpful,
    }
}
