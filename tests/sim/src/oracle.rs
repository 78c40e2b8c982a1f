//! The oracle: the sim's own ledger of every mailer call and every recorded
//! state change, and the rules judged on them as they happen.
//!
//! Every store write the application makes gets a sequence number. A state
//! that forbids sending (a paused or stopped campaign; a paused, blocked or
//! ended enrollment; an opted-out candidate; a bounced or suppressed address; a
//! sender account that is not connected) is kept with the sequence number of
//! the write that last turned it on or off. A hand-off is judged against the
//! handler's last read of the enrollment before its claim (R0): every check of
//! happens after R0, so a forbidding state that was recorded before R0 and
//! still holds when the mailer is called must have been seen — sending anyway
//! is a violation. A state recorded after R0 may legitimately lose the race.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, Timelike, Utc, Weekday};
use outreach_app::model::{AccountStatus, EmailAccount};
use outreach_app::ports::{Clock, OutboundMail, SentMail};
use outreach_domain::campaign::{Campaign, CampaignKind, CampaignStatus, TimezoneMode};
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::{AttemptState, Enrollment, EnrollmentStatus};
use outreach_domain::{EmailAddress, Zone};

use crate::handler;

/// What the mailer did with one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    Sent,
    /// Dispatched, answer lost (R-8.1 `unconfirmed`).
    Unconfirmed,
    /// Provably not accepted: throttled.
    Deferred,
    /// Provably not accepted: the sender account's fault.
    SenderFault,
    /// Refused outright: a hard bounce, the attempt is used up.
    Refused,
    /// The handler died inside the call, before anything left.
    CrashedBefore,
    /// The handler died after the message left.
    CrashedAfter,
    /// The outbox failed (never expected).
    Failed,
}

impl CallOutcome {
    /// Whether the call used the attempt up: only a provable non-acceptance
    /// gives the attempt back.
    fn consumes_attempt(self) -> bool {
        !matches!(self, CallOutcome::Deferred | CallOutcome::SenderFault)
    }
}

/// A message that reached the outbox, for the notifications and replies the
/// sim makes up about it.
#[derive(Debug, Clone)]
pub struct SentMessage {
    pub message_id: String,
    pub rfc822_message_id: String,
    pub org: String,
    pub campaign: String,
    pub enrollment: String,
    pub step: u32,
    pub attempt: u32,
    pub from: EmailAddress,
    pub to: EmailAddress,
    pub subject: String,
    pub reply_token: Option<String>,
    pub unsubscribe_token: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Violation {
    pub rule: &'static str,
    pub detail: String,
}

/// A condition that forbids sending, with the write that last changed it.
#[derive(Debug, Clone, Copy, Default)]
struct Cond {
    on: bool,
    since: u64,
}

impl Cond {
    fn set(&mut self, on: bool, seq: u64) {
        if self.on != on {
            self.on = on;
            self.since = seq;
        }
    }

    /// On since before `r0` and still on.
    fn held_before(&self, r0: u64) -> bool {
        self.on && self.since < r0
    }
}

type AttemptKey = (String, u32, u32);

/// A message that left on a day: (enrollment, step, whether the daily limit
/// moved it to that day, the handler's read before its claim).
type DaySend = (String, u32, bool, u64);

/// (step, attempt) → (claimed_at, address) of the attempts that left `claimed`.
type Finals = BTreeMap<(u32, u32), (DateTime<Utc>, EmailAddress)>;

#[derive(Debug, Clone)]
struct Claim {
    r0: u64,
    address: EmailAddress,
}

struct PendingCall {
    key: AttemptKey,
    at: DateTime<Utc>,
}

#[derive(Default)]
struct State {
    seq: u64,
    violations: Vec<Violation>,
    calls: HashMap<AttemptKey, CallOutcome>,
    in_flight: HashSet<(String, u32)>,
    next_call: u64,
    pending: HashMap<u64, PendingCall>,
    claims: HashMap<AttemptKey, Claim>,
    /// Attempts that left `claimed`: (claimed_at, address) may never change.
    finals: HashMap<String, Finals>,
    /// Enrollment id → (campaign id, candidate id).
    owners: HashMap<String, (String, String)>,
    enrollment_stop: HashMap<String, Cond>,
    campaign_stop: HashMap<String, Cond>,
    campaigns: HashMap<String, Campaign>,
    candidates: HashMap<String, Candidate>,
    opted_out: HashMap<String, Cond>,
    bounced: HashMap<(String, EmailAddress), Cond>,
    suppressed: HashMap<(String, String), Cond>,
    account_down: HashMap<String, Cond>,
    /// S of each enrollment: when it first got a plan.
    starts: HashMap<String, DateTime<Utc>>,
    first_hand_off: HashMap<(String, u32), DateTime<Utc>>,
    reveals: HashMap<String, u32>,
    refunds: HashMap<String, u32>,
    sent: Vec<SentMessage>,
    hand_offs: u64,
    /// The latest written state of every enrollment and campaign status, by id.
    latest: BTreeMap<String, Enrollment>,
    campaign_status: HashMap<String, CampaignStatus>,
    /// the owner's time zone (one owner in a run), the days of the limits.
    owner_zone: Zone,
    /// Every value the daily limit of an account or a campaign took, with when.
    limits: HashMap<String, Vec<(u64, Option<u32>)>>,
    /// Messages that left, per (account or campaign, owner's day): (enrollment,
    /// step, whether the daily limit had moved it to that day).
    day_sends: HashMap<(String, NaiveDate), Vec<DaySend>>,
    /// The day the daily limit last moved each (enrollment, step) to, and the
    /// write that moved it.
    limit_moves: HashMap<(String, u32), (NaiveDate, u64)>,
    /// Out-of-office holds: (enrollment, step) → not before.
    holds: HashMap<(String, u32), DateTime<Utc>>,
    /// Attempts a 5.7.x bounce refused for the sender account (R-2.3, issue 16).
    auth_refused: Vec<AttemptKey>,
}

/// The largest daily limit in force over a day's messages if every one of
/// them saw a limit (the handler read the account or campaign after the
/// limit's write, at `r0`, so that it counted, R-6.7), else `None`. `history`
/// holds (write sequence number, limit); before its first write the account
/// or campaign did not exist.
fn limit_seen(history: Option<&Vec<(u64, Option<u32>)>>, r0s: &[u64]) -> Option<u32> {
    let history = history?;
    let mut earliest = usize::MAX;
    for r0 in r0s {
        let i = history.iter().rposition(|(seq, _)| seq < r0).unwrap_or(0);
        history.get(i)?.1?;
        earliest = earliest.min(i);
    }
    history
        .get(earliest..)?
        .iter()
        .filter_map(|(_, v)| *v)
        .max()
}

pub struct Oracle {
    clock: Arc<dyn Clock>,
    hash_key: Vec<u8>,
    state: Mutex<State>,
}

fn record_limit(
    limits: &mut HashMap<String, Vec<(u64, Option<u32>)>>,
    id: String,
    seq: u64,
    limit: Option<u32>,
) {
    let history = limits.entry(id).or_default();
    if history.last().is_none_or(|(_, v)| *v != limit) {
        history.push((seq, limit));
    }
}

fn tag<'a>(mail: &'a OutboundMail, name: &str) -> Option<&'a str> {
    mail.tags
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The value of a header-ish `needle…` in a raw message, up to a delimiter.
fn find_token(raw: &str, needle: &str, stop: &[char]) -> Option<String> {
    let start = raw.find(needle)? + needle.len();
    let rest = &raw[start..];
    let end = rest.find(|c: char| stop.contains(&c) || c.is_whitespace())?;
    Some(rest[..end].to_owned())
}

/// Whether an enrollment can still send and nothing but the service's own
/// wake-ups or sweeper is needed for it to do so.
/// When the sweeper acts on an enrollment: its due instant, or the end of
/// the lease of a claim in flight if later (issue 19: a claim writes no due
/// key; the sweeper reads the lease in the item).
pub fn acted_on_at(e: &Enrollment) -> Option<DateTime<Utc>> {
    let due = e.next_due_at?;
    Some(e.live_claim_lease().map_or(due, |lease| lease.max(due)))
}

pub fn needs_progress(e: &Enrollment, campaign: CampaignStatus) -> bool {
    let sendable = match e.status {
        EnrollmentStatus::NotStarted | EnrollmentStatus::InProgress => {
            campaign == CampaignStatus::Running
        }
        // A finished enrollment's re-send after a bounce.
        EnrollmentStatus::Finished => {
            e.resend.is_some()
                && matches!(
                    campaign,
                    CampaignStatus::Running | CampaignStatus::Completed
                )
        }
        _ => false,
    };
    sendable && e.due_step().is_some()
}

impl Oracle {
    pub fn new(clock: Arc<dyn Clock>, hash_key: Vec<u8>) -> Arc<Oracle> {
        Arc::new(Oracle {
            clock,
            hash_key,
            state: Mutex::new(State::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn next_seq(&self) -> u64 {
        let mut s = self.lock();
        s.seq += 1;
        s.seq
    }

    /// The owner's time zone: the days of the daily limits.
    pub fn set_owner_zone(&self, zone: Zone) {
        self.lock().owner_zone = zone;
    }

    pub fn violate(&self, rule: &'static str, detail: impl Into<String>) {
        self.lock().violations.push(Violation {
            rule,
            detail: detail.into(),
        });
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.lock().violations.clone()
    }

    pub fn violation_count(&self) -> usize {
        self.lock().violations.len()
    }

    pub fn sent(&self) -> Vec<SentMessage> {
        self.lock().sent.clone()
    }

    pub fn hand_offs(&self) -> u64 {
        self.lock().hand_offs
    }

    /// The keyed hash the service files a suppressed address under.
    fn suppression_key(&self, address: &EmailAddress) -> String {
        outreach_app::usecases::returns::suppression_key(&self.hash_key, address)
    }

    // --- what the store reports -------------------------------------------

    pub fn on_campaign_write(&self, c: &Campaign) {
        let mut s = self.lock();
        s.seq += 1;
        let seq = s.seq;
        let stop = matches!(
            c.status,
            CampaignStatus::Draft | CampaignStatus::Paused | CampaignStatus::Stopped
        );
        s.campaign_stop
            .entry(c.id.to_string())
            .or_default()
            .set(stop, seq);
        s.campaigns.insert(c.id.to_string(), c.clone());
        s.campaign_status.insert(c.id.to_string(), c.status);
        record_limit(&mut s.limits, c.id.to_string(), seq, c.daily_limit);
    }

    pub fn on_candidate_write(&self, c: &Candidate) {
        let mut s = self.lock();
        s.seq += 1;
        let seq = s.seq;
        s.opted_out
            .entry(c.id.to_string())
            .or_default()
            .set(c.opted_out, seq);
        for e in c.emails.iter().filter(|e| e.bounced) {
            // Bounced for the whole organization, for good.
            let cond = s
                .bounced
                .entry((c.org_id.to_string(), e.address.clone()))
                .or_default();
            if !cond.on {
                cond.set(true, seq);
            }
        }
        s.candidates.insert(c.id.to_string(), c.clone());
    }

    pub fn on_account_write(&self, a: &EmailAccount) {
        let mut s = self.lock();
        s.seq += 1;
        let seq = s.seq;
        s.account_down
            .entry(a.id.to_string())
            .or_default()
            .set(a.status != AccountStatus::Connected, seq);
        record_limit(&mut s.limits, a.id.to_string(), seq, a.daily_limit);
    }

    pub fn on_suppress(&self, org: &outreach_domain::ids::OrgId, key: &str) {
        let mut s = self.lock();
        s.seq += 1;
        let seq = s.seq;
        let cond = s
            .suppressed
            .entry((org.to_string(), key.to_owned()))
            .or_default();
        if !cond.on {
            cond.set(true, seq);
        }
    }

    pub fn on_reveal(&self, candidate: &outreach_domain::ids::CandidateId) {
        *self
            .lock()
            .reveals
            .entry(candidate.to_string())
            .or_default() += 1;
    }

    /// a refund only when one of the candidate's enrollments ended
    /// `bounced` and no profile address is left unbounced; once per reveal.
    pub fn on_refund(
        &self,
        candidate: &outreach_domain::ids::CandidateId,
        record: Option<&Candidate>,
        statuses: &[EnrollmentStatus],
    ) {
        let mut s = self.lock();
        let id = candidate.to_string();
        let refunds = {
            let n = s.refunds.entry(id.clone()).or_default();
            *n += 1;
            *n
        };
        let reveals = s.reveals.get(&id).copied().unwrap_or(0);
        if refunds > reveals {
            s.violations.push(Violation {
                rule: "R-9.3",
                detail: format!("candidate {id}: refund number {refunds} for {reveals} reveal(s)"),
            });
        }
        let profile_left = record.is_none_or(|c| c.has_unbounced_profile_address());
        let ended_bounced = statuses.contains(&EnrollmentStatus::Bounced);
        if profile_left || !ended_bounced {
            s.violations.push(Violation {
                rule: "R-9.3",
                detail: format!(
                    "candidate {id} refunded while the rule does not hold (profile address left: {profile_left}, an enrollment ended bounced: {ended_bounced})"
                ),
            });
        }
    }

    /// An update of an enrollment: judged against the state it replaced.
    pub fn on_enrollment_update(&self, new: &Enrollment) {
        let old = self.lock().latest.get(new.id.as_str()).cloned();
        self.on_enrollment_write(old.as_ref(), new);
    }

    /// The latest written state of an enrollment.
    pub fn enrollment(&self, id: &str) -> Option<Enrollment> {
        self.lock().latest.get(id).cloned()
    }

    /// Enrollments due at or before `before` (what the sweeper would act
    /// on), as (id, due). A claim keeps its due instant (issue 19); the
    /// sweeper acts on it once its lease ended.
    pub fn due(&self, before: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
        self.lock()
            .latest
            .values()
            .filter_map(|e| Some((e.id.to_string(), acted_on_at(e)?)))
            .filter(|(_, d)| *d <= before)
            .collect()
    }

    /// Every enrollment write: claims, attempts that must never change
    /// the states judges on, S and the plan.
    pub fn on_enrollment_write(&self, old: Option<&Enrollment>, new: &Enrollment) {
        let now = self.clock.now();
        let handler = handler::current();
        let mut s = self.lock();
        s.seq += 1;
        let seq = s.seq;
        let id = new.id.to_string();
        if let Ok(watch) = std::env::var("SIM_WATCH")
            && id.ends_with(&watch)
        {
            eprintln!(
                "#{seq} {now} [{}] {:?} v{} next_step {} next_due {:?} resend {:?} attempts {:?}",
                handler.as_ref().map_or("-", |h| h.label.as_str()),
                new.status,
                new.plan_version,
                new.next_step,
                new.next_due_at,
                new.resend,
                new.steps
                    .iter()
                    .map(|s| s
                        .attempts
                        .iter()
                        .map(|a| (a.number, a.state))
                        .collect::<Vec<_>>())
                    .collect::<Vec<_>>()
            );
        }
        s.owners.insert(
            id.clone(),
            (new.campaign_id.to_string(), new.candidate_id.to_string()),
        );
        let mut found = Vec::new();

        // Claims made by this write.
        let claimed: Vec<(u32, u32, EmailAddress)> = new
            .steps
            .iter()
            .flat_map(|st| st.attempts.iter().map(move |a| (st.index, a)))
            .filter(|(_, a)| a.state == AttemptState::Claimed)
            .map(|(step, a)| (step, a.number, a.address.clone()))
            .collect();
        if claimed.len() > 1 {
            found.push((
                "R-8.1",
                format!(
                    "enrollment {id} holds {} live claims at once",
                    claimed.len()
                ),
            ));
        }
        for (step, number, address) in claimed {
            let existed = old.is_some_and(|o| {
                o.attempt(step, number)
                    .is_some_and(|a| a.state == AttemptState::Claimed)
            });
            if existed {
                continue;
            }
            if let Some(planned) = old.and_then(Enrollment::next_planned_at)
                && planned > now
            {
                found.push((
                    "R-6",
                    format!(
                        "enrollment {id} step {step} claimed at {now}, before its planned {planned}"
                    ),
                ));
            }
            if let Some(hold) = s.holds.get(&(id.clone(), step))
                && now < *hold
            {
                found.push((
                    "R-9.7",
                    format!("enrollment {id} step {step} claimed at {now}, before its out-of-office hold {hold}"),
                ));
            }
            let r0 = handler
                .as_ref()
                .and_then(|h| h.last_read(&id))
                .unwrap_or(seq);
            s.claims
                .insert((id.clone(), step, number), Claim { r0, address });
        }

        // Attempts that left `claimed` never change or disappear; numbers are 1..=n.
        let finals = s.finals.entry(id.clone()).or_default();
        for st in &new.steps {
            for (i, a) in st.attempts.iter().enumerate() {
                if a.number != i as u32 + 1 {
                    found.push((
                        "R-8.1",
                        format!(
                            "enrollment {id} step {}: attempt numbers are not 1..n ({:?})",
                            st.index,
                            st.attempts.iter().map(|a| a.number).collect::<Vec<_>>()
                        ),
                    ));
                    break;
                }
            }
            for a in st
                .attempts
                .iter()
                .filter(|a| a.state != AttemptState::Claimed)
            {
                let value = (a.claimed_at, a.address.clone());
                match finals.get(&(st.index, a.number)) {
                    Some(before) if *before != value => found.push((
                        "R-8.1",
                        format!(
                            "enrollment {id} step {} attempt {} was created twice ({:?} then {:?})",
                            st.index, a.number, before, value
                        ),
                    )),
                    Some(_) => {}
                    None => {
                        finals.insert((st.index, a.number), value);
                    }
                }
            }
        }
        for (step, number) in finals.keys() {
            if new.attempt(*step, *number).is_none() {
                found.push((
                    "R-8.1",
                    format!("enrollment {id} step {step} attempt {number} was handed off and then vanished"),
                ));
            }
        }

        // The enrollment's own state.
        let stop = match new.status {
            EnrollmentStatus::NotStarted | EnrollmentStatus::InProgress => false,
            EnrollmentStatus::Finished => new.resend.is_none(),
            _ => true,
        };
        s.enrollment_stop
            .entry(id.clone())
            .or_default()
            .set(stop, seq);

        // S: the first plan.
        if new.plan_start.is_some() && !s.starts.contains_key(&id) {
            // The plan's own S when it is no later than its write and no
            // earlier than the enrollment (a fan-out that went again after a
            // lost answer writes a start's plan a minute late, issue 19).
            let start = new
                .plan_start
                .filter(|p| *p <= now && *p >= new.created_at)
                .unwrap_or(now);
            s.starts.insert(id.clone(), start);
        }

        // The plan itself: strictly increasing, and never on a weekend with skip_weekends.
        // A deferral moves the step by a few minutes from now; the
        // plan rules judge plans, not retries.
        let deferred = old.is_some_and(|o| {
            o.steps
                .iter()
                .flat_map(|st| st.attempts.iter().map(move |a| (st.index, a)))
                .any(|(step, a)| {
                    a.state == AttemptState::Claimed && new.attempt(step, a.number).is_none()
                })
        });
        // Only instants this write planned are judged: a step keeps a stale
        // instant while a re-send goes first, and that instant is not a plan.
        let planned_here = |st: &outreach_domain::enrollment::EnrollmentStep| {
            st.planned_at.is_some()
                && old
                    .and_then(|o| o.step(st.index))
                    .is_none_or(|before| before.planned_at != st.planned_at)
        };
        let unsent: Vec<_> = new.steps.iter().skip(new.next_step_offset()).collect();
        if !deferred
            && unsent.iter().any(|st| planned_here(st))
            && let Some(c) = s.campaigns.get(&new.campaign_id.to_string())
        {
            let zone = match c.timezone_mode {
                TimezoneMode::Recipient => s
                    .candidates
                    .get(&new.candidate_id.to_string())
                    .and_then(|k| k.timezone)
                    .unwrap_or(c.timezone),
                TimezoneMode::Campaign => c.timezone,
            };
            let mut previous: Option<DateTime<Utc>> = None;
            for st in unsent {
                let Some(at) = st.planned_at else { continue };
                if previous.is_some_and(|p| at <= p) {
                    found.push((
                        "R-6.6",
                        format!("enrollment {id}: step {} planned at {at}, not after the step before ({previous:?})", st.index),
                    ));
                }
                previous = Some(at);
                if !planned_here(st) {
                    continue;
                }
                let local = at.with_timezone(&zone.tz());
                if c.skip_weekends && matches!(local.weekday(), Weekday::Sat | Weekday::Sun) {
                    found.push((
                        "R-6.5",
                        format!(
                            "enrollment {id}: step {} planned on a {} ({local}) in a campaign that skips weekends",
                            st.index,
                            local.weekday()
                        ),
                    ));
                }
                // A single message is planned at the instant it is asked for.
                if (at.second() != 0 || at.nanosecond() != 0) && c.kind != CampaignKind::Single {
                    found.push((
                        "R-6",
                        format!(
                            "enrollment {id}: step {} planned at {at}, not a whole minute",
                            st.index
                        ),
                    ));
                }
            }
        }
        self.judge_moves(&mut s, old, new, now, &mut found);
        for (rule, detail) in found {
            s.violations.push(Violation { rule, detail });
        }
        s.latest.insert(id, new.clone());
    }

    /// What the service decided about an enrollment's next step: a move by the
    /// daily limit keeps its place, an out-of-office hold is remembered
    /// and the next step stays spaced from the step before.
    fn judge_moves(
        &self,
        s: &mut State,
        old: Option<&Enrollment>,
        new: &Enrollment,
        now: DateTime<Utc>,
        found: &mut Vec<(&'static str, String)>,
    ) {
        let id = new.id.to_string();
        let Some(c) = s.campaigns.get(&new.campaign_id.to_string()).cloned() else {
            return;
        };
        let label = handler::current()
            .map(|h| h.label.clone())
            .unwrap_or_default();
        let moved = old.and_then(|o| {
            let step = new.due_step()?;
            let before = o.next_planned_at()?;
            let after = new.next_planned_at()?;
            (o.due_step() == Some(step) && after > before).then_some((step, before, after))
        });
        if let Some((step, before, after)) = moved {
            let owner = s.owner_zone.tz();
            if label.starts_with(&format!("wake-up {id} s")) && before <= now && after > now {
                // A wake-up that moved its own step later: the daily limit.
                let today = now.with_timezone(&owner).date_naive();
                let key = (id.clone(), step);
                let account = c.sender_account_id.to_string();
                // A limit changed since the move (lowered below what already
                // left) may push it again: the order is judged under steady limits.
                let steady = |since: u64| {
                    [&account, &c.id.to_string()].iter().all(|k| {
                        s.limits
                            .get(*k)
                            .is_none_or(|h| h.iter().all(|(seq, _)| *seq < since))
                    })
                };
                if let Some((day, since)) = s.limit_moves.get(&key).copied()
                    && day == today
                    && steady(since)
                {
                    // Pushed again on the day it was moved to: nothing first
                    // planned for this day may have taken its place.
                    let mut scopes = vec![c.id.to_string()];
                    if s.limits
                        .get(&account)
                        .and_then(|h| h.last())
                        .is_some_and(|(_, v)| v.is_some())
                    {
                        scopes.push(account);
                    }
                    let taken: Vec<(String, u32)> = scopes
                        .iter()
                        .filter_map(|k| s.day_sends.get(&(k.clone(), today)))
                        .flatten()
                        .filter(|m| !m.2)
                        .map(|m| (m.0.clone(), m.1))
                        .collect();
                    if !taken.is_empty() {
                        found.push((
                            "R-6.7",
                            format!("enrollment {id} step {step}, moved to {today} by the daily limit, was pushed again to {after} while {taken:?}, first planned for that day, took its place"),
                        ));
                    }
                }
                let seq = s.seq;
                s.limit_moves
                    .insert(key, (after.with_timezone(&owner).date_naive(), seq));
            }
            if label.starts_with("inbound") {
                s.holds.insert((id.clone(), step), after);
            }
        }
        // judged when this write planned the next step or recorded the send before it.
        let Some(next) = new.next() else { return };
        let Some(planned) = next.planned_at else {
            return;
        };
        let Some(sent) = new.previous_send() else {
            return;
        };
        let replanned = old
            .and_then(|o| o.step(next.index))
            .is_none_or(|b| b.planned_at != next.planned_at);
        let recorded =
            old.is_none_or(|o| o.previous_send() != Some(sent) || o.next_step != new.next_step);
        if !(replanned || recorded)
            || !new.may_send()
            || new.resend.is_some()
            || new.next_planned_at().is_none()
        {
            return;
        }
        let zone = match c.timezone_mode {
            TimezoneMode::Recipient => s
                .candidates
                .get(&new.candidate_id.to_string())
                .and_then(|k| k.timezone)
                .unwrap_or(c.timezone),
            TimezoneMode::Campaign => c.timezone,
        };
        let Some(delay) = c.steps.get(next.index as usize - 1).map(|st| st.delay_days) else {
            return;
        };
        let earliest = sent
            .with_timezone(&zone.tz())
            .date_naive()
            .checked_add_days(Days::new(u64::from(delay)));
        let date = planned.with_timezone(&zone.tz()).date_naive();
        if earliest.is_some_and(|e| date < e) {
            found.push((
                "R-6.9",
                format!("enrollment {id}: step {} planned at {planned} ({date} in {}), earlier than the step before's send {sent} plus {delay} days", next.index, zone.name()),
            ));
        }
    }

    /// Enrollments (campaign id, enrollment) whose status is one of `status`
    /// (any when empty), in id order.
    pub fn enrollments(&self, status: &[EnrollmentStatus]) -> Vec<(String, String)> {
        self.lock()
            .latest
            .values()
            .filter(|e| status.is_empty() || status.contains(&e.status))
            .map(|e| (e.campaign_id.to_string(), e.id.to_string()))
            .collect()
    }

    /// Enrollments that can still send, with their campaign's status, in id order.
    pub fn needing_progress(&self) -> Vec<(Enrollment, CampaignStatus)> {
        let s = self.lock();
        s.latest
            .values()
            .filter_map(|e| {
                let status = *s.campaign_status.get(e.campaign_id.as_str())?;
                needs_progress(e, status).then(|| (e.clone(), status))
            })
            .collect()
    }

    /// Per campaign: (enrollments, not ended), in id order.
    pub fn activity(&self) -> BTreeMap<String, (usize, i64)> {
        let mut out: BTreeMap<String, (usize, i64)> = BTreeMap::new();
        for e in self.lock().latest.values() {
            let entry = out.entry(e.campaign_id.to_string()).or_default();
            entry.0 += 1;
            if !e.is_ended() {
                entry.1 += 1;
            }
        }
        out
    }

    // --- what the mailer reports ------------------------------------------

    /// Judges a hand-off before anything leaves; returns the call's handle.
    pub fn before_send(&self, mail: &OutboundMail) -> u64 {
        let now = self.clock.now();
        let key_to = self.suppression_key(&mail.to);
        let mut s = self.lock();
        s.next_call += 1;
        let call = s.next_call;
        let parse = |n: &str| tag(mail, n).and_then(|v| v.parse::<u32>().ok());
        let (Some(org), Some(enrollment), Some(step), Some(attempt)) = (
            tag(mail, "org"),
            tag(mail, "enrollment"),
            parse("step"),
            parse("attempt"),
        ) else {
            s.violations.push(Violation {
                rule: "R-8.3",
                detail: format!(
                    "a message to {} carries no step tags: {:?}",
                    mail.to, mail.tags
                ),
            });
            return call;
        };
        let key: AttemptKey = (enrollment.to_owned(), step, attempt);
        let mut found = Vec::new();
        if let Some(previous) = s.calls.get(&key)
            && previous.consumes_attempt()
        {
            found.push((
                "R-8.1",
                format!("enrollment {enrollment} step {step} attempt {attempt} handed to the mailer again (before: {previous:?})"),
            ));
        }
        if !s.in_flight.insert((enrollment.to_owned(), step)) {
            found.push((
                "R-8.1",
                format!("enrollment {enrollment} step {step} handed to the mailer by two handlers at once"),
            ));
        }
        match s.claims.get(&key).cloned() {
            None => found.push((
                "R-8.1",
                format!("enrollment {enrollment} step {step} attempt {attempt} handed off without a claim"),
            )),
            Some(claim) => {
                if claim.address != mail.to {
                    found.push((
                        "R-8.1",
                        format!("enrollment {enrollment} step {step} attempt {attempt} claimed for {} but sent to {}", claim.address, mail.to),
                    ));
                }
                let r0 = claim.r0;
                let (campaign, candidate) = s.owners.get(enrollment).cloned().unwrap_or_default();
                let account = s
                    .campaigns
                    .get(&campaign)
                    .map(|c| c.sender_account_id.to_string())
                    .unwrap_or_default();
                let checks = [
                    ("the enrollment was paused, blocked or ended", s.enrollment_stop.get(enrollment).copied()),
                    ("the campaign was paused or stopped", s.campaign_stop.get(&campaign).copied()),
                    ("the candidate opted out", s.opted_out.get(&candidate).copied()),
                    ("the address had bounced", s.bounced.get(&(org.to_owned(), mail.to.clone())).copied()),
                    ("the address was suppressed", s.suppressed.get(&(org.to_owned(), key_to)).copied()),
                    ("the sender account was not connected", s.account_down.get(&account).copied()),
                ];
                for (what, cond) in checks {
                    if let Some(cond) = cond
                        && cond.held_before(r0)
                    {
                        found.push((
                            "R-8.2",
                            format!(
                                "enrollment {enrollment} step {step} attempt {attempt} handed off to {} although {what} (write #{}) before the handler's check (read #{r0})",
                                mail.to, cond.since
                            ),
                        ));
                    }
                }
                if step == 1 && attempt == 1 {
                    found.extend(double_outreach(&s, enrollment));
                }
                // nothing before S + 20 minutes; a single message goes at once.
                let single = s
                    .campaigns
                    .get(&campaign)
                    .is_some_and(|c| c.kind == CampaignKind::Single);
                if let Some(start) = s.starts.get(enrollment)
                    && !single
                    && now < *start + Duration::minutes(20)
                {
                    found.push((
                        "R-6.1",
                        format!("enrollment {enrollment} step {step} handed off at {now}, within the grace period of S = {start}"),
                    ));
                }
            }
        }
        for (rule, detail) in found {
            s.violations.push(Violation { rule, detail });
        }
        s.pending.insert(call, PendingCall { key, at: now });
        call
    }

    /// Records what became of a call; `sent` when the message reached the outbox.
    pub fn after_send(
        &self,
        call: u64,
        outcome: CallOutcome,
        sent: Option<(&OutboundMail, &SentMail)>,
    ) {
        let mut s = self.lock();
        let Some(p) = s.pending.remove(&call) else {
            return;
        };
        let (enrollment, step, attempt) = p.key.clone();
        s.in_flight.remove(&(enrollment.clone(), step));
        let consumed = s.calls.get(&p.key).is_some_and(|o| o.consumes_attempt());
        if !consumed {
            s.calls.insert(p.key.clone(), outcome);
        }
        if outcome.consumes_attempt() {
            s.hand_offs += 1;
            let first = !s.first_hand_off.contains_key(&(enrollment.clone(), step));
            if first {
                // a later step strictly after the step before it.
                if step > 1
                    && let Some(before) = s.first_hand_off.get(&(enrollment.clone(), step - 1))
                    && *before >= p.at
                {
                    let before = *before;
                    s.violations.push(Violation {
                        rule: "R-6.6",
                        detail: format!("enrollment {enrollment} step {step} handed off at {}, not after step {} ({before})", p.at, step - 1),
                    });
                }
                s.first_hand_off.insert((enrollment.clone(), step), p.at);
            }
        }
        if matches!(
            outcome,
            CallOutcome::Sent | CallOutcome::Unconfirmed | CallOutcome::CrashedAfter
        ) {
            self.count_day(&mut s, &enrollment, step, attempt, p.at);
        }
        if outcome.consumes_attempt() {
            // The move's place is used up; a re-send is a message of its own.
            s.limit_moves.remove(&(enrollment.clone(), step));
        }
        if let Some((mail, receipt)) = sent {
            let raw = String::from_utf8_lossy(&mail.raw);
            let head = raw.split("\r\n\r\n").next().unwrap_or_default();
            s.sent.push(SentMessage {
                message_id: receipt.message_id.clone(),
                rfc822_message_id: receipt.rfc822_message_id.clone(),
                org: tag(mail, "org").unwrap_or_default().to_owned(),
                campaign: tag(mail, "campaign").unwrap_or_default().to_owned(),
                enrollment,
                step,
                attempt,
                from: mail.from.clone(),
                to: mail.to.clone(),
                subject: mail.subject.clone(),
                reply_token: find_token(head, "reply+", &['@']),
                unsubscribe_token: find_token(head, "/v1/unsubscribe/", &['>']),
                at: p.at,
            });
        }
    }

    /// a message that left counts on its owner's day under its account
    /// and its campaign; while a limit was in force since the first message of
    /// that day (every one counted), the day never holds more than it allows.
    fn count_day(
        &self,
        s: &mut State,
        enrollment: &str,
        step: u32,
        attempt: u32,
        at: DateTime<Utc>,
    ) {
        let Some((campaign, _)) = s.owners.get(enrollment).cloned() else {
            return;
        };
        let Some(account) = s
            .campaigns
            .get(&campaign)
            .map(|c| c.sender_account_id.to_string())
        else {
            return;
        };
        let day = at.with_timezone(&s.owner_zone.tz()).date_naive();
        let moved_in = s
            .limit_moves
            .get(&(enrollment.to_owned(), step))
            .is_some_and(|m| m.0 == day);
        let r0 = s
            .claims
            .get(&(enrollment.to_owned(), step, attempt))
            .map_or(0, |c| c.r0);
        for scope in [account, campaign] {
            let sends = s.day_sends.entry((scope.clone(), day)).or_default();
            sends.push((enrollment.to_owned(), step, moved_in, r0));
            let r0s: Vec<u64> = sends.iter().map(|m| m.3).collect();
            let count = sends.len();
            if let Some(limit) = limit_seen(s.limits.get(&scope), &r0s)
                && count > limit as usize
            {
                s.violations.push(Violation {
                    rule: "R-6.7",
                    detail: format!(
                        "{count} messages left for {scope} on {day} (owner's day), over its daily limit of {limit}"
                    ),
                });
            }
        }
    }
}

// --- issue 16: and R-2.3 ---------------------------------------------

/// the first step of an enrollment goes out while another enrollment
/// of the same candidate, in another running campaign, was started (planned
/// by a start, resume or add) and neither ended, blocked nor paused, and
/// neither was added with `allow_duplicate`: the candidate gets step 1 twice.
fn double_outreach(s: &State, enrollment: &str) -> Option<(&'static str, String)> {
    // is about campaigns: a single message is no campaign's
    // enrollment, on either side.
    let single = |campaign: &str| {
        s.campaigns
            .get(campaign)
            .is_some_and(|c| c.kind == CampaignKind::Single)
    };
    let this = s.latest.get(enrollment)?;
    if this.allow_duplicate || single(this.campaign_id.as_str()) {
        return None;
    }
    let other = s.latest.values().find(|o| {
        o.id != this.id
            && !single(o.campaign_id.as_str())
            && o.candidate_id == this.candidate_id
            && o.campaign_id != this.campaign_id
            && !o.allow_duplicate
            && o.plan_start.is_some()
            && matches!(
                o.status,
                EnrollmentStatus::NotStarted | EnrollmentStatus::InProgress
            )
            && s.campaign_status.get(o.campaign_id.as_str()) == Some(&CampaignStatus::Running)
    })?;
    Some((
        "R-5.6",
        format!(
            "enrollment {enrollment} (campaign {}) hands off step 1 to candidate {} while enrollment {} ({:?}) of running campaign {} was started and not ended; neither allows duplicates",
            this.campaign_id, this.candidate_id, other.id, other.status, other.campaign_id
        ),
    ))
}

impl Oracle {
    /// The latest attempt of a step, if the enrollment accepts what comes back.
    fn returnable_attempt(&self, enrollment: &str, step: u32) -> Option<(u32, AttemptState)> {
        let s = self.lock();
        let e = s.latest.get(enrollment)?;
        if !e.accepts_returns() {
            return None;
        }
        e.step(step)?.latest().map(|a| (a.number, a.state))
    }

    /// Whether a 5.7.x refusal of (enrollment, step, attempt) arriving now
    /// must lead to a re-send: the attempt is its step's latest and
    /// reached the mail service.
    pub fn refusal_counts(&self, enrollment: &str, step: u32, attempt: u32) -> bool {
        matches!(
            self.returnable_attempt(enrollment, step),
            Some((n, AttemptState::Sent | AttemptState::Delivered)) if n == attempt
        )
    }

    /// A 5.7.x refusal the service applied.
    pub fn note_auth_refusal(&self, enrollment: &str, step: u32, attempt: u32) {
        self.lock()
            .auth_refused
            .push((enrollment.to_owned(), step, attempt));
    }

    /// after the drain (accounts re-linked): a step refused for the
    /// sender account never stays `sent`; its next attempt goes to the same
    /// address unless that address was since refused or suppressed.
    pub fn check_auth_refusals(&self) {
        let mut s = self.lock();
        let mut found = Vec::new();
        for (id, step, n) in &s.auth_refused {
            let Some(e) = s.latest.get(id) else { continue };
            let Some(refused) = e.attempt(*step, *n) else {
                continue;
            };
            match e.attempt(*step, n + 1) {
                None if !refused.state.ended_unsent() => found.push(format!(
                    "enrollment {id} step {step} attempt {n} was refused for the sender account (5.7.x) and is still {:?} with no next attempt",
                    refused.state
                )),
                Some(next)
                    if refused.state == AttemptState::Failed
                        && next.address != refused.address
                        && !s
                            .bounced
                            .get(&(e.org_id.to_string(), refused.address.clone()))
                            .is_some_and(|c| c.on) =>
                {
                    found.push(format!(
                        "enrollment {id} step {step}: attempt {} went to {}, not to {} which attempt {n} was refused for the sender account",
                        n + 1,
                        next.address,
                        refused.address
                    ))
                }
                _ => {}
            }
        }
        for detail in found {
            s.violations.push(Violation {
                rule: "R-2.3",
                detail,
            });
        }
    }
}
