//! Enrollments of a campaign: add candidates, read, pause, resume, remove, retry, override.

use std::collections::BTreeMap;

use super::*;
use crate::usecases::enrollments as uc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCandidates {
    /// At most 1,000 per call (413 beyond).
    pub candidate_ids: Vec<String>,
    #[serde(default)]
    pub allow_duplicate: bool,
}

impl From<AddCandidates> for uc::AddCandidates {
    fn from(b: AddCandidates) -> Self {
        uc::AddCandidates {
            candidate_ids: b.candidate_ids,
            allow_duplicate: b.allow_duplicate,
        }
    }
}

/// Per-enrollment overrides: they affect this campaign only.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// An address of the candidate visible to the caller, or a new one typed in;
    /// `null` clears the override.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Option<String>>,
    /// Replaces the custom merge fields.
    #[serde(default)]
    pub custom_fields: Option<BTreeMap<String, String>>,
}

impl From<Overrides> for uc::Overrides {
    fn from(b: Overrides) -> Self {
        uc::Overrides {
            address: b.address,
            custom_fields: b.custom_fields,
        }
    }
}

/// Tells a missing field from an explicit `null`.
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

/// The routes of this resource, each with its OpenAPI operation.
pub(super) fn routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new()
        .routes(routes!(list_enrollments, add_enrollments))
        .routes(routes!(get_enrollment, set_overrides))
        .routes(routes!(pause_enrollment))
        .routes(routes!(resume_enrollment))
        .routes(routes!(remove_enrollment))
        .routes(routes!(retry_enrollment))
}

/// Adds candidates to a campaign.
///
/// Answers 201 even when every candidate was refused (SPEC §13); an unrevealed
/// candidate is revealed, or refused with `no_credits`.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/enrollments",
    tag = "enrollments",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id")),
    request_body = AddCandidates,
    responses(
        (status = 201, description = "The new enrollments and the refused candidates", body = AddedView),
        (status = 409, description = "The campaign has ended", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn add_enrollments(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<AddCandidates>,
) -> ApiResult {
    let added = s.enrollments().add_candidates(&who, &id, b.into()).await?;
    created(AddedView {
        enrollments: added
            .enrollments
            .iter()
            .map(NewEnrollmentView::from)
            .collect(),
        refused: added.refused.iter().map(views::refusal).collect(),
        warnings: added.warnings.iter().map(views::warning).collect(),
    })
}

/// One enrollment as the caller sees it, with the address its next step would use.
async fn enrollment_value(
    s: &Service,
    who: &Identity,
    c: &outreach_domain::campaign::Campaign,
    e: &outreach_domain::enrollment::Enrollment,
    with_events: bool,
) -> Result<EnrollmentView, Error> {
    let candidate = s
        .store
        .get_candidate(&who.org_id, &e.candidate_id)
        .await?
        .map(|v| v.value);
    let preview = match (&e.address, &candidate) {
        (None, Some(cand)) if !e.is_ended() => {
            let suppressed = s.sending().suppressed_among(&who.org_id, cand, e).await?;
            s.sending().address_for(c, cand, e, &suppressed)
        }
        _ => None,
    };
    let events = if with_events {
        Some(s.enrollments().enrollment_events(e).await?)
    } else {
        None
    };
    Ok(views::enrollment(
        c,
        e,
        s.now(),
        &who.user_id,
        candidate.as_ref(),
        preview.as_ref(),
        events.as_deref(),
    ))
}

/// The campaign's enrollments, without their events.
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}/enrollments",
    tag = "enrollments",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id"), PageQuery),
    responses((status = 200, description = "A page of enrollments", body = EnrollmentPage)),
)]
async fn list_enrollments(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Paging(page): Paging,
) -> ApiResult {
    let (c, p) = s.enrollments().list_enrollments(&who, &id, &page).await?;
    let extra = s
        .enrollments()
        .page_items(&who.org_id, &c, &p.items)
        .await?;
    let now = s.now();
    let items = p
        .items
        .iter()
        .zip(&extra)
        .map(|(e, x)| {
            views::enrollment(
                &c,
                e,
                now,
                &who.user_id,
                x.candidate.as_ref(),
                x.preview.as_ref(),
                None,
            )
        })
        .collect();
    ok(EnrollmentPage {
        items,
        cursor: cursor(p.next.as_ref()),
    })
}

/// One enrollment, with its steps, attempts and events.
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}/enrollments/{eid}",
    tag = "enrollments",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Campaign id"),
        ("eid" = String, Path, description = "Enrollment id"),
    ),
    responses((status = 200, description = "The enrollment", body = EnrollmentView)),
)]
async fn get_enrollment(
    State(s): Svc,
    who: Identity,
    Path((id, eid)): Path<(String, String)>,
) -> ApiResult {
    let (c, e) = s.enrollments().enrollment(&who, &id, &eid).await?;
    ok(enrollment_value(&s, &who, &c, &e.value, true).await?)
}

/// Pauses one enrollment.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/enrollments/{eid}/pause",
    tag = "enrollments",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Campaign id"),
        ("eid" = String, Path, description = "Enrollment id"),
    ),
    responses(
        (status = 200, description = "The enrollment", body = EnrollmentView),
        (status = 409, description = "The enrollment cannot be paused now", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn pause_enrollment(
    State(s): Svc,
    who: Identity,
    Path((id, eid)): Path<(String, String)>,
) -> ApiResult {
    let (c, e) = s.enrollments().pause_enrollment(&who, &id, &eid).await?;
    ok(enrollment_value(&s, &who, &c, &e, true).await?)
}

/// Resumes one paused or blocked enrollment.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/enrollments/{eid}/resume",
    tag = "enrollments",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Campaign id"),
        ("eid" = String, Path, description = "Enrollment id"),
    ),
    responses(
        (status = 200, description = "The enrollment", body = EnrollmentView),
        (status = 409, description = "The enrollment cannot be resumed now", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn resume_enrollment(
    State(s): Svc,
    who: Identity,
    Path((id, eid)): Path<(String, String)>,
) -> ApiResult {
    let (c, e) = s.enrollments().resume_enrollment(&who, &id, &eid).await?;
    ok(enrollment_value(&s, &who, &c, &e, true).await?)
}

/// Removes one candidate from the campaign, for good.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/enrollments/{eid}/remove",
    tag = "enrollments",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Campaign id"),
        ("eid" = String, Path, description = "Enrollment id"),
    ),
    responses(
        (status = 200, description = "The enrollment", body = EnrollmentView),
        (status = 409, description = "The enrollment already ended", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn remove_enrollment(
    State(s): Svc,
    who: Identity,
    Path((id, eid)): Path<(String, String)>,
) -> ApiResult {
    let (c, e) = s.enrollments().remove_enrollment(&who, &id, &eid).await?;
    ok(enrollment_value(&s, &who, &c, &e, true).await?)
}

/// The address to send a bounced step to again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Retry {
    address: String,
}

/// Sends a bounced step again to another address of the candidate.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/enrollments/{eid}/retry",
    tag = "enrollments",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Campaign id"),
        ("eid" = String, Path, description = "Enrollment id"),
    ),
    request_body = Retry,
    responses(
        (status = 200, description = "The enrollment", body = EnrollmentView),
        (status = 409, description = "The enrollment has no bounced step to retry, or the campaign is not sending", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn retry_enrollment(
    State(s): Svc,
    who: Identity,
    Path((id, eid)): Path<(String, String)>,
    Body(b): Body<Retry>,
) -> ApiResult {
    let (c, e) = s
        .enrollments()
        .retry_enrollment(&who, &id, &eid, &b.address)
        .await?;
    ok(enrollment_value(&s, &who, &c, &e, true).await?)
}

/// Overrides one enrollment's address or custom merge fields.
#[utoipa::path(
    patch,
    path = "/v1/campaigns/{id}/enrollments/{eid}",
    tag = "enrollments",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Campaign id"),
        ("eid" = String, Path, description = "Enrollment id"),
    ),
    request_body = Overrides,
    responses(
        (status = 200, description = "The enrollment", body = EnrollmentView),
        (status = 409, description = "The enrollment has ended", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn set_overrides(
    State(s): Svc,
    who: Identity,
    Path((id, eid)): Path<(String, String)>,
    Body(b): Body<Overrides>,
) -> ApiResult {
    let (c, e) = s
        .enrollments()
        .set_overrides(&who, &id, &eid, b.into())
        .await?;
    ok(enrollment_value(&s, &who, &c, &e, true).await?)
}
