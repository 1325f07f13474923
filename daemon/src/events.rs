//! What happens in the daemon, for anyone watching (a tray app, a web page, the check-in
//! notifier). Events carry ids and states, never the client's text. Built from the domain's data
//! types only, so any module can publish without `events` knowing the module.

use tokio::sync::broadcast;

use crate::domain::{Added, Kind, Millis, Pending, VaultState};

#[derive(Debug, Clone)]
pub enum Event {
    CheckInDue(Pending),
    ReflectionAdded {
        added: Added,
        kind: Kind,
        /// What resurfaced for it: which entries, never their text.
        resurfaced: Vec<EarlierEntry>,
    },
    Vault(VaultState),
}

/// An earlier entry that resurfaced, by id and date.
#[derive(Debug, Clone)]
pub struct EarlierEntry {
    pub id: String,
    pub moment: Millis,
    pub from_session: bool,
}

/// A broadcast of [`Event`]s. A watcher that falls far behind misses the oldest events rather
/// than slowing the daemon down.
#[derive(Clone)]
pub struct Events {
    sender: broadcast::Sender<Event>,
}

/// How many events a slow watcher may fall behind before it misses some.
const BACKLOG: usize = 64;

impl Events {
    pub fn new() -> Events {
        Events {
            sender: broadcast::channel(BACKLOG).0,
        }
    }

    /// Nobody watching is fine: the event is simply dropped.
    pub fn publish(&self, event: Event) {
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

impl Default for Events {
    fn default() -> Self {
        Events::new()
    }
}
