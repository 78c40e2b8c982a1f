//! The problem+json form of a use case's [`Error`] (SPEC §13, RFC 9457): one
//! status and one `type` slug per kind of error, `Retry-After` on 429 and 503,
//! and internal details kept in the log.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::{Error, FieldError};

/// The HTTP status of each kind of error.
pub fn status(error: &Error) -> StatusCode {
    match error {
        Error::Malformed(_) => StatusCode::BAD_REQUEST,
        Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        Error::NoCredits(_) => StatusCode::PAYMENT_REQUIRED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn slug(error: &Error) -> &'static str {
    match error {
        Error::Malformed(_) => "malformed-request",
        Error::Unauthenticated(_) => "unauthorized",
        Error::NoCredits(_) => "no-credits",
        Error::Forbidden(_) => "forbidden",
        Error::NotFound(_) => "not-found",
        Error::Conflict(_) => "state-conflict",
        Error::TooLarge(_) => "too-large",
        Error::Invalid { .. } => "invalid-values",
        Error::Internal(_) => "internal",
        Error::RateLimited { .. } => "rate-limited",
        Error::Unavailable { .. } => "unavailable",
    }
}

/// An error, as `application/problem+json` (RFC 9457, SPEC §13).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `https://outreach.dev/problems/<slug>`, one slug per kind of error.
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    pub kind: String,
    /// The HTTP status' reason phrase.
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Present for invalid values (422): each invalid field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = status(&self);
        if let Error::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let detail = match &self {
            // Internal details stay in the log.
            Error::Internal(_) => "the service failed to complete the request".to_owned(),
            other => other.to_string(),
        };
        let retry_after_s = match &self {
            Error::RateLimited { retry_after_s, .. } | Error::Unavailable { retry_after_s, .. } => {
                Some((*retry_after_s).max(1))
            }
            _ => None,
        };
        let problem = Problem {
            kind: format!("https://outreach.dev/problems/{}", slug(&self)),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: match self {
                Error::Invalid { errors, .. } => Some(errors),
                _ => None,
            },
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        if let Some(seconds) = retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

/// A 404 whose detail says more than "not found" (a reply's raw message
/// kept where the API does not read it, R-11.2).
pub fn not_found(detail: impl Into<String>) -> Response {
    let status = StatusCode::NOT_FOUND;
    let problem = Problem {
        kind: format!(
            "https://outreach.dev/problems/{}",
            slug(&Error::NotFound(""))
        ),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: detail.into(),
        errors: None,
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_vec(&problem).unwrap_or_default(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_and_an_outage_say_when_to_try_again() {
        // §13: 429 (and 503) carry `Retry-After`.
        let limited = Error::RateLimited {
            detail: "slow down".into(),
            retry_after_s: 120,
        }
        .into_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "120");
        let down = Error::Unavailable {
            detail: "DNS did not answer".into(),
            retry_after_s: 0,
        }
        .into_response();
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(down.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn no_sender_rights_is_a_403_problem() {
        // §13: 403 visible but not allowed (sender rights, R-2.4).
        let response = Error::Forbidden("not yours".into()).into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(slug(&Error::Forbidden(String::new())), "forbidden");
    }
}
