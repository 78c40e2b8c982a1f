//! Who is calling, in AWS: API Gateway's JWT authorizer has verified
//! the token (signature, issuer, audience, expiry) before the function runs,
//! and hands its claims over in the request context
//! (`requestContext.authorizer.jwt.claims`), which `lambda_http` puts in the
//! request's extensions. A request without them never passed the authorizer
//! (a public route, or a call that did not come through API Gateway) and has
//! no identity.

use axum::http::{Extensions, HeaderMap};
use lambda_http::request::RequestContext;
use outreach_app::Error;
use outreach_app::auth::{Authenticator, Claims, Identity};

use crate::settings::ClaimNames;

pub struct AuthorizerClaims {
    names: ClaimNames,
}

impl AuthorizerClaims {
    pub fn new(names: ClaimNames) -> Self {
        AuthorizerClaims { names }
    }
}

impl Authenticator for AuthorizerClaims {
    fn authenticate(&self, _: &HeaderMap, extensions: &Extensions) -> Result<Identity, Error> {
        let jwt = match extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(context)) => {
                context.authorizer.as_ref().and_then(|a| a.jwt.as_ref())
            }
            _ => None,
        }
        .ok_or_else(|| Error::Unauthenticated("the request carries no verified token".into()))?;
        let claim = |name: &str| {
            jwt.claims
                .get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let missing =
            |name: &str| Error::Unauthenticated(format!("the token has no `{name}` claim"));
        // The authorizer checks `nbf` too; a token not valid yet is refused
        // here as well, whoever let it through.
        if let Some(nbf) = claim("nbf") {
            not_before(&nbf, unix_now())?;
        }
        // Scopes arrive as the token's space-separated claim; API Gateway also
        // lists them apart when a route requires some.
        let admin = claim(&self.names.scope)
            .iter()
            .flat_map(|s| s.split_whitespace())
            .chain(jwt.scopes.iter().flatten().map(String::as_str))
            .any(|s| s == self.names.admin_scope);
        Claims {
            sub: claim(&self.names.user).ok_or_else(|| missing(&self.names.user))?,
            org_id: claim(&self.names.org).ok_or_else(|| missing(&self.names.org))?,
            email: claim(&self.names.email),
            // The application knows one admin scope by name; the deployment's own
            // name for it was matched above.
            scope: admin.then(|| "admin".to_owned()),
            exp: 0,
        }
        .into_identity()
    }
}

/// How far a token's `nbf` may be ahead of this clock (as for local tokens).
const NBF_LEEWAY_SECS: i64 = 60;

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Refuses a token whose `nbf` (seconds since the epoch) is still ahead of `now`.
fn not_before(nbf: &str, now: i64) -> Result<(), Error> {
    let nbf: f64 = nbf.parse().map_err(|_| {
        Error::Unauthenticated("the token's `nbf` claim is not a number of seconds".into())
    })?;
    if !nbf.is_finite() || nbf > (now + NBF_LEEWAY_SECS) as f64 {
        return Err(Error::Unauthenticated(
            "the token is not valid yet (`nbf` is in the future)".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The extensions `lambda_http` gives a request made from `event`.
    fn extensions_of(event: serde_json::Value) -> Extensions {
        let request =
            lambda_http::request::from_str(&event.to_string()).expect("an HTTP API event");
        request.into_parts().0.extensions
    }

    fn event(claims: serde_json::Value, scopes: Option<Vec<&str>>) -> serde_json::Value {
        serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/v1/me",
            "rawQueryString": "",
            "headers": {"host": "api.example"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123",
                "authorizer": {"jwt": {"claims": claims, "scopes": scopes}},
                "domainName": "api.example",
                "domainPrefix": "api",
                "http": {"method": "GET", "path": "/v1/me", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "curl"},
                "requestId": "r1",
                "routeKey": "$default",
                "stage": "$default",
                "time": "01/Dec/2026:09:00:00 +0000",
                "timeEpoch": 1_796_115_600_000_i64
            },
            "isBase64Encoded": false
        })
    }

    #[test]
    fn the_authorizers_claims_name_the_user_and_organization() {
        //
        let auth = AuthorizerClaims::new(ClaimNames::default());
        let id = auth
            .authenticate(
                &HeaderMap::new(),
                &extensions_of(event(
                    serde_json::json!({"sub": "alice", "org_id": "acme", "email": "alice@acme.example", "scope": "openid profile"}),
                    None,
                )),
            )
            .expect("an identity");
        assert_eq!(id.user_id.as_str(), "alice");
        assert_eq!(id.org_id.as_str(), "acme");
        assert_eq!(
            id.email.map(|e| e.to_string()).as_deref(),
            Some("alice@acme.example")
        );
        assert!(!id.admin);
    }

    #[test]
    fn claim_names_and_the_admin_scope_are_configurable() {
        // R-1.2 (configurable names), R-3.2 (admin scope)
        let auth = AuthorizerClaims::new(ClaimNames {
            org: "custom:org".into(),
            admin_scope: "outreach/admin".into(),
            ..ClaimNames::default()
        });
        let claims = serde_json::json!({"sub": "op", "custom:org": "acme", "scope": "openid outreach/admin"});
        let id = auth
            .authenticate(&HeaderMap::new(), &extensions_of(event(claims, None)))
            .expect("an identity");
        assert_eq!(id.org_id.as_str(), "acme");
        assert!(id.admin);
        let listed = event(
            serde_json::json!({"sub": "op", "custom:org": "acme"}),
            Some(vec!["outreach/admin"]),
        );
        assert!(
            auth.authenticate(&HeaderMap::new(), &extensions_of(listed))
                .expect("an identity")
                .admin
        );
        let plain_admin = event(
            serde_json::json!({"sub": "op", "custom:org": "acme", "scope": "admin"}),
            None,
        );
        assert!(
            !auth
                .authenticate(&HeaderMap::new(), &extensions_of(plain_admin))
                .expect("an identity")
                .admin
        );
    }

    #[test]
    fn no_verified_claims_or_a_missing_one_is_401() {
        // §13: 401 without an identity
        let auth = AuthorizerClaims::new(ClaimNames::default());
        let mut public = event(serde_json::json!({}), None);
        public["requestContext"]
            .as_object_mut()
            .expect("a context")
            .remove("authorizer");
        assert!(matches!(
            auth.authenticate(&HeaderMap::new(), &extensions_of(public)),
            Err(Error::Unauthenticated(_))
        ));
        assert!(matches!(
            auth.authenticate(&HeaderMap::new(), &Extensions::new()),
            Err(Error::Unauthenticated(_))
        ));
        let no_org = event(serde_json::json!({"sub": "alice"}), None);
        match auth.authenticate(&HeaderMap::new(), &extensions_of(no_org)) {
            Err(Error::Unauthenticated(why)) => assert!(why.contains("org_id"), "{why}"),
            other => panic!("expected 401, got {other:?}"),
        }
    }

    #[test]
    fn a_token_not_valid_yet_is_401() {
        // §13 401: `nbf` in the future is refused even past the authorizer
        let auth = AuthorizerClaims::new(ClaimNames::default());
        let now = unix_now();
        let later = event(
            serde_json::json!({"sub": "alice", "org_id": "acme", "nbf": (now + 3600).to_string()}),
            None,
        );
        match auth.authenticate(&HeaderMap::new(), &extensions_of(later)) {
            Err(Error::Unauthenticated(why)) => assert!(why.contains("nbf"), "{why}"),
            other => panic!("expected 401, got {other:?}"),
        }
        let garbled = event(
            serde_json::json!({"sub": "alice", "org_id": "acme", "nbf": "soon"}),
            None,
        );
        assert!(matches!(
            auth.authenticate(&HeaderMap::new(), &extensions_of(garbled)),
            Err(Error::Unauthenticated(_))
        ));
        let started = event(
            serde_json::json!({"sub": "alice", "org_id": "acme", "nbf": (now - 10).to_string()}),
            None,
        );
        assert!(
            auth.authenticate(&HeaderMap::new(), &extensions_of(started))
                .is_ok()
        );
    }

    #[test]
    fn an_organization_id_with_a_key_separator_is_401() {
        // ids are validated at the edge (they become parts of storage keys)
        let auth = AuthorizerClaims::new(ClaimNames::default());
        for claims in [
            serde_json::json!({"sub": "alice", "org_id": "acme:other"}),
            serde_json::json!({"sub": "alice", "org_id": "acme|other"}),
            serde_json::json!({"sub": "al:ice", "org_id": "acme"}),
        ] {
            match auth.authenticate(
                &HeaderMap::new(),
                &extensions_of(event(claims.clone(), None)),
            ) {
                Err(Error::Unauthenticated(why)) => assert!(why.contains("id"), "{why}"),
                other => panic!("{claims}: expected 401, got {other:?}"),
            }
        }
    }
}
