//! Issue 20: the enrollments page reads its candidates and their suppression
//! entries in two batched reads for the whole page; each item must still show
//! what `GET` of that one enrollment shows — in particular the address its
//! next step would use, which skips a suppressed address.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use outreach_app::auth::Hs256Authenticator;
use outreach_app::ports::{IdSource, Store};
use outreach_app::usecases::returns::suppression_key;
use outreach_app::{Config, Ports, Service};
use outreach_domain::EmailAddress;
use outreach_domain::ids::OrgId;
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};
use serde_json::{Value, json};
use tower::ServiceExt;

const SECRET: &[u8] = b"test";

fn world(dir: &std::path::Path) -> (Router, Arc<SqliteStore>, Vec<u8>) {
    let db = Db::in_memory().unwrap();
    let start: DateTime<Utc> = "2026-12-01T14:00:00Z".parse().unwrap();
    let clock = Arc::new(LocalClock::manual(db.clone(), start));
    let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
    let scheduler = Arc::new(LocalScheduler::new(db.clone()));
    let outbox = Arc::new(
        OutboxMailer::new(db.clone(), dir.join("outbox"), clock.clone(), ids.clone()).unwrap(),
    );
    let store = Arc::new(SqliteStore::new(db));
    let config = Config::local(3000);
    let hash_key = config.hash_key.clone();
    let service = Service::new(
        Ports {
            store: store.clone(),
            scheduler: scheduler.clone(),
            mailer: outbox.clone(),
            clock,
            ids,
            auth: Arc::new(Hs256Authenticator::new(SECRET)),
            identities: outbox,
            queue: scheduler,
        },
        config,
    );
    (outreach_app::http::router(service), store, hash_key)
}

async fn call(router: &Router, method: &str, path: &str, body: Option<Value>) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token =
        outreach_app::auth::issue_hs256(SECRET, "acme", "alice", None, false, now, 3600).unwrap();
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert!((200..300).contains(&status), "{path}: {status} {v}");
    v
}

#[tokio::test]
async fn each_page_item_shows_what_its_own_get_shows_suppressed_addresses_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (router, store, hash_key) = world(dir.path());
    let account = call(
        &router,
        "POST",
        "/v1/email-accounts",
        Some(json!({"address": "alice@acme.example"})),
    )
    .await;
    let project = call(&router, "POST", "/v1/projects", Some(json!({"name": "P"}))).await;
    let campaign = call(
        &router,
        "POST",
        &format!("/v1/projects/{}/campaigns", project["id"].as_str().unwrap()),
        Some(json!({"name": "C", "sender_account_id": account["id"], "when_to_send": {"mode": "when_started"}, "timezone": "UTC", "steps": [{"subject": "Hi", "body": "<p>Hi</p>"}]})),
    )
    .await;
    let cid = campaign["id"].as_str().unwrap();
    // Ada's work address and Bo's only address are suppressed; Cy's is not.
    let people = [
        (
            "Ada",
            vec![
                ("ada@work.example", "work"),
                ("ada@home.example", "personal"),
            ],
        ),
        ("Bo", vec![("bo@work.example", "work")]),
        ("Cy", vec![("cy@work.example", "work")]),
    ];
    let mut ids = Vec::new();
    for (name, emails) in &people {
        let emails: Vec<Value> = emails
            .iter()
            .map(|(a, t)| json!({"address": a, "type": t}))
            .collect();
        let c = call(
            &router,
            "POST",
            "/v1/candidates",
            Some(json!({"first_name": name, "last_name": "X", "emails": emails})),
        )
        .await;
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    call(
        &router,
        "POST",
        &format!("/v1/campaigns/{cid}/enrollments"),
        Some(json!({"candidate_ids": ids})),
    )
    .await;
    let now: DateTime<Utc> = "2026-12-01T14:00:00Z".parse().unwrap();
    for a in ["ada@work.example", "bo@work.example"] {
        let key = suppression_key(&hash_key, &EmailAddress::parse(a).unwrap());
        store
            .suppress(&OrgId::from("acme"), &key, "bounce", now)
            .await
            .unwrap();
    }
    let page = call(
        &router,
        "GET",
        &format!("/v1/campaigns/{cid}/enrollments"),
        None,
    )
    .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let mut shown = Vec::new();
    for item in items {
        let eid = item["id"].as_str().unwrap();
        let mut one = call(
            &router,
            "GET",
            &format!("/v1/campaigns/{cid}/enrollments/{eid}"),
            None,
        )
        .await;
        one.as_object_mut().unwrap().remove("events");
        assert_eq!(item, &one, "the page's item and its own GET differ");
        let who = ids.iter().position(|c| item["candidate_id"] == *c).unwrap();
        shown.push((who, item["address"].clone()));
    }
    shown.sort_by_key(|(who, _)| *who);
    assert_eq!(
        shown.into_iter().map(|(_, a)| a).collect::<Vec<_>>(),
        vec![
            json!("ada@home.example"),
            Value::Null,
            json!("cy@work.example")
        ],
        "the next address skips suppressed ones"
    );
}
