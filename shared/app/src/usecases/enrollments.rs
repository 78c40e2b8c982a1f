//! Enrollments: add candidates, pause, resume, remove.

use outreach_domain::campaign::{Campaign, CampaignStatus};
use outreach_domain::enrollment::{Enrollment, EnrollmentStatus, NewEnrollment};
use outreach_domain::ids::{CampaignId, CandidateId, EnrollmentId};
use outreach_domain::jitter::stable_hash;
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::model::EnrollmentEvent;
use crate::ports::{Activity, Page, PageRequest, RevealOutcome, StoreError, Versioned, WakeUp};
use crate::service::{CAS_ATTEMPTS, Service};
use crate::usecases::campaigns::Replan;

/// At most this many candidates per call (§13).
pub const MAX_CANDIDATES_PER_CALL: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddCandidates {
    pub candidate_ids: Vec<String>,
    #[serde(default)]
    pub allow_duplicate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    AlreadyEnrolled,
    /// The candidate opted out of the organization's mail.
    Suppressed,
    NoCredits,
    NotFound,
}

#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    pub candidate_id: String,
    pub reason: RefusalReason,
}

pub struct Added {
    pub enrollments: Vec<Enrollment>,
    pub refused: Vec<Refusal>,
}

/// The id of a candidate's enrollment in a campaign: derived from both, so two
/// concurrent adds of the same candidate collide on one record instead of
/// creating two enrollments.
fn enrollment_id(campaign: &CampaignId, candidate: &CandidateId) -> EnrollmentId {
    let hi = stable_hash(campaign.as_str(), 0, candidate.as_str());
    let lo = stable_hash(candidate.as_str(), 1, campaign.as_str());
    EnrollmentId::new(format!("{}_{hi:016x}{lo:016x}", EnrollmentId::PREFIX))
}

impl Service {
    /// Adds candidates: each is revealed if needed and, in a
    /// running campaign, planned from now with its own grace period.
    pub async fn add_candidates(
        &self,
        who: &Identity,
        campaign_id: &str,
        input: AddCandidates,
    ) -> Result<Added, ApiError> {
        if input.candidate_ids.len() > MAX_CANDIDATES_PER_CALL {
            return Err(ApiError::TooLarge(format!(
                "at most {MAX_CANDIDATES_PER_CALL} candidate_ids per call"
            )));
        }
        let campaign = self.campaign(who, campaign_id).await?.value;
        if matches!(
            campaign.status,
            CampaignStatus::Stopped | CampaignStatus::Completed
        ) {
            return Err(ApiError::Conflict(format!(
                "the campaign is {}; candidates cannot be added",
                serde_json::to_value(campaign.status)
                    .unwrap_or_default()
                    .as_str()
                    .unwrap_or("ended")
            )));
        }
        let mut seen = std::collections::HashSet::new();
        let mut added = Added {
            enrollments: Vec::new(),
            refused: Vec::new(),
        };
        for raw in input.candidate_ids {
            if !seen.insert(raw.clone()) {
                continue;
            }
            let refuse = |reason| Refusal {
                candidate_id: raw.clone(),
                reason,
            };
            match self.enroll(&campaign, &raw).await? {
                Ok(e) => added.enrollments.push(e),
                Err(reason) => added.refused.push(refuse(reason)),
            }
        }
        Ok(added)
    }

    async fn enroll(
        &self,
        campaign: &Campaign,
        candidate_id: &str,
    ) -> Result<Result<Enrollment, RefusalReason>, ApiError> {
        let org = &campaign.org_id;
        let Some(candidate) = self
            .store
            .get_candidate(org, &CandidateId::from(candidate_id))
            .await?
        else {
            return Ok(Err(RefusalReason::NotFound));
        };
        let candidate = candidate.value;
        if candidate.opted_out {
            return Ok(Err(RefusalReason::Suppressed));
        }
        if self
            .store
            .enrollment_of_candidate(org, &campaign.id, &candidate.id)
            .await?
            .is_some()
        {
            return Ok(Err(RefusalReason::AlreadyEnrolled));
        }
        // Adding an unrevealed candidate reveals it.
        if self.store.reveal(org, &candidate.id, self.now()).await? == RevealOutcome::NoCredits {
            return Ok(Err(RefusalReason::NoCredits));
        }
        let enrollment = Enrollment::new(NewEnrollment {
            id: enrollment_id(&campaign.id, &candidate.id),
            org_id: org.clone(),
            campaign_id: campaign.id.clone(),
            candidate_id: candidate.id.clone(),
            step_count: campaign.steps.len(),
            pinned_address: None,
            reply_token: self.ids.token(),
            unsubscribe_token: self.ids.token(),
            now: self.now(),
        });
        match self.store.insert_enrollment(&enrollment).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Ok(Err(RefusalReason::AlreadyEnrolled)),
            Err(e) => return Err(e.into()),
        }
        if campaign.is_running() {
            self.replan(campaign, &enrollment.id, Replan::Fresh(self.now()))
                .await?;
        }
        let stored = self
            .store
            .get_enrollment(org, &enrollment.id)
            .await?
            .map(|v| v.value);
        Ok(Ok(stored.unwrap_or(enrollment)))
    }

    pub async fn list_enrollments(
        &self,
        who: &Identity,
        campaign_id: &str,
        page: &PageRequest,
    ) -> Result<(Campaign, Page<Enrollment>), ApiError> {
        let campaign = self.campaign(who, campaign_id).await?.value;
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
    ) -> Result<(Campaign, Versioned<Enrollment>), ApiError> {
        let campaign = self.campaign(who, campaign_id).await?.value;
        let e = self
            .store
            .get_enrollment(&who.org_id, &EnrollmentId::from(id))
            .await?
            .filter(|e| e.value.campaign_id == campaign.id)
            .ok_or(ApiError::NotFound("enrollment"))?;
        Ok((campaign, e))
    }

    pub async fn enrollment_events(
        &self,
        e: &Enrollment,
    ) -> Result<Vec<EnrollmentEvent>, ApiError> {
        Ok(self.store.list_events(&e.org_id, &e.id, 100).await?)
    }

    /// Applies `change` to one enrollment with a version check.
    async fn change_enrollment(
        &self,
        who: &Identity,
        campaign_id: &str,
        id: &str,
        change: impl Fn(&mut Enrollment) -> Result<(), ApiError>,
    ) -> Result<(Campaign, Enrollment, bool), ApiError> {
        for _ in 0..CAS_ATTEMPTS {
            let (campaign, Versioned { mut value, version }) =
                self.enrollment(who, campaign_id, id).await?;
            let was_active = !value.is_ended();
            change(&mut value)?;
            let ended_now = was_active && value.is_ended();
            match self
                .store
                .update_enrollment(&value, version, Activity::ended_if(ended_now))
                .await
            {
                Ok(_) => return Ok((campaign, value, ended_now)),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::Conflict(
            "the enrollment is being changed concurrently; try again".into(),
        ))
    }

    /// stops every send of this enrollment not yet handed off.
    pub async fn pause_enrollment(
        &self,
        who: &Identity,
        campaign_id: &str,
        id: &str,
    ) -> Result<(Campaign, Enrollment), ApiError> {
        let (c, e, _) = self
            .change_enrollment(who, campaign_id, id, |e| {
                e.pause().map_err(|err| ApiError::Conflict(err.to_string()))
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
    ) -> Result<(Campaign, Enrollment), ApiError> {
        let (campaign, e, _) = self
            .change_enrollment(who, campaign_id, id, |e| {
                e.resume()
                    .map_err(|err| ApiError::Conflict(err.to_string()))
            })
            .await?;
        self.record_event(&e, "resumed", None, None).await;
        if campaign.is_running() {
            self.replan(&campaign, &e.id, Replan::Resume(self.now()))
                .await?;
        }
        let (campaign, e) = self.enrollment(who, campaign_id, id).await?;
        Ok((campaign, e.value))
    }

    /// final; nothing further is sent to this candidate by this campaign.
    pub async fn remove_enrollment(
        &self,
        who: &Identity,
        campaign_id: &str,
        id: &str,
    ) -> Result<(Campaign, Enrollment), ApiError> {
        let now = self.now();
        let (campaign, e, ended_now) = self
            .change_enrollment(who, campaign_id, id, |e| {
                if e.status == EnrollmentStatus::Removed {
                    return Err(ApiError::Conflict(
                        "the enrollment is already removed".into(),
                    ));
                }
                e.end(EnrollmentStatus::Removed, now)
                    .map(|_| ())
                    .map_err(|err| ApiError::Conflict(err.to_string()))
            })
            .await?;
        self.record_event(&e, "removed", None, None).await;
        if ended_now {
            self.complete_if_done(&campaign.org_id, &campaign.id)
                .await?;
        }
        let campaign = self.campaign(who, campaign_id).await?.value;
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
            detail,
        };
        if let Err(err) = self.store.append_event(&event).await {
            tracing::warn!(enrollment = %e.id, %kind, error = %err, "could not record an enrollment event");
        }
    }
}

impl Service {
    /// a user picks another address for a bounced enrollment and retries;
    /// the enrollment resumes from the bounced step.
    pub async fn retry_enrollment(
        &self,
        who: &Identity,
        campaign_id: &str,
        id: &str,
        address: &str,
    ) -> Result<(Campaign, Enrollment), ApiError> {
        let address = outreach_domain::EmailAddress::parse(address)
            .map_err(|e| ApiError::invalid("address", e.to_string()))?;
        let (campaign, current) = self.enrollment(who, campaign_id, id).await?;
        if self.is_suppressed(&who.org_id, &address).await? {
            return Err(ApiError::invalid(
                "address",
                "the address is on the organization's suppression list (R-9.5)",
            ));
        }
        let candidate = self
            .candidate(who, current.value.candidate_id.as_str())
            .await?;
        if candidate.opted_out {
            return Err(ApiError::invalid(
                "address",
                "the candidate opted out of this organization's mail (R-9.5)",
            ));
        }
        if candidate
            .emails
            .iter()
            .any(|e| e.address == address && (e.bounced || !e.visible_to(&who.user_id)))
        {
            return Err(ApiError::invalid(
                "address",
                "this address bounced or is not yours to use",
            ));
        }
        if matches!(
            campaign.status,
            CampaignStatus::Stopped | CampaignStatus::Draft
        ) {
            return Err(ApiError::Conflict("the campaign is not sending".into()));
        }
        let now = self.now();
        let mut reopened = false;
        for _ in 0..CAS_ATTEMPTS {
            let (_, Versioned { mut value, version }) =
                self.enrollment(who, campaign_id, id).await?;
            reopened = value
                .retry(address.clone(), now)
                .map_err(|e| ApiError::Conflict(e.to_string()))?;
            let activity = if reopened {
                Activity::Reopened
            } else {
                Activity::Unchanged
            };
            match self
                .store
                .update_enrollment(&value, version, activity)
                .await
            {
                Ok(_) => {
                    self.record_event(
                        &value,
                        "retry",
                        value.resend.as_ref().map(|r| r.step),
                        Some(format!("retry to {address}")),
                    )
                    .await;
                    if let Some(at) = value.next_due_at {
                        self.scheduler
                            .schedule(&WakeUp::send_step(&value, at))
                            .await?;
                    }
                    break;
                }
                Err(StoreError::Conflict) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        if reopened && campaign.status == CampaignStatus::Completed {
            // A completed campaign has an active enrollment again.
            for _ in 0..CAS_ATTEMPTS {
                let Versioned { mut value, version } = self.campaign(who, campaign_id).await?;
                if value.status != CampaignStatus::Completed {
                    break;
                }
                value.status = CampaignStatus::Running;
                match self.store.put_campaign(&value, Some(version)).await {
                    Ok(_) => break,
                    Err(StoreError::Conflict) => continue,
                    Err(err) => return Err(err.into()),
                }
            }
        }
        let (campaign, e) = self.enrollment(who, campaign_id, id).await?;
        Ok((campaign, e.value))
    }
}
