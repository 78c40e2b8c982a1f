//! The message of a step: its merge fields, its rendering and
//! the headers that thread it and let the recipient reply or unsubscribe.

use chrono::{DateTime, Utc};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::Campaign;
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::render::{
    CandidateFields, RenderContext, RenderError, RenderedMessage, SenderFields, render_step,
};

use super::Sending;
use crate::mime::OutgoingMail;
use crate::model::EmailAccount;

/// Step `step` (from 1) of `campaign` rendered for one enrollment. Later steps
/// thread under step 1's subject: the one place that rule is applied,
/// for the hand-off and the preview alike.
pub(crate) fn render_enrollment_step(
    campaign: &Campaign,
    account: &EmailAccount,
    candidate: &Candidate,
    e: &Enrollment,
    step: u32,
) -> Result<RenderedMessage, RenderError> {
    let Some(spec) = campaign.steps.get(step.saturating_sub(1) as usize) else {
        return Err(RenderError::Syntax(format!(
            "the campaign has no step {step}"
        )));
    };
    let first_subject = match step {
        1 => None,
        _ => campaign.steps.first().and_then(|s| s.subject.as_deref()),
    };
    render_step(
        spec,
        first_subject,
        &render_context(campaign, account, candidate, e),
    )
}

impl Sending<'_> {
    /// Renders the step and the headers of.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn compose(
        &self,
        campaign: &Campaign,
        account: &EmailAccount,
        candidate: &Candidate,
        e: &Enrollment,
        step: u32,
        to: &EmailAddress,
        now: DateTime<Utc>,
    ) -> Result<OutgoingMail, RenderError> {
        let rendered = render_enrollment_step(campaign, account, candidate, e, step)?;
        // Later steps thread under the messages sent before them.
        // A single message answering a reply threads under it.
        let earlier: Vec<String> = e
            .thread
            .iter()
            .cloned()
            .chain(
                e.steps
                    .iter()
                    .take((step - 1) as usize)
                    .filter_map(|s| {
                        s.attempts
                            .iter()
                            .rev()
                            .find_map(|a| a.rfc822_message_id.clone())
                    })
                    .map(|id| id.trim_matches(['<', '>']).to_owned()),
            )
            .collect();
        Ok(OutgoingMail {
            from_name: account.display_name.clone(),
            from: account.address.clone(),
            to: to.clone(),
            reply_to: format!("reply+{}@{}", e.reply_token, self.config.reply_domain),
            list_unsubscribe_url: format!(
                "{}/v1/unsubscribe/{}",
                self.config.public_base_url.trim_end_matches('/'),
                e.unsubscribe_token
            ),
            message_id: None,
            in_reply_to: e.thread.last().or(earlier.first()).cloned(),
            references: earlier,
            subject: rendered.subject,
            html: rendered.html,
            text: rendered.text,
            date: now,
        })
    }
}

/// The merge fields of for one enrollment.
pub(crate) fn render_context(
    campaign: &Campaign,
    account: &EmailAccount,
    candidate: &Candidate,
    e: &Enrollment,
) -> RenderContext {
    let sender_first = account
        .display_name
        .split_whitespace()
        .next()
        .map(str::to_owned);
    RenderContext {
        candidate: CandidateFields {
            first_name: Some(candidate.first_name.clone()),
            last_name: Some(candidate.last_name.clone()),
            full_name: Some(candidate.full_name()),
            title: candidate.title.clone(),
            company: candidate.company.clone(),
            location: candidate.location.clone(),
        },
        sender: SenderFields {
            first_name: sender_first,
            full_name: Some(account.display_name.clone()),
            email: Some(account.address.to_string()),
        },
        campaign_name: Some(campaign.name.clone()),
        custom: e.custom_fields.clone(),
    }
}
