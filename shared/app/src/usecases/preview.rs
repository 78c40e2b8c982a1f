//! Campaign preview: every step rendered for every candidate, and every
//! candidate whose merge fields are missing, so nothing is sent half-rendered.

use outreach_domain::campaign::Campaign;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::render::{RenderError, RenderedMessage, render_step};
use serde::Serialize;

use crate::auth::Identity;
use crate::error::ApiError;
use crate::ports::{Page, PageRequest};
use crate::service::Service;
use crate::usecases::sending::render_context;

#[derive(Debug, Clone, Serialize)]
pub struct MissingField {
    pub enrollment_id: String,
    pub candidate_id: String,
    pub step_index: u32,
    pub field: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PreviewStep {
    pub index: u32,
    #[serde(flatten)]
    pub rendered: Option<RenderedMessage>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PreviewItem {
    pub enrollment_id: String,
    pub candidate_id: String,
    pub steps: Vec<PreviewStep>,
}

impl Service {
    /// One page of the preview: each step for each enrollment.
    pub async fn preview(
        &self,
        who: &Identity,
        campaign_id: &str,
        page: &PageRequest,
    ) -> Result<(Page<PreviewItem>, Vec<MissingField>), ApiError> {
        let campaign = self.campaign(who, campaign_id).await?.value;
        let enrollments = self
            .store
            .list_enrollments(&who.org_id, &campaign.id, page)
            .await?;
        let mut items = Vec::new();
        let mut missing = Vec::new();
        for e in &enrollments.items {
            let (item, m) = self.preview_one(&campaign, e).await?;
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

    /// Every candidate of the campaign with a missing field (for start, R-4.3).
    pub async fn missing_fields(&self, campaign: &Campaign) -> Result<Vec<MissingField>, ApiError> {
        let mut out = Vec::new();
        let mut page = PageRequest {
            limit: 200,
            after: None,
        };
        loop {
            let batch = self
                .store
                .list_enrollments(&campaign.org_id, &campaign.id, &page)
                .await?;
            for e in batch.items.iter().filter(|e| !e.is_ended()) {
                out.extend(self.preview_one(campaign, e).await?.1);
            }
            match batch.next {
                Some(n) => page.after = Some(n),
                None => return Ok(out),
            }
        }
    }

    async fn preview_one(
        &self,
        campaign: &Campaign,
        e: &Enrollment,
    ) -> Result<(PreviewItem, Vec<MissingField>), ApiError> {
        let candidate = self
            .store
            .get_candidate(&campaign.org_id, &e.candidate_id)
            .await?
            .map(|v| v.value);
        let account = self
            .store
            .get_account(&campaign.sender_account_id)
            .await?
            .map(|v| v.value);
        let mut steps = Vec::new();
        let mut missing = Vec::new();
        if let (Some(candidate), Some(account)) = (candidate, account) {
            let ctx = render_context(campaign, &account, &candidate, e);
            for (i, spec) in campaign.steps.iter().enumerate() {
                let index = i as u32 + 1;
                let first = if i == 0 {
                    None
                } else {
                    campaign.steps[0].subject.as_deref()
                };
                match render_step(spec, first, &ctx) {
                    Ok(r) => steps.push(PreviewStep {
                        index,
                        rendered: Some(r),
                        error: None,
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
                        });
                    }
                }
            }
        }
        Ok((
            PreviewItem {
                enrollment_id: e.id.to_string(),
                candidate_id: e.candidate_id.to_string(),
                steps,
            },
            missing,
        ))
    }
}
