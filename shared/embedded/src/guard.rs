//! Local mode is a server on someone's laptop, so it protects itself (SPEC §14):
//! it answers only requests addressed to a loopback name, which stops DNS
//! rebinding (a page whose name is made to point at 127.0.0.1 still sends its
//! own name as `Host`), and the `/dev` routes that change state refuse
//! cross-site simple requests: they need a JSON (or `message/rfc822`) body,
//! which a page can only send to another origin after a preflight that local
//! mode never grants, and a foreign `Origin`.
//!
//! In AWS, API Gateway stands in front of the API and there is no `/dev`;
//! this guard is local mode's alone.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use outreach_app::http::problem::Problem;

/// The names local mode answers to (with any port).
const LOOPBACK_NAMES: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

/// `router`, answering only loopback `Host`s and refusing cross-site changes
/// to `/dev`.
pub fn protect(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(guard))
}

async fn guard(req: Request, next: Next) -> Response {
    match check(&req) {
        Ok(()) => next.run(req).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// Why a request is refused.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// 421: not addressed to a loopback name.
    ForeignHost(String),
    /// 403: a change to `/dev` from another origin.
    ForeignOrigin(String),
    /// 415: a change to `/dev` whose body a cross-site form could have sent.
    SimpleBody(&'static str),
}

fn check(req: &Request) -> Result<(), Refusal> {
    let host = request_host(req).ok_or_else(|| Refusal::ForeignHost(String::new()))?;
    if !is_loopback_authority(host) {
        return Err(Refusal::ForeignHost(host.to_owned()));
    }
    let changes = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if changes && req.uri().path().starts_with("/dev/") {
        check_origin(req.headers(), host)?;
        check_body_type(req.headers(), req.uri().path())?;
    }
    Ok(())
}

/// The `Host` header, or the authority of an absolute-form request target.
fn request_host(req: &Request) -> Option<&str> {
    match req.headers().get(header::HOST) {
        Some(value) => value.to_str().ok(),
        None => req.uri().authority().map(|a| a.as_str()),
    }
}

/// `127.0.0.1`, `localhost` or `[::1]` (any case), with an optional port.
fn is_loopback_authority(authority: &str) -> bool {
    let (name, port) = match authority.rfind(':') {
        // `[::1]` alone has colons inside its brackets, none after them.
        Some(at) if !authority[at..].contains(']') => {
            (&authority[..at], Some(&authority[at + 1..]))
        }
        _ => (authority, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok && LOOPBACK_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// A browser names the page's origin on every cross-origin request (and on
/// same-origin POSTs); a change to `/dev` is taken only from local mode's own
/// origin, or from a client that names none (curl, the tests).
fn check_origin(headers: &HeaderMap, host: &str) -> Result<(), Refusal> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    match authority {
        Some(a) if a.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(Refusal::ForeignOrigin(origin.to_owned())),
    }
}

/// The body types a cross-site page cannot send without a preflight.
fn check_body_type(headers: &HeaderMap, path: &str) -> Result<(), Refusal> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if path == "/dev/inbound" {
        return if essence == "message/rfc822" {
            Ok(())
        } else {
            Err(Refusal::SimpleBody("Content-Type: message/rfc822"))
        };
    }
    let json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"));
    if json {
        Ok(())
    } else {
        Err(Refusal::SimpleBody("Content-Type: application/json"))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, slug, detail) = match self {
            Refusal::ForeignHost(host) => (
                StatusCode::MISDIRECTED_REQUEST,
                "foreign-host",
                format!(
                    "local mode answers only requests addressed to 127.0.0.1, localhost or [::1]; \
                     this one was addressed to `{host}`"
                ),
            ),
            Refusal::ForeignOrigin(origin) => (
                StatusCode::FORBIDDEN,
                "cross-site-request",
                format!("the /dev routes take no changes from another origin (`{origin}`)"),
            ),
            Refusal::SimpleBody(needed) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                format!("this /dev route needs {needed}"),
            ),
        };
        let problem = Problem {
            kind: format!("https://outreach.dev/problems/{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: None,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn only_loopback_names_are_answered() {
        // SPEC §14: DNS rebinding
        for host in [
            "127.0.0.1",
            "127.0.0.1:3000",
            "localhost:3000",
            "LOCALHOST",
            "[::1]",
            "[::1]:8080",
        ] {
            assert_eq!(
                check(&request("GET", "/v1/me", &[("host", host)])),
                Ok(()),
                "{host}"
            );
        }
        for host in [
            "attacker.example",
            "attacker.example:3000",
            "127.0.0.1.attacker.example",
            "localhost.",
            "localhost:",
            "localhost:3000:1",
            "127.0.0.2:3000",
            "[::1]x",
            "0.0.0.0:3000",
            "",
        ] {
            assert!(
                matches!(
                    check(&request("GET", "/v1/me", &[("host", host)])),
                    Err(Refusal::ForeignHost(_))
                ),
                "{host}"
            );
        }
        assert!(matches!(
            check(&request("GET", "/v1/me", &[])),
            Err(Refusal::ForeignHost(_))
        ));
    }

    #[test]
    fn changes_to_dev_need_a_preflighted_body_and_no_foreign_origin() {
        // SPEC §14: cross-site simple requests
        let host = ("host", "127.0.0.1:3000");
        let json = ("content-type", "application/json");
        let ok = |method, path, extra: &[(&str, &str)]| {
            let mut h = vec![host];
            h.extend_from_slice(extra);
            check(&request(method, path, &h))
        };
        assert_eq!(ok("POST", "/dev/token", &[json]), Ok(()));
        assert_eq!(
            ok(
                "POST",
                "/dev/token",
                &[json, ("origin", "http://127.0.0.1:3000")]
            ),
            Ok(())
        );
        assert_eq!(
            ok(
                "POST",
                "/dev/inbound",
                &[("content-type", "message/rfc822")]
            ),
            Ok(())
        );
        assert_eq!(
            ok(
                "POST",
                "/dev/ses-events",
                &[("content-type", "application/json; charset=utf-8")]
            ),
            Ok(())
        );
        for origin in [
            "https://attacker.example",
            "null",
            "http://localhost:3000",
            "http://127.0.0.1:3001",
        ] {
            assert!(
                matches!(
                    ok("POST", "/dev/clock", &[json, ("origin", origin)]),
                    Err(Refusal::ForeignOrigin(_))
                ),
                "{origin}"
            );
        }
        for content_type in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            assert!(matches!(
                ok("POST", "/dev/ses-events", &[("content-type", content_type)]),
                Err(Refusal::SimpleBody(_))
            ));
        }
        assert!(matches!(
            ok("POST", "/dev/inbound", &[json]),
            Err(Refusal::SimpleBody(_))
        ));
        assert!(matches!(
            ok("POST", "/dev/clock", &[]),
            Err(Refusal::SimpleBody(_))
        ));
        // Reads of /dev and the API itself are not changes to /dev.
        assert_eq!(
            ok(
                "GET",
                "/dev/outbox",
                &[("origin", "https://attacker.example")]
            ),
            Ok(())
        );
        assert_eq!(
            ok("POST", "/v1/campaigns", &[("content-type", "text/plain")]),
            Ok(())
        );
    }
}
