//! `Idempotency-Key` on POSTs (SPEC §13): the first response to a key is
//! stored and returned again for a repeat of the same request; the same key with
//! a different request is refused with 422. Stored state, not a cache: a key is
//! `pending` while its first request runs, so a concurrent repeat gets 409
//! instead of running twice.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::http::MAX_BODY_BYTES;
use crate::ports::StoreError;
use crate::service::Service;

pub const HEADER: &str = "idempotency-key";

#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    fingerprint: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    body: Option<String>,
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
) -> Result<Response, ApiError> {
    let key = key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::BadRequest(
                "the Idempotency-Key header must be 1 to 255 visible characters".into(),
            )
        })?
        .to_owned();
    // Keys belong to the caller; without an identity (public routes, or a 401 to
    // come) the handler answers for itself.
    let Ok(who) = service.auth.authenticate(req.headers(), req.extensions()) else {
        return Ok(next.run(req).await);
    };
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge("the request body is larger than 1 MB".into()))?;
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(parts.uri.path().as_bytes());
    hasher.update([0]);
    hasher.update(&bytes);
    let fingerprint: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let record = format!("idem:{}:{}:{key}", who.org_id, who.user_id);

    if let Some(saved) = service.store.get_record(&record).await? {
        let saved: Saved =
            serde_json::from_value(saved.value).map_err(|e| ApiError::Internal(e.to_string()))?;
        if saved.fingerprint != fingerprint {
            return Err(ApiError::invalid(
                "Idempotency-Key",
                "this key was already used with a different request",
            ));
        }
        return match (saved.status, saved.body) {
            (Some(status), Some(body)) => Ok(replay(status, saved.content_type.as_deref(), body)),
            _ => Err(ApiError::Conflict(
                "a request with this Idempotency-Key is still in progress".into(),
            )),
        };
    }
    let pending = Saved {
        fingerprint: fingerprint.clone(),
        status: None,
        content_type: None,
        body: None,
    };
    let version = match service
        .store
        .put_record(&record, &json(&pending)?, None)
        .await
    {
        Ok(v) => v,
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict(
                "a request with this Idempotency-Key is in progress".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, 16 * MAX_BODY_BYTES)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
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
    };
    service
        .store
        .put_record(&record, &json(&done)?, Some(version))
        .await?;
    Ok(Response::from_parts(parts, Body::from(body)))
}

fn json(s: &Saved) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(s).map_err(|e| ApiError::Internal(e.to_string()))
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
