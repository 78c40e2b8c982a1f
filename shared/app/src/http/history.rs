//! `GET /v1/candidates/{id}/history`: every enrollment and single
//! message of the organization to a candidate, newest first, with what was
//! sent, when, from which sender and what came back; a colleague's manual
//! address is never shown.

use outreach_domain::enrollment::{AttemptState, EnrollmentStatus};

use super::*;
use crate::usecases::enrollments::history::{self as uc, Contact};

/// The route, with its OpenAPI operation.
pub(super) fn routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new().routes(routes!(candidate_history))
}

/// What a history item is.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    /// A campaign's enrollment.
    Enrollment,
    /// A single message.
    Message,
}

/// One message that left: each attempt of a step is one.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistorySentView {
    /// Counts from 1.
    pub step_index: u32,
    /// The step's subject as written (a template; a follow-up without its
    /// own subject answers under the first step's, "Re: …").
    #[schema(required = true)]
    pub subject: Option<String>,
    pub sent_at: Timestamp,
    /// `null` when it is a colleague's manual address.
    #[schema(required = true)]
    pub address: Option<String>,
    pub status: AttemptState,
}

/// The sender account it left from.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistorySenderView {
    pub account_id: String,
    pub address: String,
}

/// What came back.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryOutcomeView {
    pub status: EnrollmentStatus,
    /// The label users see, e.g. `Replied (Ended)`.
    pub status_label: String,
    pub replied: bool,
    #[schema(required = true)]
    pub replied_at: Option<Timestamp>,
    /// The reply's class; `null` when none is known.
    #[schema(required = true)]
    pub class: Option<String>,
    pub bounced: bool,
    #[schema(required = true)]
    pub bounced_at: Option<Timestamp>,
}

/// One enrollment or single message to the candidate.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryItemView {
    pub kind: HistoryKind,
    /// The enrollment's id (a single message's id).
    pub id: String,
    /// The campaign, for an enrollment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_name: Option<String>,
    #[schema(required = true)]
    pub sender: Option<HistorySenderView>,
    /// When it last happened: its latest send, else when it was created.
    pub at: Timestamp,
    pub created_at: Timestamp,
    /// In the order they left.
    pub sent: Vec<HistorySentView>,
    pub outcome: HistoryOutcomeView,
    /// A single message that answers a reply of the candidate: it
    /// carries on the reply's thread.
    pub answer: bool,
}

/// A candidate's contact history, newest first: `cursor` is opaque
/// and `null` on the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPage {
    pub items: Vec<HistoryItemView>,
    /// The next page's cursor; `null` when this is the last page.
    #[schema(required = true)]
    pub cursor: Option<String>,
}

/// A candidate's contact history: every enrollment and single message of the
/// organization to them, newest first.
#[utoipa::path(
    get,
    path = "/v1/candidates/{id}/history",
    tag = "candidates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Candidate id"), PageQuery),
    responses((status = 200, description = "A page of the history, newest first", body = HistoryPage)),
)]
async fn candidate_history(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Paging(page): Paging,
) -> ApiResult {
    let candidate = s.catalog().candidate(&who, &id).await?;
    let all = s
        .enrollments()
        .contact_history(&who.org_id, &candidate.id)
        .await?;
    let start = match page.after.as_deref() {
        Some(after) => after
            .parse::<usize>()
            .map_err(|_| Error::invalid("cursor", "not a cursor this service issued"))?,
        None => 0,
    };
    let end = start.saturating_add(page.limit as usize).min(all.len());
    let items = all
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .map(|c| item(c, &candidate, &who.user_id))
        .collect();
    let next = (end < all.len()).then(|| end.to_string());
    ok(HistoryPage {
        items,
        cursor: cursor(next.as_ref()),
    })
}

fn item(
    c: &Contact,
    candidate: &outreach_domain::candidate::Candidate,
    viewer: &outreach_domain::ids::UserId,
) -> HistoryItemView {
    let e = &c.enrollment;
    let single = c.is_single();
    let steps = c
        .campaign
        .as_ref()
        .map(|c| c.steps.as_slice())
        .unwrap_or(&[]);
    let first_subject = steps.first().and_then(|s| s.subject.clone());
    let subject = |index: u32| {
        let own = steps
            .get(index.saturating_sub(1) as usize)
            .and_then(|s| s.subject.clone());
        own.or_else(|| first_subject.as_ref().map(|s| format!("Re: {s}")))
    };
    let sent = e
        .steps
        .iter()
        .flat_map(|s| s.attempts.iter().map(move |a| (s.index, a)))
        .filter_map(|(index, a)| {
            a.sent_at.map(|at| HistorySentView {
                step_index: index,
                subject: subject(index),
                sent_at: at.into(),
                address: shown_address(&a.address, Some(candidate), viewer),
                status: a.state,
            })
        })
        .collect();
    let replied_at = uc::replied_at(e);
    let bounced_at = uc::bounced_at(e);
    HistoryItemView {
        kind: if single {
            HistoryKind::Message
        } else {
            HistoryKind::Enrollment
        },
        id: e.id.to_string(),
        campaign_id: (!single).then(|| e.campaign_id.to_string()),
        campaign_name: c
            .campaign
            .as_ref()
            .filter(|_| !single)
            .map(|c| c.name.clone()),
        sender: c.sender.as_ref().map(|a| HistorySenderView {
            account_id: a.id.to_string(),
            address: a.address.to_string(),
        }),
        at: c.at().into(),
        created_at: e.created_at.into(),
        answer: single && !e.thread.is_empty(),
        sent,
        outcome: HistoryOutcomeView {
            status: e.status,
            status_label: e.status.label().to_owned(),
            replied: replied_at.is_some(),
            replied_at: replied_at.map(Timestamp::from),
            class: c.reply_class.clone(),
            bounced: bounced_at.is_some(),
            bounced_at: bounced_at.map(Timestamp::from),
        },
    }
}
