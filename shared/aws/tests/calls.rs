//! How many AWS calls one campaign step costs, end to end, on the emulator:
//! the wake-up (read back from EventBridge Scheduler) runs through the real
//! `Service::run_job` with the AWS adapters — checks, claim, SendEmail,
//! record, next wake-up — and every request on the wire is counted.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use outreach_app::auth::{Hs256Authenticator, Identity};
use outreach_app::ports::{Queue, SchedulerError, Store, WakeUp};
use outreach_app::usecases::campaigns::NewCampaign;
use outreach_app::usecases::candidates::{NewCandidate, NewEmail};
use outreach_app::usecases::enrollments::AddCandidates;
use outreach_app::usecases::sending::JobOutcome;
use outreach_app::{Config, Ports, Service};
use outreach_aws::SesIdentities;
use outreach_domain::campaign::{StepSpec, WhenToSend};
use outreach_domain::candidate::EmailType;
use outreach_domain::enrollment::AttemptState;
use outreach_domain::ids::{OrgId, UserId};
use outreach_embedded::RandomIds;
use support::{Aws, TestClock, unique};

/// The calls the hand-off of one step makes today, in order:
/// GetItem enrollment, campaign, account, candidate, suppression;
/// PutItem enrollment (the claim, R-8.1); SES SendEmail; GetItem enrollment
/// and PutItem enrollment (the record); PutItem event; TransactWriteItems
/// (the message under both ids); GetItem + PutItem of the account's and the
/// organization's reputation windows; CreateSchedule (step 2).
/// Lowering it is an application change, not an adapter one: the test prints
/// the breakdown when it changes.
const CALLS_PER_STEP: usize = 16;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_campaign_step_end_to_end() {
    let aws = Aws::new().await;
    let clock = TestClock::new(at("2026-12-01T14:00:00Z"));
    let store = aws.store().await;
    let scheduler = aws.scheduler(clock.clone()).await;
    let sender = format!("{}@recruit.example", unique("alice"));
    aws.verify_sender(&sender).await;
    let service = Service::new(
        Ports {
            store: store.clone(),
            scheduler: scheduler.clone(),
            mailer: aws.mailer(),
            clock: clock.clone(),
            ids: Arc::new(RandomIds::default()),
            auth: Arc::new(Hs256Authenticator::new(b"test")),
            identities: Arc::new(SesIdentities::new(aws.clients.sesv2.clone())),
            queue: Arc::new(Ignored),
        },
        Config::local(3000),
    );
    let who = Identity {
        org_id: OrgId::from("acme"),
        user_id: UserId::from("alice"),
        email: None,
        admin: false,
    };

    // A running two-step campaign with one candidate, through the use cases.
    let account = service
        .link_account(&who, &sender, Some("Alice Recruiter".into()))
        .await
        .expect("account linked");
    let candidate = service
        .create_candidate(
            &who,
            NewCandidate {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                title: None,
                company: None,
                location: None,
                timezone: None,
                emails: vec![NewEmail {
                    address: "ada@home.example".into(),
                    kind: EmailType::Personal,
                }],
            },
        )
        .await
        .expect("candidate created");
    let project = service
        .create_project(&who, "Backend hiring")
        .await
        .expect("project created");
    let campaign = service
        .create_campaign(
            &who,
            &project.id,
            NewCampaign {
                name: "Backend Q1".into(),
                sender_account_id: account.id.to_string(),
                template_id: None,
                steps: Some(vec![
                    step(Some("Hello {{ candidate.first_name }}"), "<p>Hi</p>", 0),
                    step(None, "<p>Following up</p>", 2),
                ]),
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
    let added = service
        .add_candidates(
            &who,
            campaign.id.as_str(),
            AddCandidates {
                candidate_ids: vec![candidate.id.to_string()],
                allow_duplicate: false,
            },
        )
        .await
        .expect("candidate added");
    service
        .start_campaign(&who, campaign.id.as_str())
        .await
        .expect("campaign started");
    let enrollment_id = added.enrollments[0].id.clone();

    // The wake-up of step 1, as EventBridge holds it (moto never fires it).
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
        .expect("step 1 has its wake-up");
    clock.set(fired.wake_up.at);

    aws.calls.take();
    let outcome = service
        .run_job(&fired.wake_up.job)
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
