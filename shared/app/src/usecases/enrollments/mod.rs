//! Enrollments: add candidates, pause, resume, remove.

pub mod history;
mod outreach_record;
mod page;

pub use page::PageItem;

pub(crate) use outreach_record::outreach_key;

use outreach_domain::EmailAddress;
use outreach_domain::campaign::{Campaign, CampaignStatus};
use outreach_domain::enrollment::{Enrollment, EnrollmentStatus, NewEnrollment};
use outreach_domain::ids::{CampaignId, CandidateId, EnrollmentId, OrgId};
use outreach_domain::jitter::stable_hash;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::auth::Identity;
use crate::error::Error;
use crate::model::EnrollmentEvent;
use crate::ports::{Activity, Page, PageRequest, RevealOutcome, StoreError, Versioned, WakeUp};
use crate::retry::retry_versioned;
use crate::usecases::campaigns::Replan;
use crate::usecases::catalog::candidates::{Pins, pins_key};

process! {
    /// The enrollments process: adding candidates to a campaign with the
    /// no-double-outreach check, and an enrollment's pause, resume,
    /// removal, retry and overrides.
    Enrollments, enrollments
}

/// At most this many candidates per call (§13).
pub const MAX_CANDIDATES_PER_CALL: usize = 1000;

/// Candidates to add to a campaign.
#[derive(Debug)]
pub struct AddCandidates {
    /// At most [`MAX_CANDIDATES_PER_CALL`] per call.
    pub candidate_ids: Vec<String>,
    pub allow_duplicate: bool,
}

/// Why a candidate was not added (SPEC §13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    /// In a running, not-ended enrollment of another campaign.
    Duplicate,
    AlreadyEnrolled,
    /// The candidate opted out of the organization's mail.
    Suppressed,
    NoCredits,
    NotFound,
}

/// A candidate not added, and why.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub candidate_id: String,
    pub reason: RefusalReason,
    /// The other campaign, for `Duplicate`.
    pub campaign_id: Option<CampaignId>,
}

#[derive(Default)]
pub struct Added {
    pub enrollments: Vec<Enrollment>,
    pub refused: Vec<Refusal>,
    /// What the added candidates' history warns about.
    pub warnings: Vec<history::Warning>,
}

impl Added {
    /// Another call's answer after this one's (an import adds in chunks, R-3.7).
    pub fn extend(&mut self, more: Added) {
        self.enrollments.extend(more.enrollments);
        self.refused.extend(more.refused);
        self.warnings.extend(more.warnings);
    }
}

/// The id of a candidate's enrollment in a campaign: derived from both, so two
/// concurrent adds of the same candidate collide on one record instead of
/// creating two enrollments.
pub(crate) fn enrollment_id(campaign: &CampaignId, candidate: &CandidateId) -> EnrollmentId {
    let hi = stable_hash(campaign.as_str(), 0, candidate.as_str());
    let lo = stable_hash(candidate.as_str(), 1, campaign.as_str());
    EnrollmentId::new(format!("{}_{hi:016x}{lo:016x}", EnrollmentId::PREFIX))
}

impl Enrollments<'_> {
    /// Adds candidates: each is revealed if needed and, in a
    /// running campaign, planned from now with its own grace period.
    pub async fn add_candidates(
        &self,
        who: &Identity,
        campaign_id: &str,
        input: AddCandidates,
    ) -> Result<Added, Error> {
        if input.candidate_ids.len() > MAX_CANDIDATES_PER_CALL {
            return Err(Error::TooLarge(format!(
                "at most {MAX_CANDIDATES_PER_CALL} candidate_ids per call"
            )));
        }
        let campaign = self.addable_campaign(who, campaign_id).await?;
        let mut seen = std::collections::HashSet::new();
        let mut added = Added::default();
        for raw in input.candidate_ids {
            if !seen.insert(raw.clone()) {
                continue;
            }
            match self.enroll(&campaign, &raw, input.allow_duplicate).await? {
                Ok(e) => {
                    // A warning never refuses.
                    added
                        .warnings
                        .extend(self.warnings_for(&e.org_id, &e.candidate_id, &e.id).await?);
                    added.enrollments.push(e);
                }
                Err((reason, campaign_id)) => added.refused.push(Refusal {
                    candidate_id: raw.clone(),
                    reason,
                    campaign_id,
                }),
            }
        }
        Ok(added)
    }

    /// The campaign, when the caller may add candidates to it: visible, under
    /// sender rights, not ended.
    pub(crate) async fn addable_campaign(
        &self,
        who: &Identity,
        campaign_id: &str,
    ) -> Result<Campaign, Error> {
        let campaign = self.campaigns().campaign(who, campaign_id).await?.value;
        self.accounts()
            .require_sender_rights(who, &campaign)
            .await?;
        if matches!(
            campaign.status,
            CampaignStatus::Stopped | CampaignStatus::Completed
        ) {
            return Err(Error::Conflict(format!(
                "the campaign is {}; candidates cannot be added",
                serde_json::to_value(campaign.status)
                    .unwrap_or_default()
                    .as_str()
                    .unwrap_or("ended")
            )));
        }
        Ok(campaign)
    }

    async fn enroll(
        &self,
        campaign: &Campaign,
        candidate_id: &str,
        allow_duplicate: bool,
    ) -> Result<Result<Enrollment, (RefusalReason, Option<CampaignId>)>, Error> {
        let org = &campaign.org_id;
        let Some(candidate) = self
            .store
            .get_candidate(org, &CandidateId::from(candidate_id))
            .await?
        else {
            return Ok(Err((RefusalReason::NotFound, None)));
        };
        let candidate = candidate.value;
        if candidate.erased {
            return Ok(Err((RefusalReason::NotFound, None)));
        }
        if candidate.opted_out {
            return Ok(Err((RefusalReason::Suppressed, None)));
        }
        if let Some(existing) = self
            .store
            .enrollment_of_candidate(org, &campaign.id, &candidate.id)
            .await?
        {
            self.plan_if_unplanned(org, &existing).await?;
            return Ok(Err((RefusalReason::AlreadyEnrolled, None)));
        }
        let id = enrollment_id(&campaign.id, &candidate.id);
        if let Some(other) = self
            .claim_outreach(campaign, &candidate.id, &id, allow_duplicate)
            .await?
        {
            return Ok(Err((RefusalReason::Duplicate, Some(other))));
        }
        // Adding an unrevealed candidate reveals it.
        if self.store.reveal(org, &candidate.id, self.now()).await? == RevealOutcome::NoCredits {
            return Ok(Err((RefusalReason::NoCredits, None)));
        }
        let mut enrollment = Enrollment::new(NewEnrollment {
            id,
            org_id: org.clone(),
            campaign_id: campaign.id.clone(),
            candidate_id: candidate.id.clone(),
            step_count: campaign.steps.len(),
            pinned_address: self
                .read_record::<Pins>(&pins_key(org, campaign.project_id.as_str(), &candidate.id))
                .await?
                .for_owner(&campaign.owner_id)
                .cloned(),
            reply_token: self.ids.token(),
            unsubscribe_token: self.ids.token(),
            now: self.now(),
        });
        enrollment.allow_duplicate = allow_duplicate;
        // Its first step's plan (issue 20): R-7's choice with nothing excluded
        // yet, which the hand-off checks against what it reads.
        enrollment.planned = self
            .sending()
            .address_for(campaign, &candidate, &enrollment, &[])
            .map(|to| outreach_domain::enrollment::PlannedSend {
                to,
                account: campaign.sender_account_id.clone(),
                // A guess the send checks: a campaign's owner most often
                // owns its sender account (R-6.7's days are the owner's).
                owner: Some(campaign.owner_id.clone()),
            });
        match self.store.insert_enrollment(&enrollment).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                self.plan_if_unplanned(org, &enrollment.id).await?;
                return Ok(Err((RefusalReason::AlreadyEnrolled, None)));
            }
            Err(e) => return Err(e.into()),
        }
        self.after_insert(&enrollment).await.map(Ok)
    }

    /// An enrollment whose add lost its answer after the insert, before its
    /// plan (issue 19): the client's retry finds it enrolled and plans it, as
    /// the add would have.
    async fn plan_if_unplanned(&self, org: &OrgId, id: &EnrollmentId) -> Result<(), Error> {
        if let Some(v) = self.store.get_enrollment(org, id).await?
            && v.value.plan_start.is_none()
            && !v.value.is_ended()
        {
            self.after_insert(&v.value).await?;
        }
        Ok(())
    }

    /// What follows the insert of an added enrollment: it takes the campaign's
    /// steps and plan as they are now; the enrollment
    /// as stored.
    async fn after_insert(&self, enrollment: &Enrollment) -> Result<Enrollment, Error> {
        let org = &enrollment.org_id;
        // Read again after the insert: a resume that raced this add either lists
        // the new enrollment in its fan-out or is seen here.
        let current = self
            .campaigns()
            .campaign_by_id(org, &enrollment.campaign_id)
            .await?;
        // An edit of the steps that raced this add listed the campaign's
        // enrollments before this one existed: it takes the steps as they are
        // now, or it would wait for a step the campaign no longer has.
        if let Some(c) = current
            .as_ref()
            .filter(|c| c.steps.len() != enrollment.steps.len())
        {
            self.campaigns()
                .resize_and_retime(c, &enrollment.id, false)
                .await?;
        }
        if let Some(c) = current.filter(Campaign::is_running) {
            self.campaigns()
                .replan(&c, &enrollment.id, Replan::Fresh(self.now()))
                .await?;
        }
        let stored = self
            .store
            .get_enrollment(org, &enrollment.id)
            .await?
            .map(|v| v.value);
        Ok(stored.unwrap_or_else(|| enrollment.clone()))
    }

    pub async fn list_enrollments(
        &self,
        who: &Identity,
        campaign_id: &str,
        page: &PageRequest,
    ) -> Result<(Campaign, Page<Enrollment>), Error> {
        let campaign = self.campaigns().campaign(who, campaign_id).await?.value;
        let items = self
            .store
            .list_enrollments(&who.org_id, &campaign.id, page)
            .await?;
        Ok((campaign, items))
    }

    pub async fn enrollment(
        &self,
        who: &Identity,
        campaign_id: &str,
        id: &str,
    ) -> Result<(Campaign, Versioned<Enrollment>), Error> {
        let campaign = self.campaigns().campaign(who, campaign_id).await?.value;
        let e = self
            .store
            .get_enrollment(&who.org_id, &EnrollmentId::from(id))
            .await?
            .filter(|e| e.value.campaign_id == campaign.id)
            .ok_or(Error::NotFound("enrollment"))?;
        Ok((campaign, e))
    }

    pub async fn enrollment_events(&self, e: &Enrollment) -> Result<Vec<EnrollmentEvent>, Error> {
        Ok(self.store.list_events(&e.org_id, &e.id, 100).await?)
    }

    /// Applies `change` to one enrollment with a version check.
    async fn change_enrollment(
        &self,
        who: &Identity,
        campaign_id: &str,
        id: &str,
        change: impl Fn(&mut Enrollment) -> Result<(), Error>,
    ) -> Result<(Campaign, Enrollment, bool), Error> {
        let change = &change;
        retry_versioned(
            || async move {
                let (campaign, Versioned { mut value, version }) =
                    self.enrollment(who, campaign_id, id).await?;
                let was_active = !value.is_ended();
                let was_open = value.is_open();
                change(&mut value)?;
                let ended_now = was_active && value.is_ended();
                value.settle(was_open, self.now());
                let activity = Activity::ended_if(ended_now);
                let written = self.store_enrollment(&value, version, activity).await?;
                Ok(written.map(|_| (campaign, value, ended_now)))
            },
            || Err(concurrent_change()),
        )
        .await
    }

    /// stops every send of this enrollment not yet handed off. A
    /// safety action: any user who sees the campaign may take it.
    pub async fn pause_enrollment(
        &self,
        who: &Identity,
        campaign_id: &str,
        id: &str,
    ) -> Result<(Campaign, Enrollment), Error> {
        let (c, e, _) = self
            .change_enrollment(who, campaign_id, id, |e| {
                e.pause().map_err(|err| Error::Conflict(err.to_string()))
            })
            .await?;
        self.record_event(&e, "paused", None, None).await;
        Ok((c, e))
    }

    /// a step still ahead keeps its time, an overdue one is re-planned from now.
    pub async fn resume_enrollment(
        &self,
        who: &Identity,
        campaign_id: &str,
        id: &str,
    ) -> Result<(Campaign, Enrollment), Error> {
        let (campaign, _) = self.enrollment(who, campaign_id, id).await?;
        self.accounts()
            .require_sender_rights(who, &campaign)
            .await?;
        let running = campaign.is_running();
        let (campaign, e, _) = self
            .change_enrollment(who, campaign_id, id, |e| {
                // A repeat of a resume whose answer was lost before its
                // re-plan: active in a running campaign, nothing planned. The
                // re-plan below completes it; a 409 would leave it
                // stuck.
                if running && active_unplanned(e) {
                    return Ok(());
                }
                e.resume().map_err(|err| Error::Conflict(err.to_string()))
            })
            .await?;
        self.record_event(&e, "resumed", None, None).await;
        self.replan_if_running(&campaign, &e.id).await?;
        let (campaign, e) = self.enrollment(who, campaign_id, id).await?;
        Ok((campaign, e.value))
    }

    /// Plans an enrollment that became sendable again if its campaign runs now.
    /// The campaign is read after the enrollment's write: a resume that raced
    /// it either lists the enrollment in its fan-out or is seen here.
    async fn replan_if_running(&self, campaign: &Campaign, id: &EnrollmentId) -> Result<(), Error> {
        let current = self
            .campaigns()
            .campaign_by_id(&campaign.org_id, &campaign.id)
            .await?;
        if let Some(c) = current.filter(Campaign::is_running) {
            self.campaigns()
                .replan(&c, id, Replan::Resume(self.now()))
                .await?;
        }
        Ok(())
    }

    /// final; nothing further is sent to this candidate by this campaign.
    /// A safety action: any user who sees the campaign may take it.
    pub async fn remove_enrollment(
        &self,
        who: &Identity,
        campaign_id: &str,
        id: &str,
    ) -> Result<(Campaign, Enrollment), Error> {
        let now = self.now();
        let (campaign, e, ended_now) = self
            .change_enrollment(who, campaign_id, id, |e| {
                if e.status == EnrollmentStatus::Removed {
                    return Err(Error::Conflict("the enrollment is already removed".into()));
                }
                e.end(EnrollmentStatus::Removed, now)
                    .map(|_| ())
                    .map_err(|err| Error::Conflict(err.to_string()))
            })
            .await?;
        self.record_event(&e, "removed", None, None).await;
        if ended_now {
            self.campaigns()
                .complete_if_done(&campaign.org_id, &campaign.id)
                .await?;
        }
        let campaign = self.campaigns().campaign(who, campaign_id).await?.value;
        Ok((campaign, e))
    }

    /// Records an event on an enrollment; a failure to record is logged, never fatal.
    pub(crate) async fn record_event(
        &self,
        e: &Enrollment,
        kind: &str,
        step: Option<u32>,
        detail: Option<String>,
    ) {
        let event = EnrollmentEvent {
            org_id: e.org_id.clone(),
            enrollment_id: e.id.clone(),
            at: self.now(),
            kind: kind.to_owned(),
            step,
            // Issue 19 item 4: a reason from outside (a bounce's diagnostic, a
            // reply's subject) is kept bounded, so the event always fits.
            detail: detail.map(|d| outreach_domain::text::reason(&d)),
        };
        if let Err(err) = self.store.append_event(&event).await {
            tracing::warn!(enrollment = %e.id, %kind, error = %err, "could not record an enrollment event");
        }
    }
}

impl Enrollments<'_> {
    /// a user picks another address for a bounced enrollment and retries;
    /// the enrollment resumes from the bounced step.
    pub async fn retry_enrollment(
        &self,
        who: &Identity,
        campaign_id: &str,
        id: &str,
        address: &str,
    ) -> Result<(Campaign, Enrollment), Error> {
        let (campaign, current) = self.enrollment(who, campaign_id, id).await?;
        self.accounts()
            .require_sender_rights(who, &campaign)
            .await?;
        let address = &self.retry_address(who, &current.value, address).await?;
        if matches!(
            campaign.status,
            CampaignStatus::Stopped | CampaignStatus::Draft
        ) {
            return Err(Error::Conflict("the campaign is not sending".into()));
        }
        let now = self.now();
        // Eight lost races leave the enrollment as the last attempt found it.
        let reopened = &AtomicBool::new(false);
        let retried = retry_versioned(
            || async move {
                let (_, Versioned { mut value, version }) =
                    self.enrollment(who, campaign_id, id).await?;
                let reopen = value
                    .retry(address.clone(), now)
                    .map_err(|e| Error::Conflict(e.to_string()))?;
                reopened.store(reopen, Ordering::Relaxed);
                let activity = match reopen {
                    true => Activity::Reopened,
                    false => Activity::Unchanged,
                };
                let written = self.store_enrollment(&value, version, activity).await?;
                Ok(written.map(|_| Some(value)))
            },
            || Ok::<_, Error>(None),
        )
        .await?;
        if let Some(value) = &retried {
            let step = value.resend.as_ref().map(|r| r.step);
            let detail = format!("retry to {address}");
            self.record_event(value, "retry", step, Some(detail)).await;
            if let Some(at) = value.next_due_at {
                self.scheduler
                    .schedule(&WakeUp::send_step(value, at))
                    .await?;
            }
        }
        if reopened.load(Ordering::Relaxed) && campaign.status == CampaignStatus::Completed {
            self.reopen_completed(&campaign).await?;
        }
        let (campaign, e) = self.enrollment(who, campaign_id, id).await?;
        Ok((campaign, e.value))
    }

    /// The address a retry goes to: not on the suppression list and
    /// not opted out, not bounced, the caller's to use.
    async fn retry_address(
        &self,
        who: &Identity,
        current: &Enrollment,
        address: &str,
    ) -> Result<EmailAddress, Error> {
        let address =
            EmailAddress::parse(address).map_err(|e| Error::invalid("address", e.to_string()))?;
        if self.returns().is_suppressed(&who.org_id, &address).await? {
            return Err(Error::invalid(
                "address",
                "the address is on the organization's suppression list (R-9.5)",
            ));
        }
        let candidate = self
            .catalog()
            .candidate(who, current.candidate_id.as_str())
            .await?;
        if candidate.opted_out {
            return Err(Error::invalid(
                "address",
                "the candidate opted out of this organization's mail (R-9.5)",
            ));
        }
        if candidate.emails.iter().any(|e| e.address == address)
            && (!candidate.shows(&address, &who.user_id)
                || candidate
                    .emails
                    .iter()
                    .any(|e| e.address == address && e.bounced))
        {
            return Err(Error::invalid(
                "address",
                "this address bounced or is not yours to use",
            ));
        }
        Ok(address)
    }

    /// A completed campaign has an active enrollment again: it runs again.
    async fn reopen_completed(&self, campaign: &Campaign) -> Result<(), Error> {
        let reopened = self
            .update_campaign(&campaign.org_id, &campaign.id, |c| {
                let completed = c.status == CampaignStatus::Completed;
                if completed {
                    c.status = CampaignStatus::Running;
                }
                Ok(completed)
            })
            .await;
        match reopened {
            // Eight lost races leave it to the change that won them.
            Err(Error::Conflict(_)) => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

/// Per-enrollment overrides: they affect this campaign only.
#[derive(Debug)]
pub struct Overrides {
    /// `Some(Some(a))` sets the address: one of the candidate's visible to the
    /// caller, or a new one typed in; `Some(None)` clears the override; `None`
    /// leaves it as it is.
    pub address: Option<Option<String>>,
    /// Replaces the custom merge fields.
    pub custom_fields: Option<std::collections::BTreeMap<String, String>>,
}

impl Enrollments<'_> {
    /// sets the recipient override and custom fields; an enrollment
    /// blocked for a missing field or address is unblocked and re-planned.
    pub async fn set_overrides(
        &self,
        who: &Identity,
        campaign_id: &str,
        id: &str,
        input: Overrides,
    ) -> Result<(Campaign, Enrollment), Error> {
        let (campaign, current) = self.enrollment(who, campaign_id, id).await?;
        self.accounts()
            .require_sender_rights(who, &campaign)
            .await?;
        let address = &match &input.address {
            Some(Some(raw)) => Some(Some(self.override_address(who, &current.value, raw).await?)),
            Some(None) => Some(None),
            None => None,
        };
        if let Some(fields) = &input.custom_fields {
            check_custom_fields(fields)?;
        }
        let fields = &input.custom_fields;
        // Eight lost races leave the enrollment as the last attempt found it.
        // Unblocked by this call, or by one whose answer was lost before its
        // re-plan (issue 19): an active enrollment with nothing planned.
        let unblocked = &AtomicBool::new(false);
        retry_versioned(
            || async move {
                let (_, Versioned { mut value, version }) =
                    self.enrollment(who, campaign_id, id).await?;
                if value.is_ended() {
                    return Err(Error::Conflict(format!(
                        "the enrollment has ended ({})",
                        value.status.as_str()
                    )));
                }
                if let Some(a) = address {
                    value.override_address = a.clone();
                }
                if let Some(f) = fields {
                    value.custom_fields = f.clone();
                }
                let unplanned = active_unplanned(&value);
                unblocked.store(value.unblock() || unplanned, Ordering::Relaxed);
                self.store_enrollment(&value, version, Activity::Unchanged)
                    .await
            },
            || Ok::<_, Error>(()),
        )
        .await?;
        if unblocked.load(Ordering::Relaxed) {
            self.replan_if_running(&campaign, &EnrollmentId::from(id))
                .await?;
        }
        let (campaign, e) = self.enrollment(who, campaign_id, id).await?;
        Ok((campaign, e.value))
    }

    /// An override address: the caller's to use, not on the
    /// suppression list.
    async fn override_address(
        &self,
        who: &Identity,
        current: &Enrollment,
        raw: &str,
    ) -> Result<EmailAddress, Error> {
        let a = EmailAddress::parse(raw).map_err(|e| Error::invalid("address", e.to_string()))?;
        let candidate = self
            .catalog()
            .candidate(who, current.candidate_id.as_str())
            .await?;
        if candidate.emails.iter().any(|e| e.address == a) && !candidate.shows(&a, &who.user_id) {
            // A colleague's manual address is not the caller's to use.
            return Err(Error::invalid("address", "not an address you may use"));
        }
        if self.returns().is_suppressed(&who.org_id, &a).await? {
            return Err(Error::invalid(
                "address",
                "the address is on the organization's suppression list (R-9.5)",
            ));
        }
        Ok(a)
    }
}

/// Most custom merge fields of one enrollment, in bytes as stored (the JSON
/// the stores keep, escapes included: a control character takes six bytes).
/// The enrollment is rewritten by every claim and recording of a step, so its
/// fields must leave room for its steps' attempts within one DynamoDB item
/// (400 KB), or every later write of it would fail. 128 KB holds any set the
/// rules below allow in plain text (50 × 2,000 bytes and their names) and
/// leaves over 270 KB for the rest (413 beyond, SPEC §13).
pub const MAX_CUSTOM_FIELDS_BYTES: usize = 128 * 1024;

/// Custom merge fields: at most 50, named with letters, digits and
/// `_`, each value at most 2,000 characters, and at most
/// [`MAX_CUSTOM_FIELDS_BYTES`] in all as stored.
fn check_custom_fields(fields: &std::collections::BTreeMap<String, String>) -> Result<(), Error> {
    if fields.len() > 50 {
        return Err(Error::invalid("custom_fields", "at most 50 custom fields"));
    }
    for (k, v) in fields {
        let valid_name = !k.is_empty()
            && k.len() <= 64
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            return Err(Error::invalid(
                format!("custom_fields.{k}"),
                "names are letters, digits and _",
            ));
        }
        if v.len() > 2000 {
            return Err(Error::invalid(
                format!("custom_fields.{k}"),
                "at most 2000 characters",
            ));
        }
    }
    let stored = serde_json::to_vec(fields).map_or(usize::MAX, |json| json.len());
    if stored > MAX_CUSTOM_FIELDS_BYTES {
        return Err(Error::TooLarge(format!(
            "the custom fields take {} KB as stored; at most 128 KB in all",
            stored.div_ceil(1024)
        )));
    }
    Ok(())
}

fn concurrent_change() -> Error {
    Error::Conflict("the enrollment is being changed concurrently; try again".into())
}

/// An active enrollment with a step to send and nothing planned: what a
/// change whose answer was lost before its re-plan leaves (issue 19).
fn active_unplanned(e: &Enrollment) -> bool {
    e.next_due_at.is_none()
        && e.has_sendable_step()
        && !e.is_ended()
        && !matches!(
            e.status,
            EnrollmentStatus::Blocked | EnrollmentStatus::Paused
        )
}
