//! The OpenAPI documents are kept true (SPEC §13): `/v1/openapi.json` (and, in
//! local mode, `/dev/openapi.json`) document every route of the router and
//! nothing else, and every answer of the real `outreach-local` matches the
//! schema its document gives for that route and status.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use outreach_embedded::local::{LocalApp, LocalOptions};
use outreach_tests::{Local, binary, hard_bounce, ses_event};
use serde_json::{Value, json};
use tower::ServiceExt;

const START: &str = "2026-12-01T14:00:00Z"; // Tuesday

/// The HTTP methods an OpenAPI path item can carry that the API may use.
const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

// --- the router and the documents list the same routes ---

/// Every path the router matches. axum offers no list of routes; its `Debug`
/// output of the router names each registered path (`RouteId(n): "/v1/me"`).
fn router_paths(router: &axum::Router) -> BTreeSet<String> {
    let debug = format!("{router:?}");
    // `Router { path_router: .., fallback_router: .., .. }`: the routes only.
    let routes = debug
        .split_once("fallback_router:")
        .map_or(debug.as_str(), |(routes, _)| routes);
    let mut paths = BTreeSet::new();
    let mut rest = routes;
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at + "RouteId(".len()..];
        let Some(close) = rest.find(')') else { break };
        let after = &rest[close + 1..];
        if let Some(path) = after.strip_prefix(": \"") {
            let end = path.find('"').expect("a quoted path");
            if !path[..end].contains("__private__axum") {
                paths.insert(path[..end].to_owned());
            }
        }
    }
    paths
}

/// A concrete path for a template: each `{param}` gets a placeholder.
fn concrete(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').expect("closed parameter") + open;
        out.push_str("placeholder0000000000");
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

async fn oneshot(
    router: &axum::Router,
    mut req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    // Local mode answers only requests addressed to a loopback name (SPEC §14).
    req.headers_mut()
        .insert("host", axum::http::HeaderValue::from_static("127.0.0.1"));
    let response = router.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes().to_vec();
    (parts.status, parts.headers, bytes)
}

/// The methods the router serves at `path`, read from the `Allow` header of the
/// 405 it answers to a method no route uses.
async fn allowed_methods(router: &axum::Router, path: &str) -> BTreeSet<String> {
    let req = Request::builder()
        .method(Method::from_bytes(b"PROBE").unwrap())
        .uri(concrete(path))
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = oneshot(router, req).await;
    assert_eq!(
        status,
        StatusCode::METHOD_NOT_ALLOWED,
        "{path}: {}",
        String::from_utf8_lossy(&body)
    );
    headers
        .get("allow")
        .expect("a 405 names the allowed methods")
        .to_str()
        .unwrap()
        .split(',')
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty() && m != "head")
        .collect()
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                ops.insert((path.clone(), method.to_owned()));
            }
        }
    }
    ops
}

async fn get_json(router: &axum::Router, path: &str) -> Value {
    let req = Request::get(path).body(Body::empty()).unwrap();
    let (status, headers, body) = oneshot(router, req).await;
    assert_eq!(status, StatusCode::OK, "GET {path}");
    assert_eq!(headers["content-type"], "application/json");
    serde_json::from_slice(&body).expect("JSON")
}

#[tokio::test]
async fn the_documents_list_every_route_of_the_router_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let app = LocalApp::open(&LocalOptions {
        data: dir.path().to_path_buf(),
        port: 0,
        manual_clock: Some(START.parse().unwrap()),
        initial_credits: 100,
    })
    .expect("local mode opens");
    let router = &app.router;
    // The console's pages and scripts are not part of the API.
    let console: BTreeSet<String> = router_paths(&outreach_app::console::router());

    let paths = router_paths(router);
    assert!(
        paths.contains("/v1/me") && paths.contains("/dev/clock") && paths.len() > 40,
        "the router's paths could not be read: {paths:?}"
    );
    let mut served = BTreeSet::new();
    for path in paths.difference(&console) {
        for method in allowed_methods(router, path).await {
            served.insert((path.clone(), method));
        }
    }

    let v1 = get_json(router, "/v1/openapi.json").await;
    let dev = get_json(router, "/dev/openapi.json").await;
    assert_eq!(
        v1,
        serde_json::to_value(outreach_app::http::api_doc()).unwrap()
    );
    assert_eq!(
        dev,
        serde_json::to_value(outreach_app::dev::dev_doc()).unwrap()
    );
    let v1_ops = documented(&v1);
    let dev_ops = documented(&dev);
    assert!(
        v1_ops.iter().all(|(p, _)| p.starts_with("/v1/")),
        "only /v1 routes in /v1/openapi.json"
    );
    assert!(
        dev_ops.iter().all(|(p, _)| p.starts_with("/dev/")),
        "only /dev routes in /dev/openapi.json"
    );
    let mut docs: BTreeSet<_> = v1_ops.union(&dev_ops).cloned().collect();
    let undocumented: Vec<_> = served.difference(&docs).collect();
    assert!(
        undocumented.is_empty(),
        "routes the router serves but no document describes: {undocumented:?}"
    );
    docs.retain(|op| !served.contains(op));
    assert!(
        docs.is_empty(),
        "documented routes the router does not serve: {docs:?}"
    );
    // In AWS the API is `http::router` alone: its document has no /dev route,
    // and the /dev document describes only what local mode adds.
    for (path, _) in &dev_ops {
        assert!(!v1["paths"].as_object().unwrap().contains_key(path));
    }
}

// --- the documents are valid OpenAPI 3.1 ---

/// The reference validator of OpenAPI documents (`openapi-spec-validator`,
/// which checks a document against the OpenAPI 3.1 JSON Schema and resolves
/// every reference) on a document written to `file`.
fn spec_validator(file: &Path) {
    let out = Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--schema", "3.1"])
        .arg(file)
        .output()
        .expect("python3 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("No module named"),
        "openapi-spec-validator is missing: `pip install openapi-spec-validator`"
    );
    let tail: String = text
        .chars()
        .rev()
        .take(1500)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(out.status.success() && text.contains(": OK"), "{tail}");
}

#[test]
fn the_documents_validate_as_openapi_3_1() {
    let dir = tempfile::tempdir().unwrap();
    for (name, doc) in [
        ("v1.json", outreach_app::http::api_doc()),
        ("dev.json", outreach_app::dev::dev_doc()),
    ] {
        let value = serde_json::to_value(&doc).unwrap();
        assert!(
            value["openapi"].as_str().unwrap().starts_with("3.1."),
            "{name}: {}",
            value["openapi"]
        );
        let file = dir.path().join(name);
        std::fs::write(&file, doc.to_pretty_json().unwrap()).unwrap();
        spec_validator(&file);
    }
}

// --- every answer matches its schema ---

/// A document's schemas, compiled against its components.
struct Document {
    doc: Value,
    validators: BTreeMap<String, jsonschema::Validator>,
}

impl Document {
    fn new(doc: Value) -> Document {
        Document {
            doc,
            validators: BTreeMap::new(),
        }
    }

    fn resolve<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            let pointer = r.strip_prefix('#').expect("a local reference");
            v = self
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{r} does not resolve"));
        }
        v
    }

    /// The operation whose path template matches `path`.
    fn operation(&self, method: &str, path: &str) -> Option<(String, &Value)> {
        let segments: Vec<&str> = path.split('/').collect();
        for (template, item) in self.doc["paths"].as_object()? {
            let parts: Vec<&str> = template.split('/').collect();
            let matches = parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
            if matches && let Some(op) = item.get(method) {
                return Some((template.clone(), op));
            }
        }
        None
    }

    fn validator(&mut self, key: &str, schema: &Value) -> &jsonschema::Validator {
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "allOf": [schema],
            "components": self.doc["components"],
        });
        self.validators.entry(key.to_owned()).or_insert_with(|| {
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&root)
                .unwrap_or_else(|e| panic!("the schema at {key} compiles: {e}"))
        })
    }

    /// Every property of `value` (at any depth) that `schema` does not declare.
    fn undeclared(&self, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
        let mut declared: BTreeMap<String, Value> = BTreeMap::new();
        let mut maps: Vec<Value> = Vec::new();
        let mut items: Vec<Value> = Vec::new();
        let mut stack = vec![self.resolve(schema).clone()];
        while let Some(s) = stack.pop() {
            for key in ["allOf", "oneOf", "anyOf"] {
                for sub in s.get(key).and_then(Value::as_array).into_iter().flatten() {
                    stack.push(self.resolve(sub).clone());
                }
            }
            for (name, sub) in s
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                declared.insert(name.clone(), sub.clone());
            }
            if let Some(extra) = s.get("additionalProperties").filter(|a| a.is_object()) {
                maps.push(extra.clone());
            }
            if let Some(i) = s.get("items") {
                items.push(i.clone());
            }
        }
        match value {
            Value::Object(fields) => {
                let free_form = declared.is_empty() && maps.is_empty();
                for (name, v) in fields {
                    let here = format!("{at}.{name}");
                    match declared.get(name) {
                        Some(sub) => self.undeclared(sub, v, &here, out),
                        None if !maps.is_empty() => {
                            for m in &maps {
                                self.undeclared(m, v, &here, out);
                            }
                        }
                        None if free_form => {}
                        None => out.push(here),
                    }
                }
            }
            Value::Array(values) => {
                for (i, v) in values.iter().enumerate() {
                    for s in &items {
                        self.undeclared(s, v, &format!("{at}[{i}]"), out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A call and its answer.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    fn id(&self) -> String {
        self.json()["id"].as_str().expect("an id").to_owned()
    }
}

/// Both documents, and the statuses each operation answered.
struct Documents {
    v1: Document,
    dev: Document,
    /// (path template, method) → statuses seen.
    seen: BTreeMap<(String, String), BTreeSet<u16>>,
}

/// Drives the real local mode and checks every answer against the documents.
struct Checker {
    local: Local,
    docs: Documents,
}

enum Payload {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

impl Checker {
    async fn call(
        &mut self,
        token: Option<&str>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        payload: Payload,
    ) -> Answer {
        let mut req = self.local.http.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", self.local.base),
        );
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req = match payload {
            Payload::None => req,
            Payload::Json(v) => req.json(&v),
            Payload::Raw(content_type, bytes) => {
                req.header("content-type", content_type).body(bytes)
            }
        };
        let r = req.send().await.expect("outreach-local answers");
        let answer = Answer {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            text: r.text().await.unwrap_or_default(),
        };
        if std::env::var_os("OPENAPI_TRACE").is_some() {
            eprintln!("{method} {path} → {} {:.300}", answer.status, answer.text);
        }
        let content_type = answer
            .headers
            .get("content-type")
            .map(|c| c.to_str().unwrap().to_owned());
        self.docs.check(
            method,
            path,
            answer.status,
            content_type.as_deref(),
            &answer.text,
        );
        answer
    }

    fn token(&self, org: &str, user: &str, admin: bool) -> String {
        let mut cmd = Command::new(binary());
        cmd.args(["token", "--org", org, "--user", user, "--email"])
            .arg(format!("{user}@{org}.example"))
            .arg("--data")
            .arg(&self.local.data);
        if admin {
            cmd.arg("--admin");
        }
        let out = cmd.output().expect("token runs");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

impl Documents {
    /// Panics unless the answer is documented for the route and status, with
    /// its Content-Type, and its JSON body matches the schema and declares
    /// every field it carries.
    fn check(
        &mut self,
        method: &str,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        text: &str,
    ) {
        let method = method.to_ascii_lowercase();
        let path = path.split('?').next().unwrap();
        let doc = if path.starts_with("/dev/") {
            &mut self.dev
        } else {
            &mut self.v1
        };
        let (template, op) = doc
            .operation(&method, path)
            .unwrap_or_else(|| panic!("{method} {path} is in no document"));
        let op = op.clone();
        let what = format!("{} {template} → {status}", method.to_uppercase());
        self.seen
            .entry((template.clone(), method.clone()))
            .or_default()
            .insert(status);
        let responses = &op["responses"];
        let range = format!("{}XX", status / 100);
        let status = status.to_string();
        let response = responses
            .get(&status)
            .or_else(|| responses.get(&range))
            .or_else(|| responses.get("default"))
            .unwrap_or_else(|| panic!("{what}: status not documented; body {text}"));
        let response = doc.resolve(response).clone();
        let content_type = content_type.map(|c| c.split(';').next().unwrap().trim().to_owned());
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            assert!(
                text.is_empty(),
                "{what}: documented without a body, got {text}"
            );
            return;
        };
        let content_type = content_type.unwrap_or_else(|| panic!("{what}: no Content-Type"));
        let media = content.get(&content_type).unwrap_or_else(|| {
            panic!(
                "{what}: Content-Type {content_type} not documented ({:?})",
                content.keys().collect::<Vec<_>>()
            )
        });
        if !content_type.ends_with("json") {
            return;
        }
        let body: Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
        let Some(schema) = media.get("schema") else {
            return;
        };
        let key = format!("{method} {template} {status} {content_type}");
        let errors: Vec<String> = doc
            .validator(&key, schema)
            .iter_errors(&body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: the body does not match its schema: {errors:#?}\n{body:#}"
        );
        let mut extra = Vec::new();
        doc.undeclared(schema, &body, "$", &mut extra);
        assert!(
            extra.is_empty(),
            "{what}: fields the schema does not declare: {extra:?}\n{body:#}"
        );
    }
}

fn documents() -> Documents {
    Documents {
        v1: Document::new(serde_json::to_value(outreach_app::http::api_doc()).unwrap()),
        dev: Document::new(serde_json::to_value(outreach_app::dev::dev_doc()).unwrap()),
        seen: BTreeMap::new(),
    }
}

#[test]
fn the_check_refuses_an_answer_the_document_does_not_describe() {
    let project = json!({"id": "prj_1", "name": "P", "created_at": "2026-12-01T07:00:00Z"});
    let json = Some("application/json");
    let fails =
        |method: &str, path: &str, status: u16, content_type: Option<&str>, body: &Value| {
            let (method, path, content_type) = (
                method.to_owned(),
                path.to_owned(),
                content_type.map(str::to_owned),
            );
            let text = body.to_string();
            std::panic::catch_unwind(move || {
                documents().check(&method, &path, status, content_type.as_deref(), &text)
            })
            .is_err()
        };
    assert!(
        !fails("GET", "/v1/projects/prj_1", 200, json, &project),
        "a true answer passes"
    );
    let mut extra = project.clone();
    extra["secret"] = json!(1);
    assert!(
        fails("GET", "/v1/projects/prj_1", 200, json, &extra),
        "an undeclared field"
    );
    let mut nested = json!({"items": [project.clone()], "cursor": null});
    nested["items"][0]["owner"] = json!("bob");
    assert!(
        fails("GET", "/v1/projects", 200, json, &nested),
        "an undeclared field in a list"
    );
    let mut missing = project.clone();
    missing.as_object_mut().unwrap().remove("created_at");
    assert!(
        fails("GET", "/v1/projects/prj_1", 200, json, &missing),
        "a missing field"
    );
    let mut wrong = project.clone();
    wrong["created_at"] = json!("yesterday");
    assert!(
        fails("GET", "/v1/projects/prj_1", 200, json, &wrong),
        "not a date-time"
    );
    assert!(
        fails("GET", "/v1/projects/prj_1", 418, json, &project),
        "an undocumented status"
    );
    assert!(
        fails(
            "GET",
            "/v1/projects/prj_1",
            200,
            Some("text/plain"),
            &project
        ),
        "an undocumented Content-Type"
    );
    assert!(
        fails(
            "GET",
            "/v1/projects/prj_1",
            404,
            Some("application/problem+json"),
            &project
        ),
        "an error that is no problem+json"
    );
    assert!(
        fails("GET", "/v1/nothing", 200, json, &project),
        "an undocumented route"
    );
    let problem = json!({"type": "https://outreach.dev/problems/not-found", "title": "Not Found", "status": 404, "detail": "project not found"});
    assert!(!fails(
        "GET",
        "/v1/projects/prj_1",
        404,
        Some("application/problem+json"),
        &problem
    ));
}

fn raw_header(raw: &str, name: &str) -> String {
    let prefix = format!("{name}:");
    raw.lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{name} header"))[prefix.len()..]
        .trim()
        .to_owned()
}

#[tokio::test]
async fn every_answer_matches_its_documented_schema() {
    let local = Local::spawn(START).await;
    let served = |path: &str| {
        let url = format!("{}{path}", local.base);
        let http = local.http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let v1 = served("/v1/openapi.json").await;
    let dev = served("/dev/openapi.json").await;
    let mut c = Checker {
        local,
        docs: Documents {
            v1: Document::new(v1),
            dev: Document::new(dev),
            seen: BTreeMap::new(),
        },
    };
    let alice = c.token("acme", "alice", false);
    let bob = c.token("acme", "bob", false);
    let admin = c.token("ops", "root", true);
    let a = Some(alice.as_str());
    use Payload::{Json, None as Empty, Raw};

    // Documents, the caller, the clock.
    c.call(None, "GET", "/v1/openapi.json", &[], Empty).await;
    c.call(None, "GET", "/dev/openapi.json", &[], Empty).await;
    c.call(None, "GET", "/v1/me", &[], Empty).await; // 401
    c.call(a, "GET", "/v1/me", &[], Empty).await;
    c.call(
        a,
        "PUT",
        "/v1/me",
        &[],
        Json(json!({"display_name": "Alice", "timezone": "Europe/Paris"})),
    )
    .await;
    c.call(
        a,
        "PUT",
        "/v1/me",
        &[],
        Json(json!({"timezone": "Mars/Olympus"})),
    )
    .await; // 422
    c.call(None, "GET", "/dev/clock", &[], Empty).await;
    c.call(
        None,
        "POST",
        "/dev/clock",
        &[],
        Json(json!({"advance": "soon"})),
    )
    .await; // 422
    c.call(
        None,
        "POST",
        "/dev/token",
        &[],
        Json(json!({"org": "acme", "user": "dora"})),
    )
    .await;

    // Sender accounts and delegation.
    let acc = c
        .call(
            a,
            "POST",
            "/v1/email-accounts",
            &[("Idempotency-Key", "acc-1")],
            Json(json!({"address": "alice@acme.example", "display_name": "Alice"})),
        )
        .await
        .id();
    let spare = c
        .call(
            a,
            "POST",
            "/v1/email-accounts",
            &[],
            Json(json!({"address": "spare@acme.example"})),
        )
        .await
        .id();
    c.call(a, "GET", "/v1/email-accounts", &[], Empty).await;
    c.call(a, "GET", &format!("/v1/email-accounts/{acc}"), &[], Empty)
        .await;
    c.call(
        a,
        "POST",
        &format!("/v1/email-accounts/{acc}/resend"),
        &[],
        Empty,
    )
    .await;
    // The confirmation and "this wasn't me" links of: local mode mails
    // none, so only their 404.
    for (method, path) in [
        ("GET", "/v1/email-accounts/confirm/notarealtokenatall0000"),
        ("POST", "/v1/email-accounts/confirm/notarealtokenatall0000"),
        ("GET", "/v1/email-accounts/not-me/notarealtokenatall0000"),
        ("POST", "/v1/email-accounts/not-me/notarealtokenatall0000"),
    ] {
        c.call(None, method, path, &[], Empty).await;
    }
    c.call(
        a,
        "POST",
        &format!("/v1/email-accounts/{acc}/relink"),
        &[],
        Empty,
    )
    .await;
    c.call(
        a,
        "POST",
        &format!("/v1/email-accounts/{acc}/delegates"),
        &[],
        Json(json!({"user_id": "bob"})),
    )
    .await;
    c.call(Some(&bob), "GET", "/v1/email-accounts", &[], Empty)
        .await;
    // The account's daily limit: owner only, 403 to the delegate, 422 out of range.
    let limit = format!("/v1/email-accounts/{acc}");
    for (who, body) in [
        (a, json!({"daily_limit": 1000})),
        (Some(&bob), json!({"daily_limit": 5})),
        (a, json!({"daily_limit": 0})),
        (a, json!({"daily_limit": null})),
    ] {
        c.call(who, "PATCH", &limit, &[], Json(body)).await;
    }
    c.call(
        a,
        "DELETE",
        &format!("/v1/email-accounts/{acc}/delegates/bob"),
        &[],
        Empty,
    )
    .await;
    c.call(
        a,
        "DELETE",
        &format!("/v1/email-accounts/{spare}"),
        &[],
        Empty,
    )
    .await;
    c.call(a, "GET", "/v1/email-accounts/acc_unknown", &[], Empty)
        .await; // 404
    c.call(
        None,
        "POST",
        "/dev/faults",
        &[],
        Json(json!({"sender": "alice@acme.example", "error": "none"})),
    )
    .await;

    // Credits.
    c.call(
        Some(&admin),
        "POST",
        "/v1/admin/credits",
        &[],
        Json(json!({"org_id": "acme", "amount": 5})),
    )
    .await;
    c.call(
        a,
        "POST",
        "/v1/admin/credits",
        &[],
        Json(json!({"org_id": "acme", "amount": 5})),
    )
    .await; // 404

    // Candidates.
    let ada = c
        .call(a, "POST", "/v1/candidates", &[], Json(json!({"first_name": "Ada", "last_name": "Lovelace", "title": "Engineer", "company": "Analytical", "timezone": "Europe/London",
            "emails": [{"address": "ada@work.example", "type": "work"}, {"address": "ada@home.example", "type": "personal"}]})))
        .await
        .id();
    let grace = c
        .call(a, "POST", "/v1/candidates", &[], Json(json!({"first_name": "Grace", "last_name": "Hopper", "emails": [{"address": "grace@navy.example", "type": "work"}]})))
        .await
        .id();
    let gone = c
        .call(a, "POST", "/v1/candidates", &[], Json(json!({"first_name": "Tmp", "last_name": "X", "emails": [{"address": "tmp@x.example", "type": "other"}]})))
        .await
        .id();
    c.call(
        a,
        "POST",
        "/v1/candidates",
        &[],
        Json(json!({"first_name": "A", "last_name": "B", "shoe_size": 44})),
    )
    .await; // 422
    c.call(
        a,
        "POST",
        "/v1/candidates",
        &[],
        Raw("application/json", b"{not json".to_vec()),
    )
    .await; // 400
    c.call(a, "GET", "/v1/candidates?limit=2", &[], Empty).await;
    c.call(a, "GET", "/v1/candidates?cursor=%21%21", &[], Empty)
        .await; // 422
    c.call(a, "GET", &format!("/v1/candidates/{ada}"), &[], Empty)
        .await;
    c.call(
        a,
        "PATCH",
        &format!("/v1/candidates/{ada}"),
        &[],
        Json(json!({"location": "London"})),
    )
    .await;
    c.call(
        a,
        "POST",
        &format!("/v1/candidates/{ada}/emails"),
        &[],
        Json(json!({"address": "ada@manual.example", "type": "personal"})),
    )
    .await;
    c.call(
        Some(&bob),
        "GET",
        &format!("/v1/candidates/{ada}"),
        &[],
        Empty,
    )
    .await;
    c.call(
        a,
        "POST",
        &format!("/v1/candidates/{ada}/reveal"),
        &[],
        Empty,
    )
    .await;
    c.call(
        a,
        "POST",
        &format!("/v1/candidates/{ada}/reveal"),
        &[],
        Empty,
    )
    .await;
    c.call(a, "DELETE", &format!("/v1/candidates/{gone}"), &[], Empty)
        .await;
    c.call(a, "GET", &format!("/v1/candidates/{gone}"), &[], Empty)
        .await; // 404
    c.call(a, "GET", "/v1/credits?limit=10", &[], Empty).await;

    // Templates and projects.
    let steps = json!([{"subject": "Hello {{ candidate.first_name }}", "body": "<p>Hi {{ candidate.first_name }}</p>"},
                       {"body": "<p>Following up</p>", "delay_days": 2}]);
    let tpl = c
        .call(
            a,
            "POST",
            "/v1/templates",
            &[],
            Json(json!({"name": "Intro", "steps": steps})),
        )
        .await
        .id();
    let spare_tpl = c
        .call(
            a,
            "POST",
            "/v1/templates",
            &[],
            Json(json!({"name": "Spare", "steps": [{"subject": "S", "body": "B"}]})),
        )
        .await
        .id();
    c.call(
        a,
        "POST",
        "/v1/templates",
        &[],
        Json(json!({"name": "Bad", "steps": [{"subject": "Hi\r\nBcc: x@y.z", "body": "b"}]})),
    )
    .await; // 422
    c.call(a, "GET", "/v1/templates", &[], Empty).await;
    c.call(a, "GET", &format!("/v1/templates/{tpl}"), &[], Empty)
        .await;
    c.call(
        a,
        "PUT",
        &format!("/v1/templates/{spare_tpl}"),
        &[],
        Json(json!({"name": "Spare 2", "steps": [{"subject": "S", "body": "B2"}]})),
    )
    .await;
    c.call(
        a,
        "DELETE",
        &format!("/v1/templates/{spare_tpl}"),
        &[],
        Empty,
    )
    .await;
    let prj = c
        .call(
            a,
            "POST",
            "/v1/projects",
            &[],
            Json(json!({"name": "Backend hires"})),
        )
        .await
        .id();
    c.call(a, "GET", "/v1/projects", &[], Empty).await;
    c.call(a, "GET", &format!("/v1/projects/{prj}"), &[], Empty)
        .await;
    c.call(
        a,
        "PUT",
        &format!("/v1/projects/{prj}/pins/{ada}"),
        &[],
        Json(json!({"address": "ada@work.example"})),
    )
    .await;

    // A campaign, end to end.
    let cmp = c
        .call(a, "POST", &format!("/v1/projects/{prj}/campaigns"), &[], Json(json!({
            "name": "Q4", "sender_account_id": acc, "template_id": tpl, "timezone": "Europe/Paris",
            "when_to_send": {"mode": "specific_time", "time": "09:30"}, "recipient": {"prefer": "work", "strict": false},
            "skip_weekends": true, "daily_limit": 50})))
        .await
        .id();
    c.call(
        a,
        "GET",
        &format!("/v1/projects/{prj}/campaigns"),
        &[],
        Empty,
    )
    .await;
    c.call(
        a,
        "PATCH",
        &format!("/v1/campaigns/{cmp}"),
        &[],
        Json(json!({"when_to_send": {"mode": "when_started"}})),
    )
    .await;
    let lin = c
        .call(a, "POST", "/v1/candidates", &[], Json(json!({"first_name": "Lin", "last_name": "Q", "emails": [{"address": "lin@q.example", "type": "work"}]})))
        .await
        .id();
    let added = c
        .call(
            a,
            "POST",
            &format!("/v1/campaigns/{cmp}/enrollments"),
            &[],
            Json(json!({"candidate_ids": [ada, grace, lin, "cand_nobody"]})),
        )
        .await
        .json();
    let eid = |i: usize| added["enrollments"][i]["id"].as_str().unwrap().to_owned();
    let (e_ada, e_grace, e_lin) = (eid(0), eid(1), eid(2));
    c.call(
        a,
        "POST",
        &format!("/v1/campaigns/{cmp}/enrollments"),
        &[],
        Json(json!({"candidate_ids": [ada]})),
    )
    .await;
    let too_many: Vec<String> = (0..1001).map(|i| format!("c{i}")).collect();
    c.call(
        a,
        "POST",
        &format!("/v1/campaigns/{cmp}/enrollments"),
        &[],
        Json(json!({"candidate_ids": too_many})),
    )
    .await; // 413
    c.call(
        a,
        "POST",
        &format!("/v1/campaigns/{cmp}/preview"),
        &[],
        Json(json!({})),
    )
    .await;
    c.call(a, "POST", &format!("/v1/campaigns/{cmp}/start"), &[], Empty)
        .await;
    c.call(a, "POST", &format!("/v1/campaigns/{cmp}/start"), &[], Empty)
        .await; // 409
    c.call(a, "GET", &format!("/v1/campaigns/{cmp}"), &[], Empty)
        .await;
    c.call(
        a,
        "PATCH",
        &format!("/v1/campaigns/{cmp}/enrollments/{e_grace}"),
        &[],
        Json(json!({"custom_fields": {"role": "Admiral"}})),
    )
    .await;
    c.call(
        a,
        "POST",
        &format!("/v1/campaigns/{cmp}/enrollments/{e_lin}/remove"),
        &[],
        Empty,
    )
    .await;
    c.call(
        a,
        "POST",
        &format!("/v1/campaigns/{cmp}/enrollments/{e_lin}/remove"),
        &[],
        Empty,
    )
    .await; // 409
    c.call(
        None,
        "POST",
        "/dev/clock",
        &[],
        Json(json!({"advance": "PT25M"})),
    )
    .await;
    let outbox = c.call(None, "GET", "/dev/outbox", &[], Empty).await.json();
    let sent = outbox["items"].as_array().unwrap().clone();
    assert_eq!(sent.len(), 2, "{outbox}");
    let message_to = |to: &str| sent.iter().find(|m| m["to"] == to).unwrap().clone();
    let (to_ada, to_grace) = (
        message_to("ada@work.example"),
        message_to("grace@navy.example"),
    );
    let raw = c
        .call(
            None,
            "GET",
            &format!("/dev/outbox/{}", to_ada["id"].as_str().unwrap()),
            &[],
            Empty,
        )
        .await
        .text;
    c.call(None, "GET", "/dev/outbox/nothing-here", &[], Empty)
        .await; // 404
    c.call(
        a,
        "GET",
        &format!("/v1/campaigns/{cmp}/enrollments"),
        &[],
        Empty,
    )
    .await;
    c.call(
        a,
        "GET",
        &format!("/v1/campaigns/{cmp}/enrollments/{e_ada}"),
        &[],
        Empty,
    )
    .await;

    // What comes back: a delivery, a hard bounce and a retry, a reply, an unsubscribe.
    let delivery = ses_event(
        "Delivery",
        to_ada["message_id"].as_str().unwrap(),
        json!({"timestamp": "2026-12-01T14:21:00.000Z", "recipients": ["ada@work.example"]}),
    );
    c.call(
        None,
        "POST",
        "/dev/ses-events",
        &[],
        Raw("application/json", delivery.to_string().into_bytes()),
    )
    .await;
    let bounce = hard_bounce(
        to_grace["message_id"].as_str().unwrap(),
        "grace@navy.example",
        "fb-1",
    );
    c.call(
        None,
        "POST",
        "/dev/ses-events",
        &[],
        Raw("application/json", bounce.to_string().into_bytes()),
    )
    .await;
    c.call(
        None,
        "POST",
        "/dev/clock",
        &[],
        Json(json!({"advance": "PT5M"})),
    )
    .await;
    c.call(a, "GET", &format!("/v1/candidates/{grace}"), &[], Empty)
        .await;
    c.call(
        a,
        "GET",
        &format!("/v1/campaigns/{cmp}/enrollments/{e_grace}"),
        &[],
        Empty,
    )
    .await;
    c.call(
        a,
        "POST",
        &format!("/v1/campaigns/{cmp}/enrollments/{e_grace}/retry"),
        &[],
        Json(json!({"address": "grace@navy.example"})),
    )
    .await; // 422
    c.call(
        a,
        "POST",
        &format!("/v1/campaigns/{cmp}/enrollments/{e_grace}/retry"),
        &[],
        Json(json!({"address": "grace@home.example"})),
    )
    .await;
    c.call(
        a,
        "POST",
        &format!("/v1/campaigns/{cmp}/enrollments/{e_ada}/pause"),
        &[],
        Empty,
    )
    .await;
    c.call(
        a,
        "POST",
        &format!("/v1/campaigns/{cmp}/enrollments/{e_ada}/resume"),
        &[],
        Empty,
    )
    .await;
    c.call(
        a,
        "POST",
        &format!("/v1/campaigns/{cmp}/enrollments/{e_ada}/resume"),
        &[],
        Empty,
    )
    .await; // 409
    let reply_to = raw_header(&raw, "Reply-To")
        .trim_matches(['<', '>'])
        .to_owned();
    let reply = format!(
        "From: Ada <ada@work.example>\r\nTo: {reply_to}\r\nSubject: Re: Hello Ada\r\nDate: Tue, 1 Dec 2026 14:40:00 +0000\r\nMessage-ID: <r1@work.example>\r\n\r\nTell me more.\r\n"
    );
    c.call(
        None,
        "POST",
        "/dev/inbound",
        &[],
        Raw("message/rfc822", reply.into_bytes()),
    )
    .await;
    c.call(
        a,
        "GET",
        &format!("/v1/campaigns/{cmp}/enrollments/{e_ada}"),
        &[],
        Empty,
    )
    .await;
    // The replies inbox and a correction.
    let inbox = c
        .call(a, "GET", "/v1/replies?unread=true&limit=5", &[], Empty)
        .await;
    let reply_id = inbox.json()["items"][0]["id"]
        .as_str()
        .expect("the reply is listed")
        .to_owned();
    c.call(a, "GET", "/v1/replies?class=nope", &[], Empty).await; // 422
    c.call(a, "GET", &format!("/v1/replies/{reply_id}"), &[], Empty)
        .await;
    c.call(a, "GET", &format!("/v1/replies/{reply_id}/raw"), &[], Empty)
        .await;
    for body in [
        json!({"read": true, "class": "interested"}),
        json!({"class": "nope"}),
    ] {
        c.call(
            a,
            "PATCH",
            &format!("/v1/replies/{reply_id}"),
            &[],
            Json(body),
        )
        .await; // 200, 422
    }
    c.call(
        a,
        "PATCH",
        "/v1/replies/rpl_none",
        &[],
        Json(json!({"read": true})),
    )
    .await; // 404
    // The statistics: JSON, a bad range.
    c.call(a, "GET", "/v1/stats?group_by=step", &[], Empty)
        .await;
    c.call(a, "GET", "/v1/stats?from=2026-12-01T00:07:00Z", &[], Empty)
        .await; // 422
    c.call(a, "POST", &format!("/v1/campaigns/{cmp}/pause"), &[], Empty)
        .await;
    c.call(a, "POST", &format!("/v1/campaigns/{cmp}/pause"), &[], Empty)
        .await; // 409
    // A colleague without sender rights: 403.
    let refused = c
        .call(
            Some(&bob),
            "POST",
            &format!("/v1/campaigns/{cmp}/resume"),
            &[],
            Empty,
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    c.call(
        a,
        "POST",
        &format!("/v1/campaigns/{cmp}/resume"),
        &[],
        Empty,
    )
    .await;
    c.call(
        None,
        "POST",
        "/dev/clock",
        &[],
        Json(json!({"advance": "PT10M"})),
    )
    .await;
    c.call(
        a,
        "GET",
        &format!("/v1/campaigns/{cmp}/enrollments/{e_grace}"),
        &[],
        Empty,
    )
    .await;
    c.call(
        a,
        "GET",
        &format!("/v1/projects/{prj}/outreach"),
        &[],
        Empty,
    )
    .await;
    c.call(
        a,
        "GET",
        &format!("/v1/projects/{prj}/notifications"),
        &[],
        Empty,
    )
    .await;
    c.call(a, "POST", &format!("/v1/campaigns/{cmp}/stop"), &[], Empty)
        .await;
    c.call(a, "POST", &format!("/v1/campaigns/{cmp}/stop"), &[], Empty)
        .await; // 409
    c.call(
        None,
        "POST",
        "/dev/clock",
        &[],
        Json(json!({"advance": "P2DT1H"})),
    )
    .await;
    c.call(
        a,
        "GET",
        &format!("/v1/campaigns/{cmp}/enrollments/{e_grace}"),
        &[],
        Empty,
    )
    .await;
    c.call(
        a,
        "GET",
        &format!("/v1/campaigns/{cmp}/enrollments?limit=1"),
        &[],
        Empty,
    )
    .await;
    let unsubscribe = raw_header(&raw, "List-Unsubscribe");
    let unsubscribe = unsubscribe
        .trim_matches(['<', '>'])
        .strip_prefix(&c.local.base)
        .unwrap()
        .to_owned();
    c.call(None, "GET", &unsubscribe, &[("accept", "text/html")], Empty)
        .await;
    c.call(
        None,
        "POST",
        &unsubscribe,
        &[],
        Raw(
            "application/x-www-form-urlencoded",
            b"List-Unsubscribe=One-Click".to_vec(),
        ),
    )
    .await;
    c.call(
        None,
        "POST",
        &unsubscribe,
        &[("accept", "text/html")],
        Raw(
            "application/x-www-form-urlencoded",
            b"List-Unsubscribe=One-Click".to_vec(),
        ),
    )
    .await;
    c.call(None, "GET", "/v1/unsubscribe/short", &[], Empty)
        .await; // 404
    c.call(
        None,
        "POST",
        "/v1/unsubscribe/notarealtokenatall0000",
        &[],
        Raw(
            "application/x-www-form-urlencoded",
            b"List-Unsubscribe=One-Click".to_vec(),
        ),
    )
    .await; // 404

    // No credit left: the 101st reveal of an organization with 100.
    let t = c.token("tiny", "tom", false);
    for i in 0..101 {
        let cand = c
            .call(Some(&t), "POST", "/v1/candidates", &[], Json(json!({"first_name": "N", "last_name": format!("{i}"), "emails": [{"address": format!("n{i}@x.example"), "type": "work"}]})))
            .await
            .id();
        let answer = c
            .call(
                Some(&t),
                "POST",
                &format!("/v1/candidates/{cand}/reveal"),
                &[],
                Empty,
            )
            .await;
        assert_eq!(answer.status, if i < 100 { 200 } else { 402 });
    }

    // A single message, sent at once, and an Idempotency-Key replay.
    let single =
        json!({"sender_account_id": acc, "subject": "Quick question", "body": "<p>Hi</p>"});
    for _ in 0..2 {
        c.call(
            a,
            "POST",
            &format!("/v1/candidates/{lin}/messages"),
            &[("Idempotency-Key", "single-1")],
            Json(single.clone()),
        )
        .await;
    }
    c.call(
        a,
        "POST",
        &format!("/v1/candidates/{lin}/messages"),
        &[("Idempotency-Key", "single-1")],
        Json(json!({"sender_account_id": acc, "body": "other"})),
    )
    .await; // 422
    c.call(
        a,
        "GET",
        &format!("/v1/candidates/{lin}/messages"),
        &[],
        Empty,
    )
    .await;

    // Contact history and imports.
    for who in [ada.as_str(), lin.as_str(), "cand_nobody"] {
        c.call(
            a,
            "GET",
            &format!("/v1/candidates/{who}/history"),
            &[],
            Empty,
        )
        .await;
    }
    let form = |csv: &str, campaign: &str| {
        let mut body = format!(
            "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n\r\n{csv}\r\n"
        );
        if !campaign.is_empty() {
            body.push_str(&format!(
                "--b\r\nContent-Disposition: form-data; name=\"campaign_id\"\r\n\r\n{campaign}\r\n"
            ));
        }
        body.push_str("--b--\r\n");
        Raw("multipart/form-data; boundary=b", body.into_bytes())
    };
    let csv = "First Name,Email\nImo,imo@x.example\n,bad\n";
    let import = c
        .call(a, "POST", "/v1/candidates/import", &[], form(csv, ""))
        .await
        .json()["import_id"]
        .as_str()
        .expect("an import id")
        .to_owned();
    // Local mode records a finished import: its state is `done`.
    c.call(a, "GET", &format!("/v1/imports/{import}"), &[], Empty)
        .await;
    c.call(a, "GET", "/v1/imports/imp_nope", &[], Empty).await; // 404
    c.call(a, "POST", "/v1/candidates/import", &[], form(csv, &cmp))
        .await;
    c.call(
        a,
        "POST",
        "/v1/candidates/import",
        &[],
        form(csv, "cmp_nope"),
    )
    .await; // 404
    c.call(
        a,
        "POST",
        "/v1/candidates/import",
        &[],
        form("Foo\n1\n", ""),
    )
    .await; // 422
    c.call(a, "POST", "/v1/candidates/import", &[], Json(json!({})))
        .await; // 400

    // The SNS webhooks exist only where a verifier is configured (AWS).
    for hook in ["/v1/webhooks/ses-events", "/v1/webhooks/inbound"] {
        c.call(
            None,
            "POST",
            hook,
            &[],
            Raw("text/plain", b"{\"Type\": \"Notification\"}".to_vec()),
        )
        .await;
    }

    // Every operation of both documents was called, and answered as documented.
    // Local mode links accounts without proof of control, so no account
    // is ever pending, `resend` can only answer 409 there and no confirmation
    // link is ever mailed (the flow is tested in shared/embedded/tests/accounts.rs
    // and tests/sim/tests/confirmation_links.rs).
    // The SNS webhooks need AWS' signatures and answer 404 in local mode.
    let no_success_in_local_mode = [
        ("/v1/email-accounts/{id}/resend", "post"),
        ("/v1/email-accounts/confirm/{token}", "get"),
        ("/v1/email-accounts/confirm/{token}", "post"),
        ("/v1/email-accounts/not-me/{token}", "get"),
        ("/v1/email-accounts/not-me/{token}", "post"),
        ("/v1/webhooks/ses-events", "post"),
        ("/v1/webhooks/inbound", "post"),
    ];
    let mut missing = Vec::new();
    for (doc, name) in [(&c.docs.v1.doc, "/v1"), (&c.docs.dev.doc, "/dev")] {
        for (path, method) in documented(doc) {
            match c.docs.seen.get(&(path.clone(), method.clone())) {
                Some(statuses) if statuses.iter().any(|s| (200..300).contains(s)) => {}
                Some(_) if no_success_in_local_mode.contains(&(path.as_str(), method.as_str())) => {
                }
                other => missing.push(format!(
                    "{name}: {} {path} ({other:?})",
                    method.to_uppercase()
                )),
            }
        }
    }
    let coverage: Vec<String> = c
        .docs
        .seen
        .iter()
        .map(|((p, m), s)| format!("{} {p}: {s:?}", m.to_uppercase()))
        .collect();
    eprintln!(
        "answers checked against the documents:\n  {}",
        coverage.join("\n  ")
    );
    assert!(
        missing.is_empty(),
        "operations never answered with success: {missing:#?}"
    );
}
