//! Who is calling: an identity from verified token claims.

use axum::http::{Extensions, HeaderMap};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use outreach_domain::EmailAddress;
use outreach_domain::ids::{OrgId, UserId};
use serde::{Deserialize, Serialize};

use crate::error::Error;

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
    fn authenticate(&self, headers: &HeaderMap, extensions: &Extensions)
    -> Result<Identity, Error>;
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

/// The longest organization or user id the service accepts.
pub const MAX_ID_CHARS: usize = 128;

/// Why `id` cannot be an organization id, if it cannot. Ids from the identity
/// provider become parts of storage keys (`delegated:{org}:{user}`,
/// `{org}|{user}`…), so they are checked where they enter: 1 to 128
/// characters of `A-Z a-z 0-9 . _ @ + -`. No separator of a key (`:`, `|`,
/// `#`, `%`, `/`) can occur in one, so no organization's keys can reach
/// into another's.
pub fn invalid_org_id(id: &str) -> Option<String> {
    invalid_id(id, "")
}

/// Why `id` cannot be a user id, if it cannot: as [`invalid_org_id`], and `|`
/// is allowed too (identity providers such as Auth0 name users
/// `provider|id`). A user id follows its organization in every key, so a `|`
/// in it cannot move the key into another organization.
pub fn invalid_user_id(id: &str) -> Option<String> {
    invalid_id(id, "|")
}

fn invalid_id(id: &str, also: &str) -> Option<String> {
    let allowed = |c: char| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '+' | '-') || also.contains(c)
    };
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS {
        Some(format!("must be 1 to {MAX_ID_CHARS} characters"))
    } else if !id.chars().all(allowed) {
        Some(format!("may hold only letters, digits and `._@+-{also}`"))
    } else {
        None
    }
}

impl Claims {
    pub fn into_identity(self) -> Result<Identity, Error> {
        if self.sub.trim().is_empty() || self.org_id.trim().is_empty() {
            return Err(Error::Unauthenticated(
                "the token names no user or organization".into(),
            ));
        }
        if let Some(why) = invalid_org_id(&self.org_id) {
            return Err(Error::Unauthenticated(format!(
                "the token's organization id {why}"
            )));
        }
        if let Some(why) = invalid_user_id(&self.sub) {
            return Err(Error::Unauthenticated(format!("the token's user id {why}")));
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
        // A token not valid yet (`nbf` in the future, beyond the 60-second
        // leeway) is refused like an expired one.
        validation.validate_nbf = true;
        Hs256Authenticator {
            key: DecodingKey::from_secret(secret),
            validation,
        }
    }
}

impl Authenticator for Hs256Authenticator {
    fn authenticate(&self, headers: &HeaderMap, _: &Extensions) -> Result<Identity, Error> {
        let value = headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                Error::Unauthenticated("an Authorization: Bearer token is required".into())
            })?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                Error::Unauthenticated("the Authorization header must be `Bearer <token>`".into())
            })?;
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| Error::Unauthenticated(format!("the token is not valid: {e}")))?;
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
    if let Some(why) = invalid_org_id(org) {
        return Err(format!("the organization id {why}"));
    }
    if let Some(why) = invalid_user_id(user) {
        return Err(format!("the user id {why}"));
    }
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
            Err(Error::Unauthenticated(_))
        ));
        let expired =
            issue_hs256(b"secret", "acme", "alice", None, false, now() - 7200, 60).unwrap();
        assert!(matches!(
            auth.authenticate(&headers(&expired), &Extensions::new()),
            Err(Error::Unauthenticated(_))
        ));
        assert!(matches!(
            auth.authenticate(&HeaderMap::new(), &Extensions::new()),
            Err(Error::Unauthenticated(_))
        ));
    }

    fn signed(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap()
    }

    #[test]
    fn a_token_not_valid_yet_is_refused() {
        // §13 401: `nbf` in the future (beyond the 60-second leeway)
        let auth = Hs256Authenticator::new(b"secret");
        let later = signed(serde_json::json!({
            "sub": "alice", "org_id": "acme", "exp": now() + 7200, "nbf": now() + 3600
        }));
        match auth.authenticate(&headers(&later), &Extensions::new()) {
            Err(Error::Unauthenticated(why)) => assert!(why.contains("Immature"), "{why}"),
            other => panic!("expected 401, got {other:?}"),
        }
        let started = signed(serde_json::json!({
            "sub": "alice", "org_id": "acme", "exp": now() + 7200, "nbf": now() - 10
        }));
        assert!(
            auth.authenticate(&headers(&started), &Extensions::new())
                .is_ok()
        );
    }

    #[test]
    fn ids_outside_the_safe_set_are_refused_at_the_edge() {
        // ids become parts of storage keys; a separator in one is a 401
        let auth = Hs256Authenticator::new(b"secret");
        let token = |org: &str, user: &str| {
            signed(serde_json::json!({"sub": user, "org_id": org, "exp": now() + 3600}))
        };
        for (org, user) in [
            ("acme:evil", "alice"),
            ("acme|x", "alice"),
            ("acme", "alice:x"),
            ("ac me", "alice"),
            ("acme#1", "alice"),
            ("acme", "al/ice"),
            ("acme", "al%3Aice"),
            ("acme\u{e9}", "alice"),
            (&"o".repeat(MAX_ID_CHARS + 1), "alice"),
            ("acme", &"u".repeat(MAX_ID_CHARS + 1)),
        ] {
            match auth.authenticate(&headers(&token(org, user)), &Extensions::new()) {
                Err(Error::Unauthenticated(why)) => {
                    assert!(why.contains("id"), "{org} / {user}: {why}")
                }
                other => panic!("{org} / {user}: expected 401, got {other:?}"),
            }
        }
        for (org, user) in [
            ("acme", "alice"),
            ("Acme-Corp_2.eu", "alice+ops@acme.example"),
            ("acme", "auth0|5f7c8ec7c33c6c004bbafe82"),
            ("acme", "3f1c2a7e-4b1d-4c8e-9a55-0d2f5c1e7b10"),
            (&"o".repeat(MAX_ID_CHARS), &"u".repeat(MAX_ID_CHARS)),
        ] {
            let id = auth
                .authenticate(&headers(&token(org, user)), &Extensions::new())
                .unwrap_or_else(|e| panic!("{org} / {user}: {e}"));
            assert_eq!((id.org_id.as_str(), id.user_id.as_str()), (org, user));
        }
        assert!(issue_hs256(b"secret", "a:b", "alice", None, false, now(), 60).is_err());
        assert!(issue_hs256(b"secret", "acme", "a b", None, false, now(), 60).is_err());
    }
}
