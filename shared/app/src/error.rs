//! The errors of the use cases, by what went wrong rather than by protocol.
//! `http/problem.rs` gives each its problem+json form (SPEC §13, RFC 9457) and
//! `outreach-lambda` decides retry-or-drop of an event from
//! [`Error::is_transient`].

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

/// What a use case could not do, and why.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request could not be read at all (not JSON, a bad header…).
    #[error("{0}")]
    Malformed(String),
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// The organization has no contact credits left.
    #[error("{0}")]
    NoCredits(String),
    /// The caller sees the resource but may not do this to it (sender rights, R-2.4).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The resource is not in a state that allows this, or a concurrent change won.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    /// Values that break a rule; each names its field.
    #[error("{detail}")]
    Invalid {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// A failure of the service or of something it depends on (logged, not shown).
    #[error("internal error: {0}")]
    Internal(String),
    /// Too many requests of this kind; try again after `retry_after_s`.
    #[error("{detail}")]
    RateLimited { detail: String, retry_after_s: u64 },
    /// Something the answer depends on did not answer; try again after `retry_after_s`.
    #[error("{detail}")]
    Unavailable { detail: String, retry_after_s: u64 },
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        Error::Invalid {
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
        Error::Invalid { detail, errors }
    }

    /// Whether the same work may succeed when tried again unchanged: a failure
    /// of a dependency or a lost race. An event that failed this way is retried
    /// (its source redelivers it); any other error is recorded and dropped.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Internal(_) | Error::Conflict(_) | Error::Unavailable { .. }
        )
    }
}

impl From<StoreError> for Error {
    /// A conditional write that lost a race is the caller's to retry (409), not
    /// a failure of the service (500); a record over the item limit is too
    /// large (413), and no retry makes it fit.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => Error::Conflict(format!("{e}; try again")),
            StoreError::TooLarge => Error::TooLarge(e.to_string()),
            StoreError::Unavailable(_) => Error::Internal(e.to_string()),
        }
    }
}

impl From<SchedulerError> for Error {
    fn from(e: SchedulerError) -> Self {
        Error::Internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_conditional_write_is_a_conflict_not_an_internal_error() {
        // §13: a concurrent change (e.g. two re-links at once, R-2.2) answers 409.
        assert!(matches!(
            Error::from(StoreError::Conflict),
            Error::Conflict(_)
        ));
        assert!(matches!(
            Error::from(StoreError::Unavailable("down".into())),
            Error::Internal(_)
        ));
    }

    #[test]
    fn a_record_over_the_item_limit_is_too_large_and_not_retried() {
        // §13: 413 too large; a write that cannot fit is not worth retrying.
        let e = Error::from(StoreError::TooLarge);
        assert!(matches!(e, Error::TooLarge(_)));
        assert!(!e.is_transient());
    }

    #[test]
    fn only_failures_of_a_dependency_or_a_lost_race_are_worth_retrying() {
        assert!(Error::Internal("the store failed".into()).is_transient());
        assert!(Error::Conflict("lost a race".into()).is_transient());
        assert!(!Error::invalid("body", "not JSON").is_transient());
        assert!(!Error::NotFound("enrollment").is_transient());
    }
}
