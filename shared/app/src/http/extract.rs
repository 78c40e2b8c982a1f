//! Request extractors: identity, JSON bodies and pagination, each turning bad
//! input into a problem+json answer (SPEC §13).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::auth::Identity;
use crate::error::Error;
use crate::ports::PageRequest;
use crate::service::{Service, page_limit};

impl FromRequestParts<Arc<Service>> for Identity {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        service: &Arc<Service>,
    ) -> Result<Self, Self::Rejection> {
        service.auth.authenticate(&parts.headers, &parts.extensions)
    }
}

/// A JSON body; malformed JSON is 400, well-formed but invalid values are 422
/// (a body that is not a JSON object included), too large is 413.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // The bytes are read first (within `DefaultBodyLimit`, which lives in the
        // extensions) so that the shape of the document can be checked below.
        let (parts, body) = req.into_parts();
        let mut read = Request::new(body);
        *read.extensions_mut() = parts.extensions.clone();
        let bytes = Bytes::from_request(read, state)
            .await
            .map_err(|e| body_rejection(JsonRejection::BytesRejection(e)))?;
        let is_object = bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{');
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        match axum::Json::<T>::from_request(req, state).await {
            // serde reads a struct from a JSON array too, field by field in
            // order: every body of the API is an object (SPEC §13).
            Ok(_) if !is_object => Err(Error::invalid("body", "must be a JSON object")),
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(e) => Err(body_rejection(e)),
        }
    }
}

/// A body read as it came (a form, an SNS notification, a message), within
/// the route's `DefaultBodyLimit`: too large is 413 problem+json like every
/// other answer of the API (SPEC §13), not axum's plain text.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(RawBody(bytes)),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => Err(
                Error::TooLarge("the request body is larger than this route accepts".into()),
            ),
            Err(e) => Err(Error::Malformed(e.body_text())),
        }
    }
}

/// The problem+json answer to a body that `axum::Json` refused.
fn body_rejection(rejection: JsonRejection) -> Error {
    match rejection {
        JsonRejection::JsonDataError(e) => Error::invalid("body", e.body_text()),
        JsonRejection::JsonSyntaxError(e) => Error::Malformed(e.body_text()),
        JsonRejection::MissingJsonContentType(_) => {
            Error::Malformed("the body must be JSON with Content-Type: application/json".into())
        }
        JsonRejection::BytesRejection(e) => {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::TooLarge("the request body is larger than 1 MB".into())
            } else {
                Error::Malformed(e.body_text())
            }
        }
        other => Error::Malformed(other.body_text()),
    }
}

/// The pagination parameters of every list (SPEC §13).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page (default 50); values outside 1 to 100 are clamped.
    // Any u32 is read (and clamped), larger ones answer 422: the bound is
    // written out since utoipa's `int32` format would stop at 2^31 - 1.
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    limit: Option<u32>,
    /// The `cursor` of the previous page, as given.
    cursor: Option<String>,
}

/// Path parameters. One that cannot be read (invalid UTF-8 once
/// percent-decoded) names nothing, so it answers 404 problem+json like an
/// unknown id (SPEC §13) rather than axum's plain-text 400.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => {
                Err(Error::NotFound("resource"))
            }
            Err(other) => Err(Error::Internal(other.body_text())),
        }
    }
}

/// Query parameters other than paging: unreadable or unknown ones are 422
/// problem+json (SPEC §13), as with [`Paging`], not axum's plain-text 400.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(q) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| Error::invalid("query", e.body_text()))?;
        Ok(Params(q))
    }
}

/// `?limit=&cursor=`: the cursor is opaque to clients.
pub struct Paging(pub PageRequest);

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(q) = Query::<PageQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| Error::invalid("query", e.body_text()))?;
        Ok(Paging(page_request(q.limit, q.cursor)?))
    }
}

/// The page a list's `limit` and `cursor` ask for, for a list whose query
/// has parameters of its own besides them (`GET /v1/replies`).
pub fn page_request(limit: Option<u32>, cursor: Option<String>) -> Result<PageRequest, Error> {
    let after = match cursor.filter(|c| !c.is_empty()) {
        Some(c) => Some(
            URL_SAFE_NO_PAD
                .decode(c.as_bytes())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| Error::invalid("cursor", "not a cursor this service issued"))?,
        ),
        None => None,
    };
    Ok(PageRequest {
        limit: page_limit(limit),
        after,
    })
}

/// The opaque form of a page's continuation.
pub fn cursor(next: Option<&String>) -> Option<String> {
    next.map(|n| URL_SAFE_NO_PAD.encode(n.as_bytes()))
}
