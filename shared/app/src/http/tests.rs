//! The request bodies and views moved out of `usecases/` (issue 17) keep the
//! API as it was: unknown fields answer 422 (SPEC §13) and the OpenAPI
//! document keeps its schema names.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn refuses_unknown<T: DeserializeOwned + std::fmt::Debug>(mut body: Value) {
    let fine = serde_json::from_value::<T>(body.clone());
    assert!(fine.is_ok(), "{body}: {fine:?}");
    body["surprise"] = json!(1);
    let err = serde_json::from_value::<T>(body.clone()).expect_err("an unknown field");
    assert!(err.to_string().contains("unknown field"), "{body}: {err}");
}

#[test]
fn every_moved_request_body_refuses_unknown_fields() {
    refuses_unknown::<super::campaigns::NewCampaign>(json!({
        "name": "Q1", "sender_account_id": "acc_1", "template_id": "tpl_1",
        "when_to_send": {"mode": "best_time"},
    }));
    refuses_unknown::<super::campaigns::CampaignEdit>(json!({"name": "Q2"}));
    refuses_unknown::<super::candidates::NewCandidate>(json!({
        "first_name": "Ada", "last_name": "L",
        "emails": [{"address": "ada@example.com", "type": "work"}],
    }));
    refuses_unknown::<super::candidates::NewEmail>(
        json!({"address": "ada@example.com", "type": "work"}),
    );
    refuses_unknown::<super::candidates::CandidateUpdate>(json!({"title": "CTO"}));
    refuses_unknown::<super::enrollments::AddCandidates>(json!({"candidate_ids": ["cand_1"]}));
    refuses_unknown::<super::enrollments::Overrides>(json!({"address": null}));
    refuses_unknown::<super::messages::NewMessage>(
        json!({"sender_account_id": "acc_1", "subject": "Hi", "body": "b"}),
    );
}

#[test]
fn an_explicit_null_address_override_clears_it_and_an_absent_one_keeps_it() {
    let clear: super::enrollments::Overrides =
        serde_json::from_value(json!({"address": null})).unwrap();
    assert_eq!(clear.address, Some(None));
    let keep: super::enrollments::Overrides = serde_json::from_value(json!({})).unwrap();
    assert_eq!(keep.address, None);
}

#[test]
fn the_document_keeps_the_schema_names_of_the_moved_types() {
    let doc = super::api_doc();
    let schemas = &doc.components.as_ref().unwrap().schemas;
    for name in [
        "NewCampaign",
        "CampaignEdit",
        "NewCandidate",
        "NewEmail",
        "CandidateUpdate",
        "AddCandidates",
        "Overrides",
        "NewMessage",
        "Refusal",
        "RefusalReason",
        "CampaignCounts",
        "StepCounts",
        "PreviewItem",
        "PreviewStep",
        "MissingField",
        "RenderedParts",
    ] {
        assert!(schemas.contains_key(name), "{name} is missing");
    }
    let dev = crate::dev::dev_doc();
    assert!(
        dev.components
            .as_ref()
            .unwrap()
            .schemas
            .contains_key("InboundResult")
    );
}

#[test]
fn the_served_document_is_that_of_every_route_webhooks_included() {
    // Issue 20: `api_doc` takes the webhooks' operations from their
    // annotations, so that the API function links no webhook handler; the
    // document must stay exactly what the full list of routes describes.
    let full = super::openapi::complete(super::routes().into_openapi());
    let served = super::api_doc();
    assert!(
        served.paths.paths.contains_key("/v1/webhooks/ses-events")
            && served.paths.paths.contains_key("/v1/webhooks/inbound")
    );
    assert_eq!(
        serde_json::to_value(&served).unwrap(),
        serde_json::to_value(&full).unwrap()
    );
}

#[test]
fn the_api_function_and_the_webhooks_function_split_the_routes_between_them() {
    // Issue 20: in AWS the API function serves `api_router`, the webhooks
    // function `webhooks_router`; together they serve every route, each once.
    let paths =
        |routes: utoipa_axum::router::OpenApiRouter<std::sync::Arc<crate::service::Service>>| {
            routes
                .into_openapi()
                .paths
                .paths
                .keys()
                .cloned()
                .collect::<std::collections::BTreeSet<String>>()
        };
    let api = paths(super::api_routes());
    let core = paths(super::core_routes());
    let mail = paths(super::mail_routes());
    let accounts = paths(super::accounts_routes());
    // Issue 20: `api`, `api-mail` and `api-accounts` split `api_routes`,
    // each path once.
    assert!(core.is_disjoint(&mail), "{:?}", core.intersection(&mail));
    assert!(
        core.is_disjoint(&accounts),
        "{:?}",
        core.intersection(&accounts)
    );
    assert!(
        mail.is_disjoint(&accounts),
        "{:?}",
        mail.intersection(&accounts)
    );
    let mut all = core.clone();
    all.extend(mail.iter().cloned());
    all.extend(accounts.iter().cloned());
    assert_eq!(all, api);
    // Every path under /v1/email-accounts goes to `api-accounts`, the only
    // API function with the mail service (relinking and confirming call it).
    assert!(
        api.iter()
            .filter(|p| p.starts_with("/v1/email-accounts"))
            .all(|p| accounts.contains(p)),
        "{accounts:?}"
    );
    assert!(accounts.contains("/v1/email-accounts/{id}/relink"));
    assert!(accounts.contains("/v1/email-accounts/confirm/{token}"));
    assert!(core.contains("/v1/unsubscribe/{token}") && mail.contains("/v1/replies"));
    let webhooks = paths(super::webhooks::routes());
    assert_eq!(
        webhooks,
        ["/v1/webhooks/inbound", "/v1/webhooks/ses-events"]
            .map(String::from)
            .into()
    );
    assert!(
        api.iter().all(|p| !p.starts_with("/v1/webhooks")),
        "{api:?}"
    );
    assert!(api.contains("/v1/me") && api.contains("/v1/openapi.json"));
    let mut both = api.clone();
    both.extend(webhooks);
    assert_eq!(both, paths(super::routes()));
}

/// The template's route resources that target `integration`: each route's
/// key and whether it takes the JWT authorizer.
fn template_routes(integration: &str) -> std::collections::BTreeMap<String, bool> {
    let template = include_str!("../../../../infra/template.yaml");
    // The resources: each starts at a line of two spaces' indent.
    let mut resources: Vec<String> = Vec::new();
    for line in template.lines() {
        let starts = line.starts_with("  ") && !line.starts_with("   ") && line.ends_with(':');
        match resources.last_mut() {
            Some(resource) if !starts => resource.push_str(&format!("{line}\n")),
            _ => resources.push(format!("{line}\n")),
        }
    }
    let target = format!("integrations/${{{integration}}}");
    resources
        .iter()
        .filter(|resource| resource.contains(&target))
        .map(|resource| {
            let key = resource
                .lines()
                .find_map(|l| l.trim().strip_prefix("RouteKey: "))
                .unwrap_or_else(|| panic!("a route: {resource}"));
            let jwt = resource.contains("AuthorizationType: JWT");
            assert!(
                jwt || resource.contains("AuthorizationType: NONE"),
                "{resource}"
            );
            (key.to_owned(), jwt)
        })
        .collect()
}

fn route_paths(
    routes: utoipa_axum::router::OpenApiRouter<std::sync::Arc<crate::service::Service>>,
) -> std::collections::BTreeSet<String> {
    routes.into_openapi().paths.paths.keys().cloned().collect()
}

#[test]
fn the_template_routes_every_path_of_the_mail_function_there_and_no_other() {
    // Issue 20: API Gateway sends exactly `mail_routes`' paths to the
    // `api-mail` function (ApiMailIntegration), each with the JWT authorizer;
    // every other path goes to `api` ($default or its own route) or to
    // `api-accounts`.
    let routed = template_routes("ApiMailIntegration");
    let paths: std::collections::BTreeSet<String> = routed
        .iter()
        .map(|(key, jwt)| {
            assert!(jwt, "{key} needs a token");
            key.strip_prefix("ANY ")
                .unwrap_or_else(|| panic!("an ANY route: {key}"))
                .to_owned()
        })
        .collect();
    assert_eq!(paths, route_paths(super::mail_routes()));
}

#[test]
fn the_template_routes_every_path_of_the_accounts_function_there_and_no_other() {
    // Issue 20: the sender accounts' paths go to `api-accounts`
    // (ApiAccountsIntegration): every method (ANY) with the JWT authorizer,
    // but the confirmation and "this wasn't me" pages a person opens from
    // the mail, GET and POST without a token.
    let routed = template_routes("ApiAccountsIntegration");
    let mut paths = std::collections::BTreeSet::new();
    for (key, jwt) in &routed {
        let (method, path) = key.split_once(' ').expect("METHOD /path");
        let public = path.starts_with("/v1/email-accounts/confirm/")
            || path.starts_with("/v1/email-accounts/not-me/");
        if public {
            assert!(!jwt && (method == "GET" || method == "POST"), "{key}");
        } else {
            assert!(*jwt && method == "ANY", "{key}");
        }
        paths.insert(path.to_owned());
    }
    assert_eq!(paths, route_paths(super::accounts_routes()));
    assert_eq!(
        routed.len(),
        paths.len() + 2,
        "each public page by GET and POST: {routed:?}"
    );
}
