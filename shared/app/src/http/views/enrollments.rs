//! The views of enrollments: their steps, attempts and events,
//! the answer to adding candidates (SPEC §13) and campaign previews.

use super::*;
use crate::usecases::enrollments::history::{Warning, WarningKind};

/// One attempt to send a step.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub number: u32,
    pub status: AttemptState,
    /// `null` when it is a colleague's manual address.
    #[schema(required = true)]
    pub address: Option<String>,
    #[schema(required = true)]
    pub sent_at: Option<Timestamp>,
    /// The mail service's id.
    #[schema(required = true)]
    pub message_id: Option<String>,
    /// The Message-ID header the recipient sees.
    #[schema(required = true)]
    pub rfc822_message_id: Option<String>,
    /// The mail service's answer was lost after dispatch: counted as sent.
    pub unconfirmed: bool,
    #[schema(required = true)]
    pub reason: Option<String>,
}

/// One step of an enrollment.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentStepView {
    /// Counts from 1.
    pub index: u32,
    pub status: StepStatus,
    #[schema(required = true)]
    pub scheduled_at: Option<Timestamp>,
    #[schema(required = true)]
    pub sent_at: Option<Timestamp>,
    #[schema(required = true)]
    pub address: Option<String>,
    #[schema(required = true)]
    pub message_id: Option<String>,
    #[schema(required = true)]
    pub rfc822_message_id: Option<String>,
    pub attempts: Vec<AttemptView>,
}

/// Something that happened to an enrollment.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentEventView {
    pub at: Timestamp,
    pub kind: String,
    #[schema(required = true)]
    pub step: Option<u32>,
    #[schema(required = true)]
    pub detail: Option<String>,
}

/// One candidate in one campaign.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentView {
    pub id: String,
    pub campaign_id: String,
    pub candidate_id: String,
    /// The candidate's first and last name, so that a list needs no call per
    /// candidate; `null` when the candidate was erased.
    #[schema(required = true)]
    pub candidate_name: Option<String>,
    /// The candidate's own IANA time zone, to read planned times in their
    /// local time too; `null` when they have none or were erased.
    #[schema(required = true)]
    pub candidate_timezone: Option<String>,
    pub status: EnrollmentStatus,
    /// The label users see, e.g. `Replied (Ended)`.
    pub status_label: String,
    #[schema(required = true)]
    pub blocked_reason: Option<String>,
    /// The address in use, or the one the next step would use; `null` when none
    /// (or when it is a colleague's manual address).
    #[schema(required = true)]
    pub address: Option<String>,
    #[schema(required = true)]
    pub plan_start: Option<Timestamp>,
    pub steps: Vec<EnrollmentStepView>,
    pub created_at: Timestamp,
    #[schema(required = true)]
    pub ended_at: Option<Timestamp>,
    /// The enrollment's custom merge fields, as `PATCH` last set them.
    pub custom_fields: std::collections::BTreeMap<String, String>,
    /// Present on a single enrollment, absent from lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EnrollmentEventView>>,
}

/// An address a message went to, as `viewer` may see it: `None` when it is a
/// colleague's manual address of `candidate`, and every address of an
/// erased candidate (R-3.6: the attempts keep the address a step went to, the
/// record that matches a late bounce or complaint, but no answer shows it).
pub fn shown_address(
    a: &EmailAddress,
    candidate: Option<&Candidate>,
    viewer: &UserId,
) -> Option<String> {
    let hidden = candidate.is_some_and(|c| {
        c.erased || (c.emails.iter().any(|x| &x.address == a) && !c.shows(a, viewer))
    });
    (!hidden).then(|| a.to_string())
}

/// An enrollment as `viewer` may see it. `candidate` lets the view hide a
/// colleague's manual address; `preview` is the address the next step
/// would use.
pub fn enrollment(
    c: &Campaign,
    e: &Enrollment,
    now: DateTime<Utc>,
    viewer: &UserId,
    candidate: Option<&Candidate>,
    preview: Option<&EmailAddress>,
    events: Option<&[EnrollmentEvent]>,
) -> EnrollmentView {
    let visible = |a: &EmailAddress| shown_address(a, candidate, viewer);
    // of an erased candidate no answer shows an address, nor the
    // words of a bounce or an event, which may name one.
    let erased = candidate.is_some_and(|c| c.erased);
    let campaign_final = c.status == CampaignStatus::Stopped;
    let steps = e
        .steps
        .iter()
        .map(|s| {
            let latest = s.latest();
            let attempts = s
                .attempts
                .iter()
                .map(|a| AttemptView {
                    number: a.number,
                    status: a.state,
                    address: visible(&a.address),
                    sent_at: ts_opt(a.sent_at),
                    message_id: a.message_id.clone(),
                    rfc822_message_id: a.rfc822_message_id.clone(),
                    unconfirmed: a.unconfirmed,
                    reason: a.reason.clone().filter(|_| !erased),
                })
                .collect();
            EnrollmentStepView {
                index: s.index,
                status: e.step_status(s.index, now, campaign_final),
                scheduled_at: ts_opt(s.planned_at),
                sent_at: ts_opt(latest.and_then(|a| a.sent_at)),
                address: latest.and_then(|a| visible(&a.address)),
                message_id: latest.and_then(|a| a.message_id.clone()),
                rfc822_message_id: latest.and_then(|a| a.rfc822_message_id.clone()),
                attempts,
            }
        })
        .collect();
    EnrollmentView {
        id: e.id.to_string(),
        campaign_id: e.campaign_id.to_string(),
        candidate_id: e.candidate_id.to_string(),
        candidate_name: candidate.filter(|c| !c.erased).map(|c| c.full_name()),
        candidate_timezone: candidate
            .filter(|c| !c.erased)
            .and_then(|c| c.timezone)
            .map(|z| z.name().to_string()),
        status: e.status,
        status_label: e.status.label().to_owned(),
        blocked_reason: e.blocked_reason.clone(),
        address: e.address.as_ref().or(preview).and_then(visible),
        plan_start: ts_opt(e.plan_start),
        steps,
        created_at: e.created_at.into(),
        ended_at: ts_opt(e.ended_at),
        custom_fields: e.custom_fields.clone(),
        events: events.map(|events| {
            events
                .iter()
                .map(|ev| EnrollmentEventView {
                    at: ev.at.into(),
                    kind: ev.kind.clone(),
                    step: ev.step,
                    // An event's words may name an address.
                    detail: ev.detail.clone().filter(|_| !erased),
                })
                .collect()
        }),
    }
}

/// A new enrollment, as the answer to adding candidates.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewEnrollmentView {
    pub id: String,
    pub candidate_id: String,
    pub status: EnrollmentStatus,
}

impl From<&Enrollment> for NewEnrollmentView {
    fn from(e: &Enrollment) -> Self {
        NewEnrollmentView {
            id: e.id.to_string(),
            candidate_id: e.candidate_id.to_string(),
            status: e.status,
        }
    }
}

/// Candidates added to a campaign, those refused (SPEC §13), and what the
/// added candidates' history warns about.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddedView {
    pub enrollments: Vec<NewEnrollmentView>,
    pub refused: Vec<RefusalView>,
    pub warnings: Vec<WarningView>,
}

/// What a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = WarningKind)]
pub enum WarningKindView {
    /// Mailed by the organization within the last 90 days.
    ContactedRecently,
    /// Replied to an earlier enrollment or single message.
    RepliedBefore,
    /// An earlier message to them bounced.
    BouncedBefore,
}

/// Something the candidate's history tells about adding them; a
/// warning never refuses. At most one per kind and candidate: the latest.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Warning)]
pub struct WarningView {
    pub candidate_id: String,
    pub kind: WarningKindView,
    /// The enrollment's campaign (for a single message, the campaign the
    /// message rides on, as `GET /v1/candidates/{id}/messages` shows it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// When it happened: the latest send, the reply or the bounce.
    pub at: Timestamp,
    /// `replied_before` only: the reply's class, `null` when none is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub class: Option<Option<String>>,
}

pub fn warning(w: &Warning) -> WarningView {
    WarningView {
        candidate_id: w.candidate_id.to_string(),
        kind: match w.kind {
            WarningKind::ContactedRecently => WarningKindView::ContactedRecently,
            WarningKind::RepliedBefore => WarningKindView::RepliedBefore,
            WarningKind::BouncedBefore => WarningKindView::BouncedBefore,
        },
        campaign_id: w.campaign_id.as_ref().map(ToString::to_string),
        at: w.at.into(),
        class: (w.kind == WarningKind::RepliedBefore).then(|| w.class.clone()),
    }
}

// Why a candidate was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = RefusalReason)]
pub enum RefusalReasonView {
    /// In a running, not-ended enrollment of another campaign.
    Duplicate,
    AlreadyEnrolled,
    /// The candidate opted out of the organization's mail.
    Suppressed,
    NoCredits,
    NotFound,
}

// A candidate not added to a campaign, and why (SPEC §13).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Refusal)]
pub struct RefusalView {
    pub candidate_id: String,
    pub reason: RefusalReasonView,
    /// The other campaign, for `duplicate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
}

pub fn refusal(r: &Refusal) -> RefusalView {
    RefusalView {
        candidate_id: r.candidate_id.clone(),
        reason: match r.reason {
            RefusalReason::Duplicate => RefusalReasonView::Duplicate,
            RefusalReason::AlreadyEnrolled => RefusalReasonView::AlreadyEnrolled,
            RefusalReason::Suppressed => RefusalReasonView::Suppressed,
            RefusalReason::NoCredits => RefusalReasonView::NoCredits,
            RefusalReason::NotFound => RefusalReasonView::NotFound,
        },
        campaign_id: r.campaign_id.as_ref().map(ToString::to_string),
    }
}

/// A preview step's rendered message: present when the step rendered, absent
/// when it failed (see `error`).
#[derive(Debug, ToSchema)]
pub struct RenderedParts {
    /// Single line: never contains CR or LF.
    #[schema(required = false)]
    pub subject: String,
    #[schema(required = false)]
    pub html: String,
    #[schema(required = false)]
    pub text: String,
}

// One step rendered for one candidate: the message, or why it did not render,
// and when it is planned to leave.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PreviewStep)]
pub struct PreviewStepView {
    pub index: u32,
    #[serde(flatten)]
    #[schema(value_type = RenderedParts)]
    pub rendered: Option<RenderedMessage>,
    #[schema(required = true)]
    pub error: Option<String>,
    /// When the step is planned to leave. A campaign that has not planned this
    /// candidate yet (a draft, or a candidate added while paused) answers the
    /// plan as of now: the instant the start's planner (R-6, in the zone the
    /// plan uses, R-6.8) gives for a start at this moment, before daily limits
    /// a started one answers the enrollment's plan. `null` when the
    /// step has no plan.
    #[schema(required = true)]
    pub planned_at: Option<Timestamp>,
}

// Every step of one enrollment, rendered.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PreviewItem)]
pub struct PreviewItemView {
    pub enrollment_id: String,
    pub candidate_id: String,
    /// The candidate's own IANA time zone; `null` when they have none.
    #[schema(required = true, value_type = Option<String>)]
    pub candidate_timezone: Option<String>,
    pub steps: Vec<PreviewStepView>,
}

pub fn preview_item(p: &preview::PreviewItem) -> PreviewItemView {
    PreviewItemView {
        enrollment_id: p.enrollment_id.clone(),
        candidate_id: p.candidate_id.clone(),
        candidate_timezone: p.candidate_timezone.map(|z| z.name().to_string()),
        steps: p
            .steps
            .iter()
            .map(|s| PreviewStepView {
                index: s.index,
                rendered: s.rendered.clone(),
                error: s.error.clone(),
                planned_at: ts_opt(s.planned_at),
            })
            .collect(),
    }
}

/// Each step rendered for each candidate, and every missing field.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    pub items: Vec<PreviewItemView>,
    pub missing_fields: Vec<MissingFieldView>,
    /// The next page's cursor; `null` when this is the last page.
    #[schema(required = true)]
    pub cursor: Option<String>,
}
