//! Tenancy sweep: every route of the OpenAPI document — not a
//! hand list — is called through the real router with the first
//! organization's ids, as another organization and as a colleague.
//!
//! - As a user of another organization, every route that names an id answers
//!   404, and no answer of any route contains the first organization's data.
//! - As a second user of the same organization, no answer contains the first
//!   user's manually added address, which only its author may see.
//!
//! Request bodies are made from the document's schemas (required fields only),
//! so that a route judges the id, not the shape of the body.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, Utc};
use http_body_util::BodyExt;
use outreach_app::auth::{Hs256Authenticator, Identity, issue_hs256};
use outreach_app::ports::{Clock, IdSource};
use outreach_app::usecases::campaigns::NewCampaign;
use outreach_app::usecases::catalog::candidates::{NewCandidate, NewEmail};
use outreach_app::usecases::enrollments::AddCandidates;
use outreach_app::usecases::sending::messages::NewMessage;
use outreach_app::{Config, Ports, Service};
use outreach_domain::campaign::{StepSpec, WhenToSend};
use outreach_domain::candidate::EmailType;
use outreach_domain::ids::{OrgId, UserId};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

const SECRET: &[u8] = b"tenancy-sweep-secret";
const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];
/// The first user's manual address: nobody else may ever see it.
const MANUAL: &str = "zq-private@manual-only.example";

struct World {
    router: axum::Router,
    service: Arc<Service>,
    scheduler: Arc<LocalScheduler>,
    clock: Arc<LocalClock>,
    _dir: tempfile::TempDir,
}

fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::in_memory().expect("db");
    let clock = Arc::new(LocalClock::manual(db.clone(), Utc::now()));
    let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
    let store = Arc::new(SqliteStore::new(db.clone()));
    let scheduler = Arc::new(LocalScheduler::new(db.clone()));
    let outbox = Arc::new(
        OutboxMailer::new(db, dir.path().join("outbox"), clock.clone(), ids.clone())
            .expect("outbox"),
    );
    let service = Service::new(
        Ports {
            store,
            scheduler: scheduler.clone(),
            mailer: outbox.clone(),
            clock: clock.clone(),
            ids,
            auth: Arc::new(Hs256Authenticator::new(SECRET)),
            identities: outbox,
            queue: scheduler.clone(),
        },
        Config::local(3000),
    );
    World {
        router: outreach_app::http::router(service.clone()),
        service,
        scheduler,
        clock,
        _dir: dir,
    }
}

fn identity(org: &str, user: &str) -> Identity {
    Identity {
        org_id: OrgId::from(org),
        user_id: UserId::from(user),
        email: None,
        admin: false,
    }
}

fn token(org: &str, user: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    issue_hs256(SECRET, org, user, None, false, now, 3600).expect("a token")
}

/// The first organization's ids by path parameter, and the strings that must
/// never reach another organization.
struct Acme {
    account: String,
    candidate: String,
    project: String,
    template: String,
    campaign: String,
    enrollment: String,
    reply: String,
    import: String,
    secrets: Vec<String>,
}

/// Everything of organization `acme`, made by its user `alice`: an account, a
/// candidate with a manual address and a pin, a template, a running campaign
/// whose first message went out, a single message to the manual address.
async fn acme(w: &World) -> Acme {
    let s = &w.service;
    let alice = identity("acme", "alice");
    s.accounts()
        .update_me(
            &alice,
            Some("Alice Acme-Secret".into()),
            Some("Europe/Berlin".into()),
        )
        .await
        .unwrap();
    let account = s
        .accounts()
        .link_account(
            &alice,
            "alice@acme-secret.example",
            Some("Alice Acme-Secret".into()),
        )
        .await
        .unwrap();
    let candidate = s
        .catalog()
        .create_candidate(
            &alice,
            NewCandidate {
                first_name: "Zenobia".into(),
                last_name: "Quixote-Secret".into(),
                title: Some("Chief Secret Officer".into()),
                company: Some("Secret Works".into()),
                location: Some("Secretville".into()),
                timezone: None,
                emails: vec![
                    NewEmail {
                        address: "zq@home-secret.example".into(),
                        kind: EmailType::Personal,
                    },
                    NewEmail {
                        address: "zq@work-secret.example".into(),
                        kind: EmailType::Work,
                    },
                ],
            },
        )
        .await
        .unwrap();
    let id = candidate.id.to_string();
    s.catalog()
        .add_manual_email(&alice, &id, MANUAL, EmailType::Personal)
        .await
        .unwrap();
    let project = s
        .catalog()
        .create_project(&alice, "Project Acme-Secret")
        .await
        .unwrap();
    s.catalog()
        .pin_address(&alice, &project.id, &id, "zq@work-secret.example")
        .await
        .unwrap();
    let steps = vec![
        StepSpec {
            subject: Some("Hello {{ candidate.first_name }}".into()),
            body: "<p>Acme secret pitch</p>".into(),
            text: None,
            delay_days: 0,
        },
        StepSpec {
            subject: None,
            body: "<p>Acme secret follow-up</p>".into(),
            text: None,
            delay_days: 2,
        },
    ];
    let template = s
        .catalog()
        .create_template(&alice, "Template Acme-Secret", steps.clone())
        .await
        .unwrap();
    let campaign = s
        .campaigns()
        .create_campaign(
            &alice,
            &project.id,
            NewCampaign {
                name: "Campaign Acme-Secret".into(),
                sender_account_id: account.id.to_string(),
                template_id: None,
                steps: Some(steps),
                timezone: Some("UTC".into()),
                when_to_send: WhenToSend::WhenStarted,
                recipient: None,
                skip_weekends: false,
                timezone_mode: Default::default(),
                daily_limit: None,
            },
        )
        .await
        .unwrap();
    let added = s
        .enrollments()
        .add_candidates(
            &alice,
            campaign.id.as_str(),
            AddCandidates {
                candidate_ids: vec![id.clone()],
                allow_duplicate: false,
            },
        )
        .await
        .unwrap();
    s.campaigns()
        .start_campaign(&alice, campaign.id.as_str())
        .await
        .unwrap();
    let until = w.clock.now() + Duration::minutes(30);
    while let Some(wake_up) = w.scheduler.next_due(until).unwrap() {
        w.clock.set(wake_up.at);
        s.sending().run_job(&wake_up.job).await.unwrap();
        w.scheduler.complete(&wake_up).unwrap();
    }
    let (_, single) = s
        .sending()
        .send_single(
            &alice,
            &id,
            NewMessage {
                sender_account_id: Some(account.id.to_string()),
                template_id: None,
                step_index: None,
                subject: Some("A private note".into()),
                body: Some("<p>To your private address</p>".into()),
                address: Some(MANUAL.into()),
                in_reply_to: None,
            },
        )
        .await
        .unwrap();
    let enrollment = added.enrollments[0].id.to_string();
    // Alice sends the rest of her sequence to her manual address.
    s.enrollments()
        .set_overrides(
            &alice,
            campaign.id.as_str(),
            &enrollment,
            outreach_app::usecases::enrollments::Overrides {
                address: Some(Some(MANUAL.into())),
                custom_fields: None,
            },
        )
        .await
        .unwrap();
    // The candidate answers: a reply on Alice's inbox.
    // A reply to the single message, so that the campaign keeps running.
    let token = single.reply_token;
    let raw = format!(
        "From: Z <zq@work-secret.example>\r\nTo: reply+{token}@{}\r\nSubject: Re: Acme-Secret\r\nMessage-ID: <acme-secret-reply@work-secret.example>\r\n\r\nSounds good, let's talk.\r\n",
        s.config().reply_domain
    );
    s.returns()
        .handle_inbound(
            raw.as_bytes(),
            // No DMARC pass: only the token matches, so the
            // campaign's enrollment keeps running.
            outreach_app::usecases::returns::inbound::Verdicts {
                sender_authenticated: false,
            },
        )
        .await
        .unwrap();
    let reply = s
        .returns()
        .replies(
            &alice,
            &Default::default(),
            &outreach_app::ports::PageRequest {
                limit: 1,
                after: None,
            },
        )
        .await
        .unwrap()
        .items[0]
        .reply
        .id
        .clone();
    // An import: its record answers GET /v1/imports/{id}.
    let import = s
        .catalog()
        .import_candidates(
            &alice,
            outreach_app::usecases::catalog::import::ImportInput {
                file: b"First Name,Email\nImport-Secret,imported@import-secret.example\n,bad\n"
                    .to_vec(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .done()
        .unwrap()
        .import_id
        .unwrap();
    Acme {
        import,
        reply: reply.clone(),
        secrets: vec![
            reply,
            account.id.to_string(),
            id.clone(),
            project.id.clone(),
            template.id.to_string(),
            campaign.id.to_string(),
            enrollment.clone(),
            "acme-secret.example".into(),
            "import-secret.example".into(),
            "Import-Secret".into(),
            "home-secret.example".into(),
            "work-secret.example".into(),
            MANUAL.into(),
            "Quixote-Secret".into(),
            "Secret Works".into(),
            "Acme-Secret".into(),
        ],
        account: account.id.to_string(),
        candidate: id,
        project: project.id,
        template: template.id.to_string(),
        campaign: campaign.id.to_string(),
        enrollment,
    }
}

/// `path` with the first organization's id for each of its parameters.
fn with_ids(path: &str, a: &Acme) -> String {
    let resource = path.split('/').nth(2).unwrap_or_default();
    path.split('/')
        .map(|segment| match segment {
            "{id}" => match resource {
                "candidates" => a.candidate.clone(),
                "projects" => a.project.clone(),
                "templates" => a.template.clone(),
                "campaigns" => a.campaign.clone(),
                "email-accounts" => a.account.clone(),
                "replies" => a.reply.clone(),
                "imports" => a.import.clone(),
                other => panic!("no id for /v1/{other}/{{id}}"),
            },
            "{eid}" => a.enrollment.clone(),
            "{candidate_id}" => a.candidate.clone(),
            "{user_id}" => "alice".into(),
            s if s.starts_with('{') => panic!("no id for {s} in {path}"),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    while let Some(r) = v.get("$ref").and_then(Value::as_str) {
        let path = r.trim_start_matches("#/");
        v = path.split('/').fold(doc, |node, key| &node[key]);
    }
    v
}

/// The caller's own ids, for body fields that name the caller's resources.
static OWN: std::sync::OnceLock<std::sync::Mutex<Map<String, Value>>> = std::sync::OnceLock::new();

fn own(field: &str) -> Option<Value> {
    OWN.get()?.lock().ok()?.get(field).cloned()
}

/// A value that satisfies `schema`: its required fields only; fields naming
/// the caller's own resources get the caller's ids.
fn example(doc: &Value, schema: &Value, name: &str) -> Value {
    if let Some(v) = own(name) {
        return v;
    }
    let schema = resolve(doc, schema);
    if let Some(e) = schema.get("example") {
        return e.clone();
    }
    for combinator in ["oneOf", "anyOf"] {
        if let Some(first) = schema[combinator]
            .as_array()
            .and_then(|a| a.iter().find(|s| resolve(doc, s)["type"] != "null"))
        {
            return example(doc, first, name);
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        let mut merged = Map::new();
        for part in all {
            if let Value::Object(o) = example(doc, part, name) {
                merged.extend(o);
            }
        }
        return Value::Object(merged);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null")
            .unwrap_or("null")
            .to_owned(),
        Value::String(k) => k.clone(),
        _ if schema.get("properties").is_some() => "object".into(),
        _ => "null".into(),
    };
    match kind.as_str() {
        "object" => {
            let mut out = Map::new();
            for field in schema["required"].as_array().into_iter().flatten() {
                let field = field.as_str().unwrap_or_default();
                out.insert(
                    field.into(),
                    example(doc, &schema["properties"][field], field),
                );
            }
            Value::Object(out)
        }
        "array" => {
            let min = schema["minItems"].as_u64().unwrap_or(0);
            Value::Array(
                (0..min)
                    .map(|_| example(doc, &schema["items"], name))
                    .collect(),
            )
        }
        "integer" | "number" => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        "boolean" => json!(false),
        "string" => {
            let format = schema["format"].as_str().unwrap_or_default();
            if format == "email" || name.contains("address") || name == "email" {
                json!("someone@globex.example")
            } else if format == "date-time" {
                json!(Utc::now().to_rfc3339())
            } else if name == "timezone" {
                json!("UTC")
            } else if name == "time" {
                json!("09:00")
            } else {
                json!("x")
            }
        }
        _ => Value::Null,
    }
}

async fn call(
    w: &World,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, String) {
    let mut request = Request::builder()
        .method(method.to_uppercase().as_str())
        .uri(path)
        .header("authorization", format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            request = request.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let response = w
        .router
        .clone()
        .oneshot(request.body(body).expect("a request"))
        .await
        .expect("an answer");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Every (method, path, body) of the document that needs a bearer token.
fn operations(doc: &Value) -> Vec<(String, String, Option<Value>)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(*method) else {
                continue;
            };
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if !secured {
                continue;
            }
            let body = op["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
                .map(|s| example(doc, &Value::Object(s.clone()), "body"));
            out.push(((*method).to_owned(), path.clone(), body));
        }
    }
    out
}

#[tokio::test]
async fn another_organization_gets_404_and_nothing_of_ours_from_every_route() {
    let w = world();
    let a = acme(&w).await;
    let doc = serde_json::to_value(outreach_app::http::api_doc()).expect("the document");
    let globex = token("globex", "gary");
    // Gary has his own sender account, which bodies name where they need one.
    let gary = identity("globex", "gary");
    let account = w
        .service
        .accounts()
        .link_account(&gary, "gary@globex.example", Some("Gary".into()))
        .await
        .unwrap();
    OWN.get_or_init(Default::default)
        .lock()
        .unwrap()
        .insert("sender_account_id".into(), json!(account.id.to_string()));
    let ops = operations(&doc);
    assert!(ops.len() > 40, "{} operations", ops.len());
    let mut failures = Vec::new();
    let mut seen_paths = BTreeSet::new();
    for (method, path, body) in ops {
        seen_paths.insert(path.clone());
        let url = with_ids(&path, &a);
        let (status, text) = call(&w, &method, &url, &globex, body.clone()).await;
        let here = format!("{} {url}", method.to_uppercase());
        if path.contains('{') && status != StatusCode::NOT_FOUND {
            failures.push(format!(
                "{here} answered {status}, not 404: {}",
                text.chars().take(200).collect::<String>()
            ));
        }
        for secret in &a.secrets {
            if text.contains(secret.as_str()) {
                failures.push(format!(
                    "{here} ({status}) shows the other organization's {secret:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "tenancy failures:\n  {}",
        failures.join("\n  ")
    );
    // Nothing of ours changed: alice still sees her campaign running.
    let (status, text) = call(
        &w,
        "get",
        &format!("/v1/campaigns/{}", a.campaign),
        &token("acme", "alice"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("\"running\""), "{text}");
    assert!(seen_paths.len() > 25);
}

#[tokio::test]
async fn a_colleague_never_sees_a_manual_address() {
    let w = world();
    let a = acme(&w).await;
    let doc = serde_json::to_value(outreach_app::http::api_doc()).expect("the document");
    let bob = token("acme", "bob");
    let mut failures = Vec::new();
    let mut answered = 0;
    // Reads only: a colleague's writes would change what the others see.
    for (method, path, _) in operations(&doc).into_iter().filter(|(m, _, _)| m == "get") {
        let url = with_ids(&path, &a);
        let (status, text) = call(&w, &method, &url, &bob, None).await;
        if status.is_success() {
            answered += 1;
        }
        if text.contains(MANUAL) {
            failures.push(format!(
                "GET {url} ({status}) shows alice's manual address to bob"
            ));
        }
    }
    assert!(answered > 10, "bob read {answered} routes");
    assert!(
        failures.is_empty(),
        "R-3.3 failures:\n  {}",
        failures.join("\n  ")
    );
    // Alice herself sees it, so the sweep looked where it can appear.
    let (_, text) = call(
        &w,
        "get",
        &format!("/v1/candidates/{}", a.candidate),
        &token("acme", "alice"),
        None,
    )
    .await;
    assert!(text.contains(MANUAL), "{text}");
}
