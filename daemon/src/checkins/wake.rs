//! Sleeping until a moment on the wall clock. A monotonic timer (tokio's) stops while the
//! machine is suspended and ignores clock changes, so after a night asleep it would fire hours
//! late. On Linux a `CLOCK_REALTIME` timerfd fires at the wall-clock moment, including right
//! after a resume, and wakes early if the clock is set, so the caller can plan again.

use jiff::Timestamp;

#[cfg(target_os = "linux")]
pub async fn until(at: Timestamp) -> std::io::Result<()> {
    use rustix::io::Errno;
    use rustix::time::{
        Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
        timerfd_settime,
    };
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    let fd = timerfd_create(
        TimerfdClockId::Realtime,
        TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
    )?;
    let spec = Itimerspec {
        it_interval: Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        // A moment already past fires at once.
        it_value: Timespec {
            tv_sec: at.as_second().max(0),
            tv_nsec: i64::from(at.subsec_nanosecond().max(0)),
        },
    };
    timerfd_settime(
        &fd,
        TimerfdTimerFlags::ABSTIME | TimerfdTimerFlags::CANCEL_ON_SET,
        &spec,
    )?;
    // Deprecated because a borrowed fd could be closed and reused behind tokio's back; this
    // `OwnedFd` is moved in and closed only when the `AsyncFd` drops. The replacement is `unsafe`.
    #[allow(deprecated)]
    let fd = AsyncFd::with_interest(fd, Interest::READABLE)?;
    loop {
        let mut ready = fd.readable().await?;
        let mut expirations = [0u8; 8];
        match rustix::io::read(ready.get_inner(), &mut expirations) {
            // Fired, or the clock was set: either way the caller looks again.
            Ok(_) | Err(Errno::CANCELED) => return Ok(()),
            Err(Errno::AGAIN) => ready.clear_ready(),
            Err(err) => return Err(err.into()),
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub async fn until(at: Timestamp) -> std::io::Result<()> {
    // A moment already past converts to an error: no wait.
    let wait = std::time::Duration::try_from(Timestamp::now().duration_until(at));
    tokio::time::sleep(wait.unwrap_or_default()).await;
    Ok(())
}
