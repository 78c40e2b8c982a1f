//! Candidates, their addresses and contact credits, and the admin grant of credits.

use outreach_domain::candidate::EmailType;

use super::*;
use crate::usecases::catalog::candidates as uc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCandidate {
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub emails: Vec<NewEmail>,
}

impl From<NewCandidate> for uc::NewCandidate {
    fn from(b: NewCandidate) -> Self {
        uc::NewCandidate {
            first_name: b.first_name,
            last_name: b.last_name,
            title: b.title,
            company: b.company,
            location: b.location,
            timezone: b.timezone,
            emails: b.emails.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEmail {
    pub address: String,
    #[serde(rename = "type")]
    pub kind: EmailType,
}

impl From<NewEmail> for uc::NewEmail {
    fn from(b: NewEmail) -> Self {
        uc::NewEmail {
            address: b.address,
            kind: b.kind,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CandidateUpdate {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
}

impl From<CandidateUpdate> for uc::CandidateUpdate {
    fn from(b: CandidateUpdate) -> Self {
        uc::CandidateUpdate {
            first_name: b.first_name,
            last_name: b.last_name,
            title: b.title,
            company: b.company,
            location: b.location,
            timezone: b.timezone,
        }
    }
}

/// The routes of this resource, each with its OpenAPI operation.
pub(super) fn routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new()
        .routes(routes!(grant_credits))
        .routes(routes!(list_candidates, create_candidate))
        .routes(routes!(get_candidate, update_candidate, erase_candidate))
        .routes(routes!(add_manual_email))
        .routes(routes!(reveal))
        .routes(routes!(credits))
        .routes(routes!(pin_address))
}

/// A candidate as the caller sees it, with suppressed addresses marked.
async fn candidate_value(
    s: &Service,
    who: &Identity,
    c: &outreach_domain::candidate::Candidate,
) -> Result<CandidateView, Error> {
    let suppressed = s.catalog().suppressed_addresses(&who.org_id, c).await?;
    Ok(views::candidate(c, &who.user_id, &suppressed))
}

/// Creates a candidate.
#[utoipa::path(
    post,
    path = "/v1/candidates",
    tag = "candidates",
    security(("bearer" = [])),
    request_body = NewCandidate,
    responses((status = 201, description = "The candidate", body = CandidateView)),
)]
async fn create_candidate(State(s): Svc, who: Identity, Body(b): Body<NewCandidate>) -> ApiResult {
    let c = s.catalog().create_candidate(&who, b.into()).await?;
    created(candidate_value(&s, &who, &c).await?)
}

/// One candidate, with the addresses the caller may see.
#[utoipa::path(
    get,
    path = "/v1/candidates/{id}",
    tag = "candidates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Candidate id")),
    responses((status = 200, description = "The candidate", body = CandidateView)),
)]
async fn get_candidate(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let c = s.catalog().candidate(&who, &id).await?;
    ok(candidate_value(&s, &who, &c).await?)
}

/// Changes a candidate's fields; absent fields stay as they are.
#[utoipa::path(
    patch,
    path = "/v1/candidates/{id}",
    tag = "candidates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Candidate id")),
    request_body = CandidateUpdate,
    responses((status = 200, description = "The candidate", body = CandidateView)),
)]
async fn update_candidate(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<CandidateUpdate>,
) -> ApiResult {
    let c = s.catalog().update_candidate(&who, &id, b.into()).await?;
    ok(candidate_value(&s, &who, &c).await?)
}

/// Erases a candidate: their enrollments end and their data is removed.
#[utoipa::path(
    delete,
    path = "/v1/candidates/{id}",
    tag = "candidates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Candidate id")),
    responses((status = 204, description = "Erased")),
)]
async fn erase_candidate(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    s.catalog().erase_candidate(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The organization's candidates.
#[utoipa::path(
    get,
    path = "/v1/candidates",
    tag = "candidates",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of candidates", body = CandidatePage)),
)]
async fn list_candidates(State(s): Svc, who: Identity, Paging(page): Paging) -> ApiResult {
    let p = s.catalog().list_candidates(&who, &page).await?;
    let mut items = Vec::with_capacity(p.items.len());
    for c in &p.items {
        items.push(candidate_value(&s, &who, c).await?);
    }
    ok(CandidatePage {
        items,
        cursor: cursor(p.next.as_ref()),
    })
}

/// An address added by hand.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ManualEmail {
    address: String,
    #[serde(rename = "type")]
    kind: outreach_domain::candidate::EmailType,
}

/// Adds a manual address, visible to and usable by the caller alone.
#[utoipa::path(
    post,
    path = "/v1/candidates/{id}/emails",
    tag = "candidates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Candidate id")),
    request_body = ManualEmail,
    responses(
        (status = 201, description = "The candidate", body = CandidateView),
        (status = 409, description = "The candidate already has this address", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn add_manual_email(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<ManualEmail>,
) -> ApiResult {
    let c = s
        .catalog()
        .add_manual_email(&who, &id, &b.address, b.kind)
        .await?;
    created(candidate_value(&s, &who, &c).await?)
}

/// The address to use first for a candidate in a project's new campaigns.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Pin {
    address: String,
}

/// Pins an address: "use this address first" in the project's new campaigns.
#[utoipa::path(
    put,
    path = "/v1/projects/{id}/pins/{candidate_id}",
    tag = "projects",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Project id"),
        ("candidate_id" = String, Path, description = "Candidate id"),
    ),
    request_body = Pin,
    responses((status = 200, description = "The pin", body = PinView)),
)]
async fn pin_address(
    State(s): Svc,
    who: Identity,
    Path((project, candidate)): Path<(String, String)>,
    Body(b): Body<Pin>,
) -> ApiResult {
    let address = s
        .catalog()
        .pin_address(&who, &project, &candidate, &b.address)
        .await?;
    ok(PinView {
        project_id: project,
        candidate_id: candidate,
        address: address.to_string(),
    })
}

/// Reveals a candidate's addresses, spending one credit the first time.
#[utoipa::path(
    post,
    path = "/v1/candidates/{id}/reveal",
    tag = "candidates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Candidate id")),
    responses(
        (status = 200, description = "What the reveal cost", body = RevealView),
        (status = 402, description = "No credit left", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn reveal(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let spent = s.catalog().reveal(&who, &id).await?;
    ok(RevealView {
        credits_spent: spent,
    })
}

/// The organization's credit balance and ledger.
#[utoipa::path(
    get,
    path = "/v1/credits",
    tag = "credits",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "The balance and a page of the ledger", body = CreditsView)),
)]
async fn credits(State(s): Svc, who: Identity, Paging(page): Paging) -> ApiResult {
    let (balance, ledger) = s.catalog().credits(&who, &page).await?;
    ok(CreditsView {
        balance,
        ledger: ledger.items.iter().map(views::ledger_entry).collect(),
        cursor: cursor(ledger.next.as_ref()),
    })
}

/// Credits granted to an organization.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Grant {
    org_id: String,
    /// 1 to 1,000,000.
    #[schema(minimum = 1, maximum = 1_000_000)]
    amount: i64,
}

/// Grants credits to an organization.
///
/// Admin scope only: to anyone else the route answers 404, as an unknown one.
#[utoipa::path(
    post,
    path = "/v1/admin/credits",
    tag = "admin",
    security(("bearer" = ["admin"])),
    request_body = Grant,
    responses(
        (status = 201, description = "The grant and the new balance", body = GrantView),
        (status = 404, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn grant_credits(State(s): Svc, who: Identity, Body(b): Body<Grant>) -> ApiResult {
    let balance = s
        .accounts()
        .grant_credits(&who, &b.org_id, b.amount)
        .await?;
    created(GrantView {
        org_id: b.org_id,
        amount: b.amount,
        balance,
    })
}
