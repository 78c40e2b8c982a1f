//! `Idempotency-Key` leases (SPEC §13, issue 16): a key whose first request
//! died without an answer is free again after 60 seconds; a first request
//! still running keeps its key however long it runs; an answer is kept 24
//! hours, and always within a store item (issue 19). Run on the embedded
//! store with the manual clock, through the idempotency middleware in front
//! of handlers the test controls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use outreach_app::auth::Hs256Authenticator;
use outreach_app::http::idempotency::{RENEW_EVERY, idempotency};
use outreach_app::ports::{IdSource, MAX_RECORD_BYTES};
use outreach_app::{Config, Ports, Service};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};
use tokio::sync::Notify;
use tower::ServiceExt;

const SECRET: &[u8] = b"test";

struct Harness {
    router: Router,
    clock: Arc<LocalClock>,
    db: Db,
    /// What `/v1/answers` answers.
    answer: Arc<Mutex<Vec<u8>>>,
    /// How many times the handler started.
    runs: Arc<AtomicUsize>,
    /// Signalled each time the handler starts.
    started: Arc<Notify>,
    token: String,
    _dir: tempfile::TempDir,
}

/// A router whose route `/v1/things` never answers its first request (a
/// request that dies, once its task is dropped) and answers 201 with the
/// run's number after; `/v1/answers` answers 201 with [`Harness::answer`].
fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::in_memory().unwrap();
    let start: DateTime<Utc> = "2026-12-01T14:00:00Z".parse().unwrap();
    let clock = Arc::new(LocalClock::manual(db.clone(), start));
    let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
    let scheduler = Arc::new(LocalScheduler::new(db.clone()));
    let outbox = Arc::new(
        OutboxMailer::new(
            db.clone(),
            dir.path().join("outbox"),
            clock.clone(),
            ids.clone(),
        )
        .unwrap(),
    );
    let service = Service::new(
        Ports {
            store: Arc::new(SqliteStore::new(db.clone())),
            scheduler: scheduler.clone(),
            mailer: outbox.clone(),
            clock: clock.clone(),
            ids,
            auth: Arc::new(Hs256Authenticator::new(SECRET)),
            identities: outbox,
            queue: scheduler,
        },
        Config::local(3000),
    );
    let runs = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(Notify::new());
    let handler = {
        let (runs, started) = (runs.clone(), started.clone());
        move || async move {
            let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
            started.notify_one();
            if run == 1 {
                std::future::pending::<()>().await;
            }
            (StatusCode::CREATED, format!("run {run}"))
        }
    };
    let answer = Arc::new(Mutex::new(Vec::new()));
    let answers = {
        let (runs, answer) = (runs.clone(), answer.clone());
        move || async move {
            runs.fetch_add(1, Ordering::SeqCst);
            let body = answer.lock().unwrap().clone();
            (StatusCode::CREATED, body)
        }
    };
    let router = Router::new()
        .route("/v1/things", post(handler))
        .route("/v1/answers", post(answers))
        .layer(axum::middleware::from_fn_with_state(service, idempotency));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token =
        outreach_app::auth::issue_hs256(SECRET, "acme", "alice", None, false, now, 3600).unwrap();
    Harness {
        router,
        clock,
        db,
        answer,
        runs,
        started,
        token,
        _dir: dir,
    }
}

impl Harness {
    fn request(&self) -> Request<Body> {
        self.request_to("/v1/things")
    }

    fn request_to(&self, path: &str) -> Request<Body> {
        Request::post(path)
            .header("authorization", format!("Bearer {}", self.token))
            .header("idempotency-key", "k-1")
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap()
    }

    async fn call(&self) -> (StatusCode, String) {
        let (status, body) = self.call_to("/v1/things").await;
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn call_to(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let response = self
            .router
            .clone()
            .oneshot(self.request_to(path))
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, body.to_vec())
    }

    /// The size of the key's record as the store keeps it (its JSON document).
    fn stored_bytes(&self) -> usize {
        let n: i64 = self
            .db
            .lock()
            .query_row(
                "SELECT length(CAST(body AS BLOB)) FROM docs WHERE kind = 'record' AND id LIKE 'idem:%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        n as usize
    }

    /// Starts the first request, which never answers, and waits until it runs.
    async fn start_first(&self) -> tokio::task::JoinHandle<()> {
        let router = self.router.clone();
        let request = self.request();
        let first = tokio::spawn(async move {
            let _ = router.oneshot(request).await;
        });
        self.started.notified().await;
        first
    }

    fn advance(&self, by: Duration) {
        self.clock
            .set(outreach_app::ports::Clock::now(&*self.clock) + by);
    }
}

#[tokio::test]
async fn a_key_whose_first_request_died_is_free_after_60_seconds() {
    // SPEC §13: "free again after 60 seconds"
    let h = harness();
    let first = h.start_first().await;
    first.abort();
    let _ = first.await;
    // The key is in flight: a repeat is refused, not run.
    let (status, body) = h.call().await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    h.advance(Duration::seconds(59));
    assert_eq!(h.call().await.0, StatusCode::CONFLICT);
    assert_eq!(h.runs.load(Ordering::SeqCst), 1);
    // A minute after the request died, the key is free: the repeat runs once.
    h.advance(Duration::seconds(1));
    assert_eq!(h.call().await, (StatusCode::CREATED, "run 2".to_owned()));
    // And that answer is the key's from now on (kept 24 hours).
    h.advance(Duration::hours(23));
    assert_eq!(h.call().await, (StatusCode::CREATED, "run 2".to_owned()));
    assert_eq!(h.runs.load(Ordering::SeqCst), 2);
    h.advance(Duration::hours(1));
    assert_eq!(h.call().await, (StatusCode::CREATED, "run 3".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn a_first_request_still_running_keeps_its_key() {
    // SPEC §13: a live first request renews its lease; only a dead one frees the key
    let h = harness();
    let first = h.start_first().await;
    h.advance(Duration::seconds(61));
    // Wall time passes (paused: at once) and the running request renews its lease.
    tokio::time::sleep(RENEW_EVERY + std::time::Duration::from_secs(1)).await;
    let (status, body) = h.call().await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(h.runs.load(Ordering::SeqCst), 1, "never twice at once");
    // It dies: a minute after its last renewal, the key is free.
    first.abort();
    let _ = first.await;
    h.advance(Duration::seconds(60));
    assert_eq!(h.call().await, (StatusCode::CREATED, "run 2".to_owned()));
}

#[tokio::test]
async fn an_answer_that_grows_when_stored_is_kept_whole_within_an_item() {
    // SPEC §13, issue 19 item 4: 120 KB of control characters is 720 KB as
    // JSON; the key's record still fits an item, and a repeat replays the
    // answer as it was, never running the request again.
    let h = harness();
    let answer = "\u{1}".repeat(120 * 1024).into_bytes();
    *h.answer.lock().unwrap() = answer.clone();
    let first = h.call_to("/v1/answers").await;
    assert_eq!(first, (StatusCode::CREATED, answer.clone()));
    let stored = h.stored_bytes();
    assert!(
        stored <= MAX_RECORD_BYTES,
        "the record takes {stored} bytes"
    );
    h.advance(Duration::seconds(61));
    assert_eq!(
        h.call_to("/v1/answers").await,
        (StatusCode::CREATED, answer)
    );
    assert_eq!(h.runs.load(Ordering::SeqCst), 1, "never twice");
}

#[tokio::test]
async fn an_answer_too_large_to_keep_leaves_its_key_answered_not_pending() {
    // SPEC §13, issue 19 item 4: 200 KB that does not deflate is kept as its
    // status alone; a repeat is refused (409) rather than run again, during
    // and after the 60-second lease, and the key is free after 24 hours.
    let h = harness();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..200 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    *h.answer.lock().unwrap() = noise.clone();
    assert_eq!(h.call_to("/v1/answers").await, (StatusCode::CREATED, noise));
    assert!(h.stored_bytes() < 1024, "the status alone is kept");
    for wait in [Duration::zero(), Duration::seconds(61), Duration::hours(23)] {
        h.advance(wait);
        let (status, body) = h.call_to("/v1/answers").await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert!(String::from_utf8_lossy(&body).contains("answered (201)"));
    }
    assert_eq!(h.runs.load(Ordering::SeqCst), 1, "never twice");
    h.advance(Duration::hours(1));
    assert_eq!(h.call_to("/v1/answers").await.0, StatusCode::CREATED);
    assert_eq!(
        h.runs.load(Ordering::SeqCst),
        2,
        "a new request after 24 hours"
    );
}
