//! Issue 21, R-11.2: in AWS the raw message of a reply stays in the inbound
//! bucket (`raw_ref` `s3://bucket/key`), which the API function does not read
//! (its binary has no S3 client, issue 20). The API runs without a raw-mail
//! store there (`Service::new`), as here: `GET /v1/replies/{id}/raw` answers
//! its owners 404 whose detail names the bucket's key, and anyone else 403;
//! erasure drops the key from the reply.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use outreach_app::auth::Hs256Authenticator;
use outreach_app::ports::{IdSource, Store};
use outreach_app::reply::Reply;
use outreach_app::{Config, Ports, Service};
use outreach_domain::ids::{CampaignId, CandidateId, EnrollmentId, OrgId};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};
use serde_json::{Value, json};
use tower::ServiceExt;

const SECRET: &[u8] = b"test";
const KEY: &str = "s3://outreach-inbound/inbound/0f1e2d3c4b5a";

fn world(dir: &std::path::Path) -> (Router, Arc<SqliteStore>) {
    let db = Db::in_memory().unwrap();
    let start: DateTime<Utc> = "2026-12-01T14:00:00Z".parse().unwrap();
    let clock = Arc::new(LocalClock::manual(db.clone(), start));
    let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
    let scheduler = Arc::new(LocalScheduler::new(db.clone()));
    let outbox = Arc::new(
        OutboxMailer::new(db.clone(), dir.join("outbox"), clock.clone(), ids.clone()).unwrap(),
    );
    let store = Arc::new(SqliteStore::new(db));
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
        Config::local(3000),
    );
    (outreach_app::http::router(service), store)
}

async fn call(router: &Router, user: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token =
        outreach_app::auth::issue_hs256(SECRET, "acme", user, None, false, now, 3600).unwrap();
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(if body.is_null() {
            Body::empty()
        } else {
            Body::from(body.to_string())
        })
        .unwrap();
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn id(router: &Router, path: &str, body: Value) -> String {
    let (status, v) = call(router, "alice", "POST", path, body).await;
    assert!((200..300).contains(&status), "{path}: {status} {v}");
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn in_aws_the_raw_message_is_named_in_the_inbound_bucket_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let (router, store) = world(dir.path());
    let account = id(
        &router,
        "/v1/email-accounts",
        json!({"address": "alice@acme.example"}),
    )
    .await;
    let project = id(&router, "/v1/projects", json!({"name": "P"})).await;
    let campaign = id(
        &router,
        &format!("/v1/projects/{project}/campaigns"),
        json!({"name": "C", "sender_account_id": account,
               "when_to_send": {"mode": "when_started"},
               "steps": [{"subject": "Hello", "body": "<p>Hi</p>"}]}),
    )
    .await;
    let candidate = id(
        &router,
        "/v1/candidates",
        json!({"first_name": "Ada", "last_name": "L",
               "emails": [{"address": "ada@work.example", "type": "work"}]}),
    )
    .await;
    let reply = Reply {
        id: "rpl_aws".into(),
        org_id: OrgId::from("acme"),
        project_id: project,
        campaign_id: CampaignId::from(campaign.as_str()),
        single: false,
        step: Some(1),
        candidate_id: CandidateId::from(candidate.as_str()),
        enrollment_id: EnrollmentId::from("enr_aws"),
        received_at: "2026-12-01T15:00:00Z".parse().unwrap(),
        from: None,
        sent_to: None,
        subject: "Re: Hello".into(),
        text: "Yes.".into(),
        class: None,
        automatic: true,
        read: false,
        message_id: None,
        references: Vec::new(),
        raw_ref: Some(KEY.into()),
        first: false,
        after_s: None,
        answered_at: None,
    };
    assert_eq!(store.create_reply(&reply).await, Ok(true));
    let raw = "/v1/replies/rpl_aws/raw";
    let (status, problem) = call(&router, "alice", "GET", raw, Value::Null).await;
    assert_eq!(status, 404, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains(KEY),
        "{problem}"
    );
    assert_eq!(problem["status"], 404);
    let (status, problem) = call(&router, "bob", "GET", raw, Value::Null).await;
    assert_eq!(status, 403, "{problem}");
    assert!(!problem.to_string().contains(KEY), "{problem}");

    let (status, _) = call(
        &router,
        "alice",
        "DELETE",
        &format!("/v1/candidates/{candidate}"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 204);
    let (status, problem) = call(&router, "alice", "GET", raw, Value::Null).await;
    assert_eq!(status, 404, "{problem}");
    assert!(!problem.to_string().contains(KEY), "erased: {problem}");
}
