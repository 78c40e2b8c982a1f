//! How many AWS calls one campaign step costs, end to end, on the emulator:
//! the wake-up (read back from EventBridge Scheduler) runs through the real
//! `Service::run_job` with the AWS adapters — checks, claim, SendEmail,
//! record, next wake-up — and every request on the wire is counted.

#[path = "calls/capacity.rs"]
mod capacity;
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use outreach_app::auth::{Hs256Authenticator, Identity};
use outreach_app::model::UserProfile;
use outreach_app::ports::{
    Clock, DailyLimits, DayCount, DaySlot, PageRequest, Queue, SchedulerError, Store, WakeUp,
};
use outreach_app::usecases::campaigns::NewCampaign;
use outreach_app::usecases::catalog::candidates::{NewCandidate, NewEmail};
use outreach_app::usecases::enrollments::AddCandidates;
use outreach_app::usecases::sending::JobOutcome;
use outreach_app::{Config, Ports, Service};
use outreach_aws::dynamo::keys;
use outreach_aws::{DynamoStore, EventBridgeScheduler, SesIdentities};
use outreach_domain::Zone;
use outreach_domain::campaign::Campaign;
use outreach_domain::campaign::{StepSpec, WhenToSend};
use outreach_domain::candidate::{Candidate, EmailType};
use outreach_domain::enrollment::AttemptState;
use outreach_domain::ids::{EnrollmentId, OrgId, UserId};
use outreach_embedded::RandomIds;
use support::{Aws, TestClock, unique};

/// The calls the hand-off of one step makes today, in order (issue 20; 8
/// before it, 17 before issue 8): one BatchGetItem of the enrollment, its
/// campaign, its candidate, and — the wake-up names the address and sender
/// account it was planned with — the sender account, the planned address's
/// suppression entry and refused-address record and
/// the sender's reputation counters; PutItem enrollment (the claim,
/// ); SES SendEmail; one TransactWriteItems with the enrollment's
/// record, its event, the message under both ids and the counters' `ADD`s;
/// CreateSchedule (step 2). The test prints the breakdown when it changes.
const CALLS_PER_STEP: usize = 5;

/// The rare path (issue 20): another address than the planned one is due
/// now (the planned one bounced since), so what excludes every address of
/// the candidate is read in a second BatchGetItem.
const CALLS_PER_STEP_TO_ANOTHER_ADDRESS: usize = 6;

/// The common path with daily limits set, the account's and the campaign's
/// (issue 20, R-6.7): as many calls as without. The account owner's profile
/// (whose time zone the days are) is read in the first BatchGetItem, and the
/// day's slot is taken in the claim's write, one TransactWriteItems with
/// the enrollment's Put. 7 before: a GetItem of the profile and an
/// UpdateItem of the day's count of their own.
const CALLS_PER_STEP_UNDER_DAILY_LIMITS: usize = 5;

/// The fan-out queue (SQS in AWS) is not what is counted: starting queues a
/// safety-net re-run, while one candidate is planned within the request.
struct Ignored;

#[async_trait::async_trait]
impl Queue for Ignored {
    async fn enqueue(&self, _job: &WakeUp) -> Result<(), SchedulerError> {
        Ok(())
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("an RFC 3339 instant")
        .with_timezone(&Utc)
}

fn step(subject: Option<&str>, body: &str, delay_days: u32) -> StepSpec {
    StepSpec {
        subject: subject.map(str::to_owned),
        body: body.to_owned(),
        text: None,
        delay_days,
    }
}

/// The keys a DynamoDB request touches, to tell the calls apart in the output.
fn describe(body: &[u8]) -> String {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    let key = |v: &serde_json::Value| {
        format!(
            "{} / {}",
            v["PK"]["S"].as_str().unwrap_or("?"),
            v["SK"]["S"].as_str().unwrap_or("?")
        )
    };
    if let Some(items) = body["TransactItems"].as_array() {
        let parts: Vec<String> = items
            .iter()
            .filter_map(|i| i.as_object()?.iter().next())
            .map(|(op, w)| {
                let target = if w["Key"].is_null() {
                    &w["Item"]
                } else {
                    &w["Key"]
                };
                format!("{op} {}", key(target))
            })
            .collect();
        return format!("[{}]", parts.join("; "));
    }
    if !body["Key"].is_null() {
        return key(&body["Key"]);
    }
    if !body["Item"].is_null() {
        return key(&body["Item"]);
    }
    String::new()
}

/// The service on the AWS adapters against the emulator.
fn service_on(
    aws: &Aws,
    clock: &Arc<TestClock>,
    store: &Arc<DynamoStore>,
    scheduler: &Arc<EventBridgeScheduler>,
    queue: Arc<dyn Queue>,
    initial_credits: i64,
    plan_first_chunk_in_request: bool,
) -> Arc<Service> {
    Service::new(
        Ports {
            store: store.clone(),
            scheduler: scheduler.clone(),
            mailer: aws.mailer(),
            clock: clock.clone(),
            ids: Arc::new(RandomIds::default()),
            auth: Arc::new(Hs256Authenticator::new(b"test")),
            identities: Arc::new(SesIdentities::new(aws.clients.sesv2.clone())),
            queue,
        },
        Config {
            initial_credits,
            plan_first_chunk_in_request,
            ..Config::local(3000)
        },
    )
}

/// A two-step campaign from `sender`'s account (linked here), not started;
/// `limits` are the account's and the campaign's daily limits.
async fn two_step_campaign(
    service: &Service,
    who: &Identity,
    sender: &str,
    limits: DailyLimits,
) -> Campaign {
    let account = service
        .accounts()
        .link_account(who, sender, Some("Alice Recruiter".into()))
        .await
        .expect("account linked");
    if limits.account.is_some() {
        service
            .accounts()
            .set_account_daily_limit(who, account.id.as_str(), limits.account)
            .await
            .expect("the account's daily limit set");
    }
    let project = service
        .catalog()
        .create_project(who, "Backend hiring")
        .await
        .expect("project created");
    service
        .campaigns()
        .create_campaign(
            who,
            &project.id,
            NewCampaign {
                name: "Backend Q1".into(),
                sender_account_id: account.id.to_string(),
                template_id: None,
                steps: Some(vec![
                    step(Some("Hello {{ candidate.first_name }}"), "<p>Hi</p>", 0),
                    // 20 KB: the campaign's steps are far larger than its settings.
                    step(
                        None,
                        &format!("<p>Following up</p>{}", " ".repeat(20_000)),
                        2,
                    ),
                ]),
                timezone: Some("UTC".into()),
                when_to_send: WhenToSend::WhenStarted,
                recipient: None,
                skip_weekends: false,
                timezone_mode: Default::default(),
                daily_limit: limits.campaign,
            },
        )
        .await
        .expect("campaign created")
}

/// Lines `outreach-bench` reads (`BENCH <figure> <operation> <calls> <bytes>
/// <items>`): the calls of `what`, per operation with the bytes sent and the
/// items read or written (a batch read or a transaction touches several),
/// divided by `per`.
fn bench_lines(what: &str, per: usize, calls: &[support::Call]) {
    let mut totals: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for c in calls {
        let t = totals
            .entry(format!("{}.{}", c.service, c.operation))
            .or_default();
        t.0 += 1;
        t.1 += c.body.len();
        t.2 += items_of(c);
    }
    println!("BENCH {what} total {} {per}", calls.len());
    for (op, (n, bytes, items)) in totals {
        println!("BENCH {what} {op} {n} {bytes} {items}");
    }
}

/// How many items a DynamoDB request reads or writes.
fn items_of(call: &support::Call) -> usize {
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap_or_default();
    match call.operation.as_str() {
        "BatchGetItem" => body["RequestItems"]
            .as_object()
            .map(|tables| {
                tables
                    .values()
                    .map(|t| t["Keys"].as_array().map_or(0, Vec::len))
                    .sum()
            })
            .unwrap_or(0),
        "TransactWriteItems" => body["TransactItems"].as_array().map_or(0, Vec::len),
        _ => 1,
    }
}

/// Captures what the service queues (SQS in AWS), so the test can run it as
/// the planner function would.
#[derive(Default)]
struct Captured(std::sync::Mutex<Vec<WakeUp>>);

#[async_trait::async_trait]
impl Queue for Captured {
    async fn enqueue(&self, job: &WakeUp) -> Result<(), SchedulerError> {
        self.0.lock().expect("queue").push(job.clone());
        Ok(())
    }
}

/// The candidates of the start test: `OUTREACH_CALLS_START` (the bench sets
/// 1,000), 40 by default to keep the suite quick.
fn start_size() -> usize {
    std::env::var("OUTREACH_CALLS_START")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
}

/// How many AWS calls the start of a campaign costs, with every planning
/// chunk it queues run as the planner function runs them (SPEC §15): each
/// enrollment gets its first wake-up, and no call is made per candidate that
/// a chunk could share.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_a_campaign_of_many_candidates() {
    let n = start_size();
    let aws = Aws::new().await;
    let clock = TestClock::new(at("2026-12-01T14:00:00Z"));
    let store = aws.store().await;
    let scheduler = aws.scheduler(clock.clone()).await;
    let queue = Arc::new(Captured::default());
    let sender = format!("{}@recruit.example", unique("alice"));
    aws.verify_sender(&sender).await;
    let service = service_on(
        &aws,
        &clock,
        &store,
        &scheduler,
        queue.clone(),
        n as i64 + 10,
        // As `outreach-lambda` composes it: every chunk from the queue (§15).
        false,
    );
    let who = Identity {
        org_id: OrgId::from(unique("acme").as_str()),
        user_id: UserId::from("alice"),
        email: None,
        admin: false,
    };
    let campaign = two_step_campaign(&service, &who, &sender, DailyLimits::default()).await;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let c = service
            .catalog()
            .create_candidate(
                &who,
                NewCandidate {
                    first_name: format!("C{i}"),
                    last_name: "X".into(),
                    title: None,
                    company: None,
                    location: None,
                    timezone: None,
                    emails: vec![NewEmail {
                        address: format!("c{i}@home.example"),
                        kind: EmailType::Personal,
                    }],
                },
            )
            .await
            .expect("candidate created");
        ids.push(c.id.to_string());
    }
    for chunk in ids.chunks(1000) {
        service
            .enrollments()
            .add_candidates(
                &who,
                campaign.id.as_str(),
                AddCandidates {
                    candidate_ids: chunk.to_vec(),
                    allow_duplicate: false,
                },
            )
            .await
            .expect("candidates added");
    }
    queue.0.lock().expect("queue").clear();

    aws.calls.take();
    service
        .campaigns()
        .start_campaign(&who, campaign.id.as_str())
        .await
        .expect("campaign started");
    // The planner function: every queued chunk, in order, until none is left.
    let mut runs = 0;
    loop {
        let next = {
            let mut q = queue.0.lock().expect("queue");
            if q.is_empty() {
                break;
            }
            q.remove(0)
        };
        clock.set(next.at.max(clock.now()));
        service
            .sending()
            .run_job(&next.job)
            .await
            .expect("the chunk runs");
        runs += 1;
        assert!(runs < 10 * n + 100, "the fan-out does not end");
    }
    let calls = aws.calls.take();
    let schedules = calls
        .iter()
        .filter(|c| c.operation == "CreateSchedule")
        .count();
    println!(
        "AWS calls to start {n} candidates: {} ({schedules} CreateSchedule, {runs} queued jobs)",
        calls.len()
    );
    bench_lines("per_start", n, &calls);
    let mut after = None;
    let mut planned = 0;
    loop {
        let page = store
            .list_enrollments(
                &who.org_id,
                &campaign.id,
                &PageRequest { limit: 500, after },
            )
            .await
            .expect("enrollments");
        for e in &page.items {
            let due = e.next_due_at.expect("every enrollment is planned");
            let wake_up = WakeUp::send_step(e, due);
            let held = scheduler
                .get(&wake_up.name)
                .await
                .expect("the schedule can be read")
                .expect("every enrollment has its first wake-up");
            assert_eq!(held.wake_up.job, wake_up.job);
            planned += 1;
        }
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    assert_eq!(planned, n, "every enrollment is planned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_campaign_step_end_to_end() {
    let OneStep {
        aws,
        clock,
        store,
        scheduler,
        service,
        who,
        campaign,
        enrollment_id,
        fired,
        ..
    } = one_step(
        OrgId::from("acme"),
        vec![ada_at("home", EmailType::Personal)],
        DailyLimits::default(),
    )
    .await;
    clock.set(fired.at);

    let before = capacity::snapshot(&aws.clients.dynamodb, &aws.table).await;
    aws.calls.take();
    let outcome = service
        .sending()
        .run_job(&fired.job)
        .await
        .expect("the job runs");
    let calls = aws.calls.take();
    let after = capacity::snapshot(&aws.clients.dynamodb, &aws.table).await;
    aws.calls.take();
    let indexes = capacity::indexes(&aws.clients.dynamodb, &aws.table).await;
    let lines = capacity::print_lines(&calls, &indexes, &before, &after);
    // Issue 19 item 1: a send reads the campaign's small head (its steps,
    // 20 KB here, are immutable and cached), writes nothing to it, and its
    // enrollment writes copy nothing into the campaign's enrollment index.
    let campaign_pk = keys::campaign(who.org_id.as_str(), campaign.id.as_str()).pk;
    let on_campaign: Vec<_> = lines.iter().filter(|l| l.pk == campaign_pk).collect();
    assert!(
        on_campaign.iter().all(|l| l.kind == "rcu" && l.units == 1),
        "a send reads one unit of the campaign's partition and writes none: {on_campaign:?}"
    );
    let list_pk = keys::enrollments_of_campaign_pk(who.org_id.as_str(), campaign.id.as_str());
    assert!(
        !lines.iter().any(|l| l.pk == list_pk),
        "a send writes nothing to the campaign's enrollment list: {lines:?}"
    );
    // Issue 19 item 6: the claim writes no due-index key (its lease is in
    // the item); only the record moves the key to step 2 (a delete and a
    // put). The claim used to move it to the lease's end first: 4 writes.
    let due_index: Vec<_> = lines
        .iter()
        .filter(|l| l.kind == "wcu" && l.at == keys::GSI3)
        .collect();
    assert_eq!(
        due_index.iter().map(|l| l.units).sum::<usize>(),
        2,
        "GSI3 writes of a sent step: {due_index:?}"
    );
    assert_eq!(
        outcome,
        JobOutcome::Sent {
            step: 1,
            attempt: 1
        }
    );

    let mut per_operation: BTreeMap<String, usize> = BTreeMap::new();
    for c in &calls {
        *per_operation
            .entry(format!("{}.{}", c.service, c.operation))
            .or_default() += 1;
    }
    println!("AWS calls to send one step: {}", calls.len());
    for c in &calls {
        println!("  {}.{} {}", c.service, c.operation, describe(&c.body));
    }
    println!("per operation: {per_operation:?}");
    bench_lines("per_sent_step", 1, &calls);

    // What the step left behind: the message at SES, the attempt recorded with
    // SES' ids, and step 2's wake-up.
    let e = store
        .get_enrollment(&who.org_id, &enrollment_id)
        .await
        .expect("read")
        .expect("enrolled")
        .value;
    let attempt = &e.steps[0].attempts[0];
    assert_eq!(attempt.state, AttemptState::Sent);
    let message_id = attempt.message_id.clone().expect("SES' message id");
    assert_eq!(
        attempt.rfc822_message_id.as_deref(),
        Some(format!("<{message_id}@email.amazonses.com>").as_str())
    );
    let sent = aws
        .mail_inspector()
        .sent(&message_id)
        .await
        .expect("moto kept the message");
    assert!(String::from_utf8_lossy(&sent.raw).contains("Subject: Hello Ada"));
    let next = WakeUp::send_step(&e, e.next_due_at.expect("step 2 is planned"));
    let scheduled = scheduler
        .get(&next.name)
        .await
        .expect("the schedule can be read")
        .expect("step 2 has its wake-up");
    assert_eq!(scheduled.wake_up.job, next.job);

    assert_eq!(
        calls.len(),
        CALLS_PER_STEP,
        "AWS calls per sent step changed: {per_operation:?}"
    );
}

/// Issue 20, R-7: the address planned with the step bounced since,
/// so R-7 now chooses the next one: the send reads what excludes every
/// address once more (one more call than the common path) and sends to
/// exactly the address R-7 chooses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_whose_planned_address_bounced_since() {
    let emails = vec![
        ada_at("home", EmailType::Personal),
        ada_at("work", EmailType::Work),
    ];
    let OneStep {
        aws,
        clock,
        store,
        service,
        who,
        candidate,
        enrollment_id,
        fired,
        ..
    } = one_step(
        OrgId::from(unique("acme").as_str()),
        emails,
        DailyLimits::default(),
    )
    .await;
    let e = store
        .get_enrollment(&who.org_id, &enrollment_id)
        .await
        .expect("read")
        .expect("enrolled")
        .value;
    assert_eq!(
        e.planned.as_ref().map(|p| p.to.as_str()),
        Some("ada@home.example"),
        "planned with the first address listed (R-7.2)"
    );
    // After planning, the planned address bounced for the organization.
    let mut read = store
        .get_candidate(&who.org_id, &candidate.id)
        .await
        .expect("read")
        .expect("the candidate");
    read.value.emails[0].bounced = true;
    store
        .put_candidate(&read.value, Some(read.version))
        .await
        .expect("the bounce is recorded");
    clock.set(fired.at);

    aws.calls.take();
    let outcome = service
        .sending()
        .run_job(&fired.job)
        .await
        .expect("the job runs");
    let calls = aws.calls.take();
    assert_eq!(
        outcome,
        JobOutcome::Sent {
            step: 1,
            attempt: 1
        }
    );
    let e = store
        .get_enrollment(&who.org_id, &enrollment_id)
        .await
        .expect("read")
        .expect("enrolled")
        .value;
    assert_eq!(
        e.steps[0].attempts[0].address.as_str(),
        "ada@work.example",
        "R-7: the next address"
    );
    println!(
        "AWS calls to send one step to another address: {}",
        calls.len()
    );
    for c in &calls {
        println!("  {}.{} {}", c.service, c.operation, describe(&c.body));
    }
    bench_lines("per_sent_step_to_another_address", 1, &calls);
    let batches = calls
        .iter()
        .filter(|c| c.operation == "BatchGetItem")
        .count();
    assert_eq!(batches, 2, "the rare path reads once more");
    assert_eq!(calls.len(), CALLS_PER_STEP_TO_ANOTHER_ADDRESS);
}

/// A running two-step campaign (under `limits`, R-6.7) with one candidate,
/// Ada, of `emails`, started through the use cases; step 1's wake-up as
/// EventBridge holds it (moto never fires it), the clock not moved to it.
struct OneStep {
    aws: Aws,
    clock: Arc<TestClock>,
    store: Arc<DynamoStore>,
    scheduler: Arc<EventBridgeScheduler>,
    service: Arc<Service>,
    who: Identity,
    campaign: Campaign,
    candidate: Candidate,
    enrollment_id: EnrollmentId,
    fired: WakeUp,
}

fn ada_at(domain: &str, kind: EmailType) -> NewEmail {
    NewEmail {
        address: format!("ada@{domain}.example"),
        kind,
    }
}

async fn one_step(org: OrgId, emails: Vec<NewEmail>, limits: DailyLimits) -> OneStep {
    let aws = Aws::new().await;
    let clock = TestClock::new(at("2026-12-01T14:00:00Z"));
    let store = aws.store().await;
    let scheduler = aws.scheduler(clock.clone()).await;
    let sender = format!("{}@recruit.example", unique("alice"));
    aws.verify_sender(&sender).await;
    // Local mode's composition: the one candidate is planned by the start
    // request itself, which needs no planner run here.
    let queue = Arc::new(Ignored);
    let service = service_on(&aws, &clock, &store, &scheduler, queue, 100, true);
    let who = Identity {
        org_id: org,
        user_id: UserId::from("alice"),
        email: None,
        admin: false,
    };
    let ada = NewCandidate {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        title: None,
        company: None,
        location: None,
        timezone: None,
        emails,
    };
    let catalog = service.catalog();
    let candidate = catalog
        .create_candidate(&who, ada)
        .await
        .expect("candidate created");
    let campaign = two_step_campaign(&service, &who, &sender, limits).await;
    let add = AddCandidates {
        candidate_ids: vec![candidate.id.to_string()],
        allow_duplicate: false,
    };
    let added = service
        .enrollments()
        .add_candidates(&who, campaign.id.as_str(), add)
        .await
        .expect("candidate added");
    service
        .campaigns()
        .start_campaign(&who, campaign.id.as_str())
        .await
        .expect("campaign started");
    let enrollment_id = added.enrollments[0].id.clone();
    let e = store
        .get_enrollment(&who.org_id, &enrollment_id)
        .await
        .expect("read")
        .expect("enrolled")
        .value;
    let name = WakeUp::send_step(&e, e.next_due_at.expect("step 1 is planned")).name;
    let fired = scheduler
        .get(&name)
        .await
        .expect("the schedule can be read")
        .expect("step 1 has its wake-up")
        .wake_up;
    OneStep {
        aws,
        clock,
        store,
        scheduler,
        service,
        who,
        campaign,
        candidate,
        enrollment_id,
        fired,
    }
}

/// Sets the owner's time zone to Auckland's (UTC+13 in December): at 14:00
/// UTC on 1 December it is already 2 December there, the day the daily
/// limits count in. Its count's slot of `campaign`, that day.
async fn owner_in_auckland(s: &OneStep) -> DaySlot {
    let owner = UserProfile {
        id: s.who.user_id.clone(),
        org_id: s.who.org_id.clone(),
        display_name: "Alice".into(),
        timezone: Zone::parse("Pacific/Auckland").expect("a zone"),
        notification_address: None,
    };
    s.store.put_user(&owner).await.expect("profile saved");
    DaySlot {
        account: s.campaign.sender_account_id.clone(),
        day: NaiveDate::from_ymd_opt(2026, 12, 2).expect("a date"),
        campaign: s.campaign.id.clone(),
    }
}

/// Issue 20, R-6.7, R-8.1: a step under daily limits (the campaign's and
/// its sender account's) takes as many calls as one without, in this order:
/// one BatchGetItem (with the owner's profile), the claim and the day's slot
/// in one TransactWriteItems, SendEmail, the record's TransactWriteItems,
/// CreateSchedule. The slot is counted once, on the owner's day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_under_daily_limits() {
    let limits = DailyLimits {
        account: Some(50),
        campaign: Some(20),
    };
    let emails = vec![ada_at("home", EmailType::Personal)];
    let s = one_step(OrgId::from(unique("acme").as_str()), emails, limits).await;
    let owners_day = owner_in_auckland(&s).await;
    s.clock.set(s.fired.at);

    s.aws.calls.take();
    let outcome = s.service.sending().run_job(&s.fired.job).await;
    let calls = s.aws.calls.take();
    println!(
        "AWS calls to send one step under daily limits: {}",
        calls.len()
    );
    for c in &calls {
        println!("  {}.{} {}", c.service, c.operation, describe(&c.body));
    }
    bench_lines("per_sent_step_under_daily_limits", 1, &calls);
    let sent = JobOutcome::Sent {
        step: 1,
        attempt: 1,
    };
    assert_eq!(outcome.expect("the job runs"), sent);
    let operations: Vec<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
    assert_eq!(
        operations,
        [
            "BatchGetItem",
            "TransactWriteItems",
            "SendEmail",
            "TransactWriteItems",
            "CreateSchedule"
        ]
    );
    let claim: serde_json::Value = serde_json::from_slice(&calls[1].body).expect("JSON");
    assert_eq!(
        claim["TransactItems"].as_array().map(Vec::len),
        Some(2),
        "the claim's Put and the day's ADD: {}",
        describe(&calls[1].body)
    );
    let counted = DayCount {
        sent: 1,
        of_campaign: 1,
    };
    assert_eq!(s.store.day_count(&owners_day).await, Ok(counted));
    let utc_day = DaySlot {
        day: NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date"),
        ..owners_day
    };
    assert_eq!(s.store.day_count(&utc_day).await, Ok(DayCount::default()));
    assert_eq!(calls.len(), CALLS_PER_STEP_UNDER_DAILY_LIMITS);
}

/// Issue 20, R-6.7: the day is full (the campaign's limit of 1 taken by
/// another message) when the claim's write tries to take its slot: the
/// transaction is cancelled on the slot alone, so nothing is claimed or
/// sent, today's count stays, and the step moves to the next day with room,
/// its slot reserved there, as before the claim took the slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_on_a_full_day_moves_unsent() {
    let limits = DailyLimits {
        account: Some(50),
        campaign: Some(1),
    };
    let emails = vec![ada_at("home", EmailType::Personal)];
    let s = one_step(OrgId::from(unique("acme").as_str()), emails, limits).await;
    let today = owner_in_auckland(&s).await;
    assert_eq!(s.store.take_day_slot(&today, limits).await, Ok(true));
    s.clock.set(s.fired.at);

    s.aws.calls.take();
    let outcome = s.service.sending().run_job(&s.fired.job).await;
    let calls = s.aws.calls.take();
    for c in &calls {
        println!("  {}.{} {}", c.service, c.operation, describe(&c.body));
    }
    let moved = JobOutcome::Held("daily limit reached; moved to the next day with room");
    assert_eq!(outcome.expect("the job runs"), moved);
    assert!(
        !calls.iter().any(|c| c.operation.starts_with("Send")),
        "nothing is sent"
    );
    let one = DayCount {
        sent: 1,
        of_campaign: 1,
    };
    assert_eq!(s.store.day_count(&today).await, Ok(one), "no second slot");
    let e = s
        .store
        .get_enrollment(&s.who.org_id, &s.enrollment_id)
        .await
        .expect("read")
        .expect("enrolled")
        .value;
    assert!(e.steps[0].attempts.is_empty(), "no claim was written");
    let next_day = today.day.succ_opt().expect("a next day");
    assert_eq!(
        e.reserved_slot.map(|r| (r.step, r.day)),
        Some((1, next_day))
    );
    let reserved = DaySlot {
        day: next_day,
        ..today
    };
    assert_eq!(s.store.day_count(&reserved).await, Ok(one));
}
