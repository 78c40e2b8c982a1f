//! Every function's handler fed with the sample events of `infra/events/`
//! (the shapes API Gateway, EventBridge Scheduler, SNS and SQS deliver), on
//! the AWS adapters against the emulator, with the effect checked in the
//! store through the API: a send recorded, wake-ups through the send queue
//! (paced, partial batch failures), a bounce cascaded to the next address, a
//! reply ending the enrollment, a missing wake-up re-queued by the sweeper,
//! single messages and bounce re-sends through the send queue.
//! Also: the template sets what the functions read and declares the table
//! the adapters use.

#[path = "../../aws/tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_dynamodb::config::{Credentials, Region};
use chrono::{DateTime, Duration, TimeZone, Utc};
use lambda_http::request::LambdaRequest;
use lambda_runtime::{Context, LambdaEvent};
use outreach_app::model::AccountStatus;
use outreach_app::ports::{
    Clock, Job, Mailer, MailerError, OutboundMail, Scheduler, SentMail, Store, WakeUp,
};
use outreach_aws::DynamoStore;
use outreach_aws::scheduler::parse_at_expression;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{AccountId, EnrollmentId, OrgId};
use outreach_lambda::pacing::Pacer;
use outreach_lambda::settings::vars;
use outreach_lambda::{App, Settings};
use serde_json::{Value, json};
use support::{Aws, TestClock, unique};
use tower::ServiceExt;

const REPLY_DOMAIN: &str = "reply.outreach.example";

fn infra(path: &str) -> String {
    let full = format!("{}/../../infra/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// A sample event of `infra/events/`.
fn sample(name: &str) -> Value {
    serde_json::from_str(&infra(&format!("events/{name}")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A sample SNS event whose message (SES JSON) `patch` changes.
fn sns_sample(name: &str, patch: impl FnOnce(&mut Value)) -> Value {
    let mut event = sample(name);
    let message = &mut event["Records"][0]["Sns"]["Message"];
    let mut inner: Value =
        serde_json::from_str(message.as_str().expect("a JSON string")).expect("SES JSON");
    patch(&mut inner);
    *message = Value::String(inner.to_string());
    event
}

fn invocation(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 14, 0, 0)
        .single()
        .expect("an instant")
}

/// Answers every DNS query on 127.0.0.1 with "no such name": no DMARC policy,
/// and no query ever leaves the machine.
async fn nxdomain_resolver() -> std::net::SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("a UDP socket");
    let address = socket.local_addr().expect("its address");
    tokio::spawn(async move {
        let mut buf = vec![0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let mut answer = buf[..n].to_vec();
            if answer.len() >= 4 {
                answer[2..4].copy_from_slice(&0x8183u16.to_be_bytes());
                let _ = socket.send_to(&answer, from).await;
            }
        }
    });
    address
}

/// One deployment of the stack on the emulator: its own table, schedule
/// group, planner queue and inbound bucket, and the functions' [`App`] built
/// from the variables the template sets.
struct Stack {
    app: App,
    /// The `api` and `api-mail` functions' service: no mail service nor
    /// identities, as in AWS (issue 20), so that a route of theirs that
    /// reached SES fails here too.
    api_app: App,
    aws: Aws,
    settings: Settings,
    store: Arc<DynamoStore>,
    scheduler: Arc<outreach_aws::EventBridgeScheduler>,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    /// The send queue, which the schedules target (§15).
    send_queue_url: String,
    send_queue_arn: String,
    bucket: String,
    clock: Arc<TestClock>,
    org: String,
    /// The recruiter's address and sender account: one per stack, since the
    /// emulator's SES identities are shared by the tests running at once (a
    /// link re-creates its identity, R-2.1, which another test's send from
    /// the same address would find missing).
    sender: String,
}

/// What one campaign's setup made.
struct Campaign {
    id: String,
    account: String,
    candidates: Vec<String>,
    enrollments: Vec<String>,
}

impl Stack {
    async fn new() -> Stack {
        let aws = Aws::new().await;
        let clock = TestClock::new(start_time());
        let store = aws.store().await;
        let scheduler = aws.scheduler(clock.clone()).await;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(outreach_aws::config::https_client())
            .region(Region::new(support::REGION))
            .endpoint_url(&aws.endpoint)
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .load()
            .await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue_url = sqs
            .create_queue()
            .queue_name(unique("planner"))
            .send()
            .await
            .expect("the planner queue")
            .queue_url
            .expect("its URL");
        let send_queue_url = sqs
            .create_queue()
            .queue_name(unique("send"))
            .send()
            .await
            .expect("the send queue")
            .queue_url
            .expect("its URL");
        let send_queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&send_queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("the send queue's attributes")
            .attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .expect("its ARN");
        let bucket = unique("inbound");
        aws.clients
            .s3
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("the inbound bucket");
        // moto sends only from identities it knows: the reply domain forwards replies.
        aws.verify_sender(REPLY_DOMAIN).await;
        let resolver = nxdomain_resolver().await;
        let variables: HashMap<String, String> = [
            (vars::TABLE_NAME, aws.table.clone()),
            (vars::SCHEDULE_GROUP, aws.group.clone()),
            (vars::SEND_QUEUE_ARN, send_queue_arn.clone()),
            (vars::SEND_QUEUE_URL, send_queue_url.clone()),
            (vars::SEND_CONCURRENCY, "2".into()),
            (
                vars::SCHEDULER_ROLE_ARN,
                "arn:aws:iam::123456789012:role/outreach-scheduler".into(),
            ),
            (
                vars::SCHEDULER_DLQ_ARN,
                "arn:aws:sqs:us-east-1:123456789012:outreach-scheduler-dlq".into(),
            ),
            (vars::PLANNER_QUEUE_URL, queue_url.clone()),
            (vars::CONFIGURATION_SET, "outreach-events".into()),
            (vars::REPLY_DOMAIN, REPLY_DOMAIN.into()),
            (vars::PUBLIC_BASE_URL, "https://outreach.example".into()),
            (vars::USER_CLAIM, "sub".into()),
            (vars::ORG_CLAIM, "org_id".into()),
            (vars::EMAIL_CLAIM, "email".into()),
            (vars::SCOPE_CLAIM, "scope".into()),
            (vars::ADMIN_SCOPE, "outreach/admin".into()),
            (vars::INITIAL_CREDITS, "100".into()),
            (
                vars::HASH_KEY,
                "test-hash-key-of-at-least-32-characters".into(),
            ),
            (vars::DNS_RESOLVER, resolver.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let settings = Settings::from_map(&variables).expect("the template's variables");
        let app = App::new(&settings, aws.clients.clone(), sqs.clone(), clock.clone());
        let api_app = App::without_mail(&settings, aws.clients.clone(), sqs.clone(), clock.clone());
        Stack {
            app,
            api_app,
            aws,
            settings,
            store,
            scheduler,
            sqs,
            queue_url,
            send_queue_url,
            send_queue_arn,
            bucket,
            clock,
            org: unique("org"),
            sender: format!("{}@acme.example", unique("alice")),
        }
    }

    /// An HTTP API request through the API function, made from the sample
    /// request with the JWT authorizer's claims.
    async fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut event = sample("api-create-candidate.json");
        let claims = &mut event["requestContext"]["authorizer"]["jwt"]["claims"];
        claims["org_id"] = json!(self.org);
        claims["sub"] = json!("user_alice");
        claims["email"] = json!(self.sender);
        self.api_event(with_request(event, method, path, body))
            .await
    }

    async fn api_event(&self, event: Value) -> (u16, Value) {
        let path = event["rawPath"].as_str().unwrap_or_default().to_owned();
        let request: LambdaRequest = serde_json::from_value(event).expect("an HTTP API request");
        // As API Gateway routes (infra/template.yaml, issue 20): the paths of
        // the `api-accounts` and `api-mail` functions there, every other one
        // to `api`.
        let router = if accounts_path(&path) {
            self.app.accounts_router()
        } else if mail_path(&path) {
            self.api_app.mail_router()
        } else {
            self.api_app.router()
        };
        let adapter = lambda_http::Adapter::from(router);
        let response = adapter
            .oneshot(invocation_of(request))
            .await
            .expect("the router never fails");
        let response =
            serde_json::to_value(response).expect("the response as API Gateway reads it");
        let status = response["statusCode"].as_u64().expect("a status") as u16;
        let body = response["body"].as_str().unwrap_or_default();
        (
            status,
            serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned())),
        )
    }

    async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.api(method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        answer
    }

    /// A running campaign from the stack's sender with one enrollment per candidate
    /// (each with the given addresses, first one first), started now.
    /// A started campaign whose fan-out the planner function has run (§15: in
    /// AWS the start request plans nothing itself).
    async fn campaign(&self, candidates: &[&[&str]]) -> Campaign {
        let campaign = self.campaign_unplanned(candidates).await;
        self.run_planner().await;
        campaign
    }

    /// Hands every chunk on the planner queue to the planner function, as the
    /// queue's event source mapping would; every chunk must succeed.
    async fn run_planner(&self) {
        for _ in 0..10 {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("the queue answers");
            let records = planner_records(received.messages());
            if records.is_empty() {
                return;
            }
            let response = self
                .app
                .on_queue(invocation(json!({"Records": records})))
                .await
                .expect("the batch ran");
            assert!(
                response.batch_item_failures.is_empty(),
                "{:?}",
                response.batch_item_failures
            );
        }
    }

    /// A started campaign, its fan-out still on the planner queue.
    async fn campaign_unplanned(&self, candidates: &[&[&str]]) -> Campaign {
        self.ok(
            "PUT",
            "/v1/me",
            Some(json!({"display_name": "Alice Recruiter", "timezone": "UTC"})),
        )
        .await;
        let account = self
            .ok(
                "POST",
                "/v1/email-accounts",
                Some(json!({"address": self.sender, "display_name": "Alice Recruiter"})),
            )
            .await;
        assert_eq!(
            account["status"], "pending",
            "R-2.1: in AWS a link proves control first"
        );
        let account = account["id"].as_str().expect("an account id").to_owned();
        self.connect(&account).await;
        let mut ids = Vec::new();
        for (i, emails) in candidates.iter().enumerate() {
            let emails: Vec<Value> = emails
                .iter()
                .map(|a| json!({"address": a, "type": "personal"}))
                .collect();
            let body =
                json!({"first_name": format!("Ada{i}"), "last_name": "Lovelace", "emails": emails});
            let c = self.ok("POST", "/v1/candidates", Some(body)).await;
            ids.push(c["id"].as_str().expect("a candidate id").to_owned());
        }
        let template = self
            .ok(
                "POST",
                "/v1/templates",
                Some(json!({"name": "Intro", "steps": [
                    {"subject": "Hello {{ candidate.first_name }}", "body": "<p>Hi {{ candidate.first_name }}</p>"},
                    {"body": "<p>Just following up.</p>", "delay_days": 2}]})),
            )
            .await;
        let project = self
            .ok(
                "POST",
                "/v1/projects",
                Some(json!({"name": "Backend hiring"})),
            )
            .await;
        let campaign = self
            .ok(
                "POST",
                &format!("/v1/projects/{}/campaigns", project["id"].as_str().expect("a project id")),
                Some(json!({"name": "Backend Q1", "sender_account_id": account, "template_id": template["id"],
                    "timezone": "UTC", "when_to_send": {"mode": "when_started"}})),
            )
            .await;
        let id = campaign["id"].as_str().expect("a campaign id").to_owned();
        let added = self
            .ok(
                "POST",
                &format!("/v1/campaigns/{id}/enrollments"),
                Some(json!({"candidate_ids": ids})),
            )
            .await;
        let enrollments = added["enrollments"]
            .as_array()
            .expect("enrollments")
            .iter()
            .map(|e| e["id"].as_str().expect("an enrollment id").to_owned())
            .collect();
        let started = self
            .ok("POST", &format!("/v1/campaigns/{id}/start"), None)
            .await;
        assert_eq!(started["status"], "running");
        Campaign {
            id,
            account,
            candidates: ids,
            enrollments,
        }
    }

    /// The emulator never verifies an identity for sending, so the test proves
    /// control itself: the account is connected in the store.
    async fn connect(&self, account: &str) {
        let mut stored = self
            .store
            .get_account(&AccountId::new(account.to_owned()))
            .await
            .expect("the store answers")
            .expect("the account");
        stored.value.status = AccountStatus::Connected;
        stored.value.confirmed = true;
        self.store
            .put_account(&stored.value, Some(stored.version))
            .await
            .expect("the account is connected");
    }

    async fn enrollment(&self, campaign: &Campaign, i: usize) -> Value {
        self.ok(
            "GET",
            &format!(
                "/v1/campaigns/{}/enrollments/{}",
                campaign.id, campaign.enrollments[i]
            ),
            None,
        )
        .await
    }

    /// The wake-up the enrollment waits for, as EventBridge Scheduler holds it.
    async fn pending_wake_up(&self, enrollment: &str) -> (String, DateTime<Utc>, Value) {
        let e = self
            .store
            .get_enrollment(
                &OrgId::new(self.org.clone()),
                &EnrollmentId::new(enrollment.to_owned()),
            )
            .await
            .expect("the store answers")
            .expect("the enrollment")
            .value;
        let due = e.next_due_at.expect("the enrollment waits for a wake-up");
        let name = WakeUp::send_step(&e, due).name;
        let schedule = self
            .aws
            .clients
            .scheduler
            .get_schedule()
            .group_name(&self.aws.group)
            .name(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no schedule {name}: {e:?}"));
        let at = parse_at_expression(schedule.schedule_expression().unwrap_or_default())
            .expect("a one-shot schedule");
        let input = schedule
            .target()
            .and_then(|t| t.input())
            .expect("the schedule's input");
        (name, at, serde_json::from_str(input).expect("JSON input"))
    }

    /// Fires the enrollment's wake-up at its time — the send-step function
    /// gets the schedule's input, as EventBridge Scheduler would hand it over —
    /// and expects a send.
    async fn fire(&self, enrollment: &str) {
        let (_, at, input) = self.pending_wake_up(enrollment).await;
        let shape = sample("send-step.json");
        assert_eq!(
            keys(&input),
            keys(&shape),
            "send-step.json has the scheduler's payload shape"
        );
        self.clock.set(self.clock.now().max(at));
        let answer = self
            .app
            .on_wake_up(invocation(input))
            .await
            .expect("the wake-up ran");
        let outcome = answer["outcome"].as_str().unwrap_or_default();
        assert!(outcome.starts_with("Sent"), "{answer}");
    }
}

impl Stack {
    /// What EventBridge Scheduler does when the enrollment's wake-up fires:
    /// the schedule targets the send queue, and its input becomes one
    /// message there. Answers the wake-up's time.
    async fn deliver_wake_up(&self, enrollment: &str) -> DateTime<Utc> {
        let (name, at, input) = self.pending_wake_up(enrollment).await;
        let schedule = self
            .scheduler
            .get(&name)
            .await
            .expect("the scheduler answers")
            .expect("the schedule");
        assert_eq!(
            schedule.target_arn, self.send_queue_arn,
            "§15: schedules target the send queue"
        );
        self.sqs
            .send_message()
            .queue_url(&self.send_queue_url)
            .message_body(input.to_string())
            .send()
            .await
            .expect("the message is queued");
        at
    }

    /// Every message on the send queue as send-step's trigger delivers it: an
    /// SQS record shaped like `send-step-sqs.json`, ordered by the enrollment
    /// its job names, in `order`.
    async fn send_queue_records(&self, order: &[String]) -> Vec<Value> {
        let template = sample("send-step-sqs.json")["Records"][0].clone();
        let mut records = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.send_queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("the queue answers");
            if received.messages().is_empty() {
                break;
            }
            for m in received.messages() {
                let mut r = template.clone();
                r["messageId"] = json!(m.message_id());
                r["receiptHandle"] = json!(m.receipt_handle());
                r["body"] = json!(m.body());
                r["eventSourceARN"] = json!(self.send_queue_arn);
                records.push(r);
            }
        }
        let rank = |r: &Value| {
            let job: Value =
                serde_json::from_str(r["body"].as_str().unwrap_or_default()).expect("a job");
            order
                .iter()
                .position(|e| job["enrollment_id"] == json!(e))
                .unwrap_or(usize::MAX)
        };
        records.sort_by_key(rank);
        records
    }

    /// Another execution environment of the stack's functions, with `mailer`
    /// for SES and sends paced by `pacer`.
    fn app_with(&self, mailer: Arc<dyn Mailer>, pacer: Option<Arc<Pacer>>) -> App {
        App::with_mailer(
            &self.settings,
            self.aws.clients.clone(),
            self.sqs.clone(),
            self.clock.clone(),
            mailer,
            pacer,
        )
    }

    async fn stored(&self, enrollment: &str) -> Enrollment {
        self.store
            .get_enrollment(
                &OrgId::new(self.org.clone()),
                &EnrollmentId::new(enrollment.to_owned()),
            )
            .await
            .expect("the store answers")
            .expect("the enrollment")
            .value
    }
}

/// SES, but the account's maximum send rate is exceeded for the first send
/// to `throttled` (SES answers 429 `TooManyRequestsException`, R-8.4).
struct ThrottledOnce {
    ses: Arc<dyn Mailer>,
    throttled: &'static str,
    calls: AtomicU32,
}

#[async_trait::async_trait]
impl Mailer for ThrottledOnce {
    async fn send(&self, mail: &OutboundMail) -> Result<SentMail, MailerError> {
        if mail.to.as_str() == self.throttled && self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(MailerError::Deferred(
                "TooManyRequestsException: Maximum sending rate exceeded.".into(),
            ));
        }
        self.ses.send(mail).await
    }
}

/// An invocation whose deadline is `deadline` (the runtime's
/// `Lambda-Runtime-Deadline-Ms`).
fn invocation_until(payload: Value, deadline: DateTime<Utc>) -> LambdaEvent<Value> {
    let mut context = Context::default();
    context.deadline = u64::try_from(deadline.timestamp_millis()).expect("after 1970");
    LambdaEvent::new(payload, context)
}

fn failed_ids(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .expect("a batch response")
        .iter()
        .map(|f| f["itemIdentifier"].as_str().expect("an id").to_owned())
        .collect()
}

fn invocation_of(request: LambdaRequest) -> LambdaEvent<LambdaRequest> {
    LambdaEvent::new(request, Context::default())
}

fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    keys.sort();
    keys
}

/// The sample HTTP API request turned into `method path` with `body`.
fn with_request(mut event: Value, method: &str, path: &str, body: Option<Value>) -> Value {
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    let text = body.map(|b| b.to_string()).unwrap_or_default();
    event["headers"]["content-length"] = json!(text.len().to_string());
    if text.is_empty() {
        event.as_object_mut().expect("an object").remove("body");
    } else {
        event["body"] = json!(text);
    }
    event
}

/// A permanent bounce of `message_id` to `address` in the event-publishing
/// format, with the message tags that name the attempt (R-9.8).
fn bounce(stack: &Stack, campaign: &Campaign, message_id: &str, address: &str) -> Value {
    sns_sample("ses-bounce-event.json", |m| {
        m["mail"]["messageId"] = json!(message_id);
        m["mail"]["destination"] = json!([address]);
        m["bounce"]["bouncedRecipients"][0]["emailAddress"] = json!(address);
        m["bounce"]["feedbackId"] = json!(unique("feedback"));
        let tags = &mut m["mail"]["tags"];
        tags["org"] = json!([stack.org]);
        tags["campaign"] = json!([campaign.id]);
        tags["enrollment"] = json!([campaign.enrollments[0]]);
        tags["step"] = json!(["1"]);
        tags["attempt"] = json!(["1"]);
    })
}

#[tokio::test]
async fn a_fired_wake_up_sends_and_a_bounce_cascades_to_the_next_address() {
    // R-8.1 (send recorded), R-9.2 (hard bounce → next address), R-9.1 (delivery), R-9.8 (both formats)
    let stack = Stack::new().await;
    let campaign = stack
        .campaign(&[&["ada@home.example", "ada@engines.example"]])
        .await;
    let enrollment = stack.enrollment(&campaign, 0).await;
    assert_eq!(
        enrollment["steps"][0]["status"], "pending",
        "R-6.1: grace period"
    );

    stack.fire(&campaign.enrollments[0]).await;
    let enrollment = stack.enrollment(&campaign, 0).await;
    let step = &enrollment["steps"][0];
    assert_eq!(step["status"], "sent", "{enrollment}");
    assert_eq!(step["address"], "ada@home.example");
    let first_message = step["message_id"]
        .as_str()
        .expect("the SES message id")
        .to_owned();

    // The same wake-up fired again (a duplicate firing) sends nothing (R-8.1).
    let again = stack
        .app
        .on_wake_up(invocation(first_wake_up_input(&stack, &campaign).await))
        .await
        .expect("ran");
    assert!(
        !again["outcome"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Sent"),
        "{again}"
    );

    let answer = stack
        .app
        .on_ses_events(invocation(bounce(
            &stack,
            &campaign,
            &first_message,
            "ada@home.example",
        )))
        .await
        .expect("the bounce is applied");
    assert!(
        answer["outcomes"][0]
            .as_str()
            .unwrap_or_default()
            .contains("Applied"),
        "{answer}"
    );
    let candidate = stack
        .ok(
            "GET",
            &format!("/v1/candidates/{}", campaign.candidates[0]),
            None,
        )
        .await;
    assert_eq!(
        candidate["emails"][0]["status"], "bounced",
        "R-3.5: {candidate}"
    );
    assert_eq!(candidate["emails"][1]["status"], "valid");

    // R-9.2: the step goes to the next address within minutes, through a new wake-up.
    stack.fire(&campaign.enrollments[0]).await;
    let enrollment = stack.enrollment(&campaign, 0).await;
    let step = &enrollment["steps"][0];
    assert_eq!(step["address"], "ada@engines.example", "{enrollment}");
    assert_eq!(step["attempts"].as_array().map(Vec::len), Some(2));
    let second_message = step["message_id"]
        .as_str()
        .expect("the SES message id")
        .to_owned();
    assert_ne!(first_message, second_message);

    // A delivery in the notification format (no tags): found by the message id alone.
    let delivery = sns_sample("ses-delivery-notification.json", |m| {
        m["mail"]["messageId"] = json!(second_message);
        m["mail"]["destination"] = json!(["ada@engines.example"]);
        m["delivery"]["recipients"] = json!(["ada@engines.example"]);
    });
    stack
        .app
        .on_ses_events(invocation(delivery.clone()))
        .await
        .expect("the delivery is applied");
    // A duplicate notification changes nothing twice (R-9.8).
    stack
        .app
        .on_ses_events(invocation(delivery))
        .await
        .expect("the duplicate is acknowledged");
    let enrollment = stack.enrollment(&campaign, 0).await;
    assert_eq!(
        enrollment["steps"][0]["status"], "delivered",
        "{enrollment}"
    );
    assert_eq!(enrollment["status"], "in_progress");
}

/// The input of the enrollment's step-1 wake-up as it was first scheduled
/// (plan version 1), rebuilt from the sample: a stale or duplicate firing.
async fn first_wake_up_input(stack: &Stack, campaign: &Campaign) -> Value {
    let mut input = sample("send-step.json");
    input["org_id"] = json!(stack.org);
    input["campaign_id"] = json!(campaign.id);
    input["enrollment_id"] = json!(campaign.enrollments[0]);
    input
}

#[tokio::test]
async fn a_reply_stored_in_s3_ends_the_enrollment() {
    // R-9.6 (reply by Reply-To token, verdicts), §15 (raw message in S3), spam dropped
    let stack = Stack::new().await;
    let campaign = stack.campaign(&[&["ada@home.example"]]).await;
    stack.fire(&campaign.enrollments[0]).await;
    let e = stack
        .store
        .get_enrollment(
            &OrgId::new(stack.org.clone()),
            &EnrollmentId::new(campaign.enrollments[0].clone()),
        )
        .await
        .expect("the store answers")
        .expect("the enrollment")
        .value;
    let raw = format!(
        "From: Ada Lovelace <ada@home.example>\r\nTo: reply+{}@{REPLY_DOMAIN}\r\nSubject: Re: Hello Ada0\r\n\
         Message-ID: <reply-1@mail.home.example>\r\nDate: Tue, 1 Dec 2026 16:02:09 +0100\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHappy to talk next week.\r\nAda\r\n",
        e.reply_token
    );
    let key = format!("inbound/{}", unique("message"));
    stack
        .aws
        .clients
        .s3
        .put_object()
        .bucket(&stack.bucket)
        .key(&key)
        .body(raw.into_bytes().into())
        .send()
        .await
        .expect("the receipt rule stored the message");
    let notification = |spam: &str, object: &str| {
        sns_sample("inbound-s3.json", |m| {
            m["receipt"]["action"]["bucketName"] = json!(stack.bucket);
            m["receipt"]["action"]["objectKey"] = json!(object);
            m["receipt"]["spamVerdict"]["status"] = json!(spam);
        })
    };

    // Spam is recorded and dropped: nothing changes.
    let dropped = stack
        .app
        .on_inbound(invocation(notification("FAIL", &key)))
        .await
        .expect("acknowledged");
    assert_eq!(dropped["results"][0]["dropped"], "spam");
    assert_eq!(
        stack.enrollment(&campaign, 0).await["status"],
        "in_progress"
    );
    // An object that expired is a poison event: acknowledged, not an error loop.
    let gone = stack
        .app
        .on_inbound(invocation(notification("PASS", "inbound/expired")))
        .await
        .expect("acknowledged");
    assert!(gone["results"][0]["dropped"].is_string(), "{gone}");

    let answer = stack
        .app
        .on_inbound(invocation(notification("PASS", &key)))
        .await
        .expect("the reply is handled");
    assert_eq!(answer["results"][0]["kind"], "reply", "{answer}");
    let enrollment = stack.enrollment(&campaign, 0).await;
    assert_eq!(enrollment["status"], "replied", "{enrollment}");
    assert_eq!(
        enrollment["steps"][1]["status"], "cancelled",
        "R-9.6: later steps cancelled"
    );
}

#[tokio::test]
async fn unsubscribe_links_and_complaints_end_enrollments() {
    // R-9.5: the public one-click route (no authorizer) and a complaint (event format)
    let stack = Stack::new().await;
    let campaign = stack
        .campaign(&[&["ada@home.example"], &["grace@home.example"]])
        .await;
    for e in &campaign.enrollments {
        stack.fire(e).await;
    }
    let first = stack
        .store
        .get_enrollment(
            &OrgId::new(stack.org.clone()),
            &EnrollmentId::new(campaign.enrollments[0].clone()),
        )
        .await
        .expect("the store answers")
        .expect("the enrollment")
        .value;
    let mut event = sample("api-unsubscribe-one-click.json");
    assert!(
        event["requestContext"].get("authorizer").is_none(),
        "a public route"
    );
    let path = format!("/v1/unsubscribe/{}", first.unsubscribe_token);
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["pathParameters"]["token"] = json!(first.unsubscribe_token);
    let (status, answer) = stack.api_event(event).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        stack.enrollment(&campaign, 0).await["status"],
        "unsubscribed"
    );

    let second = stack.enrollment(&campaign, 1).await;
    let message = second["steps"][0]["message_id"]
        .as_str()
        .expect("sent")
        .to_owned();
    let complaint = sns_sample("ses-complaint-event.json", |m| {
        m["mail"]["messageId"] = json!(message);
        m["mail"]["destination"] = json!(["grace@home.example"]);
        m["complaint"]["complainedRecipients"] = json!([{"emailAddress": "grace@home.example"}]);
        m["complaint"]["feedbackId"] = json!(unique("feedback"));
        if let Some(tags) = m["mail"]["tags"].as_object_mut() {
            tags.retain(|k, _| k.starts_with("ses:"));
        }
    });
    stack
        .app
        .on_ses_events(invocation(complaint))
        .await
        .expect("the complaint is applied");
    assert_eq!(
        stack.enrollment(&campaign, 1).await["status"],
        "unsubscribed"
    );
}

/// The planner function's SQS records of `messages` received from its queue,
/// shaped as `planner-sqs.json`.
fn planner_records(messages: &[aws_sdk_sqs::types::Message]) -> Vec<Value> {
    let template = sample("planner-sqs.json")["Records"][0].clone();
    messages
        .iter()
        .map(|m| {
            let mut r = template.clone();
            r["messageId"] = json!(m.message_id());
            r["receiptHandle"] = json!(m.receipt_handle());
            r["body"] = json!(m.body());
            r
        })
        .collect()
}

#[tokio::test]
async fn the_planner_runs_queued_chunks_and_acknowledges_poison() {
    // §15 / issue 8: the fan-out goes through SQS; partial batch failures
    let stack = Stack::new().await;
    let campaign = stack.campaign_unplanned(&[&["ada@home.example"]]).await;
    let received = stack
        .sqs
        .receive_message()
        .queue_url(&stack.queue_url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .expect("the queue answers");
    let messages = received.messages();
    assert!(!messages.is_empty(), "start queued its fan-out");
    let template = sample("planner-sqs.json")["Records"][0].clone();
    let mut records = planner_records(messages);
    for record in &records {
        let job: Job =
            serde_json::from_str(record["body"].as_str().expect("a body")).expect("a job");
        assert!(
            matches!(&job, Job::PlanChunk { campaign_id, .. } if campaign_id.as_str() == campaign.id)
        );
    }
    let mut poison = template.clone();
    poison["messageId"] = json!("poison-1");
    poison["body"] = json!("{\"not\": \"a job\"}");
    records.push(poison);
    let response = stack
        .app
        .on_queue(invocation(json!({"Records": records})))
        .await
        .expect("the batch ran");
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
    // Idempotent: the enrollment keeps its one plan and its wake-up (issue 8).
    let (name, _, _) = stack.pending_wake_up(&campaign.enrollments[0]).await;
    assert!(name.ends_with(".s1.v1"), "{name}");
}

#[tokio::test]
async fn maintenance_rescues_a_missing_wake_up_and_checks_identities() {
    // R-8.1 (sweeper), §15 (it re-queues, send-step sends), R-2.3 (identity check pauses with sender_error)
    let stack = Stack::new().await;
    let campaign = stack.campaign(&[&["ada@home.example"]]).await;
    let (name, at, _) = stack.pending_wake_up(&campaign.enrollments[0]).await;
    stack
        .scheduler
        .cancel(&name)
        .await
        .expect("the wake-up is lost");
    stack.clock.set(at + Duration::minutes(5));
    let report = stack
        .app
        .on_maintenance(invocation(sample("sweep.json")))
        .await
        .expect("swept");
    assert_eq!(report["sweep"]["rescued"], 1, "{report}");
    // §15: the sweeper never sends itself; it puts the step on the send queue.
    assert_eq!(report["sweep"]["requeued"], 1, "{report}");
    let waiting = stack.stored(&campaign.enrollments[0]).await;
    assert!(
        waiting.steps[0].attempts.is_empty(),
        "nothing handed off by the sweeper"
    );
    // The queued message is its wake-up now: a sweep within the hold adds no copy.
    stack.clock.set(at + Duration::minutes(10));
    let report = stack
        .app
        .on_maintenance(invocation(sample("sweep.json")))
        .await
        .expect("swept");
    assert_eq!(report["sweep"]["requeued"], 0, "{report}");
    let records = stack.send_queue_records(&campaign.enrollments).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let job: Job =
        serde_json::from_str(records[0]["body"].as_str().expect("a body")).expect("a job");
    assert!(
        matches!(&job, Job::SendStep { enrollment_id, step: 1, plan_version, .. }
            if enrollment_id.as_str() == campaign.enrollments[0] && *plan_version == waiting.plan_version),
        "{job:?}"
    );
    // send-step takes it from the queue and sends it.
    let response = stack
        .app
        .on_send_step(invocation(json!({"Records": records})))
        .await
        .expect("the batch ran");
    assert!(failed_ids(&response).is_empty(), "{response}");
    assert_eq!(
        stack.enrollment(&campaign, 0).await["steps"][0]["status"],
        "sent"
    );

    // The emulator never verifies identities: the connected account lost its verification.
    let report = stack
        .app
        .on_maintenance(invocation(sample("identity-check.json")))
        .await
        .expect("checked");
    assert_eq!(report["identity_check"]["accounts_failed"], 1, "{report}");
    let account = stack
        .ok(
            "GET",
            &format!("/v1/email-accounts/{}", campaign.account),
            None,
        )
        .await;
    assert_eq!(account["status"], "error");
    let paused = stack
        .ok("GET", &format!("/v1/campaigns/{}", campaign.id), None)
        .await;
    assert_eq!(paused["status"], "paused");
    assert_eq!(paused["pause_reason"], "sender_error");

    // A plain scheduled event runs both tasks.
    let report = stack
        .app
        .on_maintenance(invocation(sample("scheduled-event.json")))
        .await
        .expect("ran");
    assert!(
        report.get("sweep").is_some() && report.get("identity_check").is_some(),
        "{report}"
    );
}

#[tokio::test]
async fn the_api_function_takes_its_identity_from_the_authorizer_only() {
    // R-1.2, §13 (401), public console
    let stack = Stack::new().await;
    let (status, me) = stack.api_event(sample("api-get-me.json")).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["org_id"], "org_acme");
    assert_eq!(me["id"], "user_alice");
    let mut unverified = sample("api-get-me.json");
    unverified["requestContext"]
        .as_object_mut()
        .expect("a context")
        .remove("authorizer");
    assert_eq!(
        stack.api_event(unverified).await.0,
        401,
        "a bearer header alone proves nothing"
    );
    let mut console = sample("api-get-me.json");
    console["requestContext"]
        .as_object_mut()
        .expect("a context")
        .remove("authorizer");
    let (status, page) = stack
        .api_event(with_request(console, "GET", "/", None))
        .await;
    assert_eq!(status, 200);
    assert!(
        page.as_str().unwrap_or_default().contains("<html"),
        "the console page"
    );
    // Malformed events are poison: acknowledged, never retried forever.
    let answer = stack
        .app
        .on_wake_up(invocation(json!({"job": "nonsense"})))
        .await
        .expect("acknowledged");
    assert!(answer["dropped"].is_string());
    let answer = stack
        .app
        .on_ses_events(invocation(json!({"Records": "x"})))
        .await
        .expect("acknowledged");
    assert!(answer["dropped"].is_string());
    // An SNS record whose message is no SES event is dropped alone: the
    // record is read once into the domain's type, and what cannot be read
    // is poison, acknowledged (never retried).
    let mut garbled = sns_sample("ses-delivery-event.json", |_| {});
    garbled["Records"][0]["Sns"]["Message"] = json!("{\"not\": \"an SES event\"}");
    let answer = stack
        .app
        .on_ses_events(invocation(garbled))
        .await
        .expect("acknowledged");
    assert!(
        answer["outcomes"][0]["dropped"]
            .as_str()
            .is_some_and(|why| why.starts_with("not an SES event")),
        "{answer}"
    );
}

#[test]
fn every_sample_event_has_its_triggers_shape() {
    for name in [
        "api-get-me.json",
        "api-create-candidate.json",
        "api-unsubscribe-one-click.json",
    ] {
        let request: LambdaRequest =
            serde_json::from_value(sample(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(matches!(request, LambdaRequest::ApiGatewayV2(_)), "{name}");
    }
    let job: Job = serde_json::from_value(sample("send-step.json")).expect("a job");
    assert!(matches!(job, Job::SendStep { .. }));
    for name in [
        "ses-bounce-event.json",
        "ses-bounce-notification.json",
        "ses-complaint-event.json",
        "ses-complaint-notification.json",
        "ses-delivery-event.json",
        "ses-delivery-notification.json",
        "inbound-s3.json",
        "inbound-sns-content.json",
    ] {
        let event: aws_lambda_events::event::sns::SnsEvent =
            serde_json::from_value(sample(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let message: Value = serde_json::from_str(&event.records[0].sns.message).expect("JSON");
        if name.starts_with("ses-") {
            let envelope = serde_json::to_vec(&event.records[0].sns).expect("an envelope");
            outreach_domain::ses_event::parse_notification(&envelope)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        } else {
            assert_eq!(message["notificationType"], "Received", "{name}");
        }
    }
    let batch: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(sample("planner-sqs.json")).expect("SQS");
    let job: Job =
        serde_json::from_str(batch.records[0].body.as_deref().expect("a body")).expect("a job");
    assert!(matches!(job, Job::PlanChunk { .. }));
    // A send-queue batch carries a wake-up's job, exactly the schedule's input (§15).
    let batch: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(sample("send-step-sqs.json")).expect("SQS");
    let body: Value =
        serde_json::from_str(batch.records[0].body.as_deref().expect("a body")).expect("JSON");
    assert_eq!(body, sample("send-step.json"));
}

#[test]
fn the_template_sets_every_variable_and_declares_the_adapters_table() {
    let template = infra("template.yaml");
    for name in vars::ALL {
        assert!(
            template.contains(&format!("        {name}: ")),
            "the template sets {name}"
        );
    }
    use outreach_aws::dynamo::keys;
    for attribute in [
        keys::PK,
        keys::SK,
        keys::GSI1PK,
        keys::GSI1SK,
        keys::GSI2PK,
        keys::GSI2SK,
        keys::GSI3PK,
        keys::GSI3SK,
    ] {
        assert!(
            template.contains(&format!(
                "{{ AttributeName: {attribute}, AttributeType: S }}"
            )),
            "{attribute}"
        );
    }
    for index in [keys::GSI1, keys::GSI2, keys::GSI3] {
        assert!(
            template.contains(&format!("IndexName: {index}\n")),
            "{index}"
        );
    }
    assert!(template.contains(&format!("AttributeName: {}\n", keys::TTL)));
    // shared/aws/src/dynamo/table.rs: lookups project the organization and id only.
    assert_eq!(template.matches("NonKeyAttributes: [org, id]").count(), 2);
    // Metric filters read the fields the JSON log lines carry (telemetry.rs).
    assert!(template.contains(r#"{ $.alarm = "ses_deferred" }"#));
    assert!(template.contains(r#"{ $.alarm = "sender_reputation" }"#));
    assert!(template.contains("{ $.poison IS TRUE }"));
    // R-8.1: every function's timeout is shorter than the send claim's lease.
    let lease = outreach_app::Config::local(0).claim_lease.num_seconds();
    for line in template
        .lines()
        .filter(|l| l.trim_start().starts_with("Timeout:"))
    {
        let seconds: i64 = line
            .trim()
            .trim_start_matches("Timeout:")
            .trim()
            .parse()
            .expect("seconds");
        assert!(seconds < lease, "{line}");
    }
    // One crate per function, each built by cargo-lambda under its binary name.
    for binary in [
        "outreach-api",
        "outreach-send-step",
        "outreach-ses-events",
        "outreach-inbound",
        "outreach-identity-check",
        "outreach-planner",
        "outreach-webhooks",
    ] {
        assert!(
            template.contains(&format!("Binary: {binary}\n")),
            "{binary}"
        );
    }
}

#[tokio::test]
async fn wake_ups_go_through_the_send_queue_at_the_instance_pace() {
    // §15: Scheduler → send queue → send-step, partial batch failures, each
    // instance paced; R-8.4: a send SES throttles is re-planned, never dropped.
    let stack = Stack::new().await;
    let campaign = stack
        .campaign(&[
            &["ada@home.example"],
            &["grace@home.example"],
            &["linus@home.example"],
        ])
        .await;
    let mut due = start_time();
    for e in &campaign.enrollments {
        due = due.max(stack.deliver_wake_up(e).await);
    }
    stack.clock.set(due);
    let records = stack.send_queue_records(&campaign.enrollments).await;
    assert_eq!(records.len(), 3, "one message a wake-up");
    let ids: Vec<String> = records
        .iter()
        .map(|r| r["messageId"].as_str().expect("an id").to_owned())
        .collect();
    let linus_body = records[2]["body"].clone();

    // One instance: SES throttles Ada's send; sends 300 ms apart; 10.5 s left
    // in the invocation: the third send's slot (0.6 s) plus a send's budget
    // (10 s) do not fit, so it goes back to SQS unsent. The stack's clock
    // stands still, so the pace is counted, not timed.
    let ses = Arc::new(ThrottledOnce {
        ses: Arc::new(outreach_aws::SesMailer::new(
            stack.aws.clients.sesv2.clone(),
            &stack.aws.clients.region,
            stack.settings.configuration_set.clone(),
        )),
        throttled: "ada@home.example",
        calls: AtomicU32::new(0),
    });
    let pacer = Arc::new(Pacer::new(Duration::milliseconds(300), stack.clock.clone()));
    let send_step = stack.app_with(ses.clone(), Some(pacer));
    let deadline = stack.clock.now() + Duration::milliseconds(10_500);
    let response = send_step
        .on_send_step(invocation_until(json!({"Records": records}), deadline))
        .await
        .expect("the batch ran");
    assert_eq!(
        failed_ids(&response),
        [ids[2].clone()],
        "only the record the pace left no time for is delivered again: {response}"
    );
    assert_eq!(ses.calls.load(Ordering::SeqCst), 1, "Ada's send was tried");

    // Grace's step went out.
    assert_eq!(
        stack.enrollment(&campaign, 1).await["steps"][0]["status"],
        "sent"
    );
    // Ada's was throttled: not sent, re-planned under a new plan version, its
    // wake-up on the scheduler (which targets the send queue) minutes later.
    let ada = stack.stored(&campaign.enrollments[0]).await;
    assert!(ada.steps[0].attempts.is_empty(), "{:?}", ada.steps[0]);
    let (name, at, _) = stack.pending_wake_up(&campaign.enrollments[0]).await;
    assert!(name.ends_with(".s1.v2"), "{name}");
    assert!(at >= due + Duration::minutes(5), "{at}");
    // Linus's was never tried: still due, and SQS's next delivery sends it.
    let linus = stack.stored(&campaign.enrollments[2]).await;
    assert!(linus.steps[0].attempts.is_empty(), "not handed off");
    let mut redelivered = sample("send-step-sqs.json");
    redelivered["Records"][0]["messageId"] = json!(ids[2]);
    redelivered["Records"][0]["body"] = linus_body;
    let response = send_step
        .on_send_step(invocation(redelivered))
        .await
        .expect("the batch ran");
    assert!(failed_ids(&response).is_empty(), "{response}");
    assert_eq!(
        stack.enrollment(&campaign, 2).await["steps"][0]["status"],
        "sent"
    );

    // A poison record is acknowledged, never delivered again forever.
    let mut poison = sample("send-step-sqs.json");
    poison["Records"][0]["body"] = json!("{\"not\": \"a job\"}");
    let response = send_step
        .on_send_step(invocation(poison))
        .await
        .expect("acknowledged");
    assert!(failed_ids(&response).is_empty(), "{response}");
}

/// SES, counting the messages handed to it.
struct Counted {
    ses: Arc<dyn Mailer>,
    calls: AtomicU32,
}

#[async_trait::async_trait]
impl Mailer for Counted {
    async fn send(&self, mail: &OutboundMail) -> Result<SentMail, MailerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.ses.send(mail).await
    }
}

#[tokio::test]
async fn single_messages_and_resends_go_through_the_send_queue() {
    // §15: every path that sends passes the send queue's bound; R-12.1: a
    // single message answers `queued`, its message id filled in by send-step;
    // R-8.1: a redelivered job never sends twice; R-9.2: the re-send after a
    // hard bounce is a wake-up onto the send queue, never sent by ses-events.
    let stack = Stack::new().await;
    let campaign = stack
        .campaign(&[&["ada@home.example", "ada@engines.example"]])
        .await;
    let candidate = &campaign.candidates[0];
    let path = format!("/v1/candidates/{candidate}/messages");
    let body = json!({"sender_account_id": campaign.account, "subject": "Quick question",
        "body": "<p>Hi {{ candidate.first_name }}</p>"});
    let (status, queued) = stack.api("POST", &path, Some(body)).await;
    assert_eq!(status, 201, "{queued}");
    assert_eq!(queued["status"], "queued", "{queued}");
    assert_eq!(queued["message_id"], Value::Null, "{queued}");
    let id = queued["id"].as_str().expect("the message's id").to_owned();
    let stored = stack.stored(&id).await;
    assert!(
        stored.steps[0].attempts.is_empty(),
        "nothing handed to SES by the API function"
    );
    // Its wake-up, the safety net, targets the send queue too.
    let (_, _, input) = stack.pending_wake_up(&id).await;
    assert_eq!(input["enrollment_id"], json!(id));

    let records = stack.send_queue_records(std::slice::from_ref(&id)).await;
    assert_eq!(records.len(), 1, "one job on the send queue: {records:?}");
    let ses = Arc::new(Counted {
        ses: Arc::new(outreach_aws::SesMailer::new(
            stack.aws.clients.sesv2.clone(),
            &stack.aws.clients.region,
            stack.settings.configuration_set.clone(),
        )),
        calls: AtomicU32::new(0),
    });
    let send_step = stack.app_with(ses.clone(), None);
    let batch = json!({"Records": records});
    let response = send_step
        .on_send_step(invocation(batch.clone()))
        .await
        .expect("the batch ran");
    assert!(failed_ids(&response).is_empty(), "{response}");
    assert_eq!(ses.calls.load(Ordering::SeqCst), 1);
    let listed = stack.ok("GET", &path, None).await;
    let sent = &listed["items"][0];
    assert_eq!(sent["id"], json!(id), "{listed}");
    assert_eq!(sent["status"], "sent", "{listed}");
    assert_eq!(sent["address"], "ada@home.example");
    let first_message = sent["message_id"]
        .as_str()
        .expect("the SES message id, filled in")
        .to_owned();

    // SQS delivers the same job again: claimed once, sent once (R-8.1).
    let response = send_step
        .on_send_step(invocation(batch))
        .await
        .expect("the batch ran");
    assert!(failed_ids(&response).is_empty(), "{response}");
    assert_eq!(ses.calls.load(Ordering::SeqCst), 1, "never sent twice");

    // A hard bounce: ses-events plans the re-send, it does not send it.
    let message = Campaign {
        id: sent["campaign_id"]
            .as_str()
            .expect("its campaign")
            .to_owned(),
        account: campaign.account.clone(),
        candidates: vec![candidate.clone()],
        enrollments: vec![id.clone()],
    };
    let event = bounce(&stack, &message, &first_message, "ada@home.example");
    let answer = stack
        .app
        .on_ses_events(invocation(event))
        .await
        .expect("the bounce is applied");
    assert!(
        answer["outcomes"][0]
            .as_str()
            .unwrap_or_default()
            .contains("Applied"),
        "{answer}"
    );
    let bounced = stack.stored(&id).await;
    assert_eq!(bounced.steps[0].attempts.len(), 1, "no re-send inline");
    let listed = stack.ok("GET", &path, None).await;
    assert_eq!(listed["items"][0]["status"], "scheduled", "{listed}");
    assert!(
        stack.send_queue_records(&[]).await.is_empty(),
        "nothing queued before its time"
    );
    // Its wake-up fires onto the send queue; send-step re-sends it (R-9.2).
    let at = stack.deliver_wake_up(&id).await;
    stack.clock.set(stack.clock.now().max(at));
    let records = stack.send_queue_records(std::slice::from_ref(&id)).await;
    let response = send_step
        .on_send_step(invocation(json!({"Records": records})))
        .await
        .expect("the batch ran");
    assert!(failed_ids(&response).is_empty(), "{response}");
    assert_eq!(ses.calls.load(Ordering::SeqCst), 2);
    let listed = stack.ok("GET", &path, None).await;
    let resent = &listed["items"][0];
    assert_eq!(resent["status"], "sent", "{listed}");
    assert_eq!(resent["address"], "ada@engines.example", "{listed}");
    assert_ne!(resent["message_id"], json!(first_message));
}

#[tokio::test]
async fn a_single_message_over_the_daily_limit_answers_scheduled_and_is_not_queued() {
    // R-6.7: the room is taken when the message is recorded, so the answer
    // says `scheduled` in AWS too; the queued one's send uses its reserved
    // room instead of counting again (with a limit of 1 it still goes today).
    let stack = Stack::new().await;
    let campaign = stack.campaign(&[&["ada@home.example"]]).await;
    stack
        .ok(
            "PATCH",
            &format!("/v1/email-accounts/{}", campaign.account),
            Some(json!({"daily_limit": 1})),
        )
        .await;
    let path = format!("/v1/candidates/{}/messages", campaign.candidates[0]);
    let body = json!({"sender_account_id": campaign.account, "subject": "Hi", "body": "<p>Hi</p>"});
    let (status, first) = stack.api("POST", &path, Some(body.clone())).await;
    assert_eq!(
        (status, &first["status"]),
        (201, &json!("queued")),
        "{first}"
    );
    let (status, second) = stack.api("POST", &path, Some(body)).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["status"], "scheduled", "{second}");
    let at = second["scheduled_at"].as_str().expect("when it leaves");
    assert!(at.starts_with("2026-12-02"), "the next day: {second}");
    let id = first["id"].as_str().expect("an id").to_owned();
    let records = stack.send_queue_records(std::slice::from_ref(&id)).await;
    assert_eq!(records.len(), 1, "only the first is queued: {records:?}");
    let response = stack
        .app
        .on_send_step(invocation(json!({"Records": records})))
        .await
        .expect("the batch ran");
    assert!(failed_ids(&response).is_empty(), "{response}");
    let listed = stack.ok("GET", &path, None).await;
    let sent = listed["items"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["id"] == json!(id))
        .expect("the first message");
    assert_eq!(sent["status"], "sent", "{listed}");
}

/// SES, recording every message's recipient; the mail to `throttled` is
/// refused as SES does over the account's maximum send rate while `throttle` is on.
struct Recorder {
    ses: Arc<dyn Mailer>,
    throttled: String,
    throttle: std::sync::atomic::AtomicBool,
    sent_to: std::sync::Mutex<Vec<String>>,
    refused_to: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Mailer for Recorder {
    async fn send(&self, mail: &OutboundMail) -> Result<SentMail, MailerError> {
        if mail.to.as_str() == self.throttled && self.throttle.load(Ordering::SeqCst) {
            self.refused_to
                .lock()
                .unwrap()
                .push(mail.to.as_str().to_owned());
            return Err(MailerError::Deferred(
                "TooManyRequestsException: Maximum sending rate exceeded.".into(),
            ));
        }
        let sent = self.ses.send(mail).await?;
        self.sent_to
            .lock()
            .unwrap()
            .push(mail.to.as_str().to_owned());
        Ok(sent)
    }
}

/// Outside review of issue 18 (R-9.6): send-step's pace takes the account's
/// whole SES rate, so a reply's forward can be the mail SES throttles. The
/// invocation then fails (the reply itself is recorded), and the redelivery
/// forwards it: a throttled forward is owed, never lost.
#[tokio::test]
async fn a_throttled_reply_forward_is_sent_on_redelivery() {
    let stack = Stack::new().await;
    let campaign = stack.campaign(&[&["ada@home.example"]]).await;
    stack.fire(&campaign.enrollments[0]).await;
    let e = stack.stored(&campaign.enrollments[0]).await;
    let raw = format!(
        "From: Ada Lovelace <ada@home.example>\r\nTo: reply+{}@{REPLY_DOMAIN}\r\nSubject: Re: Hello Ada0\r\n\
         Message-ID: <reply-1@mail.home.example>\r\nDate: Tue, 1 Dec 2026 16:02:09 +0100\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHappy to talk next week.\r\nAda\r\n",
        e.reply_token
    );
    let key = format!("inbound/{}", unique("message"));
    stack
        .aws
        .clients
        .s3
        .put_object()
        .bucket(&stack.bucket)
        .key(&key)
        .body(raw.into_bytes().into())
        .send()
        .await
        .expect("stored");
    let notification = sns_sample("inbound-s3.json", |m| {
        m["receipt"]["action"]["bucketName"] = json!(stack.bucket);
        m["receipt"]["action"]["objectKey"] = json!(key);
        m["receipt"]["spamVerdict"]["status"] = json!("PASS");
    });
    let ses: Arc<dyn Mailer> = Arc::new(outreach_aws::SesMailer::new(
        stack.aws.clients.sesv2.clone(),
        &stack.aws.clients.region,
        stack.settings.configuration_set.clone(),
    ));
    let recorder = Arc::new(Recorder {
        ses,
        throttled: stack.sender.clone(),
        throttle: std::sync::atomic::AtomicBool::new(true),
        sent_to: Default::default(),
        refused_to: Default::default(),
    });
    let inbound = stack.app_with(recorder.clone(), None);
    let answer = inbound.on_inbound(invocation(notification.clone())).await;
    assert!(
        answer.is_err(),
        "a deferred forward fails the invocation: {answer:?}"
    );
    assert!(
        !recorder.refused_to.lock().unwrap().is_empty(),
        "the forward to the recruiter was tried (and throttled)"
    );
    // SES has room again; Lambda delivers the same notification again.
    recorder.throttle.store(false, Ordering::SeqCst);
    let again = inbound.on_inbound(invocation(notification.clone())).await;
    assert!(again.is_ok(), "{again:?}");
    let sent = recorder.sent_to.lock().unwrap().clone();
    assert!(
        sent.contains(&stack.sender),
        "the reply was never forwarded to {}: first invocation answered {answer:?}, sent: {sent:?}",
        stack.sender
    );
    // A third delivery forwards nothing more.
    inbound
        .on_inbound(invocation(notification))
        .await
        .expect("handled");
    let forwards = recorder
        .sent_to
        .lock()
        .unwrap()
        .iter()
        .filter(|to| **to == stack.sender)
        .count();
    assert_eq!(forwards, 1, "one forward to the sender's owner");
}

/// Outside review of issue 18, R-8.1 under two concurrent deliveries of the same wake-up to two
/// send-step instances (SQS at-least-once, a duplicate during a visibility
/// timeout race): one hand-off to SES.
#[tokio::test]
async fn concurrent_duplicate_deliveries_of_a_wake_up_send_once() {
    let stack = Stack::new().await;
    let campaign = stack.campaign(&[&["ada@home.example"]]).await;
    let due = stack.deliver_wake_up(&campaign.enrollments[0]).await;
    stack.clock.set(due);
    let records = stack.send_queue_records(&campaign.enrollments).await;
    assert_eq!(records.len(), 1);
    let ses: Arc<dyn Mailer> = Arc::new(outreach_aws::SesMailer::new(
        stack.aws.clients.sesv2.clone(),
        &stack.aws.clients.region,
        stack.settings.configuration_set.clone(),
    ));
    let counted = Arc::new(Counted {
        ses,
        calls: AtomicU32::new(0),
    });
    let a = stack.app_with(counted.clone(), None);
    let b = stack.app_with(counted.clone(), None);
    let batch = json!({"Records": [records[0].clone()]});
    let mut dup = records[0].clone();
    dup["messageId"] = json!("duplicate-delivery");
    let batch2 = json!({"Records": [dup.clone(), records[0].clone()]});
    let (ra, rb) = tokio::join!(
        a.on_send_step(invocation(batch)),
        b.on_send_step(invocation(batch2))
    );
    assert!(ra.is_ok() && rb.is_ok(), "{ra:?} {rb:?}");
    assert_eq!(
        counted.calls.load(Ordering::SeqCst),
        1,
        "R-8.1: one hand-off"
    );
    let step = &stack.enrollment(&campaign, 0).await["steps"][0];
    assert_eq!(step["status"], "sent", "{step}");
    // And a third, late redelivery after the send: acknowledged, no send.
    let c = stack.app_with(counted.clone(), None);
    let r = c
        .on_send_step(invocation(json!({"Records": [dup]})))
        .await
        .expect("ran");
    assert!(failed_ids(&r).is_empty(), "{r}");
    assert_eq!(counted.calls.load(Ordering::SeqCst), 1);
}

/// Outside review of issue 18: a record whose job parses but can never run (an enrollment that
/// does not exist) is acknowledged, not retried until the DLQ; a record that
/// is not JSON at all too; a batch with both and a good one sends the good one.
#[tokio::test]
async fn poison_records_are_acknowledged() {
    let stack = Stack::new().await;
    let campaign = stack.campaign(&[&["ada@home.example"]]).await;
    let due = stack.deliver_wake_up(&campaign.enrollments[0]).await;
    stack.clock.set(due);
    let records = stack.send_queue_records(&campaign.enrollments).await;
    let mut ghost = records[0].clone();
    let body = ghost["body"].as_str().expect("a body").to_owned();
    assert!(body.contains(&campaign.enrollments[0]), "{body}");
    ghost["body"] = json!(body.replace(&campaign.enrollments[0], "enr_does_not_exist"));
    ghost["messageId"] = json!("ghost");
    let mut junk = records[0].clone();
    junk["body"] = json!("\u{0}not json");
    junk["messageId"] = json!("junk");
    let response = stack
        .app
        .on_send_step(invocation(
            json!({"Records": [ghost, junk, records[0].clone()]}),
        ))
        .await
        .expect("ran");
    assert!(failed_ids(&response).is_empty(), "{response}");
    assert_eq!(
        stack.enrollment(&campaign, 0).await["steps"][0]["status"],
        "sent"
    );
}

/// Outside review of issue 18: wake-ups that fired onto a send queue that is
/// behind (a large start at a low SES rate) are not copied onto it by every
/// sweep — the sweeper leaves overdue steps to a queue that holds a backlog;
/// only past `MAX_BACKLOG_WAIT` is a step copied (a wake-up the queue lost is
/// still rescued, and the claim sends once, R-8.1).
#[tokio::test]
async fn the_sweeper_copies_no_backlog_onto_the_send_queue() {
    let stack = Stack::new().await;
    let campaign = stack
        .campaign(&[
            &["ada@home.example"],
            &["grace@home.example"],
            &["linus@home.example"],
        ])
        .await;
    let mut due = start_time();
    for e in &campaign.enrollments {
        due = due.max(stack.deliver_wake_up(e).await);
    }
    let mut reports = Vec::new();
    for minutes in [5i64, 21, 37] {
        stack.clock.set(due + Duration::minutes(minutes));
        let report = stack
            .app
            .on_maintenance(invocation(sample("sweep.json")))
            .await
            .expect("swept");
        reports.push(report["sweep"].clone());
    }
    for report in &reports {
        assert_eq!(report["requeued"], 0, "{reports:?}");
    }
    assert_eq!(reports[0]["waiting_on_queue"], 3, "{reports:?}");
    let records = stack.send_queue_records(&campaign.enrollments).await;
    assert_eq!(records.len(), 3, "{reports:?}");
    // Past the bound a step still waiting is copied (here the queue never
    // ran): one copy each, which the claim keeps to one send.
    stack
        .clock
        .set(due + outreach_app::usecases::sending::sweep::MAX_BACKLOG_WAIT + Duration::minutes(5));
    let report = stack
        .app
        .on_maintenance(invocation(sample("sweep.json")))
        .await
        .expect("swept");
    assert_eq!(report["sweep"]["requeued"], 3, "{report}");
}

/// Whether API Gateway sends `path` to the `api-accounts` function: every
/// path under `/v1/email-accounts` (issue 20).
fn accounts_path(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    path == "/v1/email-accounts" || path.starts_with("/v1/email-accounts/")
}

/// Whether API Gateway sends `path` to the `api-mail` function: the
/// template's `ANY` routes to ApiMailIntegration (issue 20).
fn mail_path(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(
        segments[..],
        ["v1", "candidates", _, "messages" | "history"]
            | ["v1", "candidates", "import"]
            | ["v1", "imports", _]
            | ["v1", "replies"]
            | ["v1", "replies", _]
            | ["v1", "replies", _, "raw"]
            | ["v1", "stats"]
    )
}
