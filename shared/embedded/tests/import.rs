//! The import's bound with `campaign_id` (R-3.7, README "Import"): in AWS an
//! import that also adds its candidates to a campaign takes at most
//! `Config::import_enroll_max_rows` data rows (413 beyond, nothing
//! imported), so that the request fits the API's timeout. Run through the
//! real router on the embedded store with that bound set low.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use outreach_app::auth::Hs256Authenticator;
use outreach_app::ports::IdSource;
use outreach_app::{Config, Ports, Service};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};
use serde_json::{Value, json};
use tower::ServiceExt;

const SECRET: &[u8] = b"test";

fn router(dir: &std::path::Path, bound: usize) -> Router {
    let db = Db::in_memory().unwrap();
    let start: DateTime<Utc> = "2026-12-01T14:00:00Z".parse().unwrap();
    let clock = Arc::new(LocalClock::manual(db.clone(), start));
    let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
    let scheduler = Arc::new(LocalScheduler::new(db.clone()));
    let outbox = Arc::new(
        OutboxMailer::new(db.clone(), dir.join("outbox"), clock.clone(), ids.clone()).unwrap(),
    );
    let service = Service::new(
        Ports {
            store: Arc::new(SqliteStore::new(db.clone())),
            scheduler: scheduler.clone(),
            mailer: outbox.clone(),
            clock,
            ids,
            auth: Arc::new(Hs256Authenticator::new(SECRET)),
            identities: outbox,
            queue: scheduler,
        },
        Config {
            import_enroll_max_rows: bound,
            ..Config::local(3000)
        },
    );
    outreach_app::http::router(service)
}

fn token() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    outreach_app::auth::issue_hs256(SECRET, "acme", "alice", None, false, now, 3600).unwrap()
}

async fn call(router: &Router, req: Request<Body>) -> (u16, Value) {
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn post_json(router: &Router, path: &str, body: Value) -> Value {
    let req = Request::post(path)
        .header("authorization", format!("Bearer {}", token()))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, v) = call(router, req).await;
    assert!((200..300).contains(&status), "{path}: {status} {v}");
    v
}

async fn import(router: &Router, csv: &str, campaign: &str) -> (u16, Value) {
    let body = format!(
        "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n\r\n{csv}\r\n--b\r\nContent-Disposition: form-data; name=\"campaign_id\"\r\n\r\n{campaign}\r\n--b--\r\n"
    );
    let req = Request::post("/v1/candidates/import")
        .header("authorization", format!("Bearer {}", token()))
        .header("content-type", "multipart/form-data; boundary=b")
        .body(Body::from(body))
        .unwrap();
    call(router, req).await
}

#[tokio::test]
async fn an_import_with_a_campaign_beyond_the_bound_answers_413_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let router = router(dir.path(), 2);
    let account = post_json(
        &router,
        "/v1/email-accounts",
        json!({"address": "alice@acme.example", "display_name": "A"}),
    )
    .await;
    let project = post_json(&router, "/v1/projects", json!({"name": "P"})).await;
    let campaign = post_json(
        &router,
        &format!("/v1/projects/{}/campaigns", project["id"].as_str().unwrap()),
        json!({"name": "C", "sender_account_id": account["id"], "when_to_send": {"mode": "when_started"},
               "steps": [{"subject": "Hi", "body": "<p>Hi</p>"}]}),
    )
    .await;
    let campaign = campaign["id"].as_str().unwrap();
    let three = "First Name,Email\nA,a@x.example\nB,b@x.example\nC,c@x.example\n";
    let (status, body) = import(&router, three, campaign).await;
    assert_eq!(status, 413, "{body}");
    let list = Request::get("/v1/candidates")
        .header("authorization", format!("Bearer {}", token()))
        .body(Body::empty())
        .unwrap();
    let (_, listed) = call(&router, list).await;
    assert_eq!(listed["items"], json!([]), "nothing imported");
    let two = "First Name,Email\nA,a@x.example\nB,b@x.example\n";
    let (status, body) = import(&router, two, campaign).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], 2);
    assert_eq!(body["campaign"]["enrollments"].as_array().unwrap().len(), 2);
    // Without a campaign the bound does not apply.
    let (status, body) = import(&router, three, "").await;
    assert_eq!(status, 200, "{body}");
}
