//! Who is calling: an identity from verified token claims.

use axum::http::{Extensions, HeaderMap};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use outreach_domain::EmailAddress;
use outreach_domain::ids::{OrgId, UserId};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The caller of a request: one user of one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub email: Option<EmailAddress>,
    /// Holds the admin scope (credit grants, R-3.2).
    pub admin: bool,
}

/// Turns a request's credentials into an identity. Local mode verifies an HS256
/// token from the headers; in AWS the API Gateway JWT authorizer has verified it
/// already and its claims arrive in the request's extensions (the Lambda
/// request context).
pub trait Authenticator: Send + Sync {
    fn authenticate(
        &self,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Result<Identity, ApiError>;
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub org_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub exp: u64,
}

impl Claims {
    pub fn into_identity(self) -> Result<Identity, ApiError> {
        if self.sub.trim().is_empty() || self.org_id.trim().is_empty() {
            return Err(ApiError::Unauthorized(
                "the token names no user or organization".into(),
            ));
        }
        Ok(Identity {
            org_id: OrgId::new(self.org_id),
            user_id: UserId::new(self.sub),
            email: self
                .email
                .as_deref()
                .and_then(|e| EmailAddress::parse(e).ok()),
            admin: self
                .scope
                .as_deref()
                .is_some_and(|s| s.split_whitespace().any(|s| s == "admin")),
        })
    }
}

/// HS256 tokens signed with local mode's secret.
pub struct Hs256Authenticator {
    key: DecodingKey,
    validation: Validation,
}

impl Hs256Authenticator {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims = ["exp", "sub"].iter().map(|s| s.to_string()).collect();
        Hs256Authenticator {
            key: DecodingKey::from_secret(secret),
            validation,
        }
    }
}

impl Authenticator for Hs256Authenticator {
    fn authenticate(&self, headers: &HeaderMap, _: &Extensions) -> Result<Identity, ApiError> {
        let value = headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthorized("an Authorization: Bearer token is required".into())
            })?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| ApiError::Unauthorized(format!("the token is not valid: {e}")))?;
        data.claims.into_identity()
    }
}

/// Signs a local-mode token (`outreach-local token`), valid for `valid_secs` of wall time.
pub fn issue_hs256(
    secret: &[u8],
    org: &str,
    user: &str,
    email: Option<&str>,
    admin: bool,
    now_unix: u64,
    valid_secs: u64,
) -> Result<String, String> {
    let claims = Claims {
        sub: user.to_owned(),
        org_id: org.to_owned(),
        email: email.map(str::to_owned),
        scope: admin.then(|| "admin".to_owned()),
        exp: now_unix + valid_secs,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        h
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn a_signed_token_names_its_user_and_organization() {
        //
        let token = issue_hs256(
            b"secret",
            "acme",
            "alice",
            Some("alice@acme.com"),
            false,
            now(),
            3600,
        )
        .unwrap();
        let id = Hs256Authenticator::new(b"secret")
            .authenticate(&headers(&token), &Extensions::new())
            .unwrap();
        assert_eq!(id.org_id.as_str(), "acme");
        assert_eq!(id.user_id.as_str(), "alice");
        assert_eq!(id.email.unwrap().as_str(), "alice@acme.com");
        assert!(!id.admin);
    }

    #[test]
    fn forged_expired_or_missing_tokens_are_refused() {
        // §13 401
        let auth = Hs256Authenticator::new(b"secret");
        let forged = issue_hs256(b"other", "acme", "alice", None, false, now(), 3600).unwrap();
        assert!(matches!(
            auth.authenticate(&headers(&forged), &Extensions::new()),
            Err(ApiError::Unauthorized(_))
        ));
        let expired =
            issue_hs256(b"secret", "acme", "alice", None, false, now() - 7200, 60).unwrap();
        assert!(matches!(
            auth.authenticate(&headers(&expired), &Extensions::new()),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(
            auth.authenticate(&HeaderMap::new(), &Extensions::new()),
            Err(ApiError::Unauthorized(_))
        ));
    }
}
