//! A large import in AWS (R-3.7, §15, issue 21): the request reads and
//! checks the whole file, stores the valid rows as a job and answers at
//! once; the planner queue runs the job chunk by chunk. Run with the
//! DynamoDB adapter on the emulator and the AWS composition's threshold
//! lowered, against the same file imported synchronously by another
//! organization: the job ends `done` with exactly the same counts, errors
//! and candidates; a redelivered chunk changes nothing; a repeated
//! `Idempotency-Key` finds the same job; another organization's job is 404.
//!
//! `OUTREACH_IMPORT_ROWS` sets the file's size (default 150 rows: one chunk,
//! since the emulator answers one call at a time and 1,100 rows, two chunks,
//! took over 10 minutes there; the chunks' order and a candidate named across
//! a chunk's edge are checked on the embedded store by
//! `shared/embedded/tests/import_jobs.rs`, 1,300 rows); the job path's time is
//! printed (`BENCH` line), never asserted.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use outreach_app::auth::{Hs256Authenticator, Identity};
use outreach_app::error::Error;
use outreach_app::ports::{PageRequest, Queue, SchedulerError, WakeUp};
use outreach_app::usecases::catalog::import::job::ImportState;
use outreach_app::usecases::catalog::import::{ImportAnswer, ImportInput, OnDuplicate};
use outreach_app::{Config, Ports, Service};
use outreach_aws::{DynamoStore, SesIdentities};
use outreach_domain::ids::{OrgId, UserId};
use outreach_embedded::RandomIds;
use support::{Aws, TestClock, unique};

/// What the service queues (the planner queue in AWS), kept so the test
/// runs each message as the planner does, and again as SQS may.
#[derive(Default)]
struct Captured(Mutex<Vec<WakeUp>>);

#[async_trait::async_trait]
impl Queue for Captured {
    async fn enqueue(&self, job: &WakeUp) -> Result<(), SchedulerError> {
        self.0.lock().expect("queue").push(job.clone());
        Ok(())
    }
}

impl Captured {
    fn take(&self) -> Vec<WakeUp> {
        std::mem::take(&mut *self.0.lock().expect("queue"))
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("an RFC 3339 instant")
        .with_timezone(&Utc)
}

fn who(org: &str) -> Identity {
    Identity {
        org_id: OrgId::new(org),
        user_id: UserId::new("alice"),
        email: None,
        admin: false,
    }
}

/// The service in the AWS composition on the table, with imports beyond
/// `sync_max_calls` run as jobs (`None`: every import synchronous).
async fn service_on(
    aws: &Aws,
    store: Arc<DynamoStore>,
    queue: Arc<Captured>,
    sync_max_calls: Option<usize>,
) -> Arc<Service> {
    let clock = TestClock::new(at("2026-12-01T09:00:00Z"));
    Service::new(
        Ports {
            store,
            scheduler: aws.scheduler(clock.clone()).await,
            mailer: aws.mailer(),
            clock,
            ids: Arc::new(RandomIds::default()),
            auth: Arc::new(Hs256Authenticator::new(b"test")),
            identities: Arc::new(SesIdentities::new(aws.clients.sesv2.clone())),
            queue,
        },
        Config {
            plan_first_chunk_in_request: false,
            import_enroll_max_rows: 1_000,
            import_sync_max_calls: sync_max_calls,
            ..Config::local(3000)
        },
    )
}

/// `rows` data rows: mostly two addresses each; every 37th without an
/// address; every 100th invalid (no first name); every 50th repeating the
/// work address of the row 60 before it (in the chunk before, across a
/// chunk's edge) with a title to fill in.
fn file(rows: usize) -> String {
    let mut csv = String::from("First Name,Last Name,Title,Work Email,Personal Email\n");
    for i in 1..=rows {
        let line = if i % 100 == 7 {
            format!(",Nameless,,x{i}@work.example,\n")
        } else if i % 37 == 0 {
            format!("N{i},NoMail,,,\n")
        } else if i % 50 == 3 && i > 60 {
            format!(
                "R{i},Again,Engineer,w{}@work.example,r{i}@home.example\n",
                i - 60
            )
        } else {
            format!("C{i},Row,,w{i}@work.example,p{i}@home.example\n")
        };
        csv.push_str(&line);
    }
    csv
}

fn input(csv: &str, key: Option<&str>) -> ImportInput {
    ImportInput {
        file: csv.as_bytes().to_vec(),
        on_duplicate: OnDuplicate::Update,
        idempotency_key: key.map(str::to_owned),
        ..ImportInput::default()
    }
}

async fn candidates(service: &Service, who: &Identity) -> Vec<String> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = service
            .catalog()
            .list_candidates(who, &PageRequest { limit: 100, after })
            .await
            .expect("listed");
        out.extend(page.items.iter().map(|c| {
            let emails: Vec<String> = c.emails.iter().map(|e| e.address.to_string()).collect();
            format!(
                "{} {} {:?} {}",
                c.first_name,
                c.last_name,
                c.title,
                emails.join(",")
            )
        }));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    out.sort();
    out
}

/// Runs what is queued until nothing is, each message twice (SQS delivers at
/// least once); the messages run.
async fn drain(service: &Service, queue: &Captured) -> usize {
    let mut ran = 0;
    loop {
        let batch = queue.take();
        if batch.is_empty() {
            return ran;
        }
        for w in batch {
            for _ in 0..2 {
                service
                    .sending()
                    .run_job(&w.job)
                    .await
                    .expect("the chunk runs");
            }
            ran += 1;
        }
    }
}

fn rows() -> usize {
    std::env::var("OUTREACH_IMPORT_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_import_runs_as_a_job_with_the_counts_of_a_synchronous_one() {
    let aws = Aws::new().await;
    let store = aws.store().await;
    let queue = Arc::new(Captured::default());
    let sync = service_on(&aws, store.clone(), queue.clone(), None).await;
    let jobs = service_on(&aws, store.clone(), queue.clone(), Some(100)).await;
    let csv = file(rows());
    let (a, b) = (who(&unique("sync")), who(&unique("job")));

    let synced = Instant::now();
    let Some(done) = sync
        .catalog()
        .import_candidates(&a, input(&csv, None))
        .await
        .expect("imported")
        .done()
    else {
        panic!("without a threshold an import answers when done");
    };
    assert!(
        queue.take().is_empty(),
        "a synchronous import queues nothing"
    );
    let sync_ms = synced.elapsed().as_millis();

    let started = Instant::now();
    let answer = jobs
        .catalog()
        .import_candidates(&b, input(&csv, None))
        .await
        .expect("queued");
    let answered = started.elapsed();
    let ImportAnswer::Queued { job, errors } = answer else {
        panic!("beyond the threshold an import is a job");
    };
    assert_eq!(job.state, ImportState::Queued);
    assert_eq!(errors, done.errors, "every row error is known at once");
    assert_eq!(
        job.chunks,
        (csv.lines().count() - 1 - errors.len()).div_ceil(1_000)
    );
    let chunks = drain(&jobs, &queue).await;
    let took = started.elapsed();
    println!(
        "BENCH import_job rows={} chunks={chunks} sync_ms={sync_ms} answered_ms={} done_ms={}",
        rows(),
        answered.as_millis(),
        took.as_millis()
    );
    assert_eq!(chunks, job.chunks, "one message a chunk");

    let (status, status_errors) = jobs
        .catalog()
        .import_status(&b, &job.id)
        .await
        .expect("read");
    assert_eq!(status.state, ImportState::Done);
    assert_eq!(
        (status.created, status.updated, status.skipped),
        (done.created, done.updated, done.skipped),
        "the job counts what the synchronous import counted"
    );
    assert!(done.updated > 0, "the file repeats addresses across chunks");
    assert_eq!(status_errors, done.errors);
    assert_eq!(candidates(&jobs, &b).await, candidates(&sync, &a).await);

    // A chunk delivered again after the job ended changes nothing.
    for chunk in 0..job.chunks {
        let again = outreach_app::ports::Job::ImportChunk {
            org_id: b.org_id.clone(),
            import_id: job.id.clone(),
            chunk,
        };
        jobs.sending().run_job(&again).await.expect("ran");
    }
    assert!(queue.take().is_empty());
    let (after, _) = jobs
        .catalog()
        .import_status(&b, &job.id)
        .await
        .expect("read");
    assert_eq!(after, status, "a redelivered chunk adds nothing");
    assert_eq!(candidates(&jobs, &b).await, candidates(&sync, &a).await);

    // The synchronous import is recorded too, done.
    let id = done.import_id.expect("an import id");
    let (recorded, recorded_errors) = sync.catalog().import_status(&a, &id).await.expect("read");
    assert_eq!(recorded.state, ImportState::Done);
    assert_eq!(
        (recorded.created, recorded.updated, recorded.skipped),
        (done.created, done.updated, done.skipped)
    );
    assert_eq!(recorded_errors, done.errors);

    // Another organization's import is not found (404).
    for (service, other, id) in [(&jobs, &a, &job.id), (&sync, &b, &id)] {
        let err = service
            .catalog()
            .import_status(other, id)
            .await
            .expect_err("foreign");
        assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_key_finds_the_same_job_and_creates_nothing_twice() {
    let aws = Aws::new().await;
    let store = aws.store().await;
    let queue = Arc::new(Captured::default());
    let jobs = service_on(&aws, store, queue.clone(), Some(20)).await;
    let csv = file(150);
    let c = who(&unique("repeat"));
    let first = jobs
        .catalog()
        .import_candidates(&c, input(&csv, Some("key-1")))
        .await
        .expect("queued");
    let ImportAnswer::Queued { job: first, .. } = first else {
        panic!("a job");
    };
    // The repeat of a request whose answer was lost (§13): the same job.
    let again = jobs
        .catalog()
        .import_candidates(&c, input(&csv, Some("key-1")))
        .await
        .expect("queued");
    let ImportAnswer::Queued { job: again, .. } = again else {
        panic!("a job");
    };
    assert_eq!(again.id, first.id, "never a second job");
    // Its chunk was queued twice (a repeat re-queues): it runs once.
    drain(&jobs, &queue).await;
    let (status, _) = jobs
        .catalog()
        .import_status(&c, &first.id)
        .await
        .expect("read");
    assert_eq!(status.state, ImportState::Done);
    let listed = candidates(&jobs, &c).await.len();
    assert_eq!(listed, status.created, "each created candidate once");
    // After the job ended, the same key again answers the finished job.
    let ImportAnswer::Queued { job: later, .. } = jobs
        .catalog()
        .import_candidates(&c, input(&csv, Some("key-1")))
        .await
        .expect("answered")
    else {
        panic!("the job");
    };
    assert_eq!((later.id, later.state), (first.id, ImportState::Done));
    drain(&jobs, &queue).await;
    assert_eq!(candidates(&jobs, &c).await.len(), listed);
}
