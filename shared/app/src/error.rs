//! Errors of the use cases and their problem+json form (SPEC §13, RFC 9457).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::ports::{SchedulerError, StoreError};

/// One invalid value: `field` names it (`steps[0].subject`, `body`, `cursor`…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    PaymentRequired(String),
    /// The caller sees the resource but may not do this to it (sender rights, R-2.4).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{detail}")]
    Invalid {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("internal error: {0}")]
    Internal(String),
    /// 429 with `Retry-After` (§13).
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after_s: u64 },
    /// 503 with `Retry-After`: something the answer depends on did not answer.
    #[error("{detail}")]
    Unavailable { detail: String, retry_after_s: u64 },
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::Invalid {
            detail: message.clone(),
            errors: vec![FieldError::new(field, message)],
        }
    }

    pub fn invalid_many(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        ApiError::Invalid { detail, errors }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "malformed-request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::PaymentRequired(_) => "no-credits",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(_) => "state-conflict",
            ApiError::TooLarge(_) => "too-large",
            ApiError::Invalid { .. } => "invalid-values",
            ApiError::Internal(_) => "internal",
            ApiError::TooManyRequests { .. } => "rate-limited",
            ApiError::Unavailable { .. } => "unavailable",
        }
    }
}

impl From<StoreError> for ApiError {
    /// A conditional write that lost a race is the caller's to retry (409), not
    /// a failure of the service (500).
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => ApiError::Conflict(format!("{e}; try again")),
            StoreError::Unavailable(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<SchedulerError> for ApiError {
    fn from(e: SchedulerError) -> Self {
        ApiError::Internal(e.to_string())
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let detail = match &self {
            // Internal details stay in the log.
            ApiError::Internal(_) => "the service failed to complete the request".to_owned(),
            other => other.to_string(),
        };
        let retry_after_s = match &self {
            ApiError::TooManyRequests { retry_after_s, .. }
            | ApiError::Unavailable { retry_after_s, .. } => Some((*retry_after_s).max(1)),
            _ => None,
        };
        let problem = Problem {
            kind: format!("https://outreach.dev/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: match self {
                ApiError::Invalid { errors, .. } => Some(errors),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_and_an_outage_say_when_to_try_again() {
        // §13: 429 (and 503) carry `Retry-After`.
        let limited = ApiError::TooManyRequests {
            detail: "slow down".into(),
            retry_after_s: 120,
        }
        .into_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "120");
        let down = ApiError::Unavailable {
            detail: "DNS did not answer".into(),
            retry_after_s: 0,
        }
        .into_response();
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(down.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn a_lost_conditional_write_is_a_conflict_not_an_internal_error() {
        // §13: a concurrent change (e.g. two re-links at once, R-2.2) answers 409.
        assert!(matches!(
            ApiError::from(StoreError::Conflict),
            ApiError::Conflict(_)
        ));
        assert!(matches!(
            ApiError::from(StoreError::Unavailable("down".into())),
            ApiError::Internal(_)
        ));
    }

    #[test]
    fn no_sender_rights_is_a_403_problem() {
        // §13: 403 visible but not allowed (sender rights, R-2.4).
        let response = ApiError::Forbidden("not yours".into()).into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(ApiError::Forbidden(String::new()).slug(), "forbidden");
    }
}
