//! The counts of the Outreach view, kept as events happen: what one
//! enrollment adds to its campaign's counts, and how a write of it changes
//! them. Both stores move a campaign's counts by [`change`] in the same
//! transaction as the enrollment write (issue 19 item 7), so the view reads a
//! few counters instead of every enrollment, and the counts always agree
//! with a recount of the enrollments ([`recount`]).

use std::collections::BTreeMap;

use outreach_domain::enrollment::{AttemptState, Enrollment, EnrollmentStatus};

/// A campaign's counts by name (see [`counted`] for the names); absent is 0.
pub type Tally = BTreeMap<String, i64>;

/// The counter of enrollments in `status`.
pub fn status_counter(status: EnrollmentStatus) -> String {
    format!("status:{}", status.as_str())
}

/// Blocked enrollments held because the candidate is contacted by another
/// running campaign.
pub const DUPLICATES: &str = "duplicates";

/// The counter of step `index` (from 1) for `what` (`sent`, `delivered`,
/// `bounced`, `replied`, `unsubscribed`).
pub fn step_counter(index: u32, what: &str) -> String {
    format!("step:{index}:{what}")
}

/// The counters one enrollment adds 1 to, as the Outreach view defines them
/// its status; `duplicates` when blocked as a duplicate; for each
/// step, sent (handed off at least once, whatever came back since),
/// delivered or bounced (its latest attempt); a reply or an unsubscribe on
/// the last step the candidate received.
pub fn counted(e: &Enrollment) -> Vec<String> {
    let mut names = vec![status_counter(e.status)];
    if e.status == EnrollmentStatus::Blocked
        && e.blocked_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("duplicate:"))
    {
        names.push(DUPLICATES.to_owned());
    }
    let mut last_sent = None;
    for s in &e.steps {
        let Some(a) = s.latest() else { continue };
        if s.attempts
            .iter()
            .any(|a| a.sent_at.is_some() && a.state != AttemptState::Claimed)
        {
            names.push(step_counter(s.index, "sent"));
        }
        match a.state {
            AttemptState::Delivered => names.push(step_counter(s.index, "delivered")),
            AttemptState::Bounced | AttemptState::SoftBounced => {
                names.push(step_counter(s.index, "bounced"))
            }
            _ => {}
        }
        if s.attempts.iter().any(|a| a.sent_at.is_some()) {
            last_sent = Some(s.index);
        }
    }
    if let Some(i) = last_sent {
        match e.status {
            EnrollmentStatus::Replied => names.push(step_counter(i, "replied")),
            EnrollmentStatus::Unsubscribed => names.push(step_counter(i, "unsubscribed")),
            _ => {}
        }
    }
    names
}

/// What an enrollment counts in: the Outreach view's counters
/// ([`counted`]) and the statistics' ([`crate::stats::counted_enrollment`]).
/// Stores move both by [`change`] of this, and tell the statistics' by
/// their prefix ([`crate::stats::split`]).
pub fn counted_with_stats(e: &Enrollment) -> Vec<String> {
    let mut names = counted(e);
    names.extend(crate::stats::counted_enrollment(e));
    names
}

/// Only the Outreach view's counters of `tally` (not the statistics').
pub fn view_only(tally: &Tally) -> Tally {
    tally
        .iter()
        .filter(|(name, _)| crate::stats::split(name).is_none())
        .map(|(n, v)| (n.clone(), *v))
        .collect()
}

/// How the counts move when an enrollment counted as `before` (nothing, for
/// a new one) is written as `after`: only the counters that change.
pub fn change(before: &[String], after: &[String]) -> Tally {
    let mut delta = Tally::new();
    for name in before {
        *delta.entry(name.clone()).or_default() -= 1;
    }
    for name in after {
        *delta.entry(name.clone()).or_default() += 1;
    }
    delta.retain(|_, d| *d != 0);
    delta
}

/// Adds `delta` into `tally`, leaving out counters at zero.
pub fn add(tally: &mut Tally, delta: &Tally) {
    for (name, d) in delta {
        *tally.entry(name.clone()).or_default() += d;
    }
    tally.retain(|_, v| *v != 0);
}

/// The counts of `enrollments` computed from scratch: what the kept counts
/// must always equal.
pub fn recount<'a>(enrollments: impl IntoIterator<Item = &'a Enrollment>) -> Tally {
    let mut tally = Tally::new();
    for e in enrollments {
        add(&mut tally, &change(&[], &counted(e)));
    }
    tally
}
