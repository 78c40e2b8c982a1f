//! `Idempotency-Key` on POSTs (SPEC §13): the first response to a key is
//! stored and returned again for a repeat of the same request; the same key with
//! a different request is refused with 422. Stored state, not a cache: a key is
//! `pending` while its first request runs, so a concurrent repeat gets 409
//! instead of running twice.
//!
//! A pending key is a lease: the running request renews it every
//! [`RENEW_EVERY`], so a key whose first request died (a crash, a timeout)
//! without an answer is free again [`LEASE`] after its last renewal. An
//! answered key is kept [`KEPT`]; after that the key is free for a new request.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::http::MAX_BODY_BYTES;
use crate::ports::StoreError;
use crate::service::Service;

pub const HEADER: &str = "idempotency-key";

/// How long an answered key is kept (SPEC §13).
pub const KEPT: Duration = Duration::hours(24);
/// How long after its last renewal a pending key is free again (SPEC §13).
pub const LEASE: Duration = Duration::seconds(60);
/// How often a running first request renews its lease (wall time), well
/// within [`LEASE`].
pub const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(20);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Saved {
    fingerprint: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    body: Option<String>,
    /// Pending: when the lease was last renewed. Answered: when the answer
    /// was saved. Absent in keys saved before leases (a pending one is free,
    /// an answered one is kept).
    #[serde(default)]
    at: Option<DateTime<Utc>>,
}

/// What a saved key means now.
enum KeyState {
    /// The first request's answer, to replay.
    Answered(u16, Option<String>, String),
    /// The first request is still running (its lease holds).
    InFlight,
    /// Free for a new first request: the answer is older than [`KEPT`], or
    /// the lease ran out.
    Free,
}

impl Saved {
    fn state(self, now: DateTime<Utc>) -> KeyState {
        match (self.status, self.body) {
            (Some(status), Some(body)) => match self.at {
                Some(at) if now - at >= KEPT => KeyState::Free,
                _ => KeyState::Answered(status, self.content_type, body),
            },
            _ => match self.at {
                Some(at) if now - at < LEASE => KeyState::InFlight,
                _ => KeyState::Free,
            },
        }
    }
}

pub async fn idempotency(
    State(service): State<Arc<Service>>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER).cloned() else {
        return next.run(req).await;
    };
    match run(&service, key, req, next).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn run(
    service: &Service,
    key: HeaderValue,
    req: Request,
    next: Next,
) -> Result<Response, Error> {
    let key = key_text(&key)?;
    // Keys belong to the caller; without an identity (public routes, or a 401 to
    // come) the handler answers for itself.
    let Ok(who) = service.auth.authenticate(req.headers(), req.extensions()) else {
        return Ok(next.run(req).await);
    };
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| Error::TooLarge("the request body is larger than 1 MB".into()))?;
    let record = format!("idem:{}:{}:{key}", who.org_id, who.user_id);
    let pending = Saved {
        fingerprint: fingerprint(&parts, &bytes),
        status: None,
        content_type: None,
        body: None,
        at: Some(service.clock.now()),
    };
    let version = match take_key(service, &record, &pending).await? {
        Taken::Replay(response) => return Ok(response),
        Taken::Ours(version) => version,
    };
    let first = next.run(Request::from_parts(parts, Body::from(bytes)));
    let (response, version) = renewing_lease(service, &record, &pending, version, first).await?;
    save_answer(service, &record, pending.fingerprint, version, response).await
}

/// The key as sent: 1 to 255 visible characters.
fn key_text(key: &HeaderValue) -> Result<String, Error> {
    key.to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::Malformed(
                "the Idempotency-Key header must be 1 to 255 visible characters".into(),
            )
        })
}

/// What makes two requests "the same request": method, path and body.
fn fingerprint(parts: &axum::http::request::Parts, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(parts.uri.path().as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether this request runs (the key is now pending at `version`) or the
/// first request's answer is replayed.
enum Taken {
    Ours(u64),
    Replay(Response),
}

/// Takes the key for this request: a free key becomes pending (a conditional
/// write, so two first requests cannot both run); an answered one is replayed
/// for the same request and refused (422) for another; a pending one is 409.
async fn take_key(service: &Service, record: &str, pending: &Saved) -> Result<Taken, Error> {
    let mut expected = None;
    if let Some(saved) = service.store.get_record(record).await? {
        let version = saved.version;
        let saved: Saved =
            serde_json::from_value(saved.value).map_err(|e| Error::Internal(e.to_string()))?;
        let same_request = saved.fingerprint == pending.fingerprint;
        match saved.state(service.clock.now()) {
            KeyState::Free => expected = Some(version),
            _ if !same_request => {
                return Err(Error::invalid(
                    "Idempotency-Key",
                    "this key was already used with a different request",
                ));
            }
            KeyState::Answered(status, content_type, body) => {
                return Ok(Taken::Replay(replay(status, content_type.as_deref(), body)));
            }
            KeyState::InFlight => {
                return Err(Error::Conflict(
                    "a request with this Idempotency-Key is still in progress".into(),
                ));
            }
        }
    }
    match service
        .store
        .put_record(record, &json(pending)?, expected)
        .await
    {
        Ok(version) => Ok(Taken::Ours(version)),
        Err(StoreError::Conflict) => Err(Error::Conflict(
            "a request with this Idempotency-Key is in progress".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Runs the first request while renewing its lease every [`RENEW_EVERY`]; if
/// this process dies, the renewals stop and the key is free once the lease
/// runs out.
async fn renewing_lease(
    service: &Service,
    record: &str,
    pending: &Saved,
    mut version: u64,
    first: impl std::future::Future<Output = Response>,
) -> Result<(Response, u64), Error> {
    tokio::pin!(first);
    let mut renewals =
        tokio::time::interval_at(tokio::time::Instant::now() + RENEW_EVERY, RENEW_EVERY);
    loop {
        tokio::select! {
            response = &mut first => return Ok((response, version)),
            _ = renewals.tick() => {
                let lease = Saved { at: Some(service.clock.now()), ..pending.clone() };
                match service.store.put_record(record, &json(&lease)?, Some(version)).await {
                    Ok(v) => version = v,
                    Err(e) => tracing::warn!(error = %e, "could not renew an Idempotency-Key's lease"),
                }
            }
        }
    }
}

/// Saves the first request's answer for repeats and returns it. The request
/// has run: its caller gets its answer even when it cannot be saved.
async fn save_answer(
    service: &Service,
    record: &str,
    fingerprint: String,
    version: u64,
    response: Response,
) -> Result<Response, Error> {
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, 16 * MAX_BODY_BYTES)
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let done = Saved {
        fingerprint,
        status: Some(parts.status.as_u16()),
        content_type,
        body: Some(String::from_utf8_lossy(&body).into_owned()),
        at: Some(service.clock.now()),
    };
    if let Err(e) = service
        .store
        .put_record(record, &json(&done)?, Some(version))
        .await
    {
        tracing::error!(error = %e, "could not save the answer of an Idempotency-Key");
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

fn json(s: &Saved) -> Result<serde_json::Value, Error> {
    serde_json::to_value(s).map_err(|e| Error::Internal(e.to_string()))
}

fn replay(status: u16, content_type: Option<&str>, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(c).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
