//! The send planner: when each step of an enrollment leaves.
//!
//! OWNER: planner helper — see the task description. The signatures below are
//! the contract the application layer codes against.

use crate::campaign::WhenToSend;
use crate::zone::Zone;
use chrono::{DateTime, NaiveDateTime, Utc};

/// What the planner needs to know to plan one enrollment.
#[derive(Debug, Clone, Copy)]
pub struct PlanRequest<'a> {
    /// The enrollment id: the seed of its deterministic jitter (with the step index).
    pub enrollment: &'a str,
    /// S: the moment the campaign started, the enrollment was added, or (on a
    /// re-plan of an overdue step, R-10.1) the resume moment.
    pub start: DateTime<Utc>,
    /// The zone whose wall clock the rules use.
    pub zone: Zone,
    pub when: WhenToSend,
    pub skip_weekends: bool,
    /// `delay_days` of every step of the campaign, index 0 being step 1.
    pub delays: &'a [u32],
    /// 0-based index of the step planned with the first-step rules; the steps
    /// after it follow from it. 0 for a fresh plan.
    pub from_step: usize,
}

/// The end of the grace period that starts at `start`.
pub fn grace_end(start: DateTime<Utc>) -> DateTime<Utc> {
    start + chrono::Duration::minutes(crate::campaign::GRACE_MINUTES)
}

/// Planned instants of steps `from_step..delays.len()`, whole minutes, strictly increasing.
pub fn plan(_req: &PlanRequest<'_>) -> Vec<DateTime<Utc>> {
    todo!("planner helper")
}

/// The instant of a wall-clock time in `zone`: a time inside a
/// spring-forward gap moves forward by the gap's length; an ambiguous one takes
/// the earlier instant.
pub fn resolve_local(_zone: Zone, _local: NaiveDateTime) -> DateTime<Utc> {
    todo!("planner helper")
}
