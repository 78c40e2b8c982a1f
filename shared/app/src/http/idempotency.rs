//! `Idempotency-Key` on POSTs (SPEC §13): the first response to a key is
//! stored and returned again for a repeat of the same request; the same key with
//! a different request is refused with 422. Stored state, not a cache: a key is
//! `pending` while its first request runs, so a concurrent repeat gets 409
//! instead of running twice.
//!
//! A pending key is a lease: the running request renews it every
//! [`RENEW_EVERY`], so a key whose first request died (a crash, a timeout)
//! without an answer is free again [`LEASE`] after its last renewal (a key
//! whose request still runs in this process stays taken whatever the clock
//! says: local mode's manual clock may jump past a lease). An
//! answered key is kept [`KEPT`]; after that the key is free for a new request,
//! and its record expires in the store (DynamoDB's TTL deletes it).
//!
//! A key's record always fits a store item (400 KB): the answer is kept as it
//! is when it takes at most [`MAX_SAVED_BODY_BYTES`] as stored, else deflated
//! when that fits, else without its body (a repeat is then refused, never run
//! again). A request that ran always leaves its key answered, never pending.

use std::io::{Read, Write};
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, Utc};
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use outreach_domain::render::json_string_bytes;
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
/// The largest answer kept for repeats, measured as stored: as the JSON string
/// inside the key's record (a quote takes two bytes, a control character
/// six), or deflated and in base64. The record then stays well within a store
/// item ([`MAX_RECORD_BYTES`](crate::ports::MAX_RECORD_BYTES)) whatever the
/// answer holds.
pub const MAX_SAVED_BODY_BYTES: usize = 128 * 1024;
// With the fingerprint, status and content type, far within an item.
const _: () = assert!(2 * MAX_SAVED_BODY_BYTES < crate::ports::MAX_RECORD_BYTES);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Saved {
    fingerprint: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    content_type: Option<String>,
    /// The answer's body as it was, when it is text and fits.
    #[serde(default)]
    body: Option<String>,
    /// Else the answer's body deflated, in base64, when that fits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deflated: Option<String>,
    /// Pending: when the lease was last renewed. Answered: when the answer
    /// was saved. Absent in keys saved before leases (a pending one is free,
    /// an answered one is kept).
    #[serde(default)]
    at: Option<DateTime<Utc>>,
    /// Answered, but the answer was larger than [`MAX_SAVED_BODY_BYTES`] even
    /// deflated, or could not be stored: kept without it, so a repeat is
    /// refused rather than run again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    oversized: bool,
}

/// What a saved key means now.
enum KeyState {
    /// The first request's answer, to replay.
    Answered(u16, Option<String>, Kept),
    /// The first request is still running (its lease holds).
    InFlight,
    /// The first request was answered with this status, too large to keep.
    Oversized(u16),
    /// Free for a new first request: the answer is older than [`KEPT`], or
    /// the lease ran out.
    Free,
}

impl Saved {
    fn state(self, now: DateTime<Utc>) -> KeyState {
        let kept = match (self.body, self.deflated) {
            (Some(body), _) => Some(Kept::Plain(body)),
            (None, Some(deflated)) => Some(Kept::Deflated(deflated)),
            (None, None) if self.oversized => Some(Kept::Not),
            (None, None) => None,
        };
        match (self.status, kept) {
            (Some(_), Some(_)) if self.at.is_some_and(|at| now - at >= KEPT) => KeyState::Free,
            (Some(status), Some(Kept::Not)) => KeyState::Oversized(status),
            (Some(status), Some(kept)) => KeyState::Answered(status, self.content_type, kept),
            _ => match self.at {
                Some(at) if now - at < LEASE => KeyState::InFlight,
                _ => KeyState::Free,
            },
        }
    }

    /// When the key's record may be forgotten: [`KEPT`] after its last write.
    fn expires_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.at.unwrap_or(now) + KEPT
    }
}

/// How an answer's body is kept in its key's record.
#[derive(Debug, PartialEq)]
enum Kept {
    Plain(String),
    /// Deflated, in base64.
    Deflated(String),
    /// Too large even deflated: the status alone is kept.
    Not,
}

impl Kept {
    /// The body as it is when it is text and fits as stored, else deflated when
    /// that fits, else not at all.
    fn from_body(body: &[u8]) -> Kept {
        if let Ok(text) = std::str::from_utf8(body)
            && json_string_bytes(text) <= MAX_SAVED_BODY_BYTES
        {
            return Kept::Plain(text.to_owned());
        }
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        let deflated = encoder.write_all(body).and_then(|()| encoder.finish());
        match deflated {
            // Base64 takes four bytes for three, and never needs escaping.
            Ok(d) if d.len().div_ceil(3) * 4 <= MAX_SAVED_BODY_BYTES => {
                Kept::Deflated(BASE64.encode(d))
            }
            _ => Kept::Not,
        }
    }

    /// The body to replay (`None` for [`Kept::Not`] or a damaged record).
    fn body(self) -> Option<Vec<u8>> {
        match self {
            Kept::Plain(text) => Some(text.into_bytes()),
            Kept::Deflated(encoded) => {
                let deflated = BASE64.decode(encoded).ok()?;
                let mut body = Vec::new();
                DeflateDecoder::new(deflated.as_slice())
                    .take(MAX_REPLAYED_BYTES)
                    .read_to_end(&mut body)
                    .ok()?;
                Some(body)
            }
            Kept::Not => None,
        }
    }
}

/// The largest answer read from a handler, or inflated for a replay.
const MAX_REPLAYED_BYTES: u64 = 16 * MAX_BODY_BYTES as u64;

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
    let limit = crate::http::body_limit(parts.uri.path());
    let bytes = to_bytes(body, limit).await.map_err(|_| {
        Error::TooLarge(format!(
            "the request body is larger than {} KB",
            limit / 1024
        ))
    })?;
    let record = format!("idem:{}:{}:{key}", who.org_id, who.user_id);
    let pending = Saved {
        fingerprint: fingerprint(&parts, &bytes),
        status: None,
        content_type: None,
        body: None,
        deflated: None,
        at: Some(service.clock.now()),
        oversized: false,
    };
    let running = RunningHere::key(service, &record);
    if running.is_running() {
        return Err(Error::Conflict(
            "a request with this Idempotency-Key is still in progress".into(),
        ));
    }
    let version = match take_key(service, &record, &pending).await? {
        Taken::Replay(response) => return Ok(response),
        Taken::Ours(version) => version,
    };
    let _running = running.start();
    let first = next.run(Request::from_parts(parts, Body::from(bytes)));
    let (response, version) = renewing_lease(service, &record, &pending, version, first).await?;
    save_answer(service, &record, pending.fingerprint, version, response).await
}

/// The keys whose first request runs in this process, whatever the service's
/// clock says of their lease: local mode's manual clock may be moved past a
/// lease while the request runs (`POST /dev/clock`), which must not free the
/// key for a concurrent repeat (§13; issue 19, outside review B6). Named per
/// service instance, so that services sharing a process (tests, the fault
/// simulation) keep their own.
static RUNNING_HERE: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
    std::sync::LazyLock::new(Default::default);

/// A key of [`RUNNING_HERE`]; once started, it leaves the set when dropped.
struct RunningHere {
    key: String,
    started: bool,
}

impl RunningHere {
    fn key(service: &Service, record: &str) -> RunningHere {
        RunningHere {
            key: format!("{:p}\u{1f}{record}", service as *const Service),
            started: false,
        }
    }

    fn is_running(&self) -> bool {
        running_here().contains(&self.key)
    }

    /// Marks the key running here until the returned guard is dropped.
    fn start(mut self) -> RunningHere {
        running_here().insert(self.key.clone());
        self.started = true;
        self
    }
}

fn running_here() -> std::sync::MutexGuard<'static, std::collections::HashSet<String>> {
    RUNNING_HERE.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for RunningHere {
    fn drop(&mut self) {
        if self.started {
            running_here().remove(&self.key);
        }
    }
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
    // A form's boundary is drawn anew by each send (curl, browsers): the same
    // form sent again is the same request.
    match multipart_boundary(parts) {
        Some(boundary) => {
            for piece in split_on(body, boundary.as_bytes()) {
                hasher.update(piece);
                hasher.update([0]);
            }
        }
        None => hasher.update(body),
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The boundary of a `multipart/form-data` body.
fn multipart_boundary(parts: &axum::http::request::Parts) -> Option<String> {
    let ct = parts.headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let (kind, params) = ct.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty())
    })
}

/// `body` cut at every occurrence of `sep`.
fn split_on<'a>(body: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + sep.len() <= body.len() {
        if body[i] == sep[0] && &body[i..i + sep.len()] == sep {
            pieces.push(&body[start..i]);
            i += sep.len();
            start = i;
        } else {
            i += 1;
        }
    }
    pieces.push(&body[start..]);
    pieces
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
            KeyState::Answered(status, content_type, kept) => {
                let body = kept.body().ok_or_else(|| {
                    Error::Internal(format!("the saved answer of {record} cannot be read"))
                })?;
                return Ok(Taken::Replay(replay(status, content_type.as_deref(), body)));
            }
            KeyState::InFlight => {
                return Err(Error::Conflict(
                    "a request with this Idempotency-Key is still in progress".into(),
                ));
            }
            KeyState::Oversized(status) => {
                return Err(Error::Conflict(format!(
                    "the request with this Idempotency-Key was answered ({status}), but its answer was too large to keep; read the resource instead"
                )));
            }
        }
    }
    match put(service, record, pending, expected).await {
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
                match put(service, record, &lease, Some(version)).await {
                    Ok(v) => version = v,
                    Err(e) => tracing::warn!(error = %e, "could not renew an Idempotency-Key's lease"),
                }
            }
        }
    }
}

/// Saves the first request's answer for repeats and returns it. The request
/// has run: its caller gets its answer even when it cannot be saved, and its
/// key says it was answered (with the status alone if the answer cannot be
/// stored), so a repeat never runs it again.
async fn save_answer(
    service: &Service,
    record: &str,
    fingerprint: String,
    version: u64,
    response: Response,
) -> Result<Response, Error> {
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, MAX_REPLAYED_BYTES as usize).await;
    let status_only = Saved {
        fingerprint,
        status: Some(parts.status.as_u16()),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: None,
        deflated: None,
        at: Some(service.clock.now()),
        oversized: true,
    };
    let done = match body.as_deref().map(Kept::from_body) {
        Ok(Kept::Plain(text)) => Saved {
            body: Some(text),
            oversized: false,
            ..status_only.clone()
        },
        Ok(Kept::Deflated(encoded)) => Saved {
            deflated: Some(encoded),
            oversized: false,
            ..status_only.clone()
        },
        Ok(Kept::Not) | Err(_) => status_only.clone(),
    };
    if let Err(e) = put(service, record, &done, Some(version)).await {
        tracing::error!(error = %e, "could not save the answer of an Idempotency-Key");
        if !done.oversized
            && let Err(e) = put(service, record, &status_only, Some(version)).await
        {
            tracing::error!(error = %e, "could not mark an Idempotency-Key answered");
        }
    }
    let body = body.map_err(|e| Error::Internal(format!("the answer could not be read: {e}")))?;
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// Writes a key's record, to expire [`KEPT`] after this write.
async fn put(
    service: &Service,
    record: &str,
    saved: &Saved,
    expected: Option<u64>,
) -> Result<u64, StoreError> {
    let value = serde_json::to_value(saved).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let expires_at = saved.expires_at(service.clock.now());
    service
        .store
        .put_expiring_record(record, &value, expected, expires_at)
        .await
}

fn replay(status: u16, content_type: Option<&str>, body: Vec<u8>) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(oversized: bool, at: DateTime<Utc>) -> Saved {
        Saved {
            fingerprint: "f".into(),
            status: Some(201),
            content_type: None,
            body: (!oversized).then(|| "{}".to_owned()),
            deflated: None,
            at: Some(at),
            oversized,
        }
    }

    fn json(saved: &Saved) -> serde_json::Value {
        serde_json::to_value(saved).expect("a record")
    }

    #[test]
    fn an_answer_too_large_to_keep_is_refused_not_run_again() {
        // §13: never twice; the record fits a DynamoDB item (issue 18).
        let at = Utc::now();
        let saved: Saved = serde_json::from_value(json(&answered(true, at))).expect("round trip");
        assert!(matches!(
            saved.clone().state(at + LEASE + Duration::seconds(1)),
            KeyState::Oversized(201)
        ));
        assert!(matches!(saved.state(at + KEPT), KeyState::Free));
        // A kept answer has no flag in its record.
        let kept = json(&answered(false, at));
        assert!(kept.get("oversized").is_none(), "{kept}");
    }

    #[test]
    fn every_answer_is_kept_within_a_store_item_and_replayed_as_it_was() {
        // §13, issue 19 item 4: measured as stored, an answer of control
        // characters is six times its size; deflated, it is kept whole.
        let escaped = "\u{1}".repeat(120 * 1024).into_bytes();
        let json_answer = serde_json::to_vec(&serde_json::json!({
            "steps": vec!["<p class=\"x\">Hi</p>"; 20_000]
        }))
        .unwrap();
        let binary: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        for body in [b"{}".to_vec(), escaped, json_answer, binary] {
            let kept = Kept::from_body(&body);
            assert_ne!(kept, Kept::Not, "{} bytes", body.len());
            let record = match &kept {
                Kept::Plain(text) => Saved {
                    body: Some(text.clone()),
                    ..answered(false, Utc::now())
                },
                Kept::Deflated(d) => Saved {
                    body: None,
                    deflated: Some(d.clone()),
                    ..answered(false, Utc::now())
                },
                Kept::Not => unreachable!(),
            };
            let stored = serde_json::to_string(&record).unwrap().len();
            assert!(
                stored <= MAX_SAVED_BODY_BYTES + 512,
                "{stored} bytes stored"
            );
            assert_eq!(kept.body().as_deref(), Some(body.as_slice()));
        }
    }

    #[test]
    fn an_answer_that_does_not_deflate_into_the_cap_keeps_its_status_alone() {
        // Random bytes do not deflate: 200 KB stays over 128 KB.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..200 * 1024)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        assert_eq!(Kept::from_body(&noise), Kept::Not);
    }
}
