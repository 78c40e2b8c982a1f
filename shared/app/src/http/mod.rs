//! The one HTTP router of the `/v1` API (SPEC §13), served by `axum::serve`
//! locally and by `lambda_http` in AWS.

pub mod extract;
pub mod idempotency;
pub mod openapi;
pub mod plain;
pub mod problem;
pub mod views;

mod accounts;
mod campaigns;
mod candidates;
mod catalog;
mod enrollments;
mod history;
mod import;
mod me;
mod messages;
mod outreach;
mod public;
mod replies;
mod stats;
mod webhooks;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
// Without the `openapi` feature (the Lambda functions, issue 20) the same
// registrations build the router only (`plain`): no operation, schema or
// document is built, so none is linked.
#[cfg(not(feature = "openapi"))]
use crate::plain_routes as routes;
#[cfg(not(feature = "openapi"))]
use plain::PlainRouter as OpenApiRouter;
#[cfg(feature = "openapi")]
use utoipa_axum::router::OpenApiRouter;
#[cfg(feature = "openapi")]
use utoipa_axum::routes;

use crate::auth::Identity;
use crate::error::Error;
use crate::service::Service;
use extract::{Body, PageQuery, Paging, Params, Path, RawBody, cursor};
use outreach_domain::campaign::StepSpec;
use problem::Problem;
use views::*;

/// Request bodies above this answer 413 (§13).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The body limit of a route: §13's, except the import's.
pub fn body_limit(path: &str) -> usize {
    if path == import::IMPORT_PATH {
        import::IMPORT_MAX_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

type Svc = State<Arc<Service>>;
type ApiResult = Result<Response, Error>;

fn ok(v: impl Serialize) -> ApiResult {
    Ok(Json(v).into_response())
}

fn created(v: impl Serialize) -> ApiResult {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// The API: every route of [`routes`], answering 404 problem+json elsewhere
/// (local mode).
pub fn router(service: Arc<Service>) -> Router {
    serve(routes(), service)
}

/// The API function's router in AWS (§15): every route of [`routes`] but the
/// SNS webhooks, which the webhooks function serves ([`webhooks_router`]),
/// the routes of [`mail_router`] (the `api-mail` function) and those of
/// [`accounts_router`] (the `api-accounts` function), so that its bootstrap
/// links neither the SNS signature check nor the handling of SES events and
/// inbound mail behind them, nor the mail service, the DMARC lookup, mail
/// building and CSV of the others (issue 20).
pub fn api_router(service: Arc<Service>) -> Router {
    serve(core_routes(), service)
}

/// The `api-mail` function's router in AWS (§15, issue 20): the routes of
/// [`routes`] that link what no other route needs: a candidate's messages and
/// history, replies, the CSV import and the statistics (CSV).
pub fn mail_router(service: Arc<Service>) -> Router {
    serve(mail_routes(), service)
}

/// The `api-accounts` function's router in AWS (§15, issue 20): the sender
/// accounts: linking (the DMARC lookup and the proof mail),
/// relinking, removal, limits, delegates, and the confirmation and "this
/// wasn't me" pages; the only API routes that call the mail service or its
/// identities.
pub fn accounts_router(service: Arc<Service>) -> Router {
    serve(accounts_routes(), service)
}

/// The webhooks function's router in AWS (§15): the two SNS webhooks of
/// [`routes`], with the same fallbacks and layers as every other route.
pub fn webhooks_router(service: Arc<Service>) -> Router {
    serve(webhooks::routes(), service)
}

/// `routes` served: 404 and 405 as problem+json, the idempotency middleware
/// and the body limit.
fn serve(routes: OpenApiRouter<Arc<Service>>, service: Arc<Service>) -> Router {
    let (router, _) = routes.split_for_parts();
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
    api_routes().merge(webhooks::routes())
}

/// [`routes`] but the SNS webhooks.
fn api_routes() -> OpenApiRouter<Arc<Service>> {
    core_routes().merge(mail_routes()).merge(accounts_routes())
}

/// The API function's routes ([`api_router`]).
fn core_routes() -> OpenApiRouter<Arc<Service>> {
    #[cfg(feature = "openapi")]
    let routes = OpenApiRouter::with_openapi(openapi::base());
    #[cfg(not(feature = "openapi"))]
    let routes = OpenApiRouter::new();
    routes
        .routes(routes!(openapi_json))
        .merge(me::routes())
        .merge(candidates::routes())
        .merge(catalog::routes())
        .merge(outreach::routes())
        .merge(campaigns::routes())
        .merge(enrollments::routes())
        .merge(public::unsubscribe_routes())
}

/// The `api-mail` function's routes ([`mail_router`]); infra/template.yaml
/// routes each of their paths to that function.
fn mail_routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new()
        .merge(import::routes())
        .merge(history::routes())
        .merge(messages::routes())
        .merge(replies::routes())
        .merge(stats::routes())
}

/// The `api-accounts` function's routes ([`accounts_router`]);
/// infra/template.yaml routes each of their paths to that function.
fn accounts_routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new()
        .merge(accounts::routes())
        .merge(public::account_link_routes())
}

/// The OpenAPI 3.1 document of the API: that of [`routes`], with the
/// webhooks' operations taken from their annotations rather than their
/// handlers. What `/v1/openapi.json` serves is this document as checked in
/// ([`API_DOC_JSON`]; `tests/openapi.rs` keeps the two equal), so that no
/// function builds it (issue 20).
#[cfg(feature = "openapi")]
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let mut doc = api_routes().into_openapi();
    doc.merge(webhooks::doc());
    openapi::complete(doc)
}

/// [`api_doc`] as pretty JSON, checked in (`openapi.json`; regenerate it
/// with `OUTREACH_UPDATE_OPENAPI=1 cargo test -p outreach-app --test openapi`).
pub const API_DOC_JSON: &str = include_str!("openapi.json");

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
        API_DOC_JSON,
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

#[cfg(test)]
mod tests;
