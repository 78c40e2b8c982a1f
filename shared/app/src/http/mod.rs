//! The one HTTP router of the `/v1` API (SPEC §13), served by `axum::serve`
//! locally and by `lambda_http` in AWS.

pub mod extract;
pub mod idempotency;
pub mod openapi;
pub mod problem;
pub mod views;

use std::sync::{Arc, LazyLock};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Identity;
use crate::error::Error;
use crate::service::Service;
use crate::usecases::campaigns::{CampaignEdit, NewCampaign};
use crate::usecases::candidates::{CandidateUpdate, NewCandidate};
use crate::usecases::enrollments::{AddCandidates, Overrides};
use crate::usecases::messages::NewMessage;
use extract::{Body, PageQuery, Paging, Params, Path, cursor};
use outreach_domain::campaign::StepSpec;
use problem::Problem;
use views::*;

/// Request bodies above this answer 413 (§13).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

type Svc = State<Arc<Service>>;
type ApiResult = Result<Response, Error>;

fn ok(v: impl Serialize) -> ApiResult {
    Ok(Json(v).into_response())
}

fn created(v: impl Serialize) -> ApiResult {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// The API: every route of [`routes`], answering 404 problem+json elsewhere.
pub fn router(service: Arc<Service>) -> Router {
    let (router, _) = routes().split_for_parts();
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            service.clone(),
            idempotency::idempotency,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(service)
}

/// Every route of the API, each registered together with its OpenAPI operation
/// (the handler's `#[utoipa::path]`): the router and the document come from the
/// same list, so neither can have a route the other lacks.
pub fn routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(openapi_json))
        .routes(routes!(get_me, put_me))
        .routes(routes!(list_accounts, link_account))
        .routes(routes!(get_account, remove_account, set_account_limit))
        .routes(routes!(resend_confirmation))
        .routes(routes!(confirm_page, confirm_account))
        .routes(routes!(not_me_page, cancel_link))
        .routes(routes!(relink_account))
        .routes(routes!(add_delegate))
        .routes(routes!(remove_delegate))
        .routes(routes!(grant_credits))
        .routes(routes!(list_candidates, create_candidate))
        .routes(routes!(get_candidate, update_candidate, erase_candidate))
        .routes(routes!(add_manual_email))
        .routes(routes!(reveal))
        .routes(routes!(list_messages, send_message))
        .routes(routes!(credits))
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project))
        .routes(routes!(pin_address))
        .routes(routes!(outreach_view))
        .routes(routes!(project_notifications))
        .routes(routes!(list_campaigns, create_campaign))
        .routes(routes!(list_templates, create_template))
        .routes(routes!(get_template, update_template, delete_template))
        .routes(routes!(get_campaign, edit_campaign))
        .routes(routes!(preview_campaign))
        .routes(routes!(start_campaign))
        .routes(routes!(pause_campaign))
        .routes(routes!(resume_campaign))
        .routes(routes!(stop_campaign))
        .routes(routes!(list_enrollments, add_enrollments))
        .routes(routes!(get_enrollment, set_overrides))
        .routes(routes!(pause_enrollment))
        .routes(routes!(resume_enrollment))
        .routes(routes!(remove_enrollment))
        .routes(routes!(retry_enrollment))
        .routes(routes!(unsubscribe_page, unsubscribe_one_click))
        .routes(routes!(ses_events_webhook))
        .routes(routes!(inbound_webhook))
}

/// The OpenAPI 3.1 document of the API, as served at `/v1/openapi.json`.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    openapi::complete(routes().into_openapi())
}

static API_DOC: LazyLock<String> = LazyLock::new(|| {
    api_doc()
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
});

/// This document.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document of the API", content_type = "application/json", body = Object)),
)]
async fn openapi_json() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        API_DOC.as_str(),
    )
        .into_response()
}

async fn not_found() -> Error {
    Error::NotFound("route")
}

/// 405 as problem+json like every other error (§13), not axum's empty body.
async fn method_not_allowed(method: axum::http::Method) -> Response {
    let problem = problem::Problem {
        kind: "https://outreach.dev/problems/method-not-allowed".into(),
        title: "Method Not Allowed".into(),
        status: StatusCode::METHOD_NOT_ALLOWED.as_u16(),
        detail: format!("{method} is not allowed on this route"),
        errors: None,
    };
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
        Json(problem),
    )
        .into_response()
}

// --- me (R-1.3) ---

/// The caller's profile.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "me",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = MeView)),
)]
async fn get_me(State(s): Svc, who: Identity) -> ApiResult {
    let p = s.me(&who).await?;
    ok(views::me(&p))
}

/// A change of the caller's profile; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PutMe {
    display_name: Option<String>,
    /// IANA time zone, e.g. `Europe/Paris` (422 otherwise).
    timezone: Option<String>,
}

/// Sets the caller's display name and time zone.
#[utoipa::path(
    put,
    path = "/v1/me",
    tag = "me",
    security(("bearer" = [])),
    request_body = PutMe,
    responses((status = 200, description = "The caller", body = MeView)),
)]
async fn put_me(State(s): Svc, who: Identity, Body(b): Body<PutMe>) -> ApiResult {
    let p = s.update_me(&who, b.display_name, b.timezone).await?;
    ok(views::me(&p))
}

// --- sender accounts (R-2) ---

/// A sender account to link (R-2.1).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LinkAccount {
    address: String,
    display_name: Option<String>,
}

/// Links a sender account; linking a removed address again revives it (R-2.1, R-2.2).
#[utoipa::path(
    post,
    path = "/v1/email-accounts",
    tag = "email-accounts",
    security(("bearer" = [])),
    request_body = LinkAccount,
    responses(
        (status = 201, description = "The account, `pending` until its address is confirmed", body = AccountView),
        (status = 422, description = "Invalid, or the domain's DMARC policy needs a verified domain identity", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "5 links pending, or a relink sent again too often; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The DMARC lookup failed; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn link_account(State(s): Svc, who: Identity, Body(b): Body<LinkAccount>) -> ApiResult {
    let a = s.link_account(&who, &b.address, b.display_name).await?;
    created(views::account(&a, &who.user_id))
}

/// The accounts the caller owns or is a delegate of (R-2.4).
#[utoipa::path(
    get,
    path = "/v1/email-accounts",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of the usable accounts, by id", body = AccountPage)),
)]
async fn list_accounts(State(s): Svc, who: Identity, Paging(page): Paging) -> ApiResult {
    // A user links a handful of accounts: they are read whole and paged here.
    let mut accounts = s.usable_accounts(&who).await?;
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    accounts.retain(|a| {
        page.after
            .as_deref()
            .is_none_or(|after| a.id.as_str() > after)
    });
    let more = accounts.len() > page.limit as usize;
    accounts.truncate(page.limit as usize);
    let next = more
        .then(|| accounts.last().map(|a| a.id.to_string()))
        .flatten();
    let items: Vec<AccountView> = accounts
        .iter()
        .map(|a| views::account(a, &who.user_id))
        .collect();
    ok(AccountPage {
        items,
        cursor: cursor(next.as_ref()),
    })
}

/// One sender account.
#[utoipa::path(
    get,
    path = "/v1/email-accounts/{id}",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, description = "The account", body = AccountView)),
)]
async fn get_account(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let a = s.account_for(&who, &id).await?;
    ok(views::account(&a, &who.user_id))
}

/// The settings of a sender account its owner changes (R-6.7).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AccountSettings {
    /// Messages per calendar day of the owner's time zone, 1 to 100000, whatever
    /// sends them; `null` removes the limit; absent leaves it as it is.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, required = false, minimum = 1, maximum = 100000)]
    daily_limit: Option<Option<u32>>,
}

/// A field that is present, `null` included (absent stays `None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Sets the account's daily limit (R-6.7); owner only.
#[utoipa::path(
    patch,
    path = "/v1/email-accounts/{id}",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    request_body = AccountSettings,
    responses(
        (status = 200, description = "The account", body = AccountView),
        (status = 403, description = "A delegate sees the account but only its owner changes it", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn set_account_limit(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<AccountSettings>,
) -> ApiResult {
    let a = match b.daily_limit {
        Some(limit) => s.set_account_daily_limit(&who, &id, limit).await?,
        None => s.account_for(&who, &id).await?,
    };
    ok(views::account(&a, &who.user_id))
}

// --- candidates and credits (R-3) ---

/// A candidate as the caller sees it, with suppressed addresses marked.
async fn candidate_value(
    s: &Service,
    who: &Identity,
    c: &outreach_domain::candidate::Candidate,
) -> Result<CandidateView, Error> {
    let suppressed = s.suppressed_addresses(&who.org_id, c).await?;
    Ok(views::candidate(c, &who.user_id, &suppressed))
}

/// Creates a candidate (R-3.1).
#[utoipa::path(
    post,
    path = "/v1/candidates",
    tag = "candidates",
    security(("bearer" = [])),
    request_body = NewCandidate,
    responses((status = 201, description = "The candidate", body = CandidateView)),
)]
async fn create_candidate(State(s): Svc, who: Identity, Body(b): Body<NewCandidate>) -> ApiResult {
    let c = s.create_candidate(&who, b).await?;
    created(candidate_value(&s, &who, &c).await?)
}

/// One candidate, with the addresses the caller may see (R-3.3, R-3.5).
#[utoipa::path(
    get,
    path = "/v1/candidates/{id}",
    tag = "candidates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Candidate id")),
    responses((status = 200, description = "The candidate", body = CandidateView)),
)]
async fn get_candidate(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let c = s.candidate(&who, &id).await?;
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
    let c = s.update_candidate(&who, &id, b).await?;
    ok(candidate_value(&s, &who, &c).await?)
}

/// Erases a candidate (R-3.6): their enrollments end and their data is removed.
#[utoipa::path(
    delete,
    path = "/v1/candidates/{id}",
    tag = "candidates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Candidate id")),
    responses((status = 204, description = "Erased")),
)]
async fn erase_candidate(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    s.erase_candidate(&who, &id).await?;
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
    let p = s.list_candidates(&who, &page).await?;
    let mut items = Vec::with_capacity(p.items.len());
    for c in &p.items {
        items.push(candidate_value(&s, &who, c).await?);
    }
    ok(CandidatePage {
        items,
        cursor: cursor(p.next.as_ref()),
    })
}

/// An address added by hand (R-3.3).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ManualEmail {
    address: String,
    #[serde(rename = "type")]
    kind: outreach_domain::candidate::EmailType,
}

/// Adds a manual address, visible to and usable by the caller alone (R-3.3).
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
    let c = s.add_manual_email(&who, &id, &b.address, b.kind).await?;
    created(candidate_value(&s, &who, &c).await?)
}

/// The address to use first for a candidate in a project's new campaigns (R-3.4).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Pin {
    address: String,
}

/// Pins an address: "use this address first" in the project's new campaigns (R-3.4).
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
        .pin_address(&who, &project, &candidate, &b.address)
        .await?;
    ok(PinView {
        project_id: project,
        candidate_id: candidate,
        address: address.to_string(),
    })
}

/// Reveals a candidate's addresses, spending one credit the first time (R-3.2).
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
    let spent = s.reveal(&who, &id).await?;
    ok(RevealView {
        credits_spent: spent,
    })
}

/// The organization's credit balance and ledger (R-3.2).
#[utoipa::path(
    get,
    path = "/v1/credits",
    tag = "credits",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "The balance and a page of the ledger", body = CreditsView)),
)]
async fn credits(State(s): Svc, who: Identity, Paging(page): Paging) -> ApiResult {
    let (balance, ledger) = s.credits(&who, &page).await?;
    ok(CreditsView {
        balance,
        ledger: ledger.items.iter().map(views::ledger_entry).collect(),
        cursor: cursor(ledger.next.as_ref()),
    })
}

// --- projects and templates ---

/// A new project.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Named {
    name: String,
}

/// Creates a project.
#[utoipa::path(
    post,
    path = "/v1/projects",
    tag = "projects",
    security(("bearer" = [])),
    request_body = Named,
    responses((status = 201, description = "The project", body = ProjectView)),
)]
async fn create_project(State(s): Svc, who: Identity, Body(b): Body<Named>) -> ApiResult {
    let p = s.create_project(&who, &b.name).await?;
    created(views::project(&p))
}

/// One project.
#[utoipa::path(
    get,
    path = "/v1/projects/{id}",
    tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Project id")),
    responses((status = 200, description = "The project", body = ProjectView)),
)]
async fn get_project(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let p = s.project(&who, &id).await?;
    ok(views::project(&p))
}

/// The organization's projects.
#[utoipa::path(
    get,
    path = "/v1/projects",
    tag = "projects",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of projects", body = ProjectPage)),
)]
async fn list_projects(State(s): Svc, who: Identity, Paging(page): Paging) -> ApiResult {
    let p = s.list_projects(&who, &page).await?;
    ok(ProjectPage {
        items: p.items.iter().map(views::project).collect(),
        cursor: cursor(p.next.as_ref()),
    })
}

/// A template: a name and its steps (R-4.1).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewTemplate {
    name: String,
    steps: Vec<StepSpec>,
}

/// Creates a template (R-4).
#[utoipa::path(
    post,
    path = "/v1/templates",
    tag = "templates",
    security(("bearer" = [])),
    request_body = NewTemplate,
    responses((status = 201, description = "The template", body = TemplateView)),
)]
async fn create_template(State(s): Svc, who: Identity, Body(b): Body<NewTemplate>) -> ApiResult {
    let t = s.create_template(&who, &b.name, b.steps).await?;
    created(views::template(&t))
}

/// One template.
#[utoipa::path(
    get,
    path = "/v1/templates/{id}",
    tag = "templates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Template id")),
    responses((status = 200, description = "The template", body = TemplateView)),
)]
async fn get_template(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::template(&s.template(&who, &id).await?))
}

/// The organization's templates.
#[utoipa::path(
    get,
    path = "/v1/templates",
    tag = "templates",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of templates", body = TemplatePage)),
)]
async fn list_templates(State(s): Svc, who: Identity, Paging(page): Paging) -> ApiResult {
    let p = s.list_templates(&who, &page).await?;
    ok(TemplatePage {
        items: p.items.iter().map(views::template).collect(),
        cursor: cursor(p.next.as_ref()),
    })
}

// --- campaigns (R-5, R-10) ---

/// Creates a campaign in `draft` from a template or inline steps (R-5.1).
#[utoipa::path(
    post,
    path = "/v1/projects/{id}/campaigns",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Project id")),
    request_body = NewCampaign,
    responses((status = 201, description = "The campaign", body = CampaignView)),
)]
async fn create_campaign(
    State(s): Svc,
    who: Identity,
    Path(project): Path<String>,
    Body(b): Body<NewCampaign>,
) -> ApiResult {
    let c = s.create_campaign(&who, &project, b).await?;
    created(views::campaign(&c))
}

/// The project's campaigns.
#[utoipa::path(
    get,
    path = "/v1/projects/{id}/campaigns",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Project id"), PageQuery),
    responses((status = 200, description = "A page of campaigns", body = CampaignPage)),
)]
async fn list_campaigns(
    State(s): Svc,
    who: Identity,
    Path(project): Path<String>,
    Paging(page): Paging,
) -> ApiResult {
    let project = s.project(&who, &project).await?;
    let p = s
        .store
        .list_campaigns(&who.org_id, &project.id, &page)
        .await?;
    ok(CampaignPage {
        items: p.items.iter().map(views::campaign).collect(),
        cursor: cursor(p.next.as_ref()),
    })
}

/// One campaign.
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, description = "The campaign", body = CampaignView)),
)]
async fn get_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::campaign(&s.campaign(&who, &id).await?.value))
}

/// Starts a draft campaign (R-5.2).
///
/// The answer lists every candidate with a missing merge field (R-4.3).
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/start",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The running campaign", body = StartedCampaignView),
        (status = 409, description = "Not a draft, or its sender account is not `connected`", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn start_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let campaign = s.start_campaign(&who, &id).await?;
    let missing = s.missing_fields(&campaign).await?;
    ok(StartedCampaignView {
        campaign: views::campaign(&campaign),
        missing_fields: missing,
    })
}

/// Edits a campaign (R-5.2).
///
/// Allowed in draft, paused and during the grace period; applies to steps not
/// yet sent.
#[utoipa::path(
    patch,
    path = "/v1/campaigns/{id}",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id")),
    request_body = CampaignEdit,
    responses(
        (status = 200, description = "The campaign", body = CampaignView),
        (status = 409, description = "The campaign may not be edited now", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn edit_campaign(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<CampaignEdit>,
) -> ApiResult {
    ok(views::campaign(&s.edit_campaign(&who, &id, b).await?))
}

/// Previews a campaign: each step rendered for each enrolled candidate (R-4.3).
///
/// Lists every candidate with a missing merge field.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/preview",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id"), PageQuery),
    responses((status = 200, description = "A page of rendered enrollments", body = PreviewView)),
)]
async fn preview_campaign(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Paging(page): Paging,
) -> ApiResult {
    let (p, missing) = s.preview(&who, &id, &page).await?;
    ok(PreviewView {
        items: p.items,
        missing_fields: missing,
        cursor: cursor(p.next.as_ref()),
    })
}

/// Pauses a running campaign (R-10).
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/pause",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign", body = CampaignView),
        (status = 409, description = "The campaign is not running", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn pause_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::campaign(&s.pause_campaign(&who, &id).await?))
}

/// Resumes a paused campaign (R-10).
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/resume",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign", body = CampaignView),
        (status = 409, description = "The campaign is not paused, or its sender cannot send", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn resume_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::campaign(&s.resume_campaign(&who, &id).await?))
}

/// Stops a campaign for good (R-10).
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/stop",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign", body = CampaignView),
        (status = 409, description = "The campaign already ended", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn stop_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::campaign(&s.stop_campaign(&who, &id).await?))
}

// --- enrollments (R-5.3, R-5.4, R-10) ---

/// Adds candidates to a campaign (R-5.3, R-5.4, R-5.6).
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
    let added = s.add_candidates(&who, &id, b).await?;
    created(AddedView {
        enrollments: added
            .enrollments
            .iter()
            .map(|e| NewEnrollmentView {
                id: e.id.to_string(),
                candidate_id: e.candidate_id.to_string(),
                status: e.status,
            })
            .collect(),
        refused: added.refused,
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
            let suppressed = s.suppressed_among(&who.org_id, cand, e).await?;
            s.address_for(c, cand, e, &suppressed)
        }
        _ => None,
    };
    let events = if with_events {
        Some(s.enrollment_events(e).await?)
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
    let (c, p) = s.list_enrollments(&who, &id, &page).await?;
    let mut items = Vec::with_capacity(p.items.len());
    for e in &p.items {
        items.push(enrollment_value(&s, &who, &c, e, false).await?);
    }
    ok(EnrollmentPage {
        items,
        cursor: cursor(p.next.as_ref()),
    })
}

/// One enrollment, with its steps, attempts and events (R-5.3).
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
    let (c, e) = s.enrollment(&who, &id, &eid).await?;
    ok(enrollment_value(&s, &who, &c, &e.value, true).await?)
}

/// Pauses one enrollment (R-10).
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
    let (c, e) = s.pause_enrollment(&who, &id, &eid).await?;
    ok(enrollment_value(&s, &who, &c, &e, true).await?)
}

/// Resumes one paused or blocked enrollment (R-10).
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
    let (c, e) = s.resume_enrollment(&who, &id, &eid).await?;
    ok(enrollment_value(&s, &who, &c, &e, true).await?)
}

/// Removes one candidate from the campaign, for good (R-10).
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
    let (c, e) = s.remove_enrollment(&who, &id, &eid).await?;
    ok(enrollment_value(&s, &who, &c, &e, true).await?)
}

/// Links a sender account again after an error (R-2.3).
///
/// Campaigns the service paused for it resume.
#[utoipa::path(
    post,
    path = "/v1/email-accounts/{id}/relink",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, description = "The account", body = AccountView)),
)]
async fn relink_account(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let a = s.relink_account(&who, &id).await?;
    ok(views::account(&a, &who.user_id))
}

/// The address to send a bounced step to again (R-9.2).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Retry {
    address: String,
}

/// Sends a bounced step again to another address of the candidate (R-9.2).
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
    let (c, e) = s.retry_enrollment(&who, &id, &eid, &b.address).await?;
    ok(enrollment_value(&s, &who, &c, &e, true).await?)
}

// --- the Outreach view (R-11.1) ---

/// The Outreach view of a project (R-11.1).
///
/// Its campaigns with per-status and per-step counts, and its open
/// notifications, newest first.
#[utoipa::path(
    get,
    path = "/v1/projects/{id}/outreach",
    tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Project id")),
    responses((status = 200, description = "The Outreach view", body = OutreachView)),
)]
async fn outreach_view(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let view = s.outreach_view(&who, &id).await?;
    ok(views::outreach(&view))
}

/// The project's notifications, newest first (R-11).
#[utoipa::path(
    get,
    path = "/v1/projects/{id}/notifications",
    tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Project id")),
    responses((status = 200, description = "Every notification, in one page", body = NotificationPage)),
)]
async fn project_notifications(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let view = s.outreach_view(&who, &id).await?;
    ok(NotificationPage {
        items: view.notifications.iter().map(views::notification).collect(),
        cursor: None,
    })
}

// --- public unsubscribe (R-9.5, RFC 8058): no bearer token, the URL's token is the proof ---

const UNSUBSCRIBE_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Unsubscribe</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}
button{font-size:1rem;padding:.6rem 1.2rem;background:#1d4ed8;color:#fff;border:0;border-radius:.3rem;cursor:pointer}
button:focus{outline:3px solid #93c5fd}</style></head>
<body><main><h1>Stop these emails?</h1>
<p>You will not receive any more messages from this sender's organization, at any address.</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button></form></main></body></html>"#;

const UNSUBSCRIBED_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribed</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<main><h1>You are unsubscribed</h1><p>No further messages will be sent to you.</p></main></body></html>"#;

fn token_shape_ok(token: &str) -> bool {
    (16..=128).contains(&token.len())
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The page of the confirmation link mailed to a newly linked address (R-2.1).
///
/// Public: the token is the proof. Opening the link changes nothing (mail
/// scanners and link prefetchers follow GETs): the page's button posts.
#[utoipa::path(
    get,
    path = "/v1/email-accounts/confirm/{token}",
    tag = "email-accounts",
    params(("token" = String, Path, description = "The token of the confirmation link")),
    responses(
        (status = 200, description = "A page with a button that confirms the address", body = String, content_type = "text/html"),
        (status = 404, description = "Not an open confirmation link (unknown, used, replaced or expired)", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn confirm_page(State(s): Svc, Path(token): Path<String>) -> ApiResult {
    if !token_shape_ok(&token) || !s.confirmation_link_open(&token, false).await? {
        return Err(Error::NotFound("confirmation link"));
    }
    Ok(axum::response::Html(CONFIRM_PAGE).into_response())
}

/// Confirms the address (R-2.1): single-use, for 24 hours, only the latest
/// link of the account. The account connects once the mail service has
/// verified the address too.
#[utoipa::path(
    post,
    path = "/v1/email-accounts/confirm/{token}",
    tag = "email-accounts",
    params(("token" = String, Path, description = "The token of the confirmation link")),
    responses(
        (status = 200, description = "A page saying the address is confirmed", body = String, content_type = "text/html"),
        (status = 404, description = "Not an open confirmation link (unknown, used, replaced or expired)", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn confirm_account(State(s): Svc, Path(token): Path<String>) -> ApiResult {
    if !token_shape_ok(&token) || !s.confirm_account(&token).await? {
        return Err(Error::NotFound("confirmation link"));
    }
    Ok(axum::response::Html(CONFIRMED_PAGE).into_response())
}

/// The "this wasn't me" page of a confirmation mail (R-2.1), also its
/// `List-Unsubscribe` URL. Opening it changes nothing.
#[utoipa::path(
    get,
    path = "/v1/email-accounts/not-me/{token}",
    tag = "email-accounts",
    params(("token" = String, Path, description = "The cancel token of the confirmation mail")),
    responses(
        (status = 200, description = "A page with a button that cancels the pending link", body = String, content_type = "text/html"),
        (status = 404, description = "Not an open link", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn not_me_page(State(s): Svc, Path(token): Path<String>) -> ApiResult {
    if !token_shape_ok(&token) || !s.confirmation_link_open(&token, true).await? {
        return Err(Error::NotFound("confirmation link"));
    }
    Ok(axum::response::Html(NOT_ME_PAGE).into_response())
}

/// Cancels the pending link of the address (R-2.1, R-2.2): its owner says
/// they did not link it. Any form body is accepted (RFC 8058 one-click).
#[utoipa::path(
    post,
    path = "/v1/email-accounts/not-me/{token}",
    tag = "email-accounts",
    params(("token" = String, Path, description = "The cancel token of the confirmation mail")),
    responses(
        (status = 200, description = "A page saying the link is cancelled", body = String, content_type = "text/html"),
        (status = 404, description = "Not an open link", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn cancel_link(
    State(s): Svc,
    Path(token): Path<String>,
    _body: axum::body::Bytes,
) -> ApiResult {
    if !token_shape_ok(&token) || !s.cancel_link(&token).await? {
        return Err(Error::NotFound("confirmation link"));
    }
    Ok(axum::response::Html(CANCELLED_PAGE).into_response())
}

const CONFIRM_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Confirm your sender address</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}
button{font-size:1rem;padding:.6rem 1.2rem;background:#1d4ed8;color:#fff;border:0;border-radius:.3rem;cursor:pointer}
button:focus{outline:3px solid #93c5fd}</style></head>
<body><main><h1>Confirm your sender address?</h1>
<p>Confirm only if you linked this address to send campaigns from it.</p>
<form method="post"><button type="submit">Confirm</button></form></main></body></html>"#;

const CONFIRMED_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Address confirmed</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<main><h1>Address confirmed</h1><p>Thank you. The account connects as soon as the mail service has verified it too.</p></main></body></html>"#;

const NOT_ME_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not you?</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}
button{font-size:1rem;padding:.6rem 1.2rem;background:#b91c1c;color:#fff;border:0;border-radius:.3rem;cursor:pointer}
button:focus{outline:3px solid #fca5a5}</style></head>
<body><main><h1>Did someone else link your address?</h1>
<p>Cancel the request, and nothing will be sent from your address.</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">This wasn't me</button></form></main></body></html>"#;

const CANCELLED_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Request cancelled</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<main><h1>Request cancelled</h1><p>Your address is not linked. Nothing will be sent from it.</p></main></body></html>"#;

/// The unsubscribe page of a message's link (R-9.5).
///
/// Public: the token is the proof.
#[utoipa::path(
    get,
    path = "/v1/unsubscribe/{token}",
    tag = "unsubscribe",
    params(("token" = String, Path, description = "The token of the message's unsubscribe link")),
    responses(
        (status = 200, description = "A page with a button that posts the one-click form", body = String, content_type = "text/html"),
        (status = 404, description = "Not an unsubscribe token", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn unsubscribe_page(Path(token): Path<String>) -> ApiResult {
    if !token_shape_ok(&token) {
        return Err(Error::NotFound("unsubscribe link"));
    }
    Ok(axum::response::Html(UNSUBSCRIBE_PAGE).into_response())
}

/// One-click unsubscribe (RFC 8058, R-9.5).
///
/// Public: any form body is accepted, the token alone decides. Browsers
/// (`Accept: text/html`) get a page.
#[utoipa::path(
    post,
    path = "/v1/unsubscribe/{token}",
    tag = "unsubscribe",
    params(("token" = String, Path, description = "The token of the message's List-Unsubscribe URL")),
    request_body(
        description = "`List-Unsubscribe=One-Click`, as mail clients send it",
        content(
            ("application/x-www-form-urlencoded", example = json!("List-Unsubscribe=One-Click")),
            ("multipart/form-data"),
        ),
    ),
    responses(
        (status = 200, description = "Unsubscribed", content(
            (UnsubscribedView = "application/json"),
            (String = "text/html"),
        )),
        (status = 404, description = "Unknown unsubscribe token", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn unsubscribe_one_click(
    State(s): Svc,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
    _body: axum::body::Bytes,
) -> ApiResult {
    if !token_shape_ok(&token) || !s.unsubscribe(&token).await? {
        return Err(Error::NotFound("unsubscribe link"));
    }
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html {
        Ok(axum::response::Html(UNSUBSCRIBED_PAGE).into_response())
    } else {
        ok(UnsubscribedView { unsubscribed: true })
    }
}

// --- SNS HTTPS deliveries (§15): accepted only with a valid SNS signature (sns.rs) ---

/// What an SNS webhook delivery did.
#[derive(Debug, Serialize, ToSchema)]
struct WebhookView {
    /// `confirm_subscription` (visit `subscribe_url`), `unsubscribed` or `processed`.
    outcome: String,
    /// The SNS topic of the delivery.
    topic_arn: Option<String>,
    /// For a subscription confirmation: the URL that must be visited to confirm it.
    #[serde(skip_serializing_if = "Option::is_none")]
    subscribe_url: Option<String>,
    /// For inbound mail: `reply`, `auto_reply`, `bounce` or `unmatched`.
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    /// For inbound mail: the enrollments it was matched to.
    #[serde(skip_serializing_if = "Option::is_none")]
    enrollment_ids: Option<Vec<String>>,
}

fn webhook_view(outcome: crate::sns::WebhookOutcome) -> WebhookView {
    use crate::sns::WebhookOutcome;
    let empty = WebhookView {
        outcome: "processed".into(),
        topic_arn: None,
        subscribe_url: None,
        kind: None,
        enrollment_ids: None,
    };
    match outcome {
        WebhookOutcome::Confirm {
            topic_arn,
            subscribe_url,
        } => WebhookView {
            outcome: "confirm_subscription".into(),
            topic_arn: Some(topic_arn),
            subscribe_url: Some(subscribe_url),
            ..empty
        },
        WebhookOutcome::Unsubscribed { topic_arn } => WebhookView {
            outcome: "unsubscribed".into(),
            topic_arn: Some(topic_arn),
            ..empty
        },
        WebhookOutcome::SesEvent(_) => empty,
        WebhookOutcome::Inbound(r) => WebhookView {
            kind: Some(r.kind.to_owned()),
            enrollment_ids: Some(r.enrollment_ids.iter().map(ToString::to_string).collect()),
            ..empty
        },
    }
}

/// The verifier a composition root adds as an extension; without one (local
/// mode) the webhooks do not exist.
type Verifier = Option<axum::Extension<Arc<crate::sns::SnsVerifier>>>;

/// SES events delivered by an SNS HTTPS subscription (§15, R-9).
///
/// Public: the SNS signature is the proof (SignatureVersion 1 or 2, a certificate
/// of `sns.<region>.amazonaws.com`, a subscribed topic, at most an hour old, never
/// twice). A `SubscriptionConfirmation` answers the `SubscribeURL` to visit.
#[utoipa::path(
    post,
    path = "/v1/webhooks/ses-events",
    tag = "webhooks",
    request_body(
        description = "An SNS message as SNS posts it (`Notification` of an SES event, `SubscriptionConfirmation`, `UnsubscribeConfirmation`)",
        content(("text/plain"), ("application/json")),
    ),
    responses(
        (status = 200, description = "Verified and handled", body = WebhookView),
        (status = 400, description = "Not an SNS message", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The signature, certificate URL, topic or timestamp is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "This deployment takes no SNS deliveries (local mode)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A replay: this message was accepted before", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The SES event cannot be read", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn ses_events_webhook(
    State(s): Svc,
    verifier: Verifier,
    body: axum::body::Bytes,
) -> ApiResult {
    let Some(axum::Extension(verifier)) = verifier else {
        return Err(Error::NotFound("SNS webhook"));
    };
    ok(webhook_view(s.ses_events_webhook(&verifier, &body).await?))
}

/// Inbound mail delivered by an SNS HTTPS subscription of the SES receipt rule (§15, R-9.6).
///
/// Public: the SNS signature is the proof, as for SES events. The receipt's
/// Base64 `content` is the message (the SNS action); a message stored in S3 is
/// the inbound function's to read and answers 422.
#[utoipa::path(
    post,
    path = "/v1/webhooks/inbound",
    tag = "webhooks",
    request_body(
        description = "An SNS message as SNS posts it (`Notification` of an SES receipt, `SubscriptionConfirmation`, `UnsubscribeConfirmation`)",
        content(("text/plain"), ("application/json")),
    ),
    responses(
        (status = 200, description = "Verified and handled", body = WebhookView),
        (status = 400, description = "Not an SNS message", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The signature, certificate URL, topic or timestamp is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "This deployment takes no SNS deliveries (local mode)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A replay: this message was accepted before", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The receipt cannot be used (stored in S3, no content, not a message)", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn inbound_webhook(State(s): Svc, verifier: Verifier, body: axum::body::Bytes) -> ApiResult {
    let Some(axum::Extension(verifier)) = verifier else {
        return Err(Error::NotFound("SNS webhook"));
    };
    ok(webhook_view(s.inbound_webhook(&verifier, &body).await?))
}

// --- accounts: remove, confirm, delegation (R-2.1, R-2.2, R-2.4); admin grants (R-3.2) ---

/// Removes a sender account (R-2.2): campaigns using it pause with `sender_removed`.
#[utoipa::path(
    delete,
    path = "/v1/email-accounts/{id}",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses((status = 204, description = "Removed")),
)]
async fn remove_account(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    s.remove_account(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Sends the proof-of-control message again (R-2.1).
#[utoipa::path(
    post,
    path = "/v1/email-accounts/{id}/resend",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses(
        (status = 200, description = "The account", body = AccountView),
        (status = 409, description = "The account needs no confirmation", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Sent again too often (3 an hour, 10 a day), or 5 links pending; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn resend_confirmation(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let a = s.resend_confirmation(&who, &id).await?;
    ok(views::account(&a, &who.user_id))
}

/// A user who may send from the account (R-2.4).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewDelegate {
    user_id: String,
    /// The delegate's organization, when it is not the owner's.
    #[serde(default)]
    org_id: Option<String>,
}

/// Lets a named user (of any organization) send from the account (R-2.4); owner only.
#[utoipa::path(
    post,
    path = "/v1/email-accounts/{id}/delegates",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    request_body = NewDelegate,
    responses((status = 201, description = "The account", body = AccountView)),
)]
async fn add_delegate(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<NewDelegate>,
) -> ApiResult {
    let a = s
        .add_delegate(&who, &id, b.org_id.as_deref(), &b.user_id)
        .await?;
    created(views::account(&a, &who.user_id))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DelegateQuery {
    /// The delegate's organization, when it is not the owner's.
    #[serde(default)]
    org_id: Option<String>,
}

/// Revokes a delegate (R-2.4); owner only.
///
/// The delegate's campaigns on the account pause with `sender_revoked`.
#[utoipa::path(
    delete,
    path = "/v1/email-accounts/{id}/delegates/{user_id}",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Account id"),
        ("user_id" = String, Path, description = "The delegate's user id"),
        DelegateQuery,
    ),
    responses((status = 200, description = "The account", body = AccountView)),
)]
async fn remove_delegate(
    State(s): Svc,
    who: Identity,
    Path((id, user)): Path<(String, String)>,
    Params(q): Params<DelegateQuery>,
) -> ApiResult {
    let a = s
        .remove_delegate(&who, &id, q.org_id.as_deref(), &user)
        .await?;
    ok(views::account(&a, &who.user_id))
}

/// Credits granted to an organization (R-3.2).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Grant {
    org_id: String,
    /// 1 to 1,000,000.
    #[schema(minimum = 1, maximum = 1_000_000)]
    amount: i64,
}

/// Grants credits to an organization (R-3.2).
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
    let balance = s.grant_credits(&who, &b.org_id, b.amount).await?;
    created(GrantView {
        org_id: b.org_id,
        amount: b.amount,
        balance,
    })
}

// --- templates, overrides (R-4, R-5.5) ---

/// Replaces a template's name and steps (R-4).
#[utoipa::path(
    put,
    path = "/v1/templates/{id}",
    tag = "templates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Template id")),
    request_body = NewTemplate,
    responses((status = 200, description = "The template", body = TemplateView)),
)]
async fn update_template(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<NewTemplate>,
) -> ApiResult {
    ok(views::template(
        &s.update_template(&who, &id, &b.name, b.steps).await?,
    ))
}

/// Deletes a template; campaigns keep their copy of its steps.
#[utoipa::path(
    delete,
    path = "/v1/templates/{id}",
    tag = "templates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Template id")),
    responses((status = 204, description = "Deleted")),
)]
async fn delete_template(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    s.delete_template(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Overrides one enrollment's address or custom merge fields (R-5.5).
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
    let (c, e) = s.set_overrides(&who, &id, &eid, b).await?;
    ok(enrollment_value(&s, &who, &c, &e, true).await?)
}

// --- single messages (R-12) ---

/// Sends one message to a candidate at once (R-12).
///
/// From a template step or an inline subject and body; the address follows R-7
/// unless given.
#[utoipa::path(
    post,
    path = "/v1/candidates/{id}/messages",
    tag = "candidates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Candidate id")),
    request_body = NewMessage,
    responses(
        (status = 201, description = "The message", body = MessageView),
        (status = 402, description = "The candidate is not revealed and no credit is left", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn send_message(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<NewMessage>,
) -> ApiResult {
    let (_, e) = s.send_single(&who, &id, b).await?;
    let candidate = s.candidate(&who, &id).await?;
    created(views::message(&e, s.now(), &who.user_id, &candidate))
}

/// The single messages the caller's organization sent to a candidate (R-12).
#[utoipa::path(
    get,
    path = "/v1/candidates/{id}/messages",
    tag = "candidates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Candidate id")),
    responses((status = 200, description = "Every message, in one page", body = MessagePage)),
)]
async fn list_messages(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let now = s.now();
    let (candidate, messages) = s.single_messages(&who, &id).await?;
    let items: Vec<MessageView> = messages
        .iter()
        .map(|(_, e)| views::message(e, now, &who.user_id, &candidate))
        .collect();
    ok(MessagePage {
        items,
        cursor: None,
    })
}
