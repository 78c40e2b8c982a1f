//! Statistics, kept as events happen: what one enrollment or one
//! reply record adds to its campaign's counters, each at its own time.
//!
//! A counter is named `@{bucket}@{step}:{metric}`: `bucket` is the quarter
//! hour (UTC) the event happened in ([`bucket`]), `step` the campaign step it
//! concerns, `metric` one of `sent`, `delivered`, `bounced`,
//! `unsubscribed`, `complaints`, `auto_replies`, `replied:{class}` and
//! `ttr:{seconds}` (one first reply that came that many seconds after the
//! send of the step it answers, so that the median is exact). Both stores
//! move them with the Outreach view's counts ([`crate::tally`]), in the same
//! atomic write as the enrollment or reply that changed, by the difference
//! between what the stored version and the new one count
//! ([`crate::tally::change`]) — so a retried or duplicated event never counts
//! twice, and the counters always equal a recount ([`recount`]).
//!
//! What counts (decisions where is silent, README "Statistics"):
//! - `sent`: every attempt handed to the mail service, at its hand-off (a
//!   re-send after a bounce is a message of its own);
//! - `delivered` / `bounced`: a sent attempt's outcome, at its arrival (a
//!   refusal at hand-off was never sent and is not a bounce);
//! - `unsubscribed`: an enrollment ended `unsubscribed` (link, an opt-out
//!   reply, another campaign's complaint), on the last step it sent, at the
//!   opt-out; `complaints`: a complaint about the enrollment's own message,
//!   at its first arrival, whatever the enrollment's state;
//! - `replied:{class}`: the enrollment's first reply (not an automatic one)
//!   that ended it `replied`, by its class as it stands (a correction moves
//!   it), at its arrival, on the step it answers; `auto_replies`: every
//!   automatic reply.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDateTime, Timelike, Utc};
use outreach_domain::enrollment::{AttemptState, Enrollment, EnrollmentStatus};

use crate::reply::Reply;
use crate::tally::Tally;

/// The length of a bucket: every time zone's offset is a multiple of it, so
/// a local day, week or month is a whole number of buckets.
pub const BUCKET_MINUTES: u32 = 15;
/// The first character of a statistics counter's name (module docs).
pub const PREFIX: char = '@';
const BUCKET_FORMAT: &str = "%Y-%m-%dT%H:%M";

/// The bucket `t` falls in: the start of its quarter hour, `YYYY-MM-DDTHH:MM`
/// (sorts as time does).
pub fn bucket(t: DateTime<Utc>) -> String {
    let start = t
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .and_then(|t| t.with_minute(t.minute() - t.minute() % BUCKET_MINUTES))
        .unwrap_or(t);
    start.format(BUCKET_FORMAT).to_string()
}

/// Whether `t` is the start of a bucket: what `from` and `to` must be.
pub fn on_edge(t: DateTime<Utc>) -> bool {
    t.nanosecond() == 0 && t.second() == 0 && t.minute().is_multiple_of(BUCKET_MINUTES)
}

/// The time a bucket starts at.
pub fn bucket_start(bucket: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(bucket, BUCKET_FORMAT)
        .ok()
        .map(|t| t.and_utc())
}

fn counter(at: DateTime<Utc>, step: u32, metric: &str) -> String {
    format!("{PREFIX}{}{PREFIX}{step}:{metric}", bucket(at))
}

/// A statistics counter's bucket and name within its campaign
/// (`{step}:{metric}`); `None` for the Outreach view's counters.
pub fn split(name: &str) -> Option<(&str, &str)> {
    name.strip_prefix(PREFIX)?.split_once(PREFIX)
}

/// The statistics counters one enrollment adds 1 to (module docs).
pub fn counted_enrollment(e: &Enrollment) -> Vec<String> {
    let mut names = Vec::new();
    let mut last_sent: Option<(DateTime<Utc>, u32)> = None;
    for s in &e.steps {
        for a in &s.attempts {
            let Some(sent_at) = a.sent_at else { continue };
            if a.state == AttemptState::Claimed {
                continue;
            }
            names.push(counter(sent_at, s.index, "sent"));
            if last_sent.is_none_or(|(at, _)| sent_at > at) {
                last_sent = Some((sent_at, s.index));
            }
            let settled = a.settled_at.unwrap_or(sent_at);
            match a.state {
                AttemptState::Delivered => names.push(counter(settled, s.index, "delivered")),
                AttemptState::Bounced => names.push(counter(settled, s.index, "bounced")),
                _ => {}
            }
        }
    }
    let Some((_, step)) = last_sent else {
        return names;
    };
    if let Some(at) = e.complained_at {
        names.push(counter(at, step, "complaints"));
    }
    if e.status == EnrollmentStatus::Unsubscribed {
        let (at, complaint) = match &e.opt_out {
            Some(o) => (o.at, o.complaint),
            None => (e.ended_at.unwrap_or(e.created_at), false),
        };
        // An opt-out caused by this enrollment's own complaint counts as
        // that complaint (above), not as an unsubscribe too.
        if !(complaint && e.complained_at.is_some()) {
            names.push(counter(at, step, "unsubscribed"));
        }
    }
    names
}

/// The statistics counters one reply record adds 1 to (module docs).
pub fn counted_reply(r: &Reply) -> Vec<String> {
    let Some(step) = r.step else {
        return Vec::new();
    };
    if r.automatic {
        return vec![counter(r.received_at, step, "auto_replies")];
    }
    let Some(class) = r.class.filter(|_| r.first) else {
        return Vec::new();
    };
    let mut names = vec![counter(
        r.received_at,
        step,
        &format!("replied:{}", class.as_str()),
    )];
    if let Some(s) = r.after_s {
        names.push(counter(r.received_at, step, &format!("ttr:{s}")));
    }
    names
}

/// The statistics of `enrollments` and `replies` computed from scratch, by
/// counter name: what the kept counters must always equal.
pub fn recount<'a>(
    enrollments: impl IntoIterator<Item = &'a Enrollment>,
    replies: impl IntoIterator<Item = &'a Reply>,
) -> Tally {
    let mut tally = Tally::new();
    let names = enrollments
        .into_iter()
        .flat_map(counted_enrollment)
        .chain(replies.into_iter().flat_map(counted_reply));
    for name in names {
        *tally.entry(name).or_default() += 1;
    }
    tally
}

/// The per-step counters (`{step}:{metric}`) of a campaign's counters
/// (`@{bucket}@{step}:{metric}`) whose bucket lies in `[from, to)`, summed.
pub fn within(counters: &Tally, from: &str, to: &str) -> Tally {
    let mut out = Tally::new();
    for (name, v) in counters {
        if let Some((b, c)) = split(name)
            && b >= from
            && b < to
        {
            *out.entry(c.to_owned()).or_default() += v;
        }
    }
    out.retain(|_, v| *v != 0);
    out
}

/// One line of the answer of `GET /v1/stats` (R-11.3, Appendix A).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct StatsLine {
    pub key: String,
    pub sent: i64,
    pub delivered: i64,
    pub bounced: i64,
    /// First replies (not automatic ones), of every class.
    pub replied: i64,
    pub replied_by_class: BTreeMap<String, i64>,
    pub auto_replies: i64,
    pub unsubscribed: i64,
    pub complaints: i64,
    /// `replied / sent`; `null` when nothing was sent.
    pub reply_rate: Option<f64>,
    /// `bounced / sent`; `null` when nothing was sent.
    pub bounce_rate: Option<f64>,
    /// The median of the first replies' times from the send of the step they
    /// answer, in seconds; `null` without a reply.
    pub median_time_to_reply_s: Option<f64>,
    #[serde(skip)]
    #[schema(ignore)]
    delays: BTreeMap<i64, i64>,
}

impl StatsLine {
    pub fn new(key: impl Into<String>) -> Self {
        StatsLine {
            key: key.into(),
            ..StatsLine::default()
        }
    }

    /// Adds one step's counters (`{metric}` → count, the step stripped).
    pub fn add(&mut self, metric: &str, count: i64) {
        match metric {
            "sent" => self.sent += count,
            "delivered" => self.delivered += count,
            "bounced" => self.bounced += count,
            "auto_replies" => self.auto_replies += count,
            "unsubscribed" => self.unsubscribed += count,
            "complaints" => self.complaints += count,
            _ => {
                if let Some(class) = metric.strip_prefix("replied:") {
                    self.replied += count;
                    *self.replied_by_class.entry(class.to_owned()).or_default() += count;
                } else if let Some(s) = metric.strip_prefix("ttr:")
                    && let Ok(s) = s.parse::<i64>()
                {
                    *self.delays.entry(s).or_default() += count;
                }
            }
        }
    }

    /// Computes the rates and the median from the counts.
    pub fn finish(&mut self) {
        let rate = |n: i64| (self.sent > 0).then(|| n as f64 / self.sent as f64);
        self.reply_rate = rate(self.replied);
        self.bounce_rate = rate(self.bounced);
        self.replied_by_class.retain(|_, v| *v != 0);
        self.median_time_to_reply_s = median(&self.delays);
    }
}

/// The median of values given as value → how often.
fn median(values: &BTreeMap<i64, i64>) -> Option<f64> {
    let n: i64 = values.values().filter(|c| **c > 0).sum();
    if n == 0 {
        return None;
    }
    // The (n+1)/2-th and (n+2)/2-th values (1-based): equal when n is odd.
    let (lo, hi) = ((n + 1) / 2, (n + 2) / 2);
    let (mut seen, mut low, mut high) = (0, None, None);
    for (v, c) in values.iter().filter(|(_, c)| **c > 0) {
        seen += c;
        if low.is_none() && seen >= lo {
            low = Some(*v);
        }
        if seen >= hi {
            high = Some(*v);
            break;
        }
    }
    Some((low? + high?) as f64 / 2.0)
}

/// The step a per-step counter (`{step}:{metric}`) is of, and its metric.
pub fn step_metric(counter: &str) -> Option<(u32, &str)> {
    let (step, metric) = counter.split_once(':')?;
    Some((step.parse().ok()?, metric))
}

/// The default length of a report's range, in days.
pub const DEFAULT_DAYS: i64 = 30;

/// The default end of a report's range: the edge of the bucket after `now`'s,
/// so that what happened up to now counts.
pub fn default_to(now: DateTime<Utc>) -> DateTime<Utc> {
    bucket_start(&bucket(now)).unwrap_or(now) + Duration::minutes(i64::from(BUCKET_MINUTES))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, h, m, s).unwrap()
    }

    #[test]
    fn a_bucket_is_the_quarter_hour_an_event_falls_in() {
        assert_eq!(bucket(t(20, 44, 59)), "2026-12-06T20:30");
        assert_eq!(bucket(t(20, 45, 0)), "2026-12-06T20:45");
        assert_eq!(bucket_start("2026-12-06T20:45"), Some(t(20, 45, 0)));
        assert!(on_edge(t(5, 45, 0)) && !on_edge(t(5, 40, 0)) && !on_edge(t(5, 45, 1)));
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_two_middle_values() {
        let values: BTreeMap<i64, i64> = [(10, 1), (20, 2), (40, 1)].into();
        assert_eq!(median(&values), Some(20.0));
        let values: BTreeMap<i64, i64> = [(10, 1), (30, 1)].into();
        assert_eq!(median(&values), Some(20.0));
        let values: BTreeMap<i64, i64> = [(7, 3)].into();
        assert_eq!(median(&values), Some(7.0));
        assert_eq!(median(&BTreeMap::new()), None);
    }

    #[test]
    fn counters_within_a_range_are_summed_per_step_half_open() {
        let counters: Tally = [
            ("@2026-12-06T20:30@1:sent".to_owned(), 2),
            ("@2026-12-06T20:45@1:sent".to_owned(), 3),
            ("@2026-12-06T21:00@1:sent".to_owned(), 5),
            ("status:in_progress".to_owned(), 9),
        ]
        .into();
        let got = within(&counters, "2026-12-06T20:45", "2026-12-06T21:00");
        assert_eq!(got, [("1:sent".to_owned(), 3)].into());
    }
}
