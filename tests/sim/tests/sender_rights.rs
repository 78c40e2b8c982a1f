//! Sender rights (R-2.4, SPEC §13 403): only an account's owner and its
//! current delegates may cause mail to leave from it.
//!
//! The sweep is built like the tenancy sweep: every operation of the OpenAPI
//! document — not a hand list — is called through the real router against
//! Alice's account, campaign and enrollments, by
//!
//! - Bob, a colleague of the same organization who was never a delegate;
//! - Carol, a delegate whose grant Alice revoked, on Alice's campaign and on
//!   Carol's own campaign that sends from Alice's account.
//!
//! Each write runs in a world of its own. Afterwards Alice resumes her own
//! campaign (her legitimate action) and time runs ten days forward: every
//! message that leaves from Alice's account must be one Alice's own actions
//! cause without the call, in Alice's words. The answers are checked too:
//! the actions answer 403 exactly where the document says so, safety
//! actions (pause, stop, remove) stay open to colleagues, and a body naming
//! Alice's account answers 422 on that field.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, Utc};
use http_body_util::BodyExt;
use outreach_app::auth::{Hs256Authenticator, Identity, issue_hs256};
use outreach_app::ports::{Clock, IdSource, PageRequest};
use outreach_app::usecases::campaigns::NewCampaign;
use outreach_app::usecases::catalog::candidates::{NewCandidate, NewEmail};
use outreach_app::usecases::enrollments::AddCandidates;
use outreach_app::{Config, Ports, Service};
use outreach_domain::campaign::{StepSpec, WhenToSend};
use outreach_domain::candidate::EmailType;
use outreach_domain::ids::{OrgId, UserId};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

const SECRET: &[u8] = b"sender-rights-secret";
const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];
const ALICE_ADDRESS: &str = "alice@acme.example";
/// What Bob and Carol write wherever a body takes words.
const INTRUDER_WORDS: &str = "Intruder words";
/// In each of Alice's steps: every message from her campaign carries one.
const ALICE_MARK: &str = "alice-step-";

/// the actions that can make mail leave from a campaign's sender
/// account, by (method, path): each needs sender rights. Creating a campaign
/// and sending a single message name the account in their body (422 there).
const NEEDS_RIGHTS: &[(&str, &str)] = &[
    ("patch", "/v1/campaigns/{id}"),
    ("post", "/v1/campaigns/{id}/start"),
    ("post", "/v1/campaigns/{id}/resume"),
    ("post", "/v1/campaigns/{id}/enrollments"),
    ("patch", "/v1/campaigns/{id}/enrollments/{eid}"),
    ("post", "/v1/campaigns/{id}/enrollments/{eid}/resume"),
    ("post", "/v1/campaigns/{id}/enrollments/{eid}/retry"),
    // An import with `campaign_id` adds its candidates to the campaign.
    ("post", "/v1/candidates/import"),
];
/// safety actions any user who sees the campaign may take.
const SAFETY: &[(&str, &str)] = &[
    ("post", "/v1/campaigns/{id}/pause"),
    ("post", "/v1/campaigns/{id}/stop"),
    ("post", "/v1/campaigns/{id}/enrollments/{eid}/pause"),
    ("post", "/v1/campaigns/{id}/enrollments/{eid}/remove"),
];
/// a body naming a sender account the caller cannot use: 422 on it.
/// Routes that answer 403 for another reason than: the account's owner
/// alone changes it, and a delegate sees it (R-6.7's daily limit).
/// A reply's raw message is read by the campaign's and the sender account's
/// owners alone.
const OWNER_ONLY: &[(&str, &str)] = &[
    ("patch", "/v1/email-accounts/{id}"),
    ("get", "/v1/replies/{id}/raw"),
];
/// Routes that answer 403 under only with a body field the sweep's
/// examples leave out: an answer to a reply (`in_reply_to`, R-12.2) by a
/// caller who may not send from the replied-to account (tests/e2e/inbox.rs).
const ANSWER_ONLY: &[(&str, &str)] = &[("post", "/v1/candidates/{id}/messages")];

const NAMES_SENDER: &[(&str, &str)] = &[
    ("post", "/v1/projects/{id}/campaigns"),
    ("post", "/v1/candidates/{id}/messages"),
];

struct World {
    router: axum::Router,
    service: Arc<Service>,
    scheduler: Arc<LocalScheduler>,
    clock: Arc<LocalClock>,
    outbox: Arc<OutboxMailer>,
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
            identities: outbox.clone(),
            queue: scheduler.clone(),
        },
        Config::local(3000),
    );
    World {
        router: outreach_app::http::router(service.clone()),
        service,
        scheduler,
        clock,
        outbox,
        _dir: dir,
    }
}

fn identity(user: &str) -> Identity {
    Identity {
        org_id: OrgId::from("acme"),
        user_id: UserId::from(user),
        email: None,
        admin: false,
    }
}

/// A delegation to `user` of the owner's organization.
fn delegate(owner: &Identity, user: &str) -> outreach_app::model::Delegate {
    outreach_app::model::Delegate {
        org_id: owner.org_id.clone(),
        user_id: UserId::from(user),
    }
}

fn token(user: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    issue_hs256(SECRET, "acme", user, None, false, now, 3600).expect("a token")
}

/// Runs every wake-up due until `days` from now, then the sweeper
/// and what it planned.
async fn run_forward(w: &World, days: i64) {
    let until = w.clock.now() + Duration::days(days);
    for pass in 0..2 {
        while let Some(wake_up) = w.scheduler.next_due(until).unwrap() {
            if wake_up.at > w.clock.now() {
                w.clock.set(wake_up.at);
            }
            w.service.sending().run_job(&wake_up.job).await.unwrap();
            w.scheduler.complete(&wake_up).unwrap();
        }
        if pass == 0 {
            w.clock.set(until);
            w.service
                .sending()
                .sweep(Duration::minutes(5))
                .await
                .unwrap();
        }
    }
}

/// Alice's account, candidates, project and campaign, and Carol's campaign
/// from Alice's account (made while Carol was a delegate).
struct Scene {
    account: String,
    project: String,
    template: String,
    /// Not enrolled anywhere: what the sweep's bodies add and mail.
    fresh_candidate: String,
    /// Alice's, paused by Alice: step 1 went out to both enrollments, the
    /// second enrollment is paused too.
    alice_campaign: String,
    alice_enrollments: Vec<String>,
    /// Carol's, paused with `sender_revoked` when Alice revoked her grant.
    carol_campaign: String,
    carol_enrollments: Vec<String>,
    /// Messages from Alice's account before the call under test.
    sent_before: usize,
}

fn steps(who: &str) -> Vec<StepSpec> {
    vec![
        StepSpec {
            subject: Some(format!("Hello from {who}")),
            body: format!("<p>{who}-step-1 pitch</p>"),
            text: None,
            delay_days: 0,
        },
        StepSpec {
            subject: None,
            body: format!("<p>{who}-step-2 follow-up</p>"),
            text: None,
            delay_days: 2,
        },
    ]
}

async fn candidate(s: &Service, who: &Identity, name: &str) -> String {
    s.catalog()
        .create_candidate(
            who,
            NewCandidate {
                first_name: name.into(),
                last_name: "Doe".into(),
                title: None,
                company: None,
                location: None,
                timezone: None,
                emails: vec![NewEmail {
                    address: format!("{}@candidates.example", name.to_lowercase()),
                    kind: EmailType::Work,
                }],
            },
        )
        .await
        .unwrap()
        .id
        .to_string()
}

async fn campaign(
    s: &Service,
    who: &Identity,
    project: &str,
    account: &str,
    candidates: Vec<String>,
) -> (String, Vec<String>) {
    let c = s
        .campaigns()
        .create_campaign(
            who,
            project,
            NewCampaign {
                name: format!("{}'s campaign", who.user_id),
                sender_account_id: account.into(),
                template_id: None,
                steps: Some(steps(who.user_id.as_str())),
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
            who,
            c.id.as_str(),
            AddCandidates {
                candidate_ids: candidates,
                allow_duplicate: false,
            },
        )
        .await
        .unwrap();
    assert!(added.refused.is_empty());
    s.campaigns()
        .start_campaign(who, c.id.as_str())
        .await
        .unwrap();
    let enrollments = added.enrollments.iter().map(|e| e.id.to_string()).collect();
    (c.id.to_string(), enrollments)
}

async fn scene(w: &World) -> Scene {
    let s = &w.service;
    let (alice, carol) = (identity("alice"), identity("carol"));
    let account = s
        .accounts()
        .link_account(&alice, ALICE_ADDRESS, Some("Alice".into()))
        .await
        .unwrap()
        .id
        .to_string();
    s.accounts()
        .add_delegate(&alice, &account, delegate(&alice, "carol"))
        .await
        .unwrap();
    let project = s
        .catalog()
        .create_project(&alice, "Hiring")
        .await
        .unwrap()
        .id;
    let template = s
        .catalog()
        .create_template(&alice, "Alice's template", steps("alice"))
        .await
        .unwrap()
        .id
        .to_string();
    let z1 = candidate(s, &alice, "Zoe").await;
    let z2 = candidate(s, &alice, "Zack").await;
    let z3 = candidate(s, &alice, "Zelda").await;
    let fresh_candidate = candidate(s, &alice, "Zora").await;
    let (alice_campaign, alice_enrollments) =
        campaign(s, &alice, &project, &account, vec![z1, z2]).await;
    let (carol_campaign, carol_enrollments) =
        campaign(s, &carol, &project, &account, vec![z3]).await;
    run_forward(w, 1).await;
    s.enrollments()
        .pause_enrollment(&alice, &alice_campaign, &alice_enrollments[1])
        .await
        .unwrap();
    s.campaigns()
        .pause_campaign(&alice, &alice_campaign)
        .await
        .unwrap();
    s.accounts()
        .remove_delegate(&alice, &account, &delegate(&alice, "carol"))
        .await
        .unwrap();
    let carols = s
        .campaigns()
        .campaign(&carol, &carol_campaign)
        .await
        .unwrap()
        .value;
    assert_eq!(
        serde_json::to_value(carols.pause_reason).unwrap(),
        json!("sender_revoked")
    );
    let sent_before = from_alice(w).len();
    assert_eq!(sent_before, 3, "step 1 of both campaigns went out");
    Scene {
        account,
        project,
        template,
        fresh_candidate,
        alice_campaign,
        alice_enrollments,
        carol_campaign,
        carol_enrollments,
        sent_before,
    }
}

/// One sent message: (recipient, step, whose words).
type Sent = (String, Option<u32>, String);

/// Every message handed off from Alice's account, in order.
fn from_alice(w: &World) -> Vec<Sent> {
    w.outbox
        .list()
        .unwrap()
        .into_iter()
        .filter(|m| m.from.contains(ALICE_ADDRESS))
        .map(|m| {
            let raw = w.outbox.raw(&m.id).unwrap().unwrap_or_default();
            let raw = String::from_utf8_lossy(&raw).into_owned();
            let words = if raw.contains(INTRUDER_WORDS) {
                "intruder"
            } else if raw.contains(ALICE_MARK) {
                "alice"
            } else if raw.contains("carol-step-") {
                "carol"
            } else {
                "unknown"
            };
            (m.to, m.step_index, words.to_owned())
        })
        .collect()
}

/// What leaves from Alice's account after the call: Alice resumes her
/// campaign (her own action), then ten days pass.
async fn aftermath(w: &World, sc: &Scene) -> Vec<Sent> {
    // The call may have stopped it (a safety action): then this is refused.
    let _ = w
        .service
        .campaigns()
        .resume_campaign(&identity("alice"), &sc.alice_campaign)
        .await;
    run_forward(w, 10).await;
    from_alice(w).split_off(sc.sent_before)
}

/// Who calls which campaign, and the enrollments of it.
#[derive(Clone, Copy, Debug)]
enum Target {
    BobOnAlices,
    RevokedCarolOnAlices,
    RevokedCarolOnHers,
}

impl Target {
    fn caller(self) -> &'static str {
        match self {
            Target::BobOnAlices => "bob",
            _ => "carol",
        }
    }

    fn campaign(self, sc: &Scene) -> (&str, &[String]) {
        match self {
            Target::RevokedCarolOnHers => (&sc.carol_campaign, &sc.carol_enrollments),
            _ => (&sc.alice_campaign, &sc.alice_enrollments),
        }
    }
}

/// `path` with the scene's ids; `{eid}` is the `eid`-th enrollment.
fn with_ids(path: &str, sc: &Scene, target: Target, eid: usize) -> String {
    let resource = path.split('/').nth(2).unwrap_or_default();
    let (campaign, enrollments) = target.campaign(sc);
    path.split('/')
        .map(|segment| match segment {
            "{id}" => match resource {
                "candidates" => sc.fresh_candidate.clone(),
                "projects" => sc.project.clone(),
                "templates" => sc.template.clone(),
                "campaigns" => campaign.to_owned(),
                "email-accounts" => sc.account.clone(),
                // A reply's read flag and class send nothing; the
                // sweep checks that no call of it mails from Alice's account.
                "replies" => "rpl_none".into(),
                // An import's state is a read: nothing it answers mails.
                "imports" => "imp_none".into(),
                other => panic!("no id for /v1/{other}/{{id}}"),
            },
            "{eid}" => enrollments[eid].clone(),
            "{candidate_id}" => sc.fresh_candidate.clone(),
            "{user_id}" => "carol".into(),
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

/// The values the sweep gives body fields of these names, required or not:
/// Alice's account, a candidate not yet enrolled, and the intruder's words.
fn chosen(field: &str, sc: &Scene) -> Option<Value> {
    let step = |delay: u32| {
        json!({
            "subject": INTRUDER_WORDS,
            "body": format!("<p>{INTRUDER_WORDS}</p>"),
            "delay_days": delay,
        })
    };
    Some(match field {
        "sender_account_id" => json!(sc.account),
        "candidate_ids" => json!([sc.fresh_candidate]),
        "steps" => json!([step(0), step(1)]),
        "subject" => json!(INTRUDER_WORDS),
        "body" => json!(format!("<p>{INTRUDER_WORDS}</p>")),
        "address" => json!("intruder@elsewhere.example"),
        "allow_duplicate" => json!(true),
        _ => return None,
    })
}

/// A value that satisfies `schema`: its required fields, and every field the
/// sweep chooses a value for.
fn example(doc: &Value, schema: &Value, name: &str, sc: &Scene) -> Value {
    if let Some(v) = chosen(name, sc) {
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
            return example(doc, first, name, sc);
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        let mut merged = Map::new();
        for part in all {
            if let Value::Object(o) = example(doc, part, name, sc) {
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
            let required: BTreeSet<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let mut out = Map::new();
            for (field, property) in schema["properties"].as_object().into_iter().flatten() {
                if required.contains(field.as_str()) || chosen(field, sc).is_some() {
                    out.insert(field.clone(), example(doc, property, field, sc));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let min = schema["minItems"].as_u64().unwrap_or(0);
            Value::Array(
                (0..min)
                    .map(|_| example(doc, &schema["items"], name, sc))
                    .collect(),
            )
        }
        "integer" | "number" => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        "boolean" => json!(false),
        "string" => {
            let format = schema["format"].as_str().unwrap_or_default();
            if format == "email" || name.contains("address") || name == "email" {
                json!("someone@elsewhere.example")
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
    user: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method.to_uppercase().as_str())
        .uri(path)
        .header("authorization", format!("Bearer {}", token(user)));
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
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// An import of one new candidate into `campaign`.
async fn import_into(w: &World, path: &str, user: &str, campaign: &str) -> (StatusCode, Value) {
    let form = format!(
        "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n\r\nFirst Name,Email\nNew,new@elsewhere.example\r\n--b\r\nContent-Disposition: form-data; name=\"campaign_id\"\r\n\r\n{campaign}\r\n--b--\r\n"
    );
    let request = Request::post(path)
        .header("authorization", format!("Bearer {}", token(user)))
        .header("content-type", "multipart/form-data; boundary=b")
        .body(Body::from(form))
        .expect("a request");
    let response = w.router.clone().oneshot(request).await.expect("an answer");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// One operation of the document that needs a bearer token.
struct Operation {
    method: String,
    path: String,
    /// The body schema, if it takes JSON.
    body: Option<Value>,
    /// Whether it takes a `multipart/form-data` form (the import, R-3.7).
    form: bool,
    documents_403: bool,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(*method) else {
                continue;
            };
            if op["security"].as_array().is_none_or(|s| s.is_empty()) {
                continue;
            }
            out.push(Operation {
                method: (*method).to_owned(),
                path: path.clone(),
                body: op["requestBody"]["content"]["application/json"]["schema"]
                    .as_object()
                    .map(|s| Value::Object(s.clone())),
                form: op["requestBody"]["content"]
                    .get("multipart/form-data")
                    .is_some(),
                documents_403: op["responses"].get("403").is_some(),
            });
        }
    }
    out
}

fn is(op: &Operation, list: &[(&str, &str)]) -> bool {
    list.iter().any(|(m, p)| *m == op.method && *p == op.path)
}

/// The multiset of `sent`, by (recipient, step, words).
fn counted(sent: &[Sent]) -> BTreeMap<&Sent, usize> {
    let mut out = BTreeMap::new();
    for m in sent {
        *out.entry(m).or_default() += 1;
    }
    out
}

#[tokio::test]
async fn no_route_lets_a_colleague_or_a_revoked_delegate_send_from_alices_account() {
    let doc = serde_json::to_value(outreach_app::http::api_doc()).expect("the document");
    let ops = operations(&doc);
    assert!(ops.len() > 40, "{} operations", ops.len());
    // What Alice's own actions send when nobody else acts: step 2 of her
    // running enrollment, in her words.
    let baseline = {
        let w = world();
        let sc = scene(&w).await;
        aftermath(&w, &sc).await
    };
    assert_eq!(
        baseline.len(),
        1,
        "Alice's resume sends step 2 of her running enrollment: {baseline:?}"
    );
    assert!(
        baseline
            .iter()
            .all(|(_, step, words)| *step == Some(2) && words == "alice")
    );
    let allowed = counted(&baseline);

    let mut failures = Vec::new();
    let mut answered_403 = BTreeSet::new();
    let mut calls = 0;
    for target in [
        Target::BobOnAlices,
        Target::RevokedCarolOnAlices,
        Target::RevokedCarolOnHers,
    ] {
        // Reads change nothing: all of them in one world.
        let reads: Vec<&Operation> = ops.iter().filter(|o| o.method == "get").collect();
        let writes: Vec<&Operation> = ops.iter().filter(|o| o.method != "get").collect();
        let mut runs: Vec<Vec<(&Operation, usize)>> = vec![
            reads
                .iter()
                .flat_map(|o| enrollment_variants(o, target).map(move |e| (*o, e)))
                .collect(),
        ];
        for op in writes {
            runs.extend(enrollment_variants(op, target).map(|e| vec![(op, e)]));
        }
        for run in runs {
            let w = world();
            let sc = scene(&w).await;
            let mut here = Vec::new();
            for (op, eid) in run {
                calls += 1;
                let url = with_ids(&op.path, &sc, target, eid);
                let body = op.body.as_ref().map(|s| example(&doc, s, "request", &sc));
                let (status, answer) = if op.form {
                    import_into(&w, &url, target.caller(), target.campaign(&sc).0).await
                } else {
                    call(&w, &op.method, &url, target.caller(), body.clone()).await
                };
                let what = format!(
                    "{target:?}: {} {url} {} → {status} {answer}",
                    op.method.to_uppercase(),
                    body.map(|b| b.to_string()).unwrap_or_default(),
                );
                if status == StatusCode::FORBIDDEN {
                    answered_403.insert((op.method.clone(), op.path.clone()));
                    if !op.documents_403 {
                        failures.push(format!("403 not documented: {what}"));
                    }
                    if answer["status"] != 403 || answer["type"].as_str().is_none() {
                        failures.push(format!("403 is not problem+json: {what}"));
                    }
                }
                if is(op, NEEDS_RIGHTS) && status != StatusCode::FORBIDDEN {
                    failures.push(format!("R-2.4 needs sender rights, not 403: {what}"));
                }
                if is(op, SAFETY) && !(status.is_success() || status == StatusCode::CONFLICT) {
                    failures.push(format!("a safety action was refused: {what}"));
                }
                if is(op, NAMES_SENDER) {
                    let on_field = answer["errors"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|e| e["field"] == "sender_account_id");
                    if status != StatusCode::UNPROCESSABLE_ENTITY || !on_field {
                        failures.push(format!("not 422 on sender_account_id: {what}"));
                    }
                }
                here.push(what);
            }
            let sent = aftermath(&w, &sc).await;
            let sent_counts = counted(&sent);
            for (m, n) in &sent_counts {
                if allowed.get(m).copied().unwrap_or(0) < *n {
                    failures.push(format!(
                        "{m:?} left from Alice's account ({n}×) after {here:#?}"
                    ));
                }
            }
        }
    }
    assert!(calls > 100, "{calls} calls");
    // Exactly the actions answered 403, and the document says so.
    let expected: BTreeSet<(String, String)> = NEEDS_RIGHTS
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    if answered_403 != expected {
        failures.push(format!(
            "routes answering 403 {answered_403:?}, R-2.4 lists {expected:?}"
        ));
    }
    let documented: BTreeSet<(String, String)> = ops
        .iter()
        .filter(|o| o.documents_403 && !is(o, OWNER_ONLY) && !is(o, ANSWER_ONLY))
        .map(|o| (o.method.clone(), o.path.clone()))
        .collect();
    if documented != expected {
        failures.push(format!(
            "routes documenting 403 {documented:?}, R-2.4 lists {expected:?}"
        ));
    }
    assert!(
        failures.is_empty(),
        "sender-rights failures:\n  {}",
        failures.join("\n  ")
    );
}

/// The enrollments an operation is called with: each of the target's when
/// its path names one.
fn enrollment_variants(op: &Operation, target: Target) -> std::ops::Range<usize> {
    if !op.path.contains("{eid}") {
        return 0..1;
    }
    match target {
        Target::RevokedCarolOnHers => 0..1,
        _ => 0..2,
    }
}

/// The issue's scenario: Bob, Alice's colleague and not a delegate,
/// may pause Alice's campaign, but not rewrite its steps, add his own
/// candidate or resume it; nothing leaves in his words.
#[tokio::test]
async fn a_colleague_cannot_send_his_words_from_alices_campaign() {
    let w = world();
    let sc = scene(&w).await;
    let camp = &sc.alice_campaign;
    let s = &w.service;
    // Alice's campaign is running again; Bob pauses it (a safety action).
    s.campaigns()
        .resume_campaign(&identity("alice"), camp)
        .await
        .unwrap();
    let (status, answer) = call(
        &w,
        "post",
        &format!("/v1/campaigns/{camp}/pause"),
        "bob",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let bobs = candidate(s, &identity("bob"), "Bobby").await;
    let attempts = [
        (
            "patch",
            format!("/v1/campaigns/{camp}"),
            Some(json!({"steps": [
                {"subject": INTRUDER_WORDS, "body": format!("<p>{INTRUDER_WORDS}</p>"), "delay_days": 0},
                {"body": format!("<p>{INTRUDER_WORDS} again</p>"), "delay_days": 1},
            ]})),
        ),
        (
            "post",
            format!("/v1/campaigns/{camp}/enrollments"),
            Some(json!({"candidate_ids": [bobs]})),
        ),
        ("post", format!("/v1/campaigns/{camp}/resume"), None),
    ];
    for (method, path, body) in attempts {
        let (status, answer) = call(&w, method, &path, "bob", body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        assert_eq!(answer["status"], 403, "{answer}");
        assert_eq!(
            answer["type"], "https://outreach.dev/problems/forbidden",
            "{answer}"
        );
    }
    let page = PageRequest {
        limit: 50,
        after: None,
    };
    let (now, enrollments) = s
        .enrollments()
        .list_enrollments(&identity("bob"), camp, &page)
        .await
        .unwrap();
    assert_eq!(now.steps, steps("alice"), "the steps are Alice's");
    assert_eq!(enrollments.items.len(), 2, "no enrollment of Bob's");
    run_forward(&w, 10).await;
    assert_eq!(from_alice(&w).len(), sc.sent_before, "paused: nothing left");
    // Alice resumes: her own words, to her own candidates only.
    s.campaigns()
        .resume_campaign(&identity("alice"), camp)
        .await
        .unwrap();
    run_forward(&w, 10).await;
    let sent = from_alice(&w).split_off(sc.sent_before);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent.iter()
            .all(|(to, _, words)| words == "alice" && !to.contains("bobby"))
    );
}

/// a delegate whose grant was revoked loses the right on their own
/// campaign too: they may not resume, edit or grow it, nor mail alone.
#[tokio::test]
async fn a_revoked_delegate_cannot_resume_or_change_their_own_campaign() {
    let w = world();
    let sc = scene(&w).await;
    let camp = &sc.carol_campaign;
    for (method, path, body) in [
        ("post", format!("/v1/campaigns/{camp}/resume"), None),
        (
            "patch",
            format!("/v1/campaigns/{camp}"),
            Some(json!({"name": "Still mine"})),
        ),
        (
            "post",
            format!("/v1/campaigns/{camp}/enrollments"),
            Some(json!({"candidate_ids": [sc.fresh_candidate]})),
        ),
        (
            "post",
            format!(
                "/v1/campaigns/{camp}/enrollments/{}/retry",
                sc.carol_enrollments[0]
            ),
            Some(json!({"address": "zelda@candidates.example"})),
        ),
    ] {
        let (status, answer) = call(&w, method, &path, "carol", body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
    }
    let (status, answer) = call(
        &w,
        "post",
        &format!("/v1/candidates/{}/messages", sc.fresh_candidate),
        "carol",
        Some(json!({"sender_account_id": sc.account, "subject": "Hi", "body": "<p>Hi</p>"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        answer["errors"][0]["field"], "sender_account_id",
        "{answer}"
    );
    // The account's owner holds the right, but a campaign sends only while its
    // own owner may send from its account (the send path asks the same): 409.
    let (status, answer) = call(
        &w,
        "post",
        &format!("/v1/campaigns/{camp}/resume"),
        "alice",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .is_some_and(|d| d.contains("owner may no longer send")),
        "{answer}"
    );
    // She may still stop it (a safety action).
    let (status, answer) = call(
        &w,
        "post",
        &format!("/v1/campaigns/{camp}/stop"),
        "carol",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    run_forward(&w, 10).await;
    assert_eq!(from_alice(&w).len(), sc.sent_before);
}

/// Alice, who owns the account, and a current delegate keep the right.
#[tokio::test]
async fn the_owner_and_a_current_delegate_keep_the_right() {
    let w = world();
    let sc = scene(&w).await;
    let s = &w.service;
    s.accounts()
        .add_delegate(
            &identity("alice"),
            &sc.account,
            delegate(&identity("alice"), "dave"),
        )
        .await
        .unwrap();
    let camp = &sc.alice_campaign;
    let (status, answer) = call(
        &w,
        "post",
        &format!("/v1/campaigns/{camp}/enrollments"),
        "dave",
        Some(json!({"candidate_ids": [sc.fresh_candidate]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, answer) = call(
        &w,
        "post",
        &format!("/v1/campaigns/{camp}/resume"),
        "dave",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = call(
        &w,
        "post",
        &format!(
            "/v1/campaigns/{camp}/enrollments/{}/resume",
            sc.alice_enrollments[1]
        ),
        "alice",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    run_forward(&w, 10).await;
    let sent = from_alice(&w).split_off(sc.sent_before);
    // Step 2 to both first enrollments, steps 1 and 2 to Dave's addition.
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(
        sent.iter().all(|(_, _, words)| words == "alice"),
        "{sent:?}"
    );
}
