//! The Outreach console (issue 10): a small single-page app, embedded in the
//! binary, that calls only the public `/v1` API with a bearer token (and, in
//! local mode, the `/dev` routes for sign-in, the clock and simulated SES
//! events). Served at `/` and `/console/*` by local mode and, under the same
//! router, by the API function in AWS.
//!
//! No build step: plain HTML, CSS and JavaScript modules. The page builds its
//! DOM with `textContent` and attributes only, never `innerHTML` with data; a
//! sent message's HTML is shown in an `<iframe sandbox="">` (no scripts, no
//! same origin). The Content-Security-Policy below holds the page to its own
//! scripts and the same-origin API.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const INDEX_HTML: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const MIME_JS: &str = include_str!("mime.js");
const TIMELINE_JS: &str = include_str!("timeline.js");
const STYLE_CSS: &str = include_str!("style.css");

/// Scripts and connections: this origin only. Styles allow inline `style`
/// attributes because a sent message's HTML (rendered in a sandboxed
/// `srcdoc` frame, which inherits this policy) carries them; images are
/// limited to this origin and `data:`, so a message's remote images and
/// tracking pixels never load, and CSS cannot send data anywhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; \
     connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The console's assets: (path, content type, body).
pub const ASSETS: &[(&str, &str, &str)] = &[
    ("/console/app.js", "text/javascript; charset=utf-8", APP_JS),
    (
        "/console/mime.js",
        "text/javascript; charset=utf-8",
        MIME_JS,
    ),
    (
        "/console/timeline.js",
        "text/javascript; charset=utf-8",
        TIMELINE_JS,
    ),
    ("/console/style.css", "text/css; charset=utf-8", STYLE_CSS),
];

/// `/`, `/console` and `/console/` serve the page; `/console/<asset>` its files.
/// No fallback of its own, so it merges with the API router.
pub fn router() -> Router {
    let mut router = Router::new()
        .route("/", get(index))
        .route("/console", get(index))
        .route("/console/", get(index));
    for (path, content_type, body) in ASSETS {
        router = router.route(path, get(move || async move { asset(content_type, body) }));
    }
    router
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Small files; always revalidate so a new binary's console is seen at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        let response = router()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn serves_the_page_and_its_assets_with_types_and_a_policy() {
        for path in ["/", "/console", "/console/"] {
            let (status, headers, body) = get(path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
            assert!(body.contains("<main"), "{path}");
        }
        for (path, content_type, body) in ASSETS {
            let (status, headers, served) = get(path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(headers[header::CONTENT_TYPE], *content_type, "{path}");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(
                headers[header::CONTENT_SECURITY_POLICY],
                CONTENT_SECURITY_POLICY
            );
            assert_eq!(&served, body);
        }
        let (status, _, _) = get("/console/nothing.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn the_page_loads_only_its_own_assets_and_no_inline_script() {
        // The CSP allows `script-src 'self'` only: an inline script would not run.
        assert!(!INDEX_HTML.contains("<script>"));
        for reference in INDEX_HTML
            .split(['"', '\''])
            .filter(|s| s.starts_with("/console/"))
        {
            assert!(
                ASSETS.iter().any(|(path, _, _)| *path == reference),
                "index.html refers to {reference}, which is not served"
            );
        }
        for module in [APP_JS, MIME_JS, TIMELINE_JS] {
            for line in module.lines().filter(|l| l.starts_with("import ")) {
                let from = line.rsplit(['"', '\'']).nth(1).unwrap_or_default();
                let path = format!("/console/{}", from.trim_start_matches("./"));
                assert!(
                    ASSETS.iter().any(|(p, _, _)| *p == path),
                    "a module imports {from}, which is not served"
                );
            }
        }
    }

    #[test]
    fn no_script_writes_html_from_strings() {
        // Every value reaches the page through textContent or attributes.
        for module in [APP_JS, MIME_JS, TIMELINE_JS] {
            for banned in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
            ] {
                assert!(!module.contains(banned), "{banned} is used");
            }
        }
    }
}
