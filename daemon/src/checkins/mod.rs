//! Gentle check-ins. So far: when they are due ([`schedule`]); the scheduler task, storage and
//! notifications come with the check-ins work.

pub mod schedule;
