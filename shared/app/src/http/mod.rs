//! The one HTTP router of the `/v1` API (SPEC §13), served by `axum::serve`
//! locally and by `lambda_http` in AWS.

pub mod extract;
pub mod idempotency;
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
use crate::usecases::candidates::{CandidateUpdate, NewCandidate};
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
        .route(
            "/v1/email-accounts/{id}",
            get(get_account).delete(remove_account),
        )
        .route("/v1/email-accounts/{id}/resend", post(resend_confirmation))
        .route("/v1/email-accounts/confirm/{token}", get(confirm_account))
        .route("/v1/email-accounts/{id}/delegates", post(add_delegate))
        .route(
            "/v1/email-accounts/{id}/delegates/{user_id}",
            axum::routing::delete(remove_delegate),
        )
        .route("/v1/admin/credits", post(grant_credits))
        .route(
            "/v1/candidates/{id}/messages",
            get(list_messages).post(send_message),
        )
        .route("/v1/email-accounts/{id}/relink", post(relink_account))
        .route(
            "/v1/candidates",
            get(list_candidates).post(create_candidate),
        )
        .route(
            "/v1/candidates/{id}",
            get(get_candidate)
                .patch(update_candidate)
                .delete(erase_candidate),
        )
        .route("/v1/candidates/{id}/emails", post(add_manual_email))
        .route(
            "/v1/projects/{id}/pins/{candidate_id}",
            axum::routing::put(pin_address),
        )
        .route("/v1/candidates/{id}/reveal", post(reveal))
        .route("/v1/credits", get(credits))
        .route("/v1/projects", get(list_projects).post(create_project))
        .route("/v1/projects/{id}", get(get_project))
        .route("/v1/projects/{id}/outreach", get(outreach_view))
        .route(
            "/v1/projects/{id}/notifications",
            get(project_notifications),
        )
        .route(
            "/v1/projects/{id}/campaigns",
            get(list_campaigns).post(create_campaign),
        )
        .route("/v1/templates", get(list_templates).post(create_template))
        .route(
            "/v1/templates/{id}",
            get(get_template)
                .put(update_template)
                .delete(delete_template),
        )
        .route("/v1/campaigns/{id}", get(get_campaign).patch(edit_campaign))
        .route("/v1/campaigns/{id}/preview", post(preview_campaign))
        .route("/v1/campaigns/{id}/start", post(start_campaign))
        .route("/v1/campaigns/{id}/pause", post(pause_campaign))
        .route("/v1/campaigns/{id}/resume", post(resume_campaign))
        .route("/v1/campaigns/{id}/stop", post(stop_campaign))
        .route(
            "/v1/campaigns/{id}/enrollments",
            get(list_enrollments).post(add_enrollments),
        )
        .route(
            "/v1/campaigns/{id}/enrollments/{eid}",
            get(get_enrollment).patch(set_overrides),
        )
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
        .route(
            "/v1/campaigns/{id}/enrollments/{eid}/retry",
            post(retry_enrollment),
        )
        .route(
            "/v1/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe_one_click),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            service.clone(),
            idempotency::idempotency,
        ))
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
        .usable_accounts(&who)
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

/// A candidate as the caller sees it, with suppressed addresses marked.
async fn candidate_value(
    s: &Service,
    who: &Identity,
    c: &outreach_domain::candidate::Candidate,
) -> Result<Value, ApiError> {
    let suppressed = s.suppressed_addresses(&who.org_id, c).await?;
    Ok(views::candidate(c, &who.user_id, &suppressed))
}

async fn create_candidate(State(s): Svc, who: Identity, Body(b): Body<NewCandidate>) -> ApiResult {
    let c = s.create_candidate(&who, b).await?;
    created(candidate_value(&s, &who, &c).await?)
}

async fn get_candidate(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let c = s.candidate(&who, &id).await?;
    ok(candidate_value(&s, &who, &c).await?)
}

async fn update_candidate(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<CandidateUpdate>,
) -> ApiResult {
    let c = s.update_candidate(&who, &id, b).await?;
    ok(candidate_value(&s, &who, &c).await?)
}

async fn erase_candidate(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    s.erase_candidate(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_candidates(State(s): Svc, who: Identity, Paging(page): Paging) -> ApiResult {
    let p = s.list_candidates(&who, &page).await?;
    let mut items = Vec::with_capacity(p.items.len());
    for c in &p.items {
        items.push(candidate_value(&s, &who, c).await?);
    }
    ok(json!({"items": items, "cursor": cursor(p.next.as_ref())}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManualEmail {
    address: String,
    #[serde(rename = "type")]
    kind: outreach_domain::candidate::EmailType,
}

async fn add_manual_email(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<ManualEmail>,
) -> ApiResult {
    let c = s.add_manual_email(&who, &id, &b.address, b.kind).await?;
    created(candidate_value(&s, &who, &c).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pin {
    address: String,
}

async fn pin_address(
    State(s): Svc,
    who: Identity,
    Path((project, candidate)): Path<(String, String)>,
    Body(b): Body<Pin>,
) -> ApiResult {
    let address = s
        .pin_address(&who, &project, &candidate, &b.address)
        .await?;
    ok(json!({"project_id": project, "candidate_id": candidate, "address": address}))
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

/// Start answers the campaign and every candidate with a missing merge field (R-4.3).
async fn start_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let campaign = s.start_campaign(&who, &id).await?;
    let missing = s.missing_fields(&campaign).await?;
    let mut v = views::campaign(&campaign);
    v["missing_fields"] = json!(missing);
    ok(v)
}

async fn edit_campaign(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<crate::usecases::campaigns::CampaignEdit>,
) -> ApiResult {
    ok(views::campaign(&s.edit_campaign(&who, &id, b).await?))
}

async fn preview_campaign(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Paging(page): Paging,
) -> ApiResult {
    let (p, missing) = s.preview(&who, &id, &page).await?;
    ok(json!({"items": p.items, "missing_fields": missing, "cursor": cursor(p.next.as_ref())}))
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

async fn relink_account(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let a = s.relink_account(&who, &id).await?;
    ok(views::account(&a, &who.user_id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Retry {
    address: String,
}

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

fn notification_view(n: &crate::model::Notification) -> Value {
    json!({
        "id": n.id,
        "kind": n.kind,
        "message": n.message,
        "account_id": n.account_id,
        "campaign_ids": n.campaign_ids,
        "created_at": views::ts(n.created_at),
        "resolved_at": n.resolved_at.map(views::ts),
    })
}

async fn outreach_view(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let view = s.outreach_view(&who, &id).await?;
    let campaigns: Vec<Value> = view
        .campaigns
        .iter()
        .map(|(c, counts)| {
            json!({
                "id": c.id,
                "name": c.name,
                "status": c.status,
                "pause_reason": c.pause_reason,
                "counts": {"by_status": counts.by_status, "steps": counts.steps},
            })
        })
        .collect();
    let notifications: Vec<Value> = view.notifications.iter().map(notification_view).collect();
    ok(json!({"campaigns": campaigns, "notifications": notifications}))
}

async fn project_notifications(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let view = s.outreach_view(&who, &id).await?;
    let items: Vec<Value> = view.notifications.iter().map(notification_view).collect();
    ok(json!({"items": items, "cursor": null}))
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

async fn unsubscribe_page(Path(token): Path<String>) -> ApiResult {
    if !token_shape_ok(&token) {
        return Err(ApiError::NotFound("unsubscribe link"));
    }
    Ok(axum::response::Html(UNSUBSCRIBE_PAGE).into_response())
}

/// One-click unsubscribe: any form body (urlencoded or multipart) is accepted;
/// the token alone decides (RFC 8058).
async fn unsubscribe_one_click(
    State(s): Svc,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
    _body: axum::body::Bytes,
) -> ApiResult {
    if !token_shape_ok(&token) || !s.unsubscribe(&token).await? {
        return Err(ApiError::NotFound("unsubscribe link"));
    }
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html {
        Ok(axum::response::Html(UNSUBSCRIBED_PAGE).into_response())
    } else {
        ok(json!({"unsubscribed": true}))
    }
}

// --- accounts: remove, confirm, delegation (R-2.1, R-2.2, R-2.4); admin grants (R-3.2) ---

async fn remove_account(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    s.remove_account(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn resend_confirmation(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let a = s.resend_confirmation(&who, &id).await?;
    ok(views::account(&a, &who.user_id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDelegate {
    user_id: String,
    /// The delegate's organization, when it is not the owner's.
    #[serde(default)]
    org_id: Option<String>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DelegateQuery {
    #[serde(default)]
    org_id: Option<String>,
}

async fn remove_delegate(
    State(s): Svc,
    who: Identity,
    Path((id, user)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<DelegateQuery>,
) -> ApiResult {
    let a = s
        .remove_delegate(&who, &id, q.org_id.as_deref(), &user)
        .await?;
    ok(views::account(&a, &who.user_id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Grant {
    org_id: String,
    amount: i64,
}

async fn grant_credits(State(s): Svc, who: Identity, Body(b): Body<Grant>) -> ApiResult {
    let balance = s.grant_credits(&who, &b.org_id, b.amount).await?;
    created(json!({"org_id": b.org_id, "amount": b.amount, "balance": balance}))
}

// --- templates, overrides (R-4, R-5.5) ---

async fn update_template(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<NewTemplate>,
) -> ApiResult {
    ok(template_view(
        &s.update_template(&who, &id, &b.name, b.steps).await?,
    ))
}

async fn delete_template(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    s.delete_template(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn set_overrides(
    State(s): Svc,
    who: Identity,
    Path((id, eid)): Path<(String, String)>,
    Body(b): Body<crate::usecases::enrollments::Overrides>,
) -> ApiResult {
    let (c, e) = s.set_overrides(&who, &id, &eid, b).await?;
    ok(enrollment_value(&s, &who, &c, &e, true).await?)
}

// --- single messages (R-12) ---

fn message_view(
    e: &outreach_domain::enrollment::Enrollment,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    let step = e.steps.first();
    let latest = step.and_then(|s| s.latest());
    json!({
        "id": e.id,
        "candidate_id": e.candidate_id,
        "campaign_id": e.campaign_id,
        "status": e.step_status(1, now, false),
        "enrollment_status": e.status,
        "address": latest.map(|a| a.address.to_string()),
        "message_id": latest.and_then(|a| a.message_id.clone()),
        "rfc822_message_id": latest.and_then(|a| a.rfc822_message_id.clone()),
        "sent_at": latest.and_then(|a| a.sent_at).map(views::ts),
        "replied": e.status == outreach_domain::enrollment::EnrollmentStatus::Replied,
    })
}

async fn send_message(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<crate::usecases::messages::NewMessage>,
) -> ApiResult {
    let (_, e) = s.send_single(&who, &id, b).await?;
    created(message_view(&e, s.now()))
}

async fn list_messages(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let now = s.now();
    let items: Vec<Value> = s
        .single_messages(&who, &id)
        .await?
        .iter()
        .map(|(_, e)| message_view(e, now))
        .collect();
    ok(json!({"items": items, "cursor": null}))
}

/// The one-time confirmation link mailed to a newly linked address (R-2.1):
/// public, the token is the proof.
async fn confirm_account(State(s): Svc, Path(token): Path<String>) -> ApiResult {
    if !token_shape_ok(&token) || !s.confirm_account(&token).await? {
        return Err(ApiError::NotFound("confirmation link"));
    }
    Ok(axum::response::Html(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Address confirmed</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto\"><main><h1>Address confirmed</h1>\
         <p>Thank you. The account connects as soon as the mail service has verified it too.</p></main></body></html>",
    )
    .into_response())
}
