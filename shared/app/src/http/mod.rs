//! The one HTTP router of the `/v1` API (SPEC §13), served by `axum::serve`
//! locally and by `lambda_http` in AWS.

pub mod extract;
pub mod views;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::service::Service;
use crate::usecases::campaigns::NewCampaign;
use crate::usecases::candidates::NewCandidate;
use crate::usecases::enrollments::AddCandidates;
use extract::{Body, Paging, cursor};
use outreach_domain::campaign::StepSpec;

/// Request bodies above this answer 413 (§13).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

type Svc = State<Arc<Service>>;
type ApiResult = Result<Response, ApiError>;

fn ok(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

fn created(v: Value) -> ApiResult {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/v1/me", get(get_me).put(put_me))
        .route("/v1/email-accounts", get(list_accounts).post(link_account))
        .route("/v1/email-accounts/{id}", get(get_account))
        .route(
            "/v1/candidates",
            get(list_candidates).post(create_candidate),
        )
        .route("/v1/candidates/{id}", get(get_candidate))
        .route("/v1/candidates/{id}/reveal", post(reveal))
        .route("/v1/credits", get(credits))
        .route("/v1/projects", get(list_projects).post(create_project))
        .route("/v1/projects/{id}", get(get_project))
        .route(
            "/v1/projects/{id}/campaigns",
            get(list_campaigns).post(create_campaign),
        )
        .route("/v1/templates", get(list_templates).post(create_template))
        .route("/v1/templates/{id}", get(get_template))
        .route("/v1/campaigns/{id}", get(get_campaign))
        .route("/v1/campaigns/{id}/start", post(start_campaign))
        .route("/v1/campaigns/{id}/pause", post(pause_campaign))
        .route("/v1/campaigns/{id}/resume", post(resume_campaign))
        .route("/v1/campaigns/{id}/stop", post(stop_campaign))
        .route(
            "/v1/campaigns/{id}/enrollments",
            get(list_enrollments).post(add_enrollments),
        )
        .route("/v1/campaigns/{id}/enrollments/{eid}", get(get_enrollment))
        .route(
            "/v1/campaigns/{id}/enrollments/{eid}/pause",
            post(pause_enrollment),
        )
        .route(
            "/v1/campaigns/{id}/enrollments/{eid}/resume",
            post(resume_enrollment),
        )
        .route(
            "/v1/campaigns/{id}/enrollments/{eid}/remove",
            post(remove_enrollment),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(service)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

// --- me (R-1.3) ---

async fn get_me(State(s): Svc, who: Identity) -> ApiResult {
    let p = s.me(&who).await?;
    ok(
        json!({"id": p.id, "org_id": p.org_id, "display_name": p.display_name, "timezone": p.timezone, "notification_address": p.notification_address}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutMe {
    display_name: Option<String>,
    timezone: Option<String>,
}

async fn put_me(State(s): Svc, who: Identity, Body(b): Body<PutMe>) -> ApiResult {
    let p = s.update_me(&who, b.display_name, b.timezone).await?;
    ok(
        json!({"id": p.id, "org_id": p.org_id, "display_name": p.display_name, "timezone": p.timezone, "notification_address": p.notification_address}),
    )
}

// --- sender accounts (R-2) ---

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkAccount {
    address: String,
    display_name: Option<String>,
}

async fn link_account(State(s): Svc, who: Identity, Body(b): Body<LinkAccount>) -> ApiResult {
    let a = s.link_account(&who, &b.address, b.display_name).await?;
    created(views::account(&a, &who.user_id))
}

async fn list_accounts(State(s): Svc, who: Identity) -> ApiResult {
    let items: Vec<Value> = s
        .list_accounts(&who)
        .await?
        .iter()
        .map(|a| views::account(a, &who.user_id))
        .collect();
    ok(json!({"items": items, "cursor": null}))
}

async fn get_account(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let a = s.account_for(&who, &id).await?;
    ok(views::account(&a, &who.user_id))
}

// --- candidates and credits (R-3) ---

async fn create_candidate(State(s): Svc, who: Identity, Body(b): Body<NewCandidate>) -> ApiResult {
    let c = s.create_candidate(&who, b).await?;
    created(views::candidate(&c, &who.user_id))
}

async fn get_candidate(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let c = s.candidate(&who, &id).await?;
    ok(views::candidate(&c, &who.user_id))
}

async fn list_candidates(State(s): Svc, who: Identity, Paging(page): Paging) -> ApiResult {
    let p = s.list_candidates(&who, &page).await?;
    let items: Vec<Value> = p
        .items
        .iter()
        .map(|c| views::candidate(c, &who.user_id))
        .collect();
    ok(json!({"items": items, "cursor": cursor(p.next.as_ref())}))
}

async fn reveal(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let spent = s.reveal(&who, &id).await?;
    ok(json!({"credits_spent": spent}))
}

async fn credits(State(s): Svc, who: Identity, Paging(page): Paging) -> ApiResult {
    let (balance, ledger) = s.credits(&who, &page).await?;
    let items: Vec<Value> = ledger.items.iter().map(views::ledger_entry).collect();
    ok(json!({"balance": balance, "ledger": items, "cursor": cursor(ledger.next.as_ref())}))
}

// --- projects and templates ---

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Named {
    name: String,
}

async fn create_project(State(s): Svc, who: Identity, Body(b): Body<Named>) -> ApiResult {
    let p = s.create_project(&who, &b.name).await?;
    created(json!({"id": p.id, "name": p.name, "created_at": views::ts(p.created_at)}))
}

async fn get_project(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let p = s.project(&who, &id).await?;
    ok(json!({"id": p.id, "name": p.name, "created_at": views::ts(p.created_at)}))
}

async fn list_projects(State(s): Svc, who: Identity, Paging(page): Paging) -> ApiResult {
    let p = s.list_projects(&who, &page).await?;
    let items: Vec<Value> = p
        .items
        .iter()
        .map(|p| json!({"id": p.id, "name": p.name, "created_at": views::ts(p.created_at)}))
        .collect();
    ok(json!({"items": items, "cursor": cursor(p.next.as_ref())}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTemplate {
    name: String,
    steps: Vec<StepSpec>,
}

fn template_view(t: &crate::model::Template) -> Value {
    json!({"id": t.id, "name": t.name, "steps": t.steps, "created_at": views::ts(t.created_at)})
}

async fn create_template(State(s): Svc, who: Identity, Body(b): Body<NewTemplate>) -> ApiResult {
    let t = s.create_template(&who, &b.name, b.steps).await?;
    created(template_view(&t))
}

async fn get_template(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(template_view(&s.template(&who, &id).await?))
}

async fn list_templates(State(s): Svc, who: Identity, Paging(page): Paging) -> ApiResult {
    let p = s.list_templates(&who, &page).await?;
    let items: Vec<Value> = p.items.iter().map(template_view).collect();
    ok(json!({"items": items, "cursor": cursor(p.next.as_ref())}))
}

// --- campaigns (R-5, R-10) ---

async fn create_campaign(
    State(s): Svc,
    who: Identity,
    Path(project): Path<String>,
    Body(b): Body<NewCampaign>,
) -> ApiResult {
    let c = s.create_campaign(&who, &project, b).await?;
    created(views::campaign(&c))
}

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
    let items: Vec<Value> = p.items.iter().map(views::campaign).collect();
    ok(json!({"items": items, "cursor": cursor(p.next.as_ref())}))
}

async fn get_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::campaign(&s.campaign(&who, &id).await?.value))
}

async fn start_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::campaign(&s.start_campaign(&who, &id).await?))
}

async fn pause_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::campaign(&s.pause_campaign(&who, &id).await?))
}

async fn resume_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::campaign(&s.resume_campaign(&who, &id).await?))
}

async fn stop_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::campaign(&s.stop_campaign(&who, &id).await?))
}

// --- enrollments (R-5.3, R-5.4, R-10) ---

async fn add_enrollments(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<AddCandidates>,
) -> ApiResult {
    let added = s.add_candidates(&who, &id, b).await?;
    let enrollments: Vec<Value> = added
        .enrollments
        .iter()
        .map(|e| json!({"id": e.id, "candidate_id": e.candidate_id, "status": e.status}))
        .collect();
    created(json!({"enrollments": enrollments, "refused": added.refused}))
}

/// One enrollment as the caller sees it, with the address its next step would use.
async fn enrollment_value(
    s: &Service,
    who: &Identity,
    c: &outreach_domain::campaign::Campaign,
    e: &outreach_domain::enrollment::Enrollment,
    with_events: bool,
) -> Result<Value, ApiError> {
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
    ok(json!({"items": items, "cursor": cursor(p.next.as_ref())}))
}

async fn get_enrollment(
    State(s): Svc,
    who: Identity,
    Path((id, eid)): Path<(String, String)>,
) -> ApiResult {
    let (c, e) = s.enrollment(&who, &id, &eid).await?;
    ok(enrollment_value(&s, &who, &c, &e.value, true).await?)
}

async fn pause_enrollment(
    State(s): Svc,
    who: Identity,
    Path((id, eid)): Path<(String, String)>,
) -> ApiResult {
    let (c, e) = s.pause_enrollment(&who, &id, &eid).await?;
    ok(enrollment_value(&s, &who, &c, &e, true).await?)
}

async fn resume_enrollment(
    State(s): Svc,
    who: Identity,
    Path((id, eid)): Path<(String, String)>,
) -> ApiResult {
    let (c, e) = s.resume_enrollment(&who, &id, &eid).await?;
    ok(enrollment_value(&s, &who, &c, &e, true).await?)
}

async fn remove_enrollment(
    State(s): Svc,
    who: Identity,
    Path((id, eid)): Path<(String, String)>,
) -> ApiResult {
    let (c, e) = s.remove_enrollment(&who, &id, &eid).await?;
    ok(enrollment_value(&s, &who, &c, &e, true).await?)
}
