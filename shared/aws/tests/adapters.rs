//! What only the AWS adapters promise, on moto: the schedule's shape, SES
//! error mapping on the wire, identities, raw messages from S3, the table's
//! TTL, and items that do not grow with an enrollment's history.

mod support;

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, TimeZone, Utc};
use outreach_app::model::EnrollmentEvent;
use outreach_app::ports::{
    Activity, Clock, Identities, Job, Mailer, MailerError, OutboundMail, Scheduler, Store, WakeUp,
};
use outreach_aws::s3::RawMessageError;
use outreach_aws::{AwsClients, S3RawMessages, SesIdentities, SesMailer};
use outreach_contract::fixtures::{self, address, at};
use outreach_domain::ids::{CampaignId, CandidateId, EnrollmentId, OrgId};
use support::{Aws, TestClock, unique};

fn job() -> Job {
    Job::SendStep {
        org_id: OrgId::from("acme"),
        campaign_id: CampaignId::from("cmp-1"),
        enrollment_id: EnrollmentId::from("enr-1"),
        step: 1,
        plan_version: 1,
        candidate_id: Some(CandidateId::from("cand-1")),
        planned: None,
    }
}

#[tokio::test]
async fn a_schedule_is_one_shot_in_utc_with_its_target_and_policies() {
    let aws = Aws::new().await;
    let now = Utc
        .with_ymd_and_hms(2026, 12, 1, 9, 0, 30)
        .single()
        .expect("an instant");
    let clock: Arc<dyn Clock> = TestClock::new(now);
    let scheduler = aws.scheduler(clock).await;
    // Planned in the past: scheduled a minute ahead, on a whole minute.
    let w = WakeUp {
        name: "enr-1.s1.v1".into(),
        at: now - Duration::minutes(10),
        job: job(),
    };
    scheduler.schedule(&w).await.expect("scheduled");
    let got = aws
        .clients
        .scheduler
        .get_schedule()
        .group_name(&aws.group)
        .name(&w.name)
        .send()
        .await
        .expect("the schedule exists");
    assert_eq!(got.schedule_expression(), Some("at(2026-12-01T09:02:00)"));
    assert_eq!(got.schedule_expression_timezone(), Some("UTC"));
    assert_eq!(
        got.flexible_time_window().map(|f| f.mode().as_str()),
        Some("OFF")
    );
    assert_eq!(
        got.action_after_completion().map(|a| a.as_str()),
        Some("DELETE")
    );
    let target = got.target().expect("a target");
    // §15: the wake-up goes to the send queue, whose consumer is the send function.
    assert_eq!(
        target.arn(),
        "arn:aws:sqs:us-east-1:123456789012:outreach-send"
    );
    assert!(target.role_arn().ends_with(":role/outreach-scheduler"));
    assert!(
        target
            .dead_letter_config()
            .and_then(|d| d.arn())
            .is_some_and(|a| a.ends_with(":outreach-wakeups-dlq"))
    );
    let retry = target.retry_policy().expect("a retry policy");
    assert_eq!(retry.maximum_retry_attempts(), Some(10));
    assert_eq!(retry.maximum_event_age_in_seconds(), Some(3600));
    let input: Job =
        serde_json::from_str(target.input().unwrap_or_default()).expect("the job as input");
    assert_eq!(input, w.job);
}

#[tokio::test]
async fn a_schedule_name_outside_the_alphabet_fails_clearly() {
    let aws = Aws::new().await;
    let scheduler = aws.scheduler(TestClock::new(at(9, 0))).await;
    let w = WakeUp {
        name: "enr#1 step 1".into(),
        at: at(10, 0),
        job: job(),
    };
    let err = scheduler.schedule(&w).await.expect_err("refused");
    assert!(err.0.contains("not a schedule name"), "{err}");
}

/// Clients whose endpoint refuses connections.
async fn unreachable_clients() -> AwsClients {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(outreach_aws::config::https_client())
        .region(aws_sdk_dynamodb::config::Region::new(support::REGION))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .load()
        .await;
    AwsClients::new(&config, &[])
}

fn mail(from: &str) -> OutboundMail {
    OutboundMail {
        from: address(from),
        to: address("ada@home.example"),
        subject: "Hello".into(),
        raw: b"From: a@acme.example\r\nTo: ada@home.example\r\nSubject: Hello\r\n\r\nHi\r\n"
            .to_vec(),
        tags: vec![("campaign".into(), "cmp-1".into())],
    }
}

#[tokio::test]
async fn a_connection_that_never_opened_is_deferred() {
    // nothing left this process, so nothing can have been accepted.
    let clients = unreachable_clients().await;
    let mailer = SesMailer::new(clients.sesv2.clone(), &clients.region, None);
    match mailer.send(&mail("alice@acme.example")).await {
        Err(MailerError::Deferred(_)) => {}
        other => panic!("expected Deferred, got {other:?}"),
    }
}

/// An endpoint that reads one request and answers it with `reply` (or, with
/// `None`, closes the connection without a word).
fn one_shot_server(reply: Option<&'static str>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let address = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            // Read until the request's body has arrived.
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&seen);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if seen.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            if let Some(reply) = reply {
                let _ = conn.write_all(reply.as_bytes());
            }
        }
    });
    format!("http://{address}")
}

async fn mailer_at(endpoint: String) -> SesMailer {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(outreach_aws::config::https_client())
        .region(aws_sdk_dynamodb::config::Region::new(support::REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .load()
        .await;
    let clients = AwsClients::new(&config, &[]);
    SesMailer::new(clients.sesv2.clone(), &clients.region, None)
}

fn error_reply(status: &str, code: &str, message: &str) -> &'static str {
    let body = format!("{{\"message\":\"{message}\"}}");
    Box::leak(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nx-amzn-errortype: {code}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    )
}

#[tokio::test]
async fn sdk_errors_map_to_the_ports_kinds() {
    // the request left and no answer came back: maybe accepted.
    let lost = mailer_at(one_shot_server(None)).await;
    assert!(matches!(
        lost.send(&mail("alice@acme.example")).await,
        Err(MailerError::Unconfirmed(_))
    ));
    // Each server answers once and then refuses connections: a retried
    // SendEmail would come back `Deferred`, so these also prove there is none.
    let cases = [
        (
            "500 Internal Server Error",
            "InternalFailure",
            "boom",
            "unconfirmed",
        ),
        (
            "429 Too Many Requests",
            "TooManyRequestsException",
            "Maximum sending rate exceeded.",
            "deferred",
        ),
        (
            "400 Bad Request",
            "MessageRejected",
            "Address blacklisted.",
            "recipient",
        ),
        (
            "400 Bad Request",
            "MailFromDomainNotVerifiedException",
            "not verified",
            "sender",
        ),
    ];
    for (status, code, message, want) in cases {
        let mailer = mailer_at(one_shot_server(Some(error_reply(status, code, message)))).await;
        let got = match mailer.send(&mail("alice@acme.example")).await {
            Err(MailerError::Unconfirmed(_)) => "unconfirmed",
            Err(MailerError::Deferred(_)) => "deferred",
            Err(MailerError::RecipientRefused(_)) => "recipient",
            Err(MailerError::SenderFault(_)) => "sender",
            Ok(_) => "sent",
        };
        assert_eq!(got, want, "{status} {code}");
    }
}

#[tokio::test]
async fn identities_are_created_checked_and_deleted() {
    let aws = Aws::new().await;
    let identities = SesIdentities::new(aws.clients.sesv2.clone());
    let address = format!("{}@acme.example", unique("alice"));
    assert_eq!(identities.get(&address).await, Ok(None));
    identities.create(&address).await.expect("created");
    identities.create(&address).await.expect("created again");
    let health = identities
        .get(&address)
        .await
        .expect("read")
        .expect("known");
    // moto never verifies an identity for sending.
    assert!(!health.verified_for_sending);
    assert_eq!(
        Identities::sendable(&identities, &fixtures::address(&address)).await,
        Ok(false)
    );
    identities.delete(&address).await.expect("deleted");
    identities.delete(&address).await.expect("deleted again");
    assert_eq!(identities.get(&address).await, Ok(None));
}

#[tokio::test]
async fn preparing_an_unverified_address_asks_ses_to_verify_it_again() {
    // `resend` starts SES' own verification again. SES v2 mails its
    // verification only when an identity is created, so an unverified address
    // identity is created anew (moto never verifies one).
    let aws = Aws::new().await;
    let identities = SesIdentities::new(aws.clients.sesv2.clone());
    let address = fixtures::address(&format!("{}@acme.example", unique("alice")));
    let identity_calls = |calls: Vec<support::Call>| {
        calls
            .into_iter()
            .map(|c| c.operation)
            .filter(|op| op != "GetEmailIdentity")
            .collect::<Vec<_>>()
    };
    aws.calls.take();
    Identities::prepare(&identities, &address)
        .await
        .expect("prepared");
    assert_eq!(identity_calls(aws.calls.take()), ["CreateEmailIdentity"]);
    Identities::prepare(&identities, &address)
        .await
        .expect("prepared again");
    assert_eq!(
        identity_calls(aws.calls.take()),
        ["DeleteEmailIdentity", "CreateEmailIdentity"]
    );
    assert!(
        identities
            .get(address.as_str())
            .await
            .expect("read")
            .is_some(),
        "the identity exists again"
    );
}

#[tokio::test]
async fn raw_messages_are_read_from_s3() {
    let aws = Aws::new().await;
    let bucket = unique("inbound");
    aws.clients
        .s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let raw = b"From: ada@home.example\r\nSubject: Re: Hello\r\n\r\nYes!\r\n".to_vec();
    aws.clients
        .s3
        .put_object()
        .bucket(&bucket)
        .key("inbound/abc")
        .body(raw.clone().into())
        .send()
        .await
        .expect("stored");
    let messages = S3RawMessages::new(aws.clients.s3.clone());
    assert_eq!(messages.get(&bucket, "inbound/abc").await, Ok(raw));
    assert!(matches!(
        messages.get(&bucket, "inbound/missing").await,
        Err(RawMessageError::NotFound { .. })
    ));
}

/// An SES `feedbackId` or SNS message id is outside input: a marker built
/// from one longer than DynamoDB's key limit is still written (its key is
/// hashed) and found again, instead of failing on every redelivery.
#[tokio::test]
async fn a_marker_longer_than_a_key_may_be_is_written_and_found_again() {
    let aws = Aws::new().await;
    let store = aws.store().await;
    let expires = at(10, 0) + Duration::days(14);
    let long = format!("bounce:{}", "0102018f-feedback-".repeat(200));
    assert_eq!(store.first_time(&long, expires).await, Ok(true));
    assert_eq!(store.first_time(&long, expires).await, Ok(false));
    let other = format!("{long}x");
    assert_eq!(store.first_time(&other, expires).await, Ok(true));
    let value = serde_json::json!({"until": expires.to_rfc3339()});
    store
        .put_expiring_record(&long, &value, None, expires)
        .await
        .expect("a long record name is written");
    let found = store.get_record(&long).await.expect("read").expect("found");
    assert_eq!(found.value, value);
}

#[tokio::test]
async fn seen_markers_carry_the_ttl_attribute() {
    let aws = Aws::new().await;
    let store = aws.store().await;
    let expires = at(10, 0) + Duration::days(14);
    assert_eq!(store.first_time("feedback-1", expires).await, Ok(true));
    let item = aws
        .clients
        .dynamodb
        .get_item()
        .table_name(&aws.table)
        .key("PK", AttributeValue::S("SEEN#feedback-1".into()))
        .key("SK", AttributeValue::S("SEEN".into()))
        .send()
        .await
        .expect("read")
        .item
        .expect("the marker");
    assert_eq!(
        item.get("ttl"),
        Some(&AttributeValue::N(expires.timestamp().to_string()))
    );
    let ttl = aws
        .clients
        .dynamodb
        .describe_time_to_live()
        .table_name(&aws.table)
        .send()
        .await
        .expect("described");
    let description = ttl.time_to_live_description().expect("a TTL description");
    assert_eq!(description.attribute_name(), Some("ttl"));
    assert_eq!(
        description.time_to_live_status().map(|s| s.as_str()),
        Some("ENABLED")
    );
}

#[tokio::test]
async fn an_idempotency_record_expires_through_the_ttl_attribute() {
    // SPEC §13: keys are kept 24 hours; DynamoDB deletes the record after
    // (issue 19 item 4). Each write moves the expiry; a plain record has none.
    let aws = Aws::new().await;
    let store = aws.store().await;
    let read = |key: &'static str| {
        let aws = &aws;
        async move {
            aws.clients
                .dynamodb
                .get_item()
                .table_name(&aws.table)
                .key("PK", AttributeValue::S(format!("RECORD#{key}")))
                .key("SK", AttributeValue::S("RECORD".into()))
                .send()
                .await
                .expect("read")
                .item
                .expect("the record")
        }
    };
    let value = serde_json::json!({"fingerprint": "f"});
    let first = at(10, 0) + Duration::hours(24);
    assert_eq!(
        store
            .put_expiring_record("idem:o:u:k", &value, None, first)
            .await,
        Ok(1)
    );
    assert_eq!(
        read("idem:o:u:k").await.get("ttl"),
        Some(&AttributeValue::N(first.timestamp().to_string()))
    );
    let later = first + Duration::minutes(5);
    assert_eq!(
        store
            .put_expiring_record("idem:o:u:k", &value, Some(1), later)
            .await,
        Ok(2)
    );
    assert_eq!(
        read("idem:o:u:k").await.get("ttl"),
        Some(&AttributeValue::N(later.timestamp().to_string()))
    );
    let got = store.get_record("idem:o:u:k").await.expect("read");
    assert_eq!(got.map(|r| (r.version, r.value)), Some((2, value.clone())));
    store.put_record("plain", &value, None).await.expect("put");
    assert_eq!(read("plain").await.get("ttl"), None);
}

#[tokio::test]
async fn an_enrollment_item_does_not_grow_with_its_events() {
    let aws = Aws::new().await;
    let store = aws.store().await;
    let org = "org-size";
    store
        .put_campaign(&fixtures::campaign(org, "cmp-1", "prj-1", "acc-1"), None)
        .await
        .expect("campaign");
    let e = fixtures::enrollment(org, "enr-1", "cmp-1", "cand-1", at(10, 0));
    store.insert_enrollment(&e).await.expect("enrollment");
    let size = || async {
        let item = aws
            .clients
            .dynamodb
            .get_item()
            .table_name(&aws.table)
            .key("PK", AttributeValue::S(format!("ENROLLMENT#{org}#enr-1")))
            .key("SK", AttributeValue::S("ENROLLMENT".into()))
            .send()
            .await
            .expect("read")
            .item
            .expect("the enrollment");
        format!("{item:?}").len()
    };
    let before = size().await;
    for i in 0..40 {
        store
            .append_event(&EnrollmentEvent {
                org_id: OrgId::from(org),
                enrollment_id: e.id.clone(),
                at: at(10, 0) + Duration::minutes(i),
                kind: "delivered".into(),
                step: Some(1),
                detail: Some("x".repeat(500)),
            })
            .await
            .expect("event");
    }
    assert_eq!(size().await, before);
    assert_eq!(
        store
            .list_events(&OrgId::from(org), &e.id, 100)
            .await
            .map(|v| v.len()),
        Ok(40)
    );
}

/// Issue 19: an enrollment's membership item is written with it (in the
/// campaign's partition, what planning reads consistently); a due enrollment
/// has a due-index entry in one of 32 shards, and an ended one with nothing
/// due has no GSI3 attribute at all (the sweeper never sees it).
#[tokio::test]
async fn an_enrollment_has_its_member_item_and_leaves_the_due_index_when_settled() {
    let aws = Aws::new().await;
    let store = aws.store().await;
    let org = "org-index";
    store
        .put_campaign(&fixtures::campaign(org, "cmp-1", "prj-1", "acc-1"), None)
        .await
        .expect("campaign");
    let e = fixtures::enrollment(org, "enr-1", "cmp-1", "cand-1", at(10, 0));
    store.insert_enrollment(&e).await.expect("enrollment");
    let raw = |pk: String, sk: &'static str| {
        let aws = &aws;
        async move {
            aws.clients
                .dynamodb
                .get_item()
                .table_name(&aws.table)
                .key("PK", AttributeValue::S(pk))
                .key("SK", AttributeValue::S(sk.into()))
                .consistent_read(true)
                .send()
                .await
                .expect("read")
                .item
        }
    };
    let member = raw(format!("CAMPAIGN#{org}#cmp-1"), "MEMBER#enr-1").await;
    assert!(member.is_some(), "the membership item");
    let item = raw(format!("ENROLLMENT#{org}#enr-1"), "ENROLLMENT")
        .await
        .expect("the enrollment");
    let shard = item
        .get("GSI3PK")
        .and_then(|v| v.as_s().ok())
        .and_then(|pk| pk.strip_prefix("DUE#"))
        .and_then(|n| n.parse::<u32>().ok())
        .expect("a due-index entry");
    assert!(shard < 32, "one of 32 shards: {shard}");

    let mut ended = store
        .get_enrollment(&OrgId::from(org), &e.id)
        .await
        .expect("read")
        .expect("the enrollment");
    ended
        .value
        .end(
            outreach_domain::enrollment::EnrollmentStatus::Removed,
            at(10, 5),
        )
        .expect("ends");
    assert_eq!(ended.value.next_due_at, None);
    store
        .update_enrollment(&ended.value, ended.version, Activity::Ended)
        .await
        .expect("written");
    let item = raw(format!("ENROLLMENT#{org}#enr-1"), "ENROLLMENT")
        .await
        .expect("the enrollment");
    assert!(
        !item.contains_key("GSI3PK") && !item.contains_key("GSI3SK"),
        "no due-index entry once settled: {:?}",
        item.keys().collect::<Vec<_>>()
    );
    assert!(store.list_due(at(23, 0), 10).await.expect("due").is_empty());
}

/// A Lambda function's configuration comes from its environment alone
/// (issue 20: no default chains in the bootstraps): region, the role's
/// credentials and the endpoint override reach every client; without the
/// credentials variables a call fails with an error, never a panic.
#[tokio::test]
async fn a_functions_configuration_is_read_from_its_environment() {
    let endpoint = support::moto().endpoint.clone();
    let env = |with_keys: bool| {
        let endpoint = endpoint.clone();
        move |name: &str| match name {
            "AWS_DEFAULT_REGION" => Some("eu-west-1".to_owned()),
            "AWS_ACCESS_KEY_ID" if with_keys => Some("AKIDEXAMPLE".to_owned()),
            "AWS_SECRET_ACCESS_KEY" if with_keys => Some("secret".to_owned()),
            "AWS_SESSION_TOKEN" => Some(String::new()),
            "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
            _ => None,
        }
    };
    let config = outreach_aws::config::config_from(env(true));
    assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
    assert_eq!(config.endpoint_url(), Some(endpoint.as_str()));
    let clients = AwsClients::new(&config, &[]);
    assert_eq!(clients.region, "eu-west-1");
    clients
        .dynamodb
        .list_tables()
        .send()
        .await
        .expect("moto answers a call signed with the environment's keys");

    let anonymous = AwsClients::new(&outreach_aws::config::config_from(env(false)), &[]);
    let refused = anonymous.dynamodb.list_tables().send().await;
    assert!(refused.is_err(), "a call without credentials fails");
}
