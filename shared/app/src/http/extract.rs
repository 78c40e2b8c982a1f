//! Request extractors: identity, JSON bodies and pagination, each turning bad
//! input into a problem+json answer (SPEC §13).

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::auth::Identity;
use crate::error::ApiError;
use crate::ports::PageRequest;
use crate::service::{Service, page_limit};

impl FromRequestParts<Arc<Service>> for Identity {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        service: &Arc<Service>,
    ) -> Result<Self, Self::Rejection> {
        service.auth.authenticate(&parts.headers, &parts.extensions)
    }
}

/// A JSON body; malformed JSON is 400, well-formed but invalid values are 422,
/// too large is 413.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::invalid("body", e.body_text())),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::BadRequest(e.body_text())),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::BadRequest(
                "the body must be JSON with Content-Type: application/json".into(),
            )),
            Err(JsonRejection::BytesRejection(e)) => {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    Err(ApiError::TooLarge(
                        "the request body is larger than 1 MB".into(),
                    ))
                } else {
                    Err(ApiError::BadRequest(e.body_text()))
                }
            }
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// The pagination parameters of every list (SPEC §13).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page (default 50); values outside 1 to 100 are clamped.
    limit: Option<u32>,
    /// The `cursor` of the previous page, as given.
    cursor: Option<String>,
}

/// `?limit=&cursor=`: the cursor is opaque to clients.
pub struct Paging(pub PageRequest);

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(q) = Query::<PageQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::invalid("query", e.body_text()))?;
        let after = match q.cursor.filter(|c| !c.is_empty()) {
            Some(c) => Some(
                URL_SAFE_NO_PAD
                    .decode(c.as_bytes())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        ApiError::invalid("cursor", "not a cursor this service issued")
                    })?,
            ),
            None => None,
        };
        Ok(Paging(PageRequest {
            limit: page_limit(q.limit),
            after,
        }))
    }
}

/// The opaque form of a page's continuation.
pub fn cursor(next: Option<&String>) -> Option<String> {
    next.map(|n| URL_SAFE_NO_PAD.encode(n.as_bytes()))
}
