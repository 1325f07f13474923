//! The daemon is stopping: one signal that background tasks and open streams watch, so a stop
//! never waits on a client that keeps a stream open and nothing is aborted mid-write.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::watch;
use tokio_stream::Stream;

/// Turns the signal on. Dropping it counts as stopping too.
pub struct StopSwitch(watch::Sender<bool>);

/// Watches for the stop. Cheap to clone.
#[derive(Clone)]
pub struct Stopping(watch::Receiver<bool>);

pub fn stopping() -> (StopSwitch, Stopping) {
    let (switch, stopping) = watch::channel(false);
    (StopSwitch(switch), Stopping(stopping))
}

impl StopSwitch {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl Stopping {
    /// Resolves once the daemon is stopping.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut watching = self.0.clone();
        async move {
            // An error means the switch is gone: that is a stop too.
            let _ = watching.wait_for(|stopping| *stopping).await;
        }
    }

    pub fn is_stopping(&self) -> bool {
        *self.0.borrow()
    }
}

/// `stream` until the daemon stops, then its end: the client sees the stream finish cleanly.
pub fn until_stopped<S>(stream: S, stopping: &Stopping) -> UntilStopped<S>
where
    S: Stream + Send,
{
    UntilStopped {
        stream: Box::pin(stream),
        stop: Box::pin(stopping.wait()),
        ended: false,
    }
}

pub struct UntilStopped<S> {
    stream: Pin<Box<S>>,
    stop: Pin<Box<dyn Future<Output = ()> + Send>>,
    ended: bool,
}

impl<S: Stream> Stream for UntilStopped<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        if this.ended || this.stop.as_mut().poll(cx).is_ready() {
            this.ended = true;
            return Poll::Ready(None);
        }
        match this.stream.as_mut().poll_next(cx) {
            Poll::Ready(None) => {
                this.ended = true;
                Poll::Ready(None)
            }
            other => other,
        }
    }
}
