//! The OpenAPI documents (SPEC §13) are generated from the router's own
//! registrations and are well-formed OpenAPI 3.1. The end-to-end tests
//! (`tests/e2e/openapi.rs`) check the assembled local-mode router against them,
//! validate them with the reference validator and check every answer.

use std::collections::BTreeSet;

use serde_json::Value;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// The paths an axum router matches, from its `Debug` output (axum has no
/// other list of routes).
fn router_paths<S>(router: &axum::Router<S>) -> BTreeSet<String> {
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
        if let Some(path) = rest[close + 1..].strip_prefix(": \"") {
            let end = path.find('"').expect("a quoted path");
            if !path[..end].contains("__private__axum") {
                paths.insert(path[..end].to_owned());
            }
        }
    }
    paths
}

fn doc_paths(doc: &Value) -> BTreeSet<String> {
    doc["paths"].as_object().unwrap().keys().cloned().collect()
}

#[test]
fn the_routers_and_the_documents_come_from_the_same_registrations() {
    let (router, doc) = outreach_app::http::routes().split_for_parts();
    let doc = serde_json::to_value(doc).unwrap();
    let paths = router_paths(&router);
    assert!(paths.contains("/v1/me"), "the router's paths are readable");
    assert_eq!(paths, doc_paths(&doc));

    let (control, control_doc) = outreach_app::dev::control_routes().split_for_parts();
    let (events, events_doc) = outreach_app::dev::event_routes().split_for_parts();
    let mut dev_paths = router_paths(&control);
    dev_paths.extend(router_paths(&events));
    let mut documented = doc_paths(&serde_json::to_value(control_doc).unwrap());
    documented.extend(doc_paths(&serde_json::to_value(events_doc).unwrap()));
    assert_eq!(dev_paths, documented);
    assert_eq!(
        documented,
        doc_paths(&serde_json::to_value(outreach_app::dev::dev_doc()).unwrap())
    );
}

/// Every `$ref` in `v` resolves within `doc`.
fn check_refs(doc: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                match r.strip_prefix('#') {
                    Some(pointer) if doc.pointer(pointer).is_some() => {}
                    _ => errors.push(format!("{at}: $ref {r} does not resolve")),
                }
            }
            for (k, sub) in map {
                check_refs(doc, sub, &format!("{at}/{k}"), errors);
            }
        }
        Value::Array(items) => {
            for (i, sub) in items.iter().enumerate() {
                check_refs(doc, sub, &format!("{at}/{i}"), errors);
            }
        }
        _ => {}
    }
}

fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    while let Some(r) = v.get("$ref").and_then(Value::as_str) {
        v = doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or(&Value::Null);
    }
    v
}

/// The rules of OpenAPI 3.1 a generator could break: version, references,
/// path parameters, unique operation ids, responses, security and tags.
fn well_formed(name: &str, doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let version = doc["openapi"].as_str().unwrap_or_default();
    if !version.starts_with("3.1.") {
        errors.push(format!("openapi is {version:?}"));
    }
    if doc["info"]["title"].as_str().is_none_or(str::is_empty)
        || doc["info"]["version"].as_str().is_none_or(str::is_empty)
    {
        errors.push("info needs a title and a version".into());
    }
    check_refs(doc, doc, "#", &mut errors);
    let schemes = doc["components"]["securitySchemes"].as_object();
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with('/') {
            errors.push(format!("{path}: a path starts with /"));
        }
        let templated: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let here = format!("{} {path}", method.to_uppercase());
            let params: Vec<&Value> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| resolve(doc, p))
                .collect();
            let in_path: BTreeSet<String> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
                .collect();
            if in_path != templated {
                errors.push(format!(
                    "{here}: path parameters {in_path:?} ≠ {templated:?}"
                ));
            }
            if params
                .iter()
                .any(|p| p["in"] == "path" && p["required"] != true)
            {
                errors.push(format!("{here}: path parameters are required"));
            }
            let mut seen = BTreeSet::new();
            for p in &params {
                if !["path", "query", "header", "cookie"].contains(&p["in"].as_str().unwrap_or(""))
                {
                    errors.push(format!("{here}: parameter {p} has no valid `in`"));
                }
                if !seen.insert((p["name"].to_string(), p["in"].to_string())) {
                    errors.push(format!("{here}: parameter {} twice", p["name"]));
                }
            }
            match op["operationId"].as_str() {
                Some(id) if operation_ids.insert(id.to_owned()) => {}
                other => errors.push(format!("{here}: operationId {other:?} missing or repeated")),
            }
            let responses = op["responses"].as_object().cloned().unwrap_or_default();
            if !responses.keys().any(|s| s.starts_with('2')) {
                errors.push(format!("{here}: no success response"));
            }
            for (status, r) in &responses {
                let valid = status == "default"
                    || status.len() == 3 && status.chars().all(|c| c.is_ascii_digit() || c == 'X');
                if !valid || resolve(doc, r)["description"].as_str().is_none() {
                    errors.push(format!("{here}: response {status} is not valid"));
                }
            }
            for requirement in op["security"].as_array().into_iter().flatten() {
                for scheme in requirement.as_object().unwrap().keys() {
                    if !schemes.is_some_and(|s| s.contains_key(scheme)) {
                        errors.push(format!("{here}: unknown security scheme {scheme}"));
                    }
                }
            }
            for tag in op["tags"].as_array().into_iter().flatten() {
                if !tags.contains(tag.as_str().unwrap_or_default()) {
                    errors.push(format!("{here}: tag {tag} is not declared"));
                }
            }
        }
    }
    errors.into_iter().map(|e| format!("{name}: {e}")).collect()
}

#[test]
fn the_documents_are_well_formed_openapi_3_1() {
    let v1 = serde_json::to_value(outreach_app::http::api_doc()).unwrap();
    let dev = serde_json::to_value(outreach_app::dev::dev_doc()).unwrap();
    let mut errors = well_formed("/v1/openapi.json", &v1);
    errors.extend(well_formed("/dev/openapi.json", &dev));
    assert!(errors.is_empty(), "{errors:#?}");
    // Every non-public route of the API takes the bearer token; the public
    // ones are the unsubscribe, confirmation and "this wasn't me" links, the SNS webhooks
    // (SNS-signed) and this document.
    for (path, item) in v1["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                let public = path.starts_with("/v1/unsubscribe/")
                    || path.starts_with("/v1/email-accounts/confirm/")
                    || path.starts_with("/v1/email-accounts/not-me/")
                    || path.starts_with("/v1/webhooks/")
                    || path == "/v1/openapi.json";
                assert_eq!(
                    op.get("security").is_none(),
                    public,
                    "{method} {path}: security"
                );
            }
        }
    }
    assert!(
        dev["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| METHODS.iter().filter_map(|m| item.get(*m)))
            .all(|op| op["tags"] == serde_json::json!([outreach_app::dev::TAG])),
        "every /dev route is tagged as local mode only"
    );
}

#[test]
fn the_readme_names_every_documented_route() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("the README");
    let start = readme
        .find("\n## API\n")
        .expect("the README has an API section");
    let section = &readme[start + 1..];
    let section = &section[..section[1..].find("\n## ").map_or(section.len(), |i| i + 1)];
    assert!(section.contains("/v1/openapi.json") && section.contains("/dev/openapi.json"));
    let mut missing = Vec::new();
    for doc in [
        serde_json::to_value(outreach_app::http::api_doc()).unwrap(),
        serde_json::to_value(outreach_app::dev::dev_doc()).unwrap(),
    ] {
        for (path, item) in doc["paths"].as_object().unwrap() {
            let needle = format!("{path}`");
            for method in METHODS {
                // Each route's path and each of its methods, in one row.
                if item.get(method).is_some()
                    && !section.lines().any(|l| {
                        l.contains(&format!(" {needle}"))
                            && l.contains(&format!("`{}", method.to_uppercase()))
                    })
                {
                    missing.push(format!("{} {path}", method.to_uppercase()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes the README's API table does not name: {missing:?}"
    );
}

/// Issue 20: `/v1/openapi.json` serves the document checked in as
/// `src/http/openapi.json` (no function builds it), which must be the one the
/// routes' registrations give. After a change to a route or a view, regenerate
/// it: `OUTREACH_UPDATE_OPENAPI=1 cargo test -p outreach-app --test openapi`.
#[test]
fn the_served_document_is_the_generated_one() {
    let generated = outreach_app::http::api_doc()
        .to_pretty_json()
        .expect("the document serializes");
    if std::env::var_os("OUTREACH_UPDATE_OPENAPI").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/openapi.json");
        std::fs::write(path, &generated).expect("openapi.json written");
        return;
    }
    let served = outreach_app::http::API_DOC_JSON;
    if let Some((line, (old, new))) = served
        .lines()
        .zip(generated.lines())
        .enumerate()
        .find(|(_, (old, new))| old != new)
    {
        panic!(
            "src/http/openapi.json is stale at line {}: {old:?}, generated {new:?} \
             (OUTREACH_UPDATE_OPENAPI=1 cargo test -p outreach-app --test openapi)",
            line + 1
        );
    }
    assert_eq!(
        served.lines().count(),
        generated.lines().count(),
        "src/http/openapi.json is stale (OUTREACH_UPDATE_OPENAPI=1 cargo test -p outreach-app --test openapi)"
    );
    assert_eq!(served, generated);
}
