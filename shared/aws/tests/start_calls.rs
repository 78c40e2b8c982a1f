//! What a campaign's start request costs in AWS (SPEC §15, issue 18): a
//! bounded number of calls whatever the campaign's size, every planning chunk
//! left to the planner queue; and how long it answers with a fixed latency
//! added to each call. The counts are asserted; the times are printed for
//! `outreach-bench` (`BENCH` lines), never asserted.
//!
//! The enrollments are written straight into the table (the use cases, or the
//! store's transactional insert, would take hours for 10,000 on the emulator); the start
//! and the chunks run through the use cases with the AWS adapters, in the AWS
//! composition (`plan_first_chunk_in_request: false`, as `outreach-lambda`).

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use outreach_app::auth::{Hs256Authenticator, Identity};
use outreach_app::ports::{Queue, SchedulerError, WakeUp};
use outreach_app::usecases::campaigns::{FAN_OUT_CHUNK, NewCampaign};
use outreach_app::{Config, Ports, Service};
use outreach_aws::{DynamoStore, EventBridgeScheduler, SesIdentities};
use outreach_domain::campaign::{Campaign, StepSpec, WhenToSend};
use outreach_domain::enrollment::{Enrollment, NewEnrollment};
use outreach_domain::ids::{CandidateId, EnrollmentId, OrgId, UserId};
use outreach_embedded::RandomIds;
use support::{Aws, TestClock, latency, unique};

/// Calls the start request may make, whatever the size: the campaign read
/// (twice: the rights check, then the versioned change), the sender account
/// (twice: rights, connection), the campaign's conditional write, and the one
/// queued fan-out message.
const START_CALLS_AT_MOST: usize = 8;

/// The latency added to each call for the timed start (issue 18: 10 ms).
const LATENCY: Duration = Duration::from_millis(10);

/// What the service queues (SQS in AWS), kept so the test can count the
/// messages (each is one `SendMessage`) and run them as the planner does.
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

/// Sizes from the environment (`OUTREACH_START_SIZES=200,2000`), or `default`.
fn sizes(var: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(var)
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

/// The service in the AWS composition on `aws`'s clients, over the table and
/// schedule group of `on` (the same as `aws`'s unless a second set of
/// clients, e.g. a delayed one, shares them).
async fn service_on(
    aws: &Aws,
    on: &Aws,
    clock: &Arc<TestClock>,
    queue: Arc<Captured>,
) -> Arc<Service> {
    let store = Arc::new(DynamoStore::new(aws.clients.dynamodb.clone(), &on.table));
    let scheduler = Arc::new(EventBridgeScheduler::new(
        aws.clients.scheduler.clone(),
        &on.group,
        outreach_aws::ScheduleTarget {
            arn: "arn:aws:sqs:us-east-1:123456789012:outreach-send".into(),
            role_arn: "arn:aws:iam::123456789012:role/outreach-scheduler".into(),
            dead_letter_arn: "arn:aws:sqs:us-east-1:123456789012:outreach-wakeups-dlq".into(),
            max_event_age_seconds: 3600,
            max_retries: 10,
        },
        clock.clone(),
    ));
    Service::new(
        Ports {
            store,
            scheduler,
            mailer: aws.mailer(),
            clock: clock.clone(),
            ids: Arc::new(RandomIds::default()),
            auth: Arc::new(Hs256Authenticator::new(b"test")),
            identities: Arc::new(SesIdentities::new(aws.clients.sesv2.clone())),
            queue,
        },
        Config {
            initial_credits: 1_000_000,
            // As `outreach-lambda` composes it (§15).
            plan_first_chunk_in_request: false,
            ..Config::local(3000)
        },
    )
}

/// A draft campaign of `n` candidates, enrolled by [`bulk_enroll`].
async fn campaign_of(aws: &Aws, service: &Service, who: &Identity, n: usize) -> Campaign {
    let sender = format!("{}@recruit.example", unique("alice"));
    aws.verify_sender(&sender).await;
    let account = service
        .accounts()
        .link_account(who, &sender, None)
        .await
        .expect("account linked");
    let project = service
        .catalog()
        .create_project(who, "Backend hiring")
        .await
        .expect("project created");
    let step = |body: &str, delay_days| StepSpec {
        subject: Some("Hello".into()),
        body: body.into(),
        text: None,
        delay_days,
    };
    let campaign = service
        .campaigns()
        .create_campaign(
            who,
            &project.id,
            NewCampaign {
                name: "Big".into(),
                sender_account_id: account.id.to_string(),
                template_id: None,
                steps: Some(vec![step("<p>Hi</p>", 0), step("<p>Again</p>", 2)]),
                timezone: Some("UTC".into()),
                when_to_send: WhenToSend::WhenStarted,
                recipient: None,
                skip_weekends: false,
                timezone_mode: Default::default(),
                daily_limit: None,
            },
        )
        .await
        .expect("campaign created");
    bulk_enroll(aws, &campaign, n, service.now()).await;
    campaign
}

/// `n` enrollments of `campaign`, written as the store writes them (the
/// enrollment item in its two indexes, its membership item; the campaign's
/// active counter) with
/// `BatchWriteItem`, 25 at a time: the store's own insert is a transaction,
/// which moto answers in time growing with the table (quadratic in total).
/// The candidates themselves are not written: neither the start request nor
/// a chunk of the fan-out reads them (campaign time zone).
async fn bulk_enroll(aws: &Aws, campaign: &Campaign, n: usize, now: DateTime<Utc>) {
    use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
    use outreach_aws::dynamo::keys;
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let (org, cid) = (campaign.org_id.as_str(), campaign.id.as_str());
    let items: Vec<WriteRequest> = (0..n)
        .flat_map(|i| {
            let e = Enrollment::new(NewEnrollment {
                id: EnrollmentId::new(format!("enr_start{i:08}")),
                org_id: campaign.org_id.clone(),
                campaign_id: campaign.id.clone(),
                candidate_id: CandidateId::new(format!("cand_start{i:08}")),
                step_count: 2,
                pinned_address: None,
                reply_token: format!("reply{cid}{i:08}"),
                unsubscribe_token: format!("unsub{cid}{i:08}"),
                now,
            });
            let id = e.id.as_str();
            let key = keys::enrollment(org, id);
            let gsi1 = keys::enrollment_in_campaign(org, cid, id);
            let gsi2 = keys::enrollment_of_candidate(org, e.candidate_id.as_str(), cid, id);
            let item = [
                (keys::PK, s(&key.pk)),
                (keys::SK, s(&key.sk)),
                (
                    "doc",
                    s(&serde_json::to_string(&e).expect("an enrollment's JSON")),
                ),
                ("v", AttributeValue::N("1".into())),
                ("org", s(org)),
                ("id", s(id)),
                (keys::GSI1PK, s(&gsi1.pk)),
                (keys::GSI1SK, s(&gsi1.sk)),
                (keys::GSI2PK, s(&gsi2.pk)),
                (keys::GSI2SK, s(&gsi2.sk)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            // Its membership item, read consistently by planning (issue 19).
            let member = keys::member(org, cid, id);
            let member = [
                (keys::PK, s(&member.pk)),
                (keys::SK, s(&member.sk)),
                ("org", s(org)),
                ("id", s(id)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            [item, member].map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .expect("a put");
                WriteRequest::builder().put_request(put).build()
            })
        })
        .collect();
    let db = &aws.clients.dynamodb;
    for batch in items.chunks(25) {
        let out = db
            .batch_write_item()
            .request_items(&aws.table, batch.to_vec())
            .send()
            .await
            .expect("a batch of enrollments written");
        assert!(
            out.unprocessed_items.unwrap_or_default().is_empty(),
            "moto wrote every item"
        );
    }
    let key = keys::campaign(org, cid);
    db.update_item()
        .table_name(&aws.table)
        .key(keys::PK, s(&key.pk))
        .key(keys::SK, s(&key.sk))
        .update_expression("ADD active :n, v :one")
        .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .expect("the campaign's counter");
}

fn someone() -> Identity {
    Identity {
        org_id: OrgId::from(unique("acme").as_str()),
        user_id: UserId::from("alice"),
        email: None,
        admin: false,
    }
}

/// The start request's calls at a campaign of `n` candidates: the AWS calls
/// on the wire plus one `SendMessage` per queued message.
async fn start_calls(n: usize) -> (usize, Vec<support::Call>, Vec<WakeUp>) {
    let aws = Aws::new().await;
    aws.store().await;
    aws.scheduler(TestClock::new(at("2026-12-01T14:00:00Z")))
        .await;
    let clock = TestClock::new(at("2026-12-01T14:00:00Z"));
    let queue = Arc::new(Captured::default());
    let service = service_on(&aws, &aws, &clock, queue.clone()).await;
    let who = someone();
    let campaign = campaign_of(&aws, &service, &who, n).await;
    queue.take();
    aws.calls.take();
    service
        .campaigns()
        .start_campaign(&who, campaign.id.as_str())
        .await
        .expect("campaign started");
    let calls = aws.calls.take();
    let queued = queue.take();
    (calls.len() + queued.len(), calls, queued)
}

/// §15: the start request makes a bounded number of AWS calls whatever the
/// campaign's size — none per enrollment, no chunk planned in the request.
/// Before issue 18 it planned the first chunk of 200 itself: about six calls
/// per enrollment, 1 vs 1,200 here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_request_makes_as_many_calls_at_any_size() {
    let sizes = sizes("OUTREACH_START_SIZES", &[1, FAN_OUT_CHUNK as usize + 1]);
    let mut counts = Vec::new();
    for &n in &sizes {
        let (count, calls, queued) = start_calls(n).await;
        let ops: Vec<String> = calls
            .iter()
            .map(|c| format!("{}.{}", c.service, c.operation))
            .chain(queued.iter().map(|_| "SQS.SendMessage".to_owned()))
            .collect();
        println!("AWS calls of the start request at {n} candidates: {count} {ops:?}");
        println!("BENCH start_request_calls {n} {count}");
        assert_eq!(
            queued.len(),
            1,
            "one fan-out message, the chunks follow from it"
        );
        counts.push(count);
    }
    assert!(
        counts.iter().all(|&c| c == counts[0]),
        "the start request's calls grow with the campaign: {sizes:?} -> {counts:?}"
    );
    assert!(counts[0] <= START_CALLS_AT_MOST, "{counts:?}");
}

/// The start request's answer time with [`LATENCY`] added to each AWS call
/// (and to the queued message, which this test does not send), at
/// `OUTREACH_START_TIMED` candidates (201 by default; the bench: 10,000), and
/// the first queued chunk's time and calls under the same latency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_request_answers_quickly_at_network_latency() {
    let n = sizes("OUTREACH_START_TIMED", &[FAN_OUT_CHUNK as usize + 1])[0];
    let fill = Aws::new().await;
    fill.store().await;
    let clock = TestClock::new(at("2026-12-01T14:00:00Z"));
    fill.scheduler(clock.clone()).await;
    let queue = Arc::new(Captured::default());
    let filler = service_on(&fill, &fill, &clock, queue.clone()).await;
    let who = someone();
    let t = Instant::now();
    let campaign = campaign_of(&fill, &filler, &who, n).await;
    println!(
        "filled {n} enrollments in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    queue.take();

    // The same table and schedule group, through clients 10 ms away.
    let slow = Aws::on(latency::delayed_client(LATENCY)).await;
    let service = service_on(&slow, &fill, &clock, queue.clone()).await;
    let t = Instant::now();
    service
        .campaigns()
        .start_campaign(&who, campaign.id.as_str())
        .await
        .expect("campaign started");
    let queued = queue.take();
    // The queued message's SendMessage would take one more latency.
    let answer = t.elapsed() + LATENCY * queued.len() as u32;
    let calls = slow.calls.take().len() + queued.len();
    println!(
        "start request at {n} candidates, {} ms per call: {:.3} s, {calls} calls",
        LATENCY.as_millis(),
        answer.as_secs_f64()
    );
    println!(
        "BENCH start_answer_seconds_latency {n} {:.4}",
        answer.as_secs_f64()
    );
    assert_eq!(queued.len(), 1);
    assert!(calls <= START_CALLS_AT_MOST);

    // The planner: the first chunk, as the planner function runs it.
    let t = Instant::now();
    service
        .sending()
        .run_job(&queued[0].job)
        .await
        .expect("the chunk runs");
    let secs = t.elapsed().as_secs_f64();
    let chunk = slow.calls.take();
    let next = queue.take();
    let planned = (n).min(FAN_OUT_CHUNK as usize);
    let mut ops = std::collections::BTreeMap::<String, usize>::new();
    for c in &chunk {
        *ops.entry(format!("{}.{}", c.service, c.operation))
            .or_default() += 1;
    }
    println!(
        "first chunk ({planned} enrollments) at {} ms per call: {secs:.3} s, {} calls {ops:?}, {} queued",
        LATENCY.as_millis(),
        chunk.len(),
        next.len()
    );
    println!("BENCH chunk_seconds_latency {planned} {secs:.4}");
    println!("BENCH chunk_calls {planned} {}", chunk.len() + next.len());
    for (op, count) in &ops {
        println!("BENCH chunk_calls.{op} {planned} {count}");
    }
    assert_eq!(
        ops.get("Scheduler.CreateSchedule").copied(),
        Some(planned),
        "every enrollment of the chunk gets its first wake-up"
    );
}
