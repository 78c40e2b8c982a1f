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
//!
//! Newer pages are Preact components written with htm (README, "Preact and
//! htm"): both are vendored as ES modules under `vendor/` and served from
//! here like the console's own files.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

const INDEX_HTML: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const MIME_JS: &str = include_str!("mime.js");
const TIMELINE_JS: &str = include_str!("timeline.js");
const TEXT_JS: &str = include_str!("text.js");
const OUTBOX_JS: &str = include_str!("outbox.js");
const STYLE_CSS: &str = include_str!("style.css");
// Preact and htm, vendored unchanged but for one import (vendor/README.md).
const PREACT_JS: &str = include_str!("vendor/preact.module.js");
const HOOKS_JS: &str = include_str!("vendor/hooks.module.js");
const HTM_JS: &str = include_str!("vendor/htm.module.js");

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
    (
        "/console/text.js",
        "text/javascript; charset=utf-8",
        TEXT_JS,
    ),
    (
        "/console/outbox.js",
        "text/javascript; charset=utf-8",
        OUTBOX_JS,
    ),
    ("/console/style.css", "text/css; charset=utf-8", STYLE_CSS),
    (
        "/console/vendor/preact.module.js",
        "text/javascript; charset=utf-8",
        PREACT_JS,
    ),
    (
        "/console/vendor/hooks.module.js",
        "text/javascript; charset=utf-8",
        HOOKS_JS,
    ),
    (
        "/console/vendor/htm.module.js",
        "text/javascript; charset=utf-8",
        HTM_JS,
    ),
];

/// `/`, `/console` and `/console/` serve the page; `/console/<asset>` its files.
/// No fallback of its own, so it merges with the API router.
pub fn router() -> Router {
    let mut router = Router::new()
        .route("/", get(index))
        .route("/console", get(index))
        .route("/console/", get(index));
    for (path, content_type, body) in ASSETS {
        router = router.route(
            path,
            get(move |request: HeaderMap| async move { asset(path, content_type, body, &request) }),
        );
    }
    router
}

async fn index(request: HeaderMap) -> Response {
    asset("/", "text/html; charset=utf-8", INDEX_HTML, &request)
}

/// An asset's validator and its gzip form, made once per process.
struct Prepared {
    etag: HeaderValue,
    /// The gzip form is another representation: a tag of its own (RFC 9110
    /// §8.8.3), so a cache never answers one for the other.
    gzip_etag: HeaderValue,
    gzip: Vec<u8>,
}

fn prepared(path: &'static str, body: &'static str) -> &'static Prepared {
    static PREPARED: OnceLock<Mutex<HashMap<&'static str, &'static Prepared>>> = OnceLock::new();
    let mut cache = PREPARED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    cache.entry(path).or_insert_with(|| {
        let digest = Sha256::digest(body.as_bytes());
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        // Writing to a Vec cannot fail.
        let gzip = encoder
            .write_all(body.as_bytes())
            .and_then(|()| encoder.finish())
            .unwrap_or_default();
        Box::leak(Box::new(Prepared {
            etag: HeaderValue::from_str(&format!("\"{hex}\""))
                .unwrap_or(HeaderValue::from_static("\"0\"")),
            gzip_etag: HeaderValue::from_str(&format!("\"{hex}-gzip\""))
                .unwrap_or(HeaderValue::from_static("\"0-gzip\"")),
            gzip,
        }))
    })
}

/// Whether `If-None-Match` names this version (or `*`).
fn not_modified(request: &HeaderMap, etag: &HeaderValue) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().trim_start_matches("W/"))
        .any(|v| v == "*" || v.as_bytes() == etag.as_bytes())
}

/// Whether the client takes gzip (`Accept-Encoding`, a `q=0` refuses it).
fn takes_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused =
                parts.any(|p| p.replace(' ', "") == "q=0" || p.replace(' ', "") == "q=0.0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// An asset with its ETag (a `304` when the client has it), gzip when the
/// client takes it, and the console's security headers.
fn asset(
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
    request: &HeaderMap,
) -> Response {
    let ready = prepared(path, body);
    let gzip = takes_gzip(request) && !ready.gzip.is_empty();
    let etag = if gzip { &ready.gzip_etag } else { &ready.etag };
    let mut response = if not_modified(request, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if gzip {
        let mut r = (StatusCode::OK, ready.gzip.as_slice()).into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        (StatusCode::OK, body).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::ETAG, etag.clone());
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
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
    // Always revalidate (a cheap 304 with the ETag), so a new binary's
    // console is seen at once.
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

    async fn get_with(
        path: &str,
        name: &str,
        value: &str,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let response = router()
            .oneshot(
                Request::get(path)
                    .header(name, value)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, body.to_vec())
    }

    #[tokio::test]
    async fn assets_are_compressed_and_revalidated_with_an_etag() {
        use std::io::Read;
        for (path, _, body) in ASSETS.iter().copied().chain([("/", "", INDEX_HTML)]) {
            // gzip when asked, and what it inflates to is the asset.
            let (status, headers, zipped) =
                get_with(path, "accept-encoding", "br, gzip;q=0.8").await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(headers[header::CONTENT_ENCODING], "gzip", "{path}");
            assert_eq!(headers[header::VARY], "Accept-Encoding");
            let mut inflated = String::new();
            flate2::read::GzDecoder::new(zipped.as_slice())
                .read_to_string(&mut inflated)
                .unwrap();
            assert_eq!(inflated, body, "{path}");
            // Its own tag, which revalidates the gzip form.
            let zipped_tag = headers[header::ETAG].to_str().unwrap().to_owned();
            let mut both = HeaderMap::new();
            both.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
            both.insert(header::IF_NONE_MATCH, zipped_tag.parse().unwrap());
            let revalidated = asset(path, "text/plain", body, &both);
            assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED, "{path}");
            if body.len() > 4_000 {
                assert!(
                    zipped.len() * 2 < body.len(),
                    "{path}: {} of {}",
                    zipped.len(),
                    body.len()
                );
            }
            // Not asked, or refused: the plain bytes.
            let (_, headers, plain) = get_with(path, "accept-encoding", "gzip;q=0, identity").await;
            assert!(headers.get(header::CONTENT_ENCODING).is_none(), "{path}");
            assert_eq!(plain, body.as_bytes());
            // The ETag answers 304 with no body, and the same headers of policy.
            let etag = headers[header::ETAG].to_str().unwrap().to_owned();
            assert_ne!(
                etag, zipped_tag,
                "{path}: plain and gzip are two representations"
            );
            let (status, headers, empty) =
                get_with(path, "if-none-match", &format!("\"x\", {etag}")).await;
            assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
            assert!(empty.is_empty());
            assert_eq!(headers[header::ETAG], etag.as_str());
            assert_eq!(
                headers[header::CONTENT_SECURITY_POLICY],
                CONTENT_SECURITY_POLICY
            );
            // Another version's tag gets the whole asset.
            let (status, _, whole) = get_with(path, "if-none-match", "\"0123\"").await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(whole, body.as_bytes());
        }
        // Each asset has its own tag.
        let mut tags = std::collections::HashSet::new();
        for (path, _, _) in ASSETS {
            let (_, headers, _) = get_with(path, "accept", "*/*").await;
            assert!(tags.insert(headers[header::ETAG].clone()), "{path}");
        }
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
        // Every module's imports (static or dynamic, the vendored ones'
        // minified `from"…"` too) are relative and name a served asset: a
        // bare specifier like "preact" would not resolve without a build step.
        for (module, _, source) in ASSETS.iter().filter(|(p, _, _)| p.ends_with(".js")) {
            let dir = &module[..=module.rfind('/').unwrap()];
            for from in specifiers(source) {
                let relative = from.strip_prefix("./");
                assert!(
                    relative.is_some_and(|r| !r.contains("..")),
                    "{module} imports {from:?}, not a ./ path"
                );
                let path = format!("{dir}{}", relative.unwrap_or_default());
                assert!(
                    ASSETS.iter().any(|(p, _, _)| *p == path),
                    "{module} imports {from}, which is not served"
                );
            }
        }
        // The console's own modules import something (the check above runs).
        assert!(!specifiers(APP_JS).is_empty());
    }

    /// The module specifiers of a script: `from "x"`, `from"x"`, `import("x")`
    /// (this console's scripts have no other "from" before a quote).
    fn specifiers(source: &str) -> Vec<&str> {
        let mut found = Vec::new();
        for marker in ["from", "import("] {
            for (at, _) in source.match_indices(marker) {
                let rest = source[at + marker.len()..].trim_start_matches(' ');
                let Some(quote) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) else {
                    continue;
                };
                let before = source[..at].chars().next_back().unwrap_or(' ');
                let Some(end) = rest[1..].find(quote) else {
                    continue;
                };
                // Not a word ending in "from", nor a string after one: a
                // specifier has no spaces or punctuation of code in it.
                let name = &rest[1..=end];
                let code = |c: char| c.is_whitespace() || ",;(){}=+".contains(c);
                if !(before.is_alphanumeric()
                    || before == '_'
                    || name.is_empty()
                    || name.contains(code))
                {
                    found.push(name);
                }
            }
        }
        found
    }

    /// Every file under vendor/ is served, with its licence and its line in
    /// vendor/README.md; a vendored module deleted fails the build
    /// (`include_str!`), one added but not served fails here.
    #[test]
    fn every_vendored_file_is_served_and_licensed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/console/vendor");
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        let mut scripts = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".js") {
                let path = format!("/console/vendor/{name}");
                let served = ASSETS.iter().find(|(p, _, _)| *p == path);
                let (_, content_type, body) =
                    served.unwrap_or_else(|| panic!("{path} is not served"));
                assert_eq!(*content_type, "text/javascript; charset=utf-8");
                assert_eq!(*body, std::fs::read_to_string(dir.join(&name)).unwrap());
                assert!(
                    readme.contains(&format!("`{name}`")),
                    "vendor/README.md omits {name}"
                );
                scripts.push(name);
            }
        }
        scripts.sort();
        assert_eq!(
            scripts,
            ["hooks.module.js", "htm.module.js", "preact.module.js"]
        );
        for (licence, names) in [
            ("LICENSE-preact", "MIT License"),
            ("LICENSE-htm", "Apache License"),
        ] {
            let text = std::fs::read_to_string(dir.join(licence)).unwrap();
            assert!(text.contains(names), "{licence}");
        }
        for path in ASSETS
            .iter()
            .map(|(p, _, _)| *p)
            .filter(|p| p.starts_with("/console/vendor/"))
        {
            assert!(
                dir.join(&path["/console/vendor/".len()..]).is_file(),
                "{path}"
            );
        }
    }

    #[test]
    fn no_script_writes_html_from_strings() {
        // Every value reaches the page through textContent or attributes.
        // (Preact itself has innerHTML, for dangerouslySetInnerHTML, which
        // the console never uses.)
        let own = ASSETS
            .iter()
            .filter(|(p, _, _)| p.ends_with(".js") && !p.starts_with("/console/vendor/"));
        for (_, _, module) in own {
            for banned in [
                "dangerouslySetInnerHTML",
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
