//! The send of a fired wake-up, as the stages a reader follows top to
//! bottom in [`Service::send_attempt`]: load, check, choose the
//! address, render, take the day's room, claim,
//! hand off, then record and plan what follows ([`super::record`]).
//!
//! The room and claim stages are in [`claim`]: a free slot of the day is
//! taken by the claim's own write (issue 20).
//!
//! Each stage answers a [`Flow`]: go on with what it found, stop with the
//! job's outcome, or start again from the load because a write lost its race
//! to a concurrent change.

mod claim;

use chrono::{DateTime, Utc};
use outreach_domain::campaign::{Campaign, CampaignStatus};
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::{
    AttemptState, Enrollment, EnrollmentStatus, PlannedSend, ReservedSlot,
};
use outreach_domain::ids::{CampaignId, CandidateId, EnrollmentId, OrgId};
use outreach_domain::render::RenderError;
use outreach_domain::{EmailAddress, Zone};

use super::JobOutcome;
use super::Sending;
use super::daily_limit::DailySlot;
use super::read_exclusions;
use super::record::{Counted, HandOff};
use crate::error::Error;
use crate::mime::{OutgoingMail, build_mime};
use crate::model::{AccountStatus, EmailAccount, UserProfile};
use crate::ports::{Found, Lookup, MailerError, OutboundMail, Versioned, WakeUp};
use crate::retry::{Attempt, retry_versioned};
use crate::usecases::returns::bounced_record;
use crate::usecases::returns::reputation::SendWindows;

/// How long a send held for its sender account waits before the sweeper looks
/// again: as often as the identities are checked.
const SENDER_WAIT: chrono::Duration = chrono::Duration::hours(1);

/// What a wake-up asks: hand off `step` of an enrollment if its plan is
/// still `plan_version`.
pub(crate) struct SendJob<'a> {
    pub org: &'a OrgId,
    pub campaign_id: &'a CampaignId,
    pub enrollment_id: &'a EnrollmentId,
    pub step: u32,
    pub plan_version: u32,
    /// The enrollment's candidate, read with it when the wake-up names it.
    pub candidate_hint: Option<&'a CandidateId>,
    /// The address and sender account the step was planned with: their
    /// entries are read in the same batch (issue 20).
    pub planned: Option<&'a PlannedSend>,
}

/// What a stage of the send came to.
enum Flow<T> {
    /// Go on to the next stage with this.
    Go(T),
    /// The send ends here, with this outcome.
    Stop(JobOutcome),
    /// A write lost its race: the send starts again from the load.
    Lost,
}

/// Goes on with a stage's answer, or ends this pass of the send.
macro_rules! stage {
    ($stage:expr) => {
        match $stage {
            Flow::Go(found) => found,
            Flow::Stop(outcome) => return Ok(Attempt::Done(outcome)),
            Flow::Lost => return Ok(Attempt::Lost),
        }
    };
}

/// The enrollment as this pass read it, with what the same read found.
struct Loaded {
    e: Enrollment,
    version: u64,
    campaign: Option<Campaign>,
    candidate: Option<Candidate>,
    planned: Option<PlannedRead>,
    now: DateTime<Utc>,
}

/// What the first read found of the address and sender account the step was
/// planned with (issue 20).
struct PlannedRead {
    plan: PlannedSend,
    account: Option<EmailAccount>,
    /// The planned address is suppressed or recorded refused.
    excluded: bool,
    /// The answers to the sender's [`SendWindows::lookups`].
    counts: Vec<Option<Found>>,
    /// The profile of the owner the plan named, when it named one.
    owner: Option<Option<UserProfile>>,
}

impl PlannedRead {
    /// The time zone of the account's owner (R-6.7's days), when the plan
    /// named the owner of the account read, in the enrollment's organization.
    fn owner_zone(&self, org: &OrgId) -> Option<Zone> {
        let account = self.account.as_ref()?;
        let named = self.plan.owner.as_ref()?;
        let profile = self.owner.as_ref()?;
        (&account.owner_id == named && &account.org_id == org)
            .then(|| profile.as_ref().map(|p| p.timezone).unwrap_or_default())
    }
}

/// What excludes the addresses a send may choose.
enum Exclusions {
    /// The answers to [`Service::exclusion_lookups`]: every address's.
    All(Vec<Option<Found>>),
    /// Only the planned address's (issue 20): enough when R-7 chooses it
    /// with nothing else excluded; else every address's is read.
    Planned { to: EmailAddress, excluded: bool },
}

/// Everything a send needs once the checks of passed.
pub(super) struct Ready {
    pub e: Enrollment,
    /// The version the enrollment was read at: every write checks it.
    pub version: u64,
    pub campaign: Campaign,
    pub account: EmailAccount,
    pub candidate: Candidate,
    exclusions: Exclusions,
    /// The reputation windows the send counts in, and its numbers there
    /// from the counters as read.
    pub counted: Counted,
    pub step: u32,
    pub now: DateTime<Utc>,
    /// The account owner's time zone, when the first read had it.
    owner_zone: Option<Zone>,
}

/// The attempt this send claimed.
struct Claimed {
    attempt: u32,
    /// The version the claim wrote: the hand-off's outcome is recorded on it.
    version: u64,
    slot: Option<DailySlot>,
}

impl Sending<'_> {
    /// Runs the send of a wake-up; a pass that lost a write to a concurrent
    /// change starts again from the load.
    pub(super) async fn send_step(&self, job: &SendJob<'_>) -> Result<JobOutcome, Error> {
        retry_versioned(
            || async move { self.send_attempt(job).await },
            || {
                Err(Error::Conflict(
                    "the enrollment kept changing; the wake-up will be retried".into(),
                ))
            },
        )
        .await
    }

    /// One pass of R-8, top to bottom.
    async fn send_attempt(&self, job: &SendJob<'_>) -> Result<Attempt<JobOutcome>, Error> {
        let loaded = stage!(self.load(job).await?);
        let mut ready = stage!(self.check(job, loaded).await?);
        let address = stage!(self.choose(&mut ready).await?);
        let mail = stage!(self.render(&mut ready, &address).await?);
        let slot = stage!(self.take_room(&mut ready).await?);
        let claimed = stage!(self.claim(&mut ready, address, slot).await?);
        let hand_off = self.hand_off(job, &ready, &mail, &claimed).await?;
        if matches!(hand_off, HandOff::SenderFault(..) | HandOff::Deferred(None)) {
            // Provably not sent, and the campaign pauses: a slot taken now is
            // free again; a moved message's reservation stays its own.
            self.release_unused_slot(claimed.slot).await?;
        }
        let Ready {
            e,
            campaign,
            account,
            step,
            counted,
            ..
        } = ready;
        let claimed_enrollment = Versioned {
            value: e,
            version: claimed.version,
        };
        let outcome = self
            .record_hand_off(
                &campaign,
                &account,
                claimed_enrollment,
                (step, claimed.attempt),
                hand_off,
                &counted,
            )
            .await?;
        Ok(Attempt::Done(outcome))
    }

    /// Load: the enrollment, its campaign and (when the wake-up names it) its
    /// candidate in one read (issue 8), with (when it names them) the planned
    /// sender account, what excludes the planned address and the sender's
    /// reputation counters (issue 20). Only the wake-up of the enrollment's
    /// current plan goes on; one fired before its time is made again.
    async fn load(&self, job: &SendJob<'_>) -> Result<Flow<Loaded>, Error> {
        let mut lookups = vec![
            Lookup::Enrollment(job.org.clone(), job.enrollment_id.clone()),
            Lookup::Campaign(job.org.clone(), job.campaign_id.clone()),
        ];
        let planned = job.planned.filter(|_| job.candidate_hint.is_some());
        if let Some(id) = job.candidate_hint {
            lookups.push(Lookup::Candidate(job.org.clone(), id.clone()));
        }
        if let Some(plan) = planned {
            lookups.extend(self.planned_lookups(job, plan));
        }
        let mut found = self.store.get_batch(&lookups).await?.into_iter();
        let Some(Found::Enrollment(first)) = found.next().flatten() else {
            return Ok(Flow::Stop(JobOutcome::Stale("unknown enrollment")));
        };
        let Versioned { value: e, version } = *first;
        let campaign = match found.next().flatten() {
            Some(Found::Campaign(c)) => Some(c.value),
            _ => None,
        };
        let candidate = match found.next().flatten() {
            Some(Found::Candidate(c)) if c.value.id == e.candidate_id => Some(c.value),
            _ => None,
        };
        let planned = planned.map(|plan| planned_read(plan, found.collect()));
        if &e.campaign_id != job.campaign_id
            || e.plan_version != job.plan_version
            || e.due_step() != Some(job.step)
        {
            let why = "the plan changed since this wake-up was made";
            return Ok(Flow::Stop(JobOutcome::Stale(why)));
        }
        if !e.may_send_step(job.step) {
            return Ok(Flow::Stop(JobOutcome::Stale(
                "the enrollment is not sendable",
            )));
        }
        let Some(due) = e.next_planned_at() else {
            return Ok(Flow::Stop(JobOutcome::Stale("the step is already claimed")));
        };
        let now = self.now();
        if due > now {
            self.scheduler.schedule(&WakeUp::send_step(&e, due)).await?;
            return Ok(Flow::Stop(JobOutcome::Early));
        }
        Ok(Flow::Go(Loaded {
            e,
            version,
            campaign,
            candidate,
            planned,
            now,
        }))
    }

    /// What the first read asks about the plan of the step (issue 20): the
    /// sender account, the planned address's refused-address record and
    /// suppression entry (as [`Service::exclusion_lookups`] asks them), the
    /// owner's profile (R-6.7's time zone) and the sender's reputation
    /// counters.
    fn planned_lookups(&self, job: &SendJob<'_>, plan: &PlannedSend) -> Vec<Lookup> {
        let hash = self.returns().suppression_key(&plan.to);
        let mut lookups = vec![
            Lookup::Account(plan.account.clone()),
            Lookup::Record(bounced_record(job.org, &hash)),
            Lookup::Suppressed(job.org.clone(), hash),
        ];
        if let Some(owner) = &plan.owner {
            lookups.push(Lookup::User(job.org.clone(), owner.clone()));
        }
        lookups.extend(SendWindows::of(job.org, &plan.account, job.enrollment_id).lookups());
        lookups
    }

    /// Check: everything again just before the hand-off. The campaign
    /// sends; its sender account is connected and usable by its owner;
    /// the candidate exists and has not opted out; the step still
    /// exists.
    async fn check(&self, job: &SendJob<'_>, loaded: Loaded) -> Result<Flow<Ready>, Error> {
        let Loaded {
            e,
            version,
            campaign,
            candidate,
            planned,
            now,
        } = loaded;
        let Some(campaign) = campaign else {
            return Ok(Flow::Stop(JobOutcome::Stale("unknown campaign")));
        };
        if !sends(&campaign, &e) {
            return Ok(Flow::Stop(JobOutcome::Held("the campaign is not running")));
        }
        // The common path: the step's plan named the campaign's sender, and
        // the first read had everything. Else one more read (issue 20).
        let planned =
            planned.filter(|p| p.plan.account == campaign.sender_account_id && candidate.is_some());
        let (account, candidate, exclusions, counts, owner_zone) = match planned {
            Some(p) => {
                let owner_zone = p.owner_zone(job.org);
                let (to, excluded) = (p.plan.to, p.excluded);
                let exclusions = Some(Exclusions::Planned { to, excluded });
                (p.account, candidate, exclusions, p.counts, owner_zone)
            }
            None => {
                let (a, c, x, n) = self.read_sender(job.org, &campaign, &e, candidate).await?;
                (a, c, x, n, None)
            }
        };
        let Some(account) = account.clone().filter(|a| {
            a.status == AccountStatus::Connected
                && a.usable_by(&campaign.org_id, &campaign.owner_id)
        }) else {
            return self.wait_for_sender(account, e, version, now).await;
        };
        let Some(candidate) = candidate else {
            let why = "the candidate no longer exists";
            return Ok(Flow::Stop(JobOutcome::Stale(why)));
        };
        if candidate.opted_out {
            return self.end_opted_out(e, version, now).await;
        }
        if job.step == 0 || campaign.steps.get(job.step as usize - 1).is_none() {
            // An edit dropped this step; the edit re-plans the enrollment.
            let why = "the campaign no longer has this step";
            return Ok(Flow::Stop(JobOutcome::Stale(why)));
        }
        let exclusions = match exclusions {
            Some(found) => found,
            None => {
                let lookups = self.exclusion_lookups(job.org, &candidate, &e);
                Exclusions::All(self.store.get_batch(&lookups).await?)
            }
        };
        let windows = SendWindows::of(job.org, &account.id, &e.id);
        let counted = Counted {
            seqs: windows.seqs(&counts),
            counters: windows.keys(),
        };
        Ok(Flow::Go(Ready {
            e,
            version,
            campaign,
            account,
            candidate,
            exclusions,
            counted,
            step: job.step,
            now,
            owner_zone,
        }))
    }

    /// The sender account and its reputation counters, and the candidate if
    /// the first read did not have it, else what exclude:
    /// one more read (a wake-up without a plan, or one whose plan named
    /// another sender account; issue 20).
    async fn read_sender(
        &self,
        org: &OrgId,
        campaign: &Campaign,
        e: &Enrollment,
        candidate: Option<Candidate>,
    ) -> Result<SenderRead, Error> {
        let sender = &campaign.sender_account_id;
        let mut lookups = vec![Lookup::Account(sender.clone())];
        lookups.extend(SendWindows::of(org, sender, &e.id).lookups());
        match &candidate {
            None => lookups.push(Lookup::Candidate(org.clone(), e.candidate_id.clone())),
            Some(c) => lookups.extend(self.exclusion_lookups(org, c, e)),
        }
        let mut found = self.store.get_batch(&lookups).await?.into_iter();
        let account = match found.next().flatten() {
            Some(Found::Account(a)) => Some(a.value),
            _ => None,
        };
        let counts = found.by_ref().take(2).collect();
        Ok(match candidate {
            None => {
                let candidate = match found.next().flatten() {
                    Some(Found::Candidate(c)) => Some(c.value),
                    _ => None,
                };
                (account, candidate, None, counts)
            }
            Some(c) => (
                account,
                Some(c),
                Some(Exclusions::All(found.collect())),
                counts,
            ),
        })
    }

    /// The sender account is not connected, or not usable by the campaign's
    /// owner: its campaigns pause. A send that no pause holds (a
    /// completed campaign's re-send, R-5.3) waits for the account: the
    /// sweeper looks again later.
    async fn wait_for_sender<T>(
        &self,
        account: Option<EmailAccount>,
        mut e: Enrollment,
        version: u64,
        now: DateTime<Utc>,
    ) -> Result<Flow<T>, Error> {
        if let Some(a) = account {
            self.returns().pause_for_failed_sender(&a).await?;
        }
        let wait = now + SENDER_WAIT;
        if e.next_due_at.is_some_and(|d| d < wait) {
            e.next_due_at = Some(wait);
            if !self.write_enrollment(&mut e, version, false).await? {
                return Ok(Flow::Lost);
            }
        }
        let why = "the sender account is not connected";
        Ok(Flow::Stop(JobOutcome::Held(why)))
    }

    /// a person who said stop is not mailed at any address.
    async fn end_opted_out<T>(
        &self,
        mut e: Enrollment,
        version: u64,
        now: DateTime<Utc>,
    ) -> Result<Flow<T>, Error> {
        let ended_now = e.end(EnrollmentStatus::Unsubscribed, now).unwrap_or(false);
        if !self.write_enrollment(&mut e, version, ended_now).await? {
            return Ok(Flow::Lost);
        }
        self.campaigns()
            .complete_if_done(&e.org_id, &e.campaign_id)
            .await?;
        Ok(Flow::Stop(JobOutcome::Ended("unsubscribed")))
    }

    /// Choose: the address for this message, past every address the
    /// organization refused or suppressed. When none
    /// qualifies, [`Service::no_address`].
    async fn choose(&self, ready: &mut Ready) -> Result<Flow<EmailAddress>, Error> {
        if let Exclusions::Planned { to, excluded } = &ready.exclusions {
            // Choosing excludes addresses one by one from an order (R-7.1,
            // the planned address, first with nothing else excluded
            // and itself not excluded, is first whatever excludes the others.
            let first = self.address_for(&ready.campaign, &ready.candidate, &ready.e, &[]);
            if !excluded && first.as_ref() == Some(to) {
                return Ok(Flow::Go(to.clone()));
            }
            // Another address may be due now: every address's entries.
            let lookups = self.exclusion_lookups(&ready.e.org_id, &ready.candidate, &ready.e);
            ready.exclusions = Exclusions::All(self.store.get_batch(&lookups).await?);
        }
        match self.first_unrefused(ready).await? {
            Some(address) => Ok(Flow::Go(address)),
            None => self.no_address(ready).await,
        }
    }

    async fn first_unrefused(&self, ready: &Ready) -> Result<Option<EmailAddress>, Error> {
        let Ready {
            e,
            campaign,
            candidate,
            ..
        } = ready;
        let org = &e.org_id;
        let found = match &ready.exclusions {
            Exclusions::All(found) => found.as_slice(),
            Exclusions::Planned { .. } => &[],
        };
        let (mut excluded, bounced) = read_exclusions(candidate, e, found);
        loop {
            let Some(address) = self.address_for(campaign, candidate, e, &excluded) else {
                return Ok(None);
            };
            let refused = match bounced.iter().find(|(a, _)| *a == &address) {
                Some((_, refused)) => *refused,
                None => self.returns().bounced_in_org(org, &address).await?,
            };
            if !refused {
                return Ok(Some(address));
            }
            // bounced for the whole organization, though the cascade to
            // this candidate's record was interrupted: finish it; the address is
            // out either way.
            self.returns().mark_bounced_in_org(org, &address).await?;
            excluded.push(address);
        }
    }

    /// no address qualifies. The enrollment waits blocked; a finished
    /// enrollment's re-send exists because of a bounce and
    /// cannot wait blocked: it ends `bounced`.
    async fn no_address<T>(&self, ready: &mut Ready) -> Result<Flow<T>, Error> {
        let (e, now) = (&mut ready.e, ready.now);
        let bounced_before = e
            .steps
            .iter()
            .flat_map(|s| &s.attempts)
            .any(|a| a.state == AttemptState::Bounced)
            || e.status == EnrollmentStatus::Finished;
        let (ended_now, outcome) = if bounced_before {
            let ended_now = e.end(EnrollmentStatus::Bounced, now).unwrap_or(false);
            (ended_now, JobOutcome::Ended("bounced"))
        } else {
            e.block("no_address");
            (false, JobOutcome::Blocked("no_address".into()))
        };
        if !self.write_enrollment(e, ready.version, ended_now).await? {
            return Ok(Flow::Lost);
        }
        let detail = Some("no address qualifies (R-7.3)".into());
        self.enrollments()
            .record_event(e, e.status.as_str(), Some(ready.step), detail)
            .await;
        if e.is_ended() {
            self.campaigns()
                .complete_if_done(&e.org_id, &e.campaign_id)
                .await?;
        }
        if e.status == EnrollmentStatus::Bounced {
            self.returns()
                .check_refund(&e.org_id, &e.candidate_id)
                .await?;
        }
        Ok(Flow::Stop(outcome))
    }

    /// Render: the message and its headers. A message
    /// that cannot be rendered whole is never sent: the enrollment waits
    /// blocked until the user sets an override or removes the candidate.
    async fn render(
        &self,
        ready: &mut Ready,
        to: &EmailAddress,
    ) -> Result<Flow<OutgoingMail>, Error> {
        let Ready {
            campaign,
            account,
            candidate,
            e,
            step,
            now,
            ..
        } = ready;
        let (reason, detail, outcome) =
            match self.compose(campaign, account, candidate, e, *step, to, *now) {
                Ok(mail) => return Ok(Flow::Go(mail)),
                Err(RenderError::MissingField(field)) => (
                    format!("missing_field:{field}"),
                    format!("missing merge field {field}"),
                    JobOutcome::Blocked(field),
                ),
                // over a render budget, like a missing field.
                Err(RenderError::Budget(why)) => (
                    "render_limit".to_owned(),
                    why,
                    JobOutcome::Blocked("render_limit".into()),
                ),
                Err(other) => (
                    format!("template:{other}"),
                    other.to_string(),
                    JobOutcome::Blocked(other.to_string()),
                ),
            };
        e.block(reason);
        if !self.write_enrollment(e, ready.version, false).await? {
            return Ok(Flow::Lost);
        }
        self.enrollments()
            .record_event(&ready.e, "blocked", Some(ready.step), Some(detail))
            .await;
        Ok(Flow::Stop(outcome))
    }

    /// Hand off: the message to the mail service, once, and what its answer
    /// means. An answer that may mean acceptance counts as sent.
    async fn hand_off(
        &self,
        job: &SendJob<'_>,
        ready: &Ready,
        mail: &OutgoingMail,
        claimed: &Claimed,
    ) -> Result<HandOff, Error> {
        let (step, attempt, id) = (ready.step, claimed.attempt, job.enrollment_id);
        let tags = vec![
            ("org".to_owned(), job.org.to_string()),
            ("campaign".to_owned(), job.campaign_id.to_string()),
            ("enrollment".to_owned(), id.to_string()),
            ("step".to_owned(), step.to_string()),
            ("attempt".to_owned(), attempt.to_string()),
        ];
        let outbound = OutboundMail {
            from: ready.account.address.clone(),
            to: mail.to.clone(),
            subject: mail.subject.clone(),
            raw: build_mime(mail),
            tags,
        };
        Ok(match self.mailer.send(&outbound).await {
            Ok(sent) => HandOff::Sent(sent),
            Err(MailerError::Unconfirmed(why)) => {
                tracing::warn!(enrollment = %id, step, attempt, %why, "hand-off unconfirmed; counted as sent");
                HandOff::Unconfirmed
            }
            Err(MailerError::Deferred(why)) => {
                // account-wide refusals are back-pressure, never bounces; an operator alarm fires.
                tracing::error!(alarm = "ses_deferred", enrollment = %id, %why, "the mail service refused the send for the whole account");
                tracing::warn!(enrollment = %id, step, attempt, %why, "mail service deferred the send");
                // A later step's reservation stays; this step's
                // retry then competes for a slot like any other message.
                let kept = match ready.e.reserved_slot {
                    Some(r) if r.step > step => None,
                    _ => claimed.slot.as_ref().map(|s| ReservedSlot {
                        step,
                        day: s.count.day,
                    }),
                };
                HandOff::Deferred(kept)
            }
            Err(MailerError::SenderFault(why)) => HandOff::SenderFault(
                why,
                claimed
                    .slot
                    .as_ref()
                    .filter(|s| s.reserved)
                    .map(|s| ReservedSlot {
                        step,
                        day: s.count.day,
                    }),
            ),
            Err(MailerError::RecipientRefused(why)) => HandOff::Refused(why),
        })
    }
}

/// What the second read of a send found: the sender account, the candidate,
/// the exclusions when the first read had the candidate, and the answers to
/// the sender's [`SendWindows::lookups`].
type SenderRead = (
    Option<EmailAccount>,
    Option<Candidate>,
    Option<Exclusions>,
    Vec<Option<Found>>,
);

/// The answers to [`Sending::planned_lookups`], in their order.
fn planned_read(plan: &PlannedSend, found: Vec<Option<Found>>) -> PlannedRead {
    let mut found = found.into_iter();
    let account = match found.next().flatten() {
        Some(Found::Account(a)) => Some(a.value),
        _ => None,
    };
    let refused = found.next().flatten().is_some();
    let suppressed = matches!(found.next().flatten(), Some(Found::Suppressed));
    let owner = plan.owner.as_ref().map(|_| match found.next().flatten() {
        Some(Found::User(p)) => Some(*p),
        _ => None,
    });
    PlannedRead {
        plan: plan.clone(),
        account,
        excluded: refused || suppressed,
        counts: found.collect(),
        owner,
    }
}

/// Whether the campaign sends this enrollment's step: it runs, or it completed
/// and this is a finished enrollment's re-send; nothing goes out
/// of a paused or stopped one.
fn sends(campaign: &Campaign, e: &Enrollment) -> bool {
    let resending_finished = e.status == EnrollmentStatus::Finished;
    campaign.is_running() || (resending_finished && campaign.status == CampaignStatus::Completed)
}
