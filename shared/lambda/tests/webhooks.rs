//! The SNS HTTPS webhooks of the deployed stack (SPEC §15, issue 18): both
//! routes through the webhooks function's router built as
//! `App::webhooks_from_env` builds it (the topics from the deployment's variables, certificates through
//! `HttpsCertificates`, confirmations through `SnsSubscriptions`), with the
//! signing certificate served by a local server standing in for
//! `sns.<region>.amazonaws.com` and the SNS API on the emulator.

#[path = "../../aws/tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::{Credentials, Region};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{SecondsFormat, Utc};
use lambda_http::request::LambdaRequest;
use lambda_runtime::{Context, LambdaEvent};
use outreach_aws::{HttpsCertificates, SnsSubscriptions};
use outreach_lambda::settings::vars;
use outreach_lambda::{App, Settings};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Map, Value, json};
use support::{Aws, TestClock, unique};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::EncodePem;
use x509_cert::der::pem::LineEnding;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

/// The topics live in another region than the functions' clients (us-east-1):
/// SES in another region is what the webhooks are for.
const TOPIC_REGION: &str = "eu-west-1";
const CERT_PATH: &str = "SimpleNotificationService-0000000000000000000000.pem";

fn cert_url() -> String {
    format!("https://sns.{TOPIC_REGION}.amazonaws.com/{CERT_PATH}")
}

fn infra(path: &str) -> String {
    let full = format!("{}/../../infra/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The SES JSON a sample SNS event carries.
fn sample_message(name: &str) -> String {
    let event: Value = serde_json::from_str(&infra(&format!("events/{name}"))).expect("JSON");
    event["Records"][0]["Sns"]["Message"]
        .as_str()
        .expect("a message")
        .to_owned()
}

/// A key and a self-signed certificate for it, as SNS publishes one.
fn key_and_certificate() -> (RsaPrivateKey, String) {
    let key = RsaPrivateKey::new(&mut rand_core::OsRng, 1024).expect("an RSA key");
    let signer = SigningKey::<sha2::Sha256>::new(key.clone());
    let spki = SubjectPublicKeyInfoOwned::from_key(key.to_public_key()).expect("spki");
    let cert = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(1u32),
        Validity::from_now(std::time::Duration::from_secs(3600 * 24 * 30)).expect("validity"),
        "CN=sns.amazonaws.com".parse::<Name>().expect("name"),
        spki,
        &signer,
    )
    .expect("builder")
    .build::<rsa::pkcs1v15::Signature>()
    .expect("certificate");
    (key, cert.to_pem(LineEnding::LF).expect("pem"))
}

/// Serves `pem` at `/CERT_PATH` over plain HTTP on 127.0.0.1 and records
/// every request line it gets.
async fn certificate_server(pem: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let origin = format!("http://{}", listener.local_addr().expect("its address"));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let text = String::from_utf8_lossy(&buf);
            let line = text.lines().next().unwrap_or_default().to_owned();
            let found = line == format!("GET /{CERT_PATH} HTTP/1.1");
            seen.lock().unwrap().push(line);
            let (status, body) = if found {
                ("200 OK", pem.clone())
            } else {
                ("404 Not Found", String::new())
            };
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/x-pem-file\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    (origin, requests)
}

struct Deployment {
    app: App,
    key: RsaPrivateKey,
    events_topic: String,
    inbound_topic: String,
    /// The request lines the certificate server got.
    certificate_requests: Arc<Mutex<Vec<String>>>,
    variables: HashMap<String, String>,
    aws: Aws,
    sdk: aws_config::SdkConfig,
    /// Where the certificate server listens.
    origin: String,
    clock: Arc<TestClock>,
}

impl Deployment {
    async fn new() -> Deployment {
        let aws = Aws::new().await;
        aws.store().await;
        // Certificates are judged by the service's clock: a minute after the one made below.
        let clock = TestClock::new(Utc::now() + chrono::Duration::minutes(1));
        aws.scheduler(clock.clone()).await;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(outreach_aws::config::https_client())
            .region(Region::new(support::REGION))
            .endpoint_url(&aws.endpoint)
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .load()
            .await;
        // The topics SES publishes to, in their own region of the emulator.
        let sns = aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(&sdk)
                .region(Region::new(TOPIC_REGION))
                .build(),
        );
        let mut topics = Vec::new();
        for name in ["ses-events", "inbound"] {
            let arn = sns
                .create_topic()
                .name(unique(name))
                .send()
                .await
                .expect("a topic")
                .topic_arn
                .expect("its ARN");
            topics.push(arn);
        }
        let variables: HashMap<String, String> = [
            (vars::TABLE_NAME, aws.table.clone()),
            (vars::SCHEDULE_GROUP, aws.group.clone()),
            (
                vars::SEND_QUEUE_ARN,
                "arn:aws:sqs:us-east-1:123456789012:outreach-send".into(),
            ),
            (
                vars::SEND_QUEUE_URL,
                "http://127.0.0.1:1/123456789012/send".into(),
            ),
            (
                vars::SCHEDULER_ROLE_ARN,
                "arn:aws:iam::123456789012:role/outreach-scheduler".into(),
            ),
            (
                vars::SCHEDULER_DLQ_ARN,
                "arn:aws:sqs:us-east-1:123456789012:outreach-scheduler-dlq".into(),
            ),
            (
                vars::PLANNER_QUEUE_URL,
                "http://127.0.0.1:1/123456789012/planner".into(),
            ),
            (vars::REPLY_DOMAIN, "reply.outreach.example".into()),
            (vars::PUBLIC_BASE_URL, "https://outreach.example".into()),
            (
                vars::HASH_KEY,
                "test-hash-key-of-at-least-32-characters".into(),
            ),
            (vars::SNS_TOPIC_ARNS, topics.join(",")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let settings = Settings::from_map(&variables).expect("the template's variables");
        let (key, pem) = key_and_certificate();
        let (origin, certificate_requests) = certificate_server(pem).await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let app = App::new(&settings, aws.clients.clone(), sqs, clock.clone()).with_sns_webhooks(
            &settings,
            Arc::new(HttpsCertificates::served_from(origin.clone())),
            Arc::new(SnsSubscriptions::new(&sdk)),
        );
        Deployment {
            app,
            key,
            events_topic: topics[0].clone(),
            inbound_topic: topics[1].clone(),
            certificate_requests,
            variables,
            aws,
            sdk,
            origin,
            clock,
        }
    }

    /// Another instance of the API function on the same emulated AWS, with
    /// `variables` instead of the template's (a broken configuration).
    fn app_with(&self, variables: &HashMap<String, String>) -> App {
        let settings = Settings::from_map(variables).expect("settings");
        App::new(
            &settings,
            self.aws.clients.clone(),
            aws_sdk_sqs::Client::new(&self.sdk),
            self.clock.clone(),
        )
        .with_sns_webhooks(
            &settings,
            Arc::new(HttpsCertificates::served_from(self.origin.clone())),
            Arc::new(SnsSubscriptions::new(&self.sdk)),
        )
    }

    /// An SNS delivery of `kind` signed with this deployment's SNS key (`key`
    /// overrides it: a forgery).
    fn signed(&self, kind: &str, topic: &str, extra: Value, key: Option<&RsaPrivateKey>) -> Value {
        let mut fields: Map<String, Value> = extra.as_object().cloned().unwrap_or_default();
        fields.insert("Type".into(), kind.into());
        fields.insert("MessageId".into(), unique("message").into());
        fields.insert("TopicArn".into(), topic.into());
        fields.insert(
            "Timestamp".into(),
            Utc::now()
                .to_rfc3339_opts(SecondsFormat::Millis, true)
                .into(),
        );
        fields.insert("SignatureVersion".into(), "2".into());
        fields.insert("SigningCertURL".into(), cert_url().into());
        let names: &[&str] = if kind == "Notification" {
            &[
                "Message",
                "MessageId",
                "Subject",
                "Timestamp",
                "TopicArn",
                "Type",
            ]
        } else {
            &[
                "Message",
                "MessageId",
                "SubscribeURL",
                "Timestamp",
                "Token",
                "TopicArn",
                "Type",
            ]
        };
        let mut canonical = String::new();
        for name in names {
            if let Some(Value::String(v)) = fields.get(*name) {
                canonical.push_str(&format!("{name}\n{v}\n"));
            }
        }
        let signature = SigningKey::<sha2::Sha256>::new(key.unwrap_or(&self.key).clone())
            .sign(canonical.as_bytes())
            .to_vec();
        fields.insert("Signature".into(), STANDARD.encode(signature).into());
        Value::Object(fields)
    }

    /// POSTs `body` as SNS does (text/plain, no token) through the webhooks
    /// function's router, as API Gateway delivers it.
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        post_to(&self.app, path, body).await
    }
}

/// POSTs `body` as SNS does through `app`'s webhooks router, as API Gateway delivers it.
async fn post_to(app: &App, path: &str, body: &Value) -> (u16, Value) {
    let event = json!({
        "version": "2.0",
        "routeKey": format!("POST {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": body["Type"]},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example",
            "domainPrefix": "api", "requestId": unique("request"), "routeKey": format!("POST {path}"),
            "stage": "$default", "time": "01/Dec/2026:14:00:00 +0000", "timeEpoch": 1_796_133_600_000u64,
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "54.240.197.1", "userAgent": "Amazon Simple Notification Service Agent"}
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    });
    let request: LambdaRequest = serde_json::from_value(event).expect("an HTTP API request");
    let response = lambda_http::Adapter::from(app.webhooks_router())
        .oneshot(LambdaEvent::new(request, Context::default()))
        .await
        .expect("the router never fails");
    let response = serde_json::to_value(response).expect("the response");
    let status = response["statusCode"].as_u64().expect("a status") as u16;
    let body = response["body"].as_str().unwrap_or_default();
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned())),
    )
}

const SES_EVENTS: &str = "/v1/webhooks/ses-events";
const INBOUND: &str = "/v1/webhooks/inbound";

#[tokio::test]
async fn signed_notifications_are_accepted_on_both_routes_and_forgeries_refused() {
    let d = Deployment::new().await;
    // A delivery event of SES, and a reply carried in the SNS action's content.
    let event = d.signed(
        "Notification",
        &d.events_topic,
        json!({"Message": sample_message("ses-delivery-event.json"), "Subject": "Amazon SES Email Event Notification"}),
        None,
    );
    let (status, answer) = d.post(SES_EVENTS, &event).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "processed");
    let reply = d.signed(
        "Notification",
        &d.inbound_topic,
        json!({"Message": sample_message("inbound-sns-content.json")}),
        None,
    );
    let (status, answer) = d.post(INBOUND, &reply).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "processed");
    assert_eq!(answer["kind"], "unmatched", "{answer}");
    // The certificate came from the SNS host's path, once: it is cached.
    assert_eq!(
        *d.certificate_requests.lock().unwrap(),
        [format!("GET /{CERT_PATH} HTTP/1.1")]
    );

    // Signed by another key than SNS' certificate's: refused.
    let other = RsaPrivateKey::new(&mut rand_core::OsRng, 1024).expect("a key");
    let forged = d.signed(
        "Notification",
        &d.events_topic,
        json!({"Message": sample_message("ses-delivery-event.json")}),
        Some(&other),
    );
    for path in [SES_EVENTS, INBOUND] {
        let (status, answer) = d.post(path, &forged).await;
        assert_eq!(status, 401, "{path}: {answer}");
    }
    // A field changed after signing: refused.
    let mut altered = event.clone();
    altered["Message"] = json!(sample_message("ses-bounce-event.json"));
    altered["MessageId"] = json!(unique("message"));
    let (status, _) = d.post(SES_EVENTS, &altered).await;
    assert_eq!(status, 401);
    // Validly signed by SNS, but for a topic the deployment does not name.
    let foreign = d.signed(
        "Notification",
        &format!("arn:aws:sns:{TOPIC_REGION}:999999999999:someone-else"),
        json!({"Message": sample_message("ses-delivery-event.json")}),
        None,
    );
    for path in [SES_EVENTS, INBOUND] {
        let (status, answer) = d.post(path, &foreign).await;
        assert_eq!(status, 401, "{path}: {answer}");
        assert!(
            answer["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("topic"),
            "{answer}"
        );
    }
    // A certificate URL that is not SNS' own host: refused before any fetch.
    let mut elsewhere = d.signed(
        "Notification",
        &d.events_topic,
        json!({"Message": "x"}),
        None,
    );
    elsewhere["SigningCertURL"] = json!(format!("https://sns.s3.amazonaws.com/{CERT_PATH}"));
    let (status, _) = d.post(SES_EVENTS, &elsewhere).await;
    assert_eq!(status, 401);
    assert_eq!(d.certificate_requests.lock().unwrap().len(), 1);
    // A replay of the accepted event.
    let (status, _) = d.post(SES_EVENTS, &event).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn a_subscription_confirmation_is_confirmed_through_the_sns_api() {
    let d = Deployment::new().await;
    for (path, topic) in [(SES_EVENTS, &d.events_topic), (INBOUND, &d.inbound_topic)] {
        // The URL in the message points nowhere reachable: it is never fetched.
        let confirmation = d.signed(
            "SubscriptionConfirmation",
            topic,
            json!({
                "Message": "You have chosen to subscribe to the topic.",
                "SubscribeURL": "http://127.0.0.1:9/?Action=ConfirmSubscription",
                "Token": "2336412f37fb687f5d51e6e2425f004aed8e0f2d1a2b"
            }),
            None,
        );
        let (status, answer) = d.post(path, &confirmation).await;
        assert_eq!(status, 200, "{path}: {answer}");
        assert_eq!(answer["outcome"], "subscription_confirmed", "{answer}");
        // The emulator answers ConfirmSubscription only for a topic of the
        // region it was called in: the topic's own (eu-west-1), not the
        // functions' (us-east-1).
        let arn = answer["subscription_arn"].as_str().expect("an ARN");
        assert!(arn.starts_with(&format!("{topic}:")), "{arn}");
        assert!(answer.get("subscribe_url").is_none(), "{answer}");
    }
    // A confirmation for a topic the deployment does not name is not confirmed.
    let foreign = d.signed(
        "SubscriptionConfirmation",
        &format!(
            "arn:aws:sns:{TOPIC_REGION}:123456789012:{}",
            unique("other")
        ),
        json!({"Message": "m", "SubscribeURL": "http://127.0.0.1:9/", "Token": "t"}),
        None,
    );
    let (status, _) = d.post(SES_EVENTS, &foreign).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn without_topics_the_webhooks_do_not_exist() {
    let d = Deployment::new().await;
    let mut variables = d.variables.clone();
    variables.remove(vars::SNS_TOPIC_ARNS);
    let settings = Settings::from_map(&variables).expect("settings");
    let app = d.app.with_sns_webhooks(
        &settings,
        Arc::new(HttpsCertificates::new()),
        Arc::new(SnsSubscriptions::new(
            &aws_config::SdkConfig::builder().build(),
        )),
    );
    let d = Deployment { app, ..d };
    let event = d.signed(
        "Notification",
        &d.events_topic,
        json!({"Message": "x"}),
        None,
    );
    let (status, _) = d.post(SES_EVENTS, &event).await;
    assert_eq!(status, 404);
}

/// An unsigned body (a garbage signature) naming `topic`, stamped `stamp`,
/// with a certificate path an attacker chose on SNS' own host.
fn unauthenticated(i: usize, topic: &str, stamp: &str) -> Value {
    json!({
        "Type": "Notification",
        "MessageId": unique("m"),
        "TopicArn": topic,
        "Message": "x",
        "Timestamp": stamp,
        "SignatureVersion": "2",
        "Signature": STANDARD.encode([7u8; 128]),
        "SigningCertURL": format!("https://sns.{TOPIC_REGION}.amazonaws.com/attacker-chosen-{i}.pem"),
    })
}

/// Outside review of issue 18: a body naming a topic the deployment does not
/// take, or a time outside the window, is refused before any certificate is
/// fetched (anyone could otherwise make the function fetch once a request).
#[tokio::test]
async fn unauthenticated_bodies_cause_no_certificate_fetch() {
    let d = Deployment::new().await;
    let old = (Utc::now() - chrono::Duration::days(3)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let foreign = format!("arn:aws:sns:{TOPIC_REGION}:999999999999:not-ours");
    for i in 0..6 {
        let body = match i % 3 {
            0 => unauthenticated(i, &foreign, &now),
            1 => unauthenticated(i, &d.events_topic, &old),
            _ => unauthenticated(i, &foreign, &old),
        };
        let path = if i % 2 == 0 { SES_EVENTS } else { INBOUND };
        let (status, answer) = d.post(path, &body).await;
        assert_eq!(status, 401, "{answer}");
    }
    let fetched = d.certificate_requests.lock().unwrap().clone();
    assert!(fetched.is_empty(), "certificate fetches: {fetched:?}");
}

/// Outside review of issue 18: a receipt of the inbound topic posted to the
/// SES-events route (a wrong subscription URL) is refused there and does not
/// mark it, so on its own route it is handled, not refused as a replay.
#[tokio::test]
async fn a_delivery_on_the_wrong_route_is_refused_and_not_burnt_for_the_right_one() {
    let d = Deployment::new().await;
    let reply = d.signed(
        "Notification",
        &d.inbound_topic,
        json!({"Message": sample_message("inbound-sns-content.json")}),
        None,
    );
    let (status, answer) = d.post(SES_EVENTS, &reply).await;
    assert_eq!(status, 422, "{answer}");
    let (status, answer) = d.post(INBOUND, &reply).await;
    assert_eq!(status, 200, "{answer}");
    // The converse: an SES event on the inbound route.
    let event = d.signed(
        "Notification",
        &d.events_topic,
        json!({"Message": sample_message("ses-delivery-event.json")}),
        None,
    );
    let (status, answer) = d.post(INBOUND, &event).await;
    assert!((400..500).contains(&status), "{status} {answer}");
    let (status, answer) = d.post(SES_EVENTS, &event).await;
    assert_eq!(status, 200, "{answer}");
}

/// Issue 18: a delivery whose handling failed (a 5xx: here the
/// scheduler that the retry of an unknown message needs is missing) is not
/// marked, so SNS's retry of the same `MessageId` is handled (200); only a
/// replay of the handled one answers 409.
#[tokio::test]
async fn a_failed_handling_is_retried_not_refused() {
    let d = Deployment::new().await;
    let mut broken = d.variables.clone();
    broken.insert(vars::SCHEDULE_GROUP.into(), unique("no-such-group"));
    let broken = d.app_with(&broken);
    // A bounce of a message this deployment never recorded: its handling
    // schedules a retry, which needs the scheduler.
    let bounce = d.signed(
        "Notification",
        &d.events_topic,
        json!({"Message": sample_message("ses-bounce-event.json")}),
        None,
    );
    let (status, answer) = post_to(&broken, SES_EVENTS, &bounce).await;
    assert!(status >= 500, "the handling failed: {status} {answer}");
    let (status, answer) = d.post(SES_EVENTS, &bounce).await;
    assert_eq!(status, 200, "SNS's retry after a failed handling: {answer}");
    let (status, _) = d.post(SES_EVENTS, &bounce).await;
    assert_eq!(status, 409, "a replay of the handled one");
}
