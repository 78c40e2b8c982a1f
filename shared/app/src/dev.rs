//! `/dev/*` routes of local mode (SPEC §14): clock, outbox, faults, token. They exist
//! only when local mode mounts them, and need no token. Their OpenAPI document is
//! served at `/dev/openapi.json`, apart from the `/v1` one, because the API in
//! AWS has none of them.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::Error;
use crate::http::extract::{Body, Path, RawBody};
use crate::http::openapi;
use crate::http::problem::Problem;
use crate::http::views::{self, InboundResultView, ts};
use crate::service::Service;

/// The tag of every `/dev` operation.
pub const TAG: &str = "local mode only";

/// One message of the local outbox.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct OutboxItem {
    pub id: String,
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    #[serde(serialize_with = "ser_ts")]
    #[schema(value_type = crate::http::views::Timestamp)]
    pub sent_at: DateTime<Utc>,
    #[schema(required = true)]
    pub campaign_id: Option<String>,
    #[schema(required = true)]
    pub enrollment_id: Option<String>,
    #[schema(required = true)]
    pub step_index: Option<u32>,
}

fn ser_ts<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&ts(*t))
}

/// A fault the local mailer simulates for one sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    NotVerified,
    Throttled,
    None,
}

/// What local mode's adapters offer the `/dev` routes.
#[async_trait]
pub trait DevControl: Send + Sync {
    /// Moves the manual clock to `to`, running everything due by then in due
    /// order, and returns the new time. Refused for the system clock.
    async fn advance_clock(&self, to: DateTime<Utc>) -> Result<DateTime<Utc>, Error>;
    fn now(&self) -> DateTime<Utc>;
    async fn outbox(&self) -> Result<Vec<OutboxItem>, Error>;
    async fn outbox_raw(&self, id: &str) -> Result<Option<Vec<u8>>, Error>;
    fn set_fault(&self, sender: &str, fault: Fault) -> Result<(), Error>;
    /// Signs a bearer token for `user` of `org` with the data folder's secret
    /// (the console's local sign-in; ).
    fn issue_token(&self, org: &str, user: &str) -> Result<String, Error>;
}

/// The `/dev` routes. SES events and inbound mail run the very handlers the
/// Lambda functions run (SPEC §14).
pub fn router(service: Arc<Service>, dev: Arc<dyn DevControl>) -> Router {
    let events = event_routes()
        .layer(axum::extract::DefaultBodyLimit::max(INBOUND_MAX_BYTES))
        .with_state(service);
    let (router, _) = control_routes()
        .with_state(dev)
        .merge(events)
        .split_for_parts();
    router
}

/// The routes on local mode's controls, each registered with its OpenAPI
/// operation (see [`crate::http::routes`]).
pub fn control_routes() -> OpenApiRouter<Arc<dyn DevControl>> {
    OpenApiRouter::with_openapi(base())
        .routes(routes!(dev_openapi_json))
        .routes(routes!(get_clock, post_clock))
        .routes(routes!(outbox))
        .routes(routes!(outbox_raw))
        .routes(routes!(faults))
        .routes(routes!(token))
}

/// The routes that run the Lambda functions' handlers.
pub fn event_routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new()
        .routes(routes!(ses_events))
        .routes(routes!(inbound))
}

fn base() -> OpenApi {
    openapi::skeleton(
        InfoBuilder::new()
            .title("Outreach local mode")
            .version(env!("CARGO_PKG_VERSION"))
            .description(Some(
                "The `/dev` routes of `outreach-local` (SPEC §14): a simulated clock, the \
                 outbox in place of SES, simulated SES events and inbound mail, mailer \
                 faults and sign-in tokens. Local mode only: they need no token and do \
                 not exist in AWS. The product API is described at `/v1/openapi.json`. \
                 Local mode answers only requests whose `Host` is a loopback name (else \
                 421), and a change to `/dev` needs a JSON (`message/rfc822` for \
                 `/dev/inbound`) body (else 415) and no foreign `Origin` (else 403).",
            ))
            .build(),
        &[(TAG, "Local mode's controls; absent in AWS (SPEC §14)")],
    )
}

/// The OpenAPI 3.1 document of the `/dev` routes, as served at `/dev/openapi.json`.
pub fn dev_doc() -> OpenApi {
    let mut doc = control_routes().into_openapi();
    doc.merge(event_routes().into_openapi());
    openapi::complete(doc)
}

static DEV_DOC: LazyLock<String> = LazyLock::new(|| {
    dev_doc()
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
});

/// This document.
#[utoipa::path(
    get,
    path = "/dev/openapi.json",
    tag = TAG,
    responses((status = 200, description = "The OpenAPI 3.1 document of the `/dev` routes", content_type = "application/json", body = Object)),
)]
async fn dev_openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DEV_DOC.as_str(),
    )
        .into_response()
}

/// Inbound mail with attachments is larger than API bodies (§15: S3 holds it in AWS).
const INBOUND_MAX_BYTES: usize = 40 * 1024 * 1024;

type Dev = State<Arc<dyn DevControl>>;

/// What the SES events handler made of a notification.
#[derive(Serialize, ToSchema)]
struct SesEventsView {
    /// The handler's outcome, e.g. `Applied([...])`, `RetryLater`, `Unknown`, `Ignored(...)`.
    outcome: String,
}

/// Takes an SES notification (bounce, complaint, delivery) as SNS delivers it.
///
/// Runs the SES events handler of the Lambda function;
/// `mail.messageId` is an outbox `message_id`.
#[utoipa::path(
    post,
    path = "/dev/ses-events",
    tag = TAG,
    request_body(
        description = "`{\"Type\": \"Notification\", \"Message\": \"<SES JSON>\", …}`",
        content(("application/json")),
    ),
    responses((status = 200, description = "Handled", body = SesEventsView)),
)]
async fn ses_events(
    State(service): State<Arc<Service>>,
    RawBody(body): RawBody,
) -> Result<Response, Error> {
    let outcome = service.returns().handle_ses_notification(&body).await?;
    Ok(Json(SesEventsView {
        outcome: format!("{outcome:?}"),
    })
    .into_response())
}

/// Takes a raw RFC 5322 message as if it arrived at the reply domain.
///
/// Runs the inbound handler of the Lambda function: replies,
/// auto-replies and bounces (DSNs).
#[utoipa::path(
    post,
    path = "/dev/inbound",
    tag = TAG,
    request_body(description = "The raw message", content(("message/rfc822"))),
    responses(
        (status = 200, description = "What the message was and which enrollments it concerned", body = InboundResultView),
        (status = 413, description = "The message is larger than 40 MB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a readable message", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn inbound(
    State(service): State<Arc<Service>>,
    RawBody(body): RawBody,
) -> Result<Response, Error> {
    // Local mode has no SPF/DKIM/DMARC verdicts and trusts From.
    let verdicts = crate::usecases::returns::inbound::Verdicts {
        sender_authenticated: true,
    };
    let result = service.returns().handle_inbound(&body, verdicts).await?;
    Ok(Json(views::inbound_result(&result)).into_response())
}

/// Moves the manual clock: exactly one of `advance` or `to`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ClockMove {
    /// An ISO 8601 duration of days, hours, minutes and seconds, e.g. `PT25M`, `P1DT2H`.
    #[schema(example = "PT25M")]
    advance: Option<String>,
    /// An RFC 3339 instant, not before now.
    #[schema(example = "2026-12-01T07:00:00Z")]
    to: Option<String>,
}

/// The service's time.
#[derive(Serialize, ToSchema)]
struct ClockView {
    now: crate::http::views::Timestamp,
}

/// The service's time.
#[utoipa::path(
    get,
    path = "/dev/clock",
    tag = TAG,
    responses((status = 200, description = "Now", body = ClockView)),
)]
async fn get_clock(State(dev): Dev) -> Response {
    Json(ClockView {
        now: dev.now().into(),
    })
    .into_response()
}

/// Moves the manual clock; answers once everything due by then has run.
#[utoipa::path(
    post,
    path = "/dev/clock",
    tag = TAG,
    request_body = ClockMove,
    responses(
        (status = 200, description = "The new time", body = ClockView),
        (status = 409, description = "The clock is the system clock", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn post_clock(State(dev): Dev, Body(b): Body<ClockMove>) -> Result<Response, Error> {
    let target = match (b.advance, b.to) {
        (Some(d), None) => dev.now() + parse_duration(&d)?,
        (None, Some(t)) => DateTime::parse_from_rfc3339(&t)
            .map_err(|_| Error::invalid("to", "must be an RFC 3339 instant"))?
            .with_timezone(&Utc),
        _ => {
            return Err(Error::invalid(
                "advance",
                "give exactly one of `advance` or `to`",
            ));
        }
    };
    if target < dev.now() {
        return Err(Error::invalid("to", "the clock never goes backwards"));
    }
    let now = dev.advance_clock(target).await?;
    Ok(Json(ClockView { now: now.into() }).into_response())
}

/// ISO 8601 durations of days, hours, minutes and seconds: `P1D`, `PT25M`, `P1DT2H`.
pub fn parse_duration(raw: &str) -> Result<chrono::Duration, Error> {
    let bad = || {
        Error::invalid(
            "advance",
            format!("`{raw}` is not an ISO 8601 duration such as PT25M or P1D"),
        )
    };
    let rest = raw.trim().strip_prefix('P').ok_or_else(bad)?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total = chrono::Duration::zero();
    let mut parse_part = |part: &str, units: &[(char, i64)]| -> Result<(), Error> {
        let mut num = String::new();
        for ch in part.chars() {
            if ch.is_ascii_digit() {
                num.push(ch);
                continue;
            }
            let secs = units
                .iter()
                .find(|(u, _)| *u == ch)
                .map(|(_, s)| *s)
                .ok_or_else(bad)?;
            let n: i64 = num.parse().map_err(|_| bad())?;
            total += chrono::Duration::seconds(n.checked_mul(secs).ok_or_else(bad)?);
            num.clear();
        }
        if num.is_empty() { Ok(()) } else { Err(bad()) }
    };
    parse_part(date, &[('W', 7 * 86_400), ('D', 86_400)])?;
    if let Some(t) = time {
        if t.is_empty() {
            return Err(bad());
        }
        parse_part(t, &[('H', 3600), ('M', 60), ('S', 1)])?;
    }
    if rest.is_empty() || total > chrono::Duration::days(3660) {
        return Err(bad());
    }
    Ok(total)
}

/// Every message sent, in send order.
#[derive(Serialize, ToSchema)]
struct OutboxView {
    items: Vec<OutboxItem>,
}

/// The outbox: every sent message, in send order.
#[utoipa::path(
    get,
    path = "/dev/outbox",
    tag = TAG,
    responses((status = 200, description = "The outbox", body = OutboxView)),
)]
async fn outbox(State(dev): Dev) -> Result<Response, Error> {
    Ok(Json(OutboxView {
        items: dev.outbox().await?,
    })
    .into_response())
}

/// One sent message, raw.
#[utoipa::path(
    get,
    path = "/dev/outbox/{id}",
    tag = TAG,
    params(("id" = String, Path, description = "The outbox item's `id`")),
    responses((status = 200, description = "The message as sent", body = String, content_type = "message/rfc822")),
)]
async fn outbox_raw(State(dev): Dev, Path(id): Path<String>) -> Result<Response, Error> {
    let raw = dev
        .outbox_raw(&id)
        .await?
        .ok_or(Error::NotFound("outbox message"))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "message/rfc822")],
        raw,
    )
        .into_response())
}

/// A fault for one sender; `none` clears it.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    /// The sender account's address.
    sender: String,
    error: Fault,
}

/// Makes the local mailer fail that way for that sender until cleared.
#[utoipa::path(
    post,
    path = "/dev/faults",
    tag = TAG,
    request_body = FaultBody,
    responses((status = 200, description = "The fault in force", body = FaultBody)),
)]
async fn faults(State(dev): Dev, Body(b): Body<FaultBody>) -> Result<Response, Error> {
    dev.set_fault(&b.sender, b.error)?;
    Ok(Json(b).into_response())
}

/// Who to sign in as.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    org: String,
    user: String,
}

/// A bearer token.
#[derive(Serialize, ToSchema)]
struct TokenView {
    /// A JWT signed with the data folder's secret, valid 12 hours.
    token: String,
}

/// Signs a bearer token for a user of an organization: local mode's sign-in for the console.
#[utoipa::path(
    post,
    path = "/dev/token",
    tag = TAG,
    request_body = TokenBody,
    responses((status = 200, description = "The token", body = TokenView)),
)]
async fn token(State(dev): Dev, Body(b): Body<TokenBody>) -> Result<Response, Error> {
    let (org, user) = (b.org.trim(), b.user.trim());
    // The ids the edge accepts, so that a token is never issued for
    // an identity every call would then refuse.
    if let Some(why) = crate::auth::invalid_org_id(org) {
        return Err(Error::invalid("org", why));
    }
    if let Some(why) = crate::auth::invalid_user_id(user) {
        return Err(Error::invalid("user", why));
    }
    let token = dev.issue_token(org, user)?;
    Ok(Json(TokenView { token }).into_response())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn reads_iso_durations() {
        assert_eq!(
            parse_duration("PT25M").unwrap(),
            chrono::Duration::minutes(25)
        );
        assert_eq!(
            parse_duration("P1DT2H").unwrap(),
            chrono::Duration::hours(26)
        );
        assert_eq!(parse_duration("P2W").unwrap(), chrono::Duration::days(14));
        for bad in ["", "P", "PT", "25M", "PT5X", "P1H"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
