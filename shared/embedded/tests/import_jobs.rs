//! A large import with `campaign_id` in the AWS composition (R-3.7, §15,
//! issue 21), through the real router: 202 with the job and every row error
//! at once, the same 202 for a repeated `Idempotency-Key`, the chunks run
//! from the queue (each delivered twice), and `GET /v1/imports/{id}` ends
//! `done` with the counts, errors and campaign outcome of the same file
//! imported synchronously (a candidate two chunks name is added once);
//! another organization's import is 404. On the embedded store, with the
//! threshold set low; `shared/aws/tests/import_jobs.rs` runs the job path on
//! DynamoDB.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use outreach_app::auth::Hs256Authenticator;
use outreach_app::ports::{IdSource, Queue, SchedulerError, WakeUp};
use outreach_app::{Config, Ports, Service};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};
use serde_json::{Value, json};
use tower::ServiceExt;

const SECRET: &[u8] = b"test";

#[derive(Default)]
struct Captured(Mutex<Vec<WakeUp>>);

#[async_trait::async_trait]
impl Queue for Captured {
    async fn enqueue(&self, job: &WakeUp) -> Result<(), SchedulerError> {
        self.0.lock().unwrap().push(job.clone());
        Ok(())
    }
}

struct Api {
    router: Router,
    service: Arc<Service>,
    queue: Arc<Captured>,
}

/// The service on a fresh store, imports beyond `sync_max_calls` run as jobs.
fn api(dir: &std::path::Path, sync_max_calls: Option<usize>) -> Api {
    let db = Db::in_memory().unwrap();
    let start: DateTime<Utc> = "2026-12-01T14:00:00Z".parse().unwrap();
    let clock = Arc::new(LocalClock::manual(db.clone(), start));
    let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
    let scheduler = Arc::new(LocalScheduler::new(db.clone()));
    let outbox = Arc::new(
        OutboxMailer::new(db.clone(), dir.join("outbox"), clock.clone(), ids.clone()).unwrap(),
    );
    let queue = Arc::new(Captured::default());
    let service = Service::new(
        Ports {
            store: Arc::new(SqliteStore::new(db.clone())),
            scheduler,
            mailer: outbox.clone(),
            clock,
            ids,
            auth: Arc::new(Hs256Authenticator::new(SECRET)),
            identities: outbox,
            queue: queue.clone(),
        },
        Config {
            initial_credits: 100_000,
            // As `outreach-lambda` composes it with jobs, as local mode without.
            import_enroll_max_rows: if sync_max_calls.is_some() {
                1_000
            } else {
                10_000
            },
            import_sync_max_calls: sync_max_calls,
            ..Config::local(3000)
        },
    );
    Api {
        router: outreach_app::http::router(service.clone()),
        service,
        queue,
    }
}

fn token(org: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    outreach_app::auth::issue_hs256(SECRET, org, "alice", None, false, now, 3600).unwrap()
}

async fn call(router: &Router, req: Request<Body>) -> (u16, Value) {
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn post_json(router: &Router, path: &str, body: Value) -> Value {
    let req = Request::post(path)
        .header("authorization", format!("Bearer {}", token("acme")))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, v) = call(router, req).await;
    assert!((200..300).contains(&status), "{path}: {status} {v}");
    v
}

async fn get(router: &Router, path: &str, org: &str) -> (u16, Value) {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {}", token(org)))
        .body(Body::empty())
        .unwrap();
    call(router, req).await
}

async fn import(router: &Router, csv: &str, campaign: &str, key: &str) -> (u16, Value) {
    let body = format!(
        "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n\r\n{csv}\r\n--b\r\nContent-Disposition: form-data; name=\"on_duplicate\"\r\n\r\nupdate\r\n--b\r\nContent-Disposition: form-data; name=\"campaign_id\"\r\n\r\n{campaign}\r\n--b--\r\n"
    );
    let req = Request::post("/v1/candidates/import")
        .header("authorization", format!("Bearer {}", token("acme")))
        .header("content-type", "multipart/form-data; boundary=b")
        .header("idempotency-key", key)
        .body(Body::from(body))
        .unwrap();
    call(router, req).await
}

/// A draft campaign of organization `acme`.
async fn campaign(router: &Router) -> String {
    let account = post_json(
        router,
        "/v1/email-accounts",
        json!({"address": "alice@acme.example", "display_name": "A"}),
    )
    .await;
    let project = post_json(router, "/v1/projects", json!({"name": "P"})).await;
    let campaign = post_json(
        router,
        &format!("/v1/projects/{}/campaigns", project["id"].as_str().unwrap()),
        json!({"name": "C", "sender_account_id": account["id"], "when_to_send": {"mode": "when_started"},
               "steps": [{"subject": "Hi", "body": "<p>Hi</p>"}]}),
    )
    .await;
    campaign["id"].as_str().unwrap().to_owned()
}

/// 1,300 rows: every 100th invalid, every 37th without an address, every
/// 50th repeating the row 60 before it (across the first chunk's edge too:
/// row 1,053, in the second chunk, names row 993's candidate, in the first,
/// which the campaign gets once).
fn file() -> String {
    let mut csv = String::from("First Name,Title,Work Email\n");
    for i in 1..=1_300 {
        csv.push_str(&if i % 100 == 7 {
            format!(",,x{i}@work.example\n")
        } else if i % 37 == 0 {
            format!("N{i},,\n")
        } else if i % 50 == 3 && i > 60 {
            format!("R{i},Engineer,w{}@work.example\n", i - 60)
        } else {
            format!("C{i},,w{i}@work.example\n")
        });
    }
    csv
}

#[tokio::test]
async fn a_large_import_with_a_campaign_is_a_job_with_the_outcome_of_a_synchronous_one() {
    let dir = tempfile::tempdir().unwrap();
    let csv = file();

    let sync = api(dir.path(), None);
    let cmp = campaign(&sync.router).await;
    let (status, done) = import(&sync.router, &csv, &cmp, "k").await;
    assert_eq!(status, 200, "{done}");
    assert!(sync.queue.0.lock().unwrap().is_empty());

    let jobs = api(dir.path(), Some(100));
    let cmp = campaign(&jobs.router).await;
    let (status, queued) = import(&jobs.router, &csv, &cmp, "k").await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["state"], "queued");
    assert_eq!(queued["errors"], done["errors"], "every row error at once");
    assert_eq!(
        (queued["chunks"].as_u64(), queued["created"].as_u64()),
        (Some(2), Some(0))
    );
    let id = queued["id"].as_str().unwrap().to_owned();
    // The same key again: the same 202, never a second job.
    let (status, again) = import(&jobs.router, &csv, &cmp, "k").await;
    assert_eq!((status, &again), (202, &queued));

    let (_, before) = get(&jobs.router, &format!("/v1/imports/{id}"), "acme").await;
    assert_eq!(before["state"], "queued");
    loop {
        let batch = std::mem::take(&mut *jobs.queue.0.lock().unwrap());
        if batch.is_empty() {
            break;
        }
        for w in batch {
            for _ in 0..2 {
                jobs.service.sending().run_job(&w.job).await.unwrap();
            }
        }
    }
    let (status, status_view) = get(&jobs.router, &format!("/v1/imports/{id}"), "acme").await;
    assert_eq!(status, 200, "{status_view}");
    assert_eq!(status_view["state"], "done");
    assert_eq!(status_view["chunks_done"], 2);
    for field in ["created", "updated", "skipped", "errors"] {
        assert_eq!(status_view[field], done[field], "{field}");
    }
    assert!(done["updated"].as_u64().unwrap() > 0);
    let enrolled = done["campaign"]["enrollments"].as_array().unwrap().len();
    let mut refused = BTreeMap::new();
    for r in done["campaign"]["refused"].as_array().unwrap() {
        *refused
            .entry(r["reason"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    assert_eq!(status_view["campaign"]["enrolled"], json!(enrolled));
    assert_eq!(
        status_view["campaign"]["refused"],
        json!(refused),
        "each candidate added once"
    );
    let (_, enrollments) = get(
        &jobs.router,
        &format!("/v1/campaigns/{cmp}/enrollments?limit=1"),
        "acme",
    )
    .await;
    assert!(
        enrollments["items"]
            .as_array()
            .is_some_and(|i| i.len() == 1)
    );

    // The synchronous import's record answers `done` with its counts.
    let sync_id = done["import_id"].as_str().unwrap();
    let (status, recorded) = get(&sync.router, &format!("/v1/imports/{sync_id}"), "acme").await;
    assert_eq!(status, 200, "{recorded}");
    assert_eq!(recorded["state"], "done");
    for field in ["enrolled", "refused", "warnings"] {
        assert_eq!(
            recorded["campaign"][field], status_view["campaign"][field],
            "{field}"
        );
    }
    for field in ["created", "updated", "skipped", "errors"] {
        assert_eq!(recorded[field], done[field], "{field}");
    }

    // Another organization's import is not found.
    let (status, _) = get(&jobs.router, &format!("/v1/imports/{id}"), "globex").await;
    assert_eq!(status, 404);
    let (status, _) = get(&sync.router, &format!("/v1/imports/{sync_id}"), "globex").await;
    assert_eq!(status, 404);
}

/// Rows refused while a job runs (R-3.7, issue 21): an update that would take
/// a candidate over 20 addresses is a row error found only when the row is
/// applied; the job reports it as the synchronous import does, in row order.
#[tokio::test]
async fn a_row_refused_while_a_job_runs_is_among_its_errors() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "First Name,Work Email,Personal Email\n\
               Fresh,fresh@cap.example,\n\
               ,nameless@cap.example,\n\
               Capped,a0@cap.example,one-more@cap.example\n\
               Other,other@cap.example,\n";
    let mut answers = Vec::new();
    for threshold in [None, Some(1)] {
        let api = api(dir.path(), threshold);
        let emails: Vec<Value> = (0..20)
            .map(|i| json!({"address": format!("a{i}@cap.example"), "type": "work"}))
            .collect();
        post_json(
            &api.router,
            "/v1/candidates",
            json!({"first_name": "Capped", "last_name": "C", "emails": emails}),
        )
        .await;
        let cmp = campaign(&api.router).await;
        let (status, answer) = import(&api.router, csv, &cmp, "cap").await;
        let answer = if threshold.is_none() {
            assert_eq!(status, 200, "{answer}");
            answer
        } else {
            assert_eq!(status, 202, "{answer}");
            let queued = std::mem::take(&mut *api.queue.0.lock().unwrap());
            for w in queued {
                api.service.sending().run_job(&w.job).await.unwrap();
            }
            let id = answer["id"].as_str().unwrap();
            let (status, view) = get(&api.router, &format!("/v1/imports/{id}"), "acme").await;
            assert_eq!((status, &view["state"]), (200, &json!("done")), "{view}");
            view
        };
        answers.push(answer);
    }
    let rows: Vec<u64> = answers[0]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [2, 3], "the nameless row and the capped one");
    for field in ["created", "updated", "skipped", "errors"] {
        assert_eq!(answers[1][field], answers[0][field], "{field}");
    }
}

#[tokio::test]
async fn a_job_holds_the_organizations_import_lease_until_its_last_chunk() {
    // issue 21 (review t19): one import at a time in an organization,
    // so that two never create one person twice. A job holds the lease from
    // its 202 until the chunk that ends it: another import meanwhile answers
    // 409 naming the job; once the job is done the organization imports
    // again, and the same file then finds every candidate the job created.
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path(), Some(1));
    let cmp = campaign(&api.router).await;
    let csv = "First Name,Work Email\nAda,ada@lease.example\nBea,bea@lease.example\n";
    let (status, queued) = import(&api.router, csv, &cmp, "first").await;
    assert_eq!(status, 202, "{queued}");
    let job = queued["id"].as_str().unwrap().to_owned();
    let (status, refused) = import(&api.router, csv, &cmp, "second").await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains(&job),
        "names the running import: {refused}"
    );
    loop {
        let queued = std::mem::take(&mut *api.queue.0.lock().unwrap());
        if queued.is_empty() {
            break;
        }
        for w in queued {
            api.service.sending().run_job(&w.job).await.unwrap();
        }
    }
    let (_, view) = get(&api.router, &format!("/v1/imports/{job}"), "acme").await;
    assert_eq!(view["state"], "done", "{view}");
    assert_eq!(view["created"], 2, "{view}");
    let (status, again) = import(&api.router, csv, &cmp, "third").await;
    assert_eq!(status, 202, "{again}");
    let queued = std::mem::take(&mut *api.queue.0.lock().unwrap());
    for w in queued {
        api.service.sending().run_job(&w.job).await.unwrap();
    }
    let id = again["id"].as_str().unwrap();
    let (_, view) = get(&api.router, &format!("/v1/imports/{id}"), "acme").await;
    assert_eq!(
        (&view["state"], &view["created"], &view["skipped"]),
        (&json!("done"), &json!(0), &json!(2)),
        "{view}"
    );
}
