//! Campaign preview: every step rendered for every candidate, and every
//! candidate whose merge fields are missing, so nothing is sent half-rendered.

use chrono::{DateTime, Utc};
use outreach_domain::Zone;
use outreach_domain::campaign::Campaign;
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::plan::plan;
use outreach_domain::render::{RenderError, RenderedMessage};

use super::{Campaigns, plan_request, zone_of};
use crate::auth::Identity;
use crate::error::Error;
use crate::model::EmailAccount;
use crate::ports::{Page, PageRequest};
use crate::usecases::sending::render_enrollment_step;

/// A merge field a candidate lacks for a step.
#[derive(Debug, Clone)]
pub struct MissingField {
    pub enrollment_id: String,
    pub candidate_id: String,
    pub step_index: u32,
    pub field: String,
}

/// One step rendered for one candidate: the message, or why it did not render.
#[derive(Debug, Clone)]
pub struct PreviewStep {
    pub index: u32,
    pub rendered: Option<RenderedMessage>,
    pub error: Option<String>,
    /// When it is planned to leave: the enrollment's plan once it has one,
    /// else the plan the domain's planner makes for a start now, before
    /// daily limits and holds; `None` for a step with no plan.
    pub planned_at: Option<DateTime<Utc>>,
}

/// Every step of one enrollment, rendered.
#[derive(Debug, Clone)]
pub struct PreviewItem {
    pub enrollment_id: String,
    pub candidate_id: String,
    /// The candidate's own time zone, if they have one.
    pub candidate_timezone: Option<Zone>,
    pub steps: Vec<PreviewStep>,
}

impl Campaigns<'_> {
    /// One page of the preview: each step for each enrollment.
    pub async fn preview(
        &self,
        who: &Identity,
        campaign_id: &str,
        page: &PageRequest,
    ) -> Result<(Page<PreviewItem>, Vec<MissingField>), Error> {
        let campaign = self.campaign(who, campaign_id).await?.value;
        let enrollments = self
            .store
            .list_enrollments(&who.org_id, &campaign.id, page)
            .await?;
        let account = self.sender_account_of(&campaign).await?;
        let mut items = Vec::new();
        let mut missing = Vec::new();
        for e in &enrollments.items {
            let (item, m) = self.preview_one(&campaign, account.as_ref(), e).await?;
            items.push(item);
            missing.extend(m);
        }
        Ok((
            Page {
                items,
                next: enrollments.next,
            },
            missing,
        ))
    }

    /// The candidates with a missing field among the enrollments start plans
    /// itself.
    pub async fn missing_fields(&self, campaign: &Campaign) -> Result<Vec<MissingField>, Error> {
        // Start answers at once however large the campaign (§15): it reports the
        // enrollments it plans itself, the first chunk; the preview pages through
        // all of them, and a step with a missing field is never sent.
        let page = PageRequest {
            limit: crate::usecases::campaigns::FAN_OUT_CHUNK,
            after: None,
        };
        let batch = self
            .store
            .list_enrollments(&campaign.org_id, &campaign.id, &page)
            .await?;
        // One read of the sender account for the whole chunk.
        let account = self.sender_account_of(campaign).await?;
        let mut out = Vec::new();
        for e in batch.items.iter().filter(|e| !e.is_ended()) {
            out.extend(self.preview_one(campaign, account.as_ref(), e).await?.1);
        }
        Ok(out)
    }

    /// The campaign's sender account, read once for all the enrollments previewed.
    async fn sender_account_of(&self, campaign: &Campaign) -> Result<Option<EmailAccount>, Error> {
        Ok(self
            .store
            .get_account(&campaign.sender_account_id)
            .await?
            .map(|v| v.value))
    }

    async fn preview_one(
        &self,
        campaign: &Campaign,
        account: Option<&EmailAccount>,
        e: &Enrollment,
    ) -> Result<(PreviewItem, Vec<MissingField>), Error> {
        let candidate = self
            .store
            .get_candidate(&campaign.org_id, &e.candidate_id)
            .await?
            .map(|v| v.value);
        let mut steps = Vec::new();
        let mut missing = Vec::new();
        let candidate_timezone = candidate.as_ref().and_then(|c| c.timezone);
        if let (Some(candidate), Some(account)) = (candidate, account) {
            let planned = self.planned_times(campaign, &candidate, e);
            for index in 1..=campaign.steps.len() as u32 {
                let planned_at = planned.get(index as usize - 1).copied().flatten();
                match render_enrollment_step(campaign, account, &candidate, e, index) {
                    Ok(r) => steps.push(PreviewStep {
                        index,
                        rendered: Some(r),
                        error: None,
                        planned_at,
                    }),
                    Err(err) => {
                        if let RenderError::MissingField(field) = &err {
                            missing.push(MissingField {
                                enrollment_id: e.id.to_string(),
                                candidate_id: e.candidate_id.to_string(),
                                step_index: index,
                                field: field.clone(),
                            });
                        }
                        steps.push(PreviewStep {
                            index,
                            rendered: None,
                            error: Some(err.to_string()),
                            planned_at,
                        });
                    }
                }
            }
        }
        Ok((
            PreviewItem {
                enrollment_id: e.id.to_string(),
                candidate_id: e.candidate_id.to_string(),
                candidate_timezone,
                steps,
            },
            missing,
        ))
    }

    /// Each step's planned instant, index 0 being step 1: the enrollment's
    /// own plan once it has one (a started campaign), else what the domain's
    /// planner plans for a start now in the zone the start would use
    /// . Daily limits are not applied: they depend on the
    /// other plans of the day when the campaign starts.
    fn planned_times(
        &self,
        campaign: &Campaign,
        candidate: &Candidate,
        e: &Enrollment,
    ) -> Vec<Option<DateTime<Utc>>> {
        let count = campaign.steps.len();
        if e.plan_start.is_some() || e.is_ended() {
            return (1..=count as u32)
                .map(|i| e.step(i).and_then(|s| s.planned_at))
                .collect();
        }
        let zone = zone_of(campaign, candidate.timezone);
        let delays = campaign.delays();
        let from = e.next_step_offset();
        let fresh = plan(&plan_request(campaign, e, self.now(), zone, &delays, from));
        (0..count)
            .map(|i| i.checked_sub(from).and_then(|k| fresh.get(k).copied()))
            .collect()
    }
}
