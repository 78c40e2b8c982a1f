//! `/dev/*` routes of local mode (SPEC §14): clock, outbox, faults, token. They exist
//! only when local mode mounts them, and need no token.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::ApiError;
use crate::http::extract::Body;
use crate::http::views::ts;
use crate::service::Service;

/// One message of the local outbox.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: String,
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    #[serde(serialize_with = "ser_ts")]
    pub sent_at: DateTime<Utc>,
    pub campaign_id: Option<String>,
    pub enrollment_id: Option<String>,
    pub step_index: Option<u32>,
}

fn ser_ts<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&ts(*t))
}

/// A fault the local mailer simulates for one sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    async fn advance_clock(&self, to: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError>;
    fn now(&self) -> DateTime<Utc>;
    async fn outbox(&self) -> Result<Vec<OutboxItem>, ApiError>;
    async fn outbox_raw(&self, id: &str) -> Result<Option<Vec<u8>>, ApiError>;
    fn set_fault(&self, sender: &str, fault: Fault) -> Result<(), ApiError>;
    /// Signs a bearer token for `user` of `org` with the data folder's secret
    /// (the console's local sign-in; ).
    fn issue_token(&self, org: &str, user: &str) -> Result<String, ApiError>;
}

/// The `/dev` routes. SES events and inbound mail run the very handlers the
/// Lambda functions run (SPEC §14).
pub fn router(service: Arc<Service>, dev: Arc<dyn DevControl>) -> Router {
    let events = Router::new()
        .route("/dev/ses-events", post(ses_events))
        .route("/dev/inbound", post(inbound))
        .layer(axum::extract::DefaultBodyLimit::max(INBOUND_MAX_BYTES))
        .with_state(service);
    Router::new()
        .route("/dev/clock", get(get_clock).post(post_clock))
        .route("/dev/outbox", get(outbox))
        .route("/dev/outbox/{id}", get(outbox_raw))
        .route("/dev/faults", post(faults))
        .route("/dev/token", post(token))
        .with_state(dev)
        .merge(events)
}

/// Inbound mail with attachments is larger than API bodies (§15: S3 holds it in AWS).
const INBOUND_MAX_BYTES: usize = 40 * 1024 * 1024;

type Dev = State<Arc<dyn DevControl>>;

async fn ses_events(
    State(service): State<Arc<Service>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let outcome = service.handle_ses_notification(&body).await?;
    Ok(Json(json!({"outcome": format!("{outcome:?}")})).into_response())
}

async fn inbound(
    State(service): State<Arc<Service>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    // Local mode has no SPF/DKIM/DMARC verdicts and trusts From.
    let verdicts = crate::usecases::inbound::Verdicts {
        sender_authenticated: true,
    };
    let result = service.handle_inbound(&body, verdicts).await?;
    Ok(Json(result).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockMove {
    advance: Option<String>,
    to: Option<String>,
}

async fn get_clock(State(dev): Dev) -> Response {
    Json(json!({"now": ts(dev.now())})).into_response()
}

async fn post_clock(State(dev): Dev, Body(b): Body<ClockMove>) -> Result<Response, ApiError> {
    let target = match (b.advance, b.to) {
        (Some(d), None) => dev.now() + parse_duration(&d)?,
        (None, Some(t)) => DateTime::parse_from_rfc3339(&t)
            .map_err(|_| ApiError::invalid("to", "must be an RFC 3339 instant"))?
            .with_timezone(&Utc),
        _ => {
            return Err(ApiError::invalid(
                "advance",
                "give exactly one of `advance` or `to`",
            ));
        }
    };
    if target < dev.now() {
        return Err(ApiError::invalid("to", "the clock never goes backwards"));
    }
    let now = dev.advance_clock(target).await?;
    Ok(Json(json!({"now": ts(now)})).into_response())
}

/// ISO 8601 durations of days, hours, minutes and seconds: `P1D`, `PT25M`, `P1DT2H`.
pub fn parse_duration(raw: &str) -> Result<chrono::Duration, ApiError> {
    let bad = || {
        ApiError::invalid(
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
    let mut parse_part = |part: &str, units: &[(char, i64)]| -> Result<(), ApiError> {
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

async fn outbox(State(dev): Dev) -> Result<Response, ApiError> {
    Ok(Json(json!({"items": dev.outbox().await?})).into_response())
}

async fn outbox_raw(State(dev): Dev, Path(id): Path<String>) -> Result<Response, ApiError> {
    let raw = dev
        .outbox_raw(&id)
        .await?
        .ok_or(ApiError::NotFound("outbox message"))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "message/rfc822")],
        raw,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    sender: String,
    error: Fault,
}

async fn faults(State(dev): Dev, Body(b): Body<FaultBody>) -> Result<Response, ApiError> {
    dev.set_fault(&b.sender, b.error)?;
    Ok(Json(json!({"sender": b.sender, "error": b.error})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    org: String,
    user: String,
}

/// `POST /dev/token {org, user}` → `{token}`: local mode's sign-in for the console.
async fn token(State(dev): Dev, Body(b): Body<TokenBody>) -> Result<Response, ApiError> {
    let (org, user) = (b.org.trim(), b.user.trim());
    for (field, value) in [("org", org), ("user", user)] {
        if value.is_empty() || value.len() > 128 || value.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                field,
                "must be 1 to 128 characters without control characters",
            ));
        }
    }
    let token = dev.issue_token(org, user)?;
    Ok(Json(json!({"token": token})).into_response())
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
