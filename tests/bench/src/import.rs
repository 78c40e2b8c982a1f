//! Issue 21's import figures: a 10,000-row CSV (two addresses a row, 1 %
//! invalid rows) imported into a campaign in local mode (answered when done),
//! and on the AWS path's design — a job answered 202 at once, its chunks run
//! one after the other from the planner queue — with every store call
//! `OUTREACH_BENCH_STORE_MS` (8) milliseconds slower than SQLite, about a
//! DynamoDB round trip from Lambda, so that the figure shows what the
//! import's calls and its 16 in flight make of a network database.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use outreach_app::auth::Hs256Authenticator;
use outreach_app::ports::{IdSource, Queue, SchedulerError, Store, WakeUp};
use outreach_app::{Config, Ports, Service};
use outreach_contract::Latency;
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::figure;

const SECRET: &[u8] = b"bench";
const ROWS: usize = 10_000;

/// The planner queue, kept for the bench to run in order.
#[derive(Default)]
struct Captured(Mutex<Vec<WakeUp>>);

#[async_trait::async_trait]
impl Queue for Captured {
    async fn enqueue(&self, job: &WakeUp) -> Result<(), SchedulerError> {
        self.0.lock().expect("queue").push(job.clone());
        Ok(())
    }
}

struct Setup {
    router: Router,
    service: Arc<Service>,
    queue: Arc<Captured>,
    slow: Option<Arc<Latency>>,
}

/// The service as local mode composes it (`aws: None`), or with the AWS
/// thresholds of `outreach-lambda` and a store `delay` slower.
fn setup(dir: &std::path::Path, aws: Option<Duration>) -> Setup {
    let db = Db::in_memory().expect("an in-memory database");
    let start = "2026-12-01T14:00:00Z".parse().expect("a time");
    let clock = Arc::new(LocalClock::manual(db.clone(), start));
    let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
    let outbox = Arc::new(
        OutboxMailer::new(db.clone(), dir.join("outbox"), clock.clone(), ids.clone())
            .expect("an outbox"),
    );
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::new(db.clone()));
    let slow = aws.map(|delay| Arc::new(Latency::new(sqlite.clone(), delay)));
    let store: Arc<dyn Store> = match &slow {
        Some(s) => s.clone(),
        None => sqlite,
    };
    let queue = Arc::new(Captured::default());
    let service = Service::new(
        Ports {
            store,
            scheduler: Arc::new(LocalScheduler::new(db.clone())),
            mailer: outbox.clone(),
            clock,
            ids,
            auth: Arc::new(Hs256Authenticator::new(SECRET)),
            identities: outbox,
            queue: queue.clone(),
        },
        Config {
            initial_credits: 100_000,
            import_enroll_max_rows: if aws.is_some() { 1_000 } else { ROWS },
            import_sync_max_calls: aws.map(|_| 6_000),
            ..Config::local(3000)
        },
    );
    Setup {
        router: outreach_app::http::router(service.clone()),
        service,
        queue,
        slow,
    }
}

fn token() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    outreach_app::auth::issue_hs256(SECRET, "acme", "alice", None, false, now, 3600)
        .expect("a token")
}

async fn call(router: &Router, req: Request<Body>) -> (u16, Value) {
    let response = router.clone().oneshot(req).await.expect("an answer");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn post(router: &Router, path: &str, body: Value) -> Value {
    let req = Request::post(path)
        .header("authorization", format!("Bearer {}", token()))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("a request");
    let (status, v) = call(router, req).await;
    assert!((200..300).contains(&status), "{path}: {status} {v}");
    v
}

/// A draft campaign to import into.
async fn campaign(router: &Router) -> String {
    let account = post(
        router,
        "/v1/email-accounts",
        json!({"address": "alice@acme.example", "display_name": "A"}),
    )
    .await;
    let project = post(router, "/v1/projects", json!({"name": "P"})).await;
    let campaign = post(
        router,
        &format!(
            "/v1/projects/{}/campaigns",
            project["id"].as_str().unwrap_or("")
        ),
        json!({"name": "C", "sender_account_id": account["id"],
               "when_to_send": {"mode": "when_started"},
               "steps": [{"subject": "Hi", "body": "<p>Hi</p>"}]}),
    )
    .await;
    campaign["id"].as_str().unwrap_or("").to_owned()
}

/// `rows` rows of two addresses; every 100th has an invalid work address.
fn file(rows: usize) -> String {
    let mut csv = String::from("First Name,Last Name,Work Email,Personal Email\n");
    for i in 1..=rows {
        let work = if i % 100 == 0 {
            format!("not-an-address-{i}")
        } else {
            format!("w{i}@work.example")
        };
        csv.push_str(&format!("C{i},L{i},{work},p{i}@home.example\n"));
    }
    csv
}

async fn import(router: &Router, csv: &str, campaign: Option<&str>) -> (u16, Value) {
    let mut body = format!(
        "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n\r\n{csv}\r\n"
    );
    if let Some(campaign) = campaign {
        body.push_str(&format!(
            "--b\r\nContent-Disposition: form-data; name=\"campaign_id\"\r\n\r\n{campaign}\r\n"
        ));
    }
    body.push_str("--b--\r\n");
    let req = Request::post("/v1/candidates/import")
        .header("authorization", format!("Bearer {}", token()))
        .header("content-type", "multipart/form-data; boundary=b")
        .body(Body::from(body))
        .expect("a request");
    call(router, req).await
}

/// The rows the file says are invalid are exactly those reported.
fn check(answer: &Value, rows: usize) {
    let bad: Vec<u64> = answer["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["row"].as_u64().unwrap_or(0))
        .collect();
    let want: Vec<u64> = (1..=rows as u64).filter(|i| i % 100 == 0).collect();
    assert_eq!(bad, want, "exactly the invalid rows are reported");
    assert_eq!(
        answer["created"].as_u64(),
        Some((rows - want.len()) as u64),
        "every other row is imported: {}",
        answer["created"]
    );
}

/// Local mode: one request, answered when done.
async fn local(dir: &std::path::Path) {
    let s = setup(dir, None);
    let cmp = campaign(&s.router).await;
    let csv = file(ROWS);
    let t = Instant::now();
    let (status, done) = import(&s.router, &csv, Some(&cmp)).await;
    assert_eq!(status, 200, "{done}");
    figure(
        "import_local_10000_rows_seconds",
        t.elapsed().as_secs_f64(),
        "s",
    );
    check(&done, ROWS);
}

/// The AWS path's design: 202, then the chunks in order from the queue.
async fn aws(dir: &std::path::Path, delay: Duration) {
    let s = setup(dir, Some(delay));
    let slow = s.slow.clone().expect("a slow store");
    let cmp = campaign(&s.router).await;
    let csv = file(ROWS);
    let before: usize = slow.calls().values().sum();
    let t = Instant::now();
    let (status, queued) = import(&s.router, &csv, Some(&cmp)).await;
    assert_eq!(status, 202, "{queued}");
    figure(
        "import_aws_10000_rows_answer_seconds",
        t.elapsed().as_secs_f64(),
        "s",
    );
    let id = queued["id"].as_str().expect("a job id").to_owned();
    let mut slowest = 0f64;
    loop {
        let batch = std::mem::take(&mut *s.queue.0.lock().expect("queue"));
        if batch.is_empty() {
            break;
        }
        for w in batch {
            let c = Instant::now();
            s.service
                .sending()
                .run_job(&w.job)
                .await
                .expect("a chunk runs");
            slowest = slowest.max(c.elapsed().as_secs_f64());
        }
    }
    figure(
        "import_aws_10000_rows_done_seconds",
        t.elapsed().as_secs_f64(),
        "s",
    );
    figure("import_aws_slowest_chunk_seconds", slowest, "s");
    let calls: usize = slow.calls().values().sum::<usize>() - before;
    figure("import_aws_10000_rows_store_calls", calls as f64, "calls");
    let req = Request::get(format!("/v1/imports/{id}"))
        .header("authorization", format!("Bearer {}", token()))
        .body(Body::empty())
        .expect("a request");
    let (_, job) = call(&s.router, req).await;
    assert_eq!(job["state"], "done", "{job}");
    check(&job, ROWS);
    assert_eq!(
        job["campaign"]["enrolled"].as_u64(),
        Some((ROWS - ROWS / 100) as u64),
        "{job}"
    );
    // The largest import answered at once: 2,000 rows of two addresses,
    // about the 6,000 estimated calls of `IMPORT_SYNC_MAX_CALLS`.
    let s = setup(dir, Some(delay));
    let csv = file(1_999);
    let t = Instant::now();
    let (status, done) = import(&s.router, &csv, None).await;
    assert_eq!(status, 200, "{done}");
    figure(
        "import_aws_sync_1999_rows_seconds",
        t.elapsed().as_secs_f64(),
        "s",
    );
    check(&done, 1_999);
}

pub async fn import_figures() {
    let dir = tempfile::tempdir().expect("a folder");
    local(dir.path()).await;
    let ms: u64 = std::env::var("OUTREACH_BENCH_STORE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    figure("import_aws_store_call_ms", ms as f64, "ms");
    aws(dir.path(), Duration::from_millis(ms)).await;
}
