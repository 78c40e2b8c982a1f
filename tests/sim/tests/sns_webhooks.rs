//! The SNS HTTPS webhooks (SPEC §15) through the real router and service on
//! the embedded adapters, with deliveries signed by a key and self-signed
//! certificate made here: subscription confirmation, a signed SES bounce
//! applied once and its replay refused, forged and untrusted deliveries
//! refused, a Base64 inbound reply applied, an S3-stored one refused with 422,
//! and no webhook at all without a verifier (local mode).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use http_body_util::BodyExt;
use outreach_app::auth::{Hs256Authenticator, Identity};
use outreach_app::ports::{Clock, IdSource, Store};
use outreach_app::sns::{InMemoryCertificates, SnsVerifier};
use outreach_app::usecases::campaigns::NewCampaign;
use outreach_app::usecases::catalog::candidates::{NewCandidate, NewEmail};
use outreach_app::usecases::enrollments::AddCandidates;
use outreach_app::{Config, Ports, Service};
use outreach_contract::lost_answers::LostAnswers;
use outreach_domain::campaign::{StepSpec, WhenToSend};
use outreach_domain::candidate::EmailType;
use outreach_domain::enrollment::{AttemptState, EnrollmentStatus};
use outreach_domain::ids::{EnrollmentId, OrgId, UserId};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Map, Value, json};
use tower::ServiceExt;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::EncodePem;
use x509_cert::der::pem::LineEnding;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

const CERT_URL: &str = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem";
/// Hosts that look like SNS but are S3 buckets named `sns` (§15): the same
/// certificate is served there, so only the URL check can refuse them.
const LOOKALIKE_CERT_URLS: &[&str] = &[
    "https://sns.s3.amazonaws.com/SimpleNotificationService-test.pem",
    "https://sns.s3-eu-west-1.amazonaws.com/SimpleNotificationService-test.pem",
    "https://sns.s3.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem",
];
const EVENTS_TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:outreach-ses-events";
const INBOUND_TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:outreach-inbound";

struct App {
    service: Arc<Service>,
    store: Arc<SqliteStore>,
    /// What the service writes through: the store, whose answers a test may lose.
    lossy: Arc<LostAnswers>,
    scheduler: Arc<LocalScheduler>,
    clock: Arc<LocalClock>,
    outbox: Arc<OutboxMailer>,
    key: RsaPrivateKey,
    who: Identity,
    _dir: tempfile::TempDir,
}

/// A key and a self-signed certificate for it, as SNS would publish it.
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

fn app() -> (App, SnsVerifier) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::in_memory().expect("db");
    // SNS timestamps and certificates are judged against the service's clock,
    // which starts a minute after the certificate below is made.
    let clock = Arc::new(LocalClock::manual(
        db.clone(),
        Utc::now().trunc_subsecs(0) + Duration::minutes(1),
    ));
    let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
    let store = Arc::new(SqliteStore::new(db.clone()));
    let lossy = Arc::new(LostAnswers::new(store.clone()));
    let scheduler = Arc::new(LocalScheduler::new(db.clone()));
    let outbox = Arc::new(
        OutboxMailer::new(db, dir.path().join("outbox"), clock.clone(), ids.clone())
            .expect("outbox"),
    );
    let service = Service::new(
        Ports {
            store: lossy.clone(),
            scheduler: scheduler.clone(),
            mailer: outbox.clone(),
            clock: clock.clone(),
            ids,
            auth: Arc::new(Hs256Authenticator::new(b"sns-tests")),
            identities: outbox.clone(),
            queue: scheduler.clone(),
        },
        Config::local(3000),
    );
    let (key, pem) = key_and_certificate();
    let certificates = InMemoryCertificates::new();
    for url in LOOKALIKE_CERT_URLS {
        certificates.insert(*url, pem.clone());
    }
    certificates.insert(CERT_URL, pem);
    let verifier = SnsVerifier::new(Arc::new(certificates), [EVENTS_TOPIC, INBOUND_TOPIC]);
    let app = App {
        service,
        store,
        lossy,
        scheduler,
        clock,
        outbox,
        key,
        who: Identity {
            org_id: OrgId::from("acme"),
            user_id: UserId::from("alice"),
            email: None,
            admin: false,
        },
        _dir: dir,
    };
    (app, verifier)
}

/// The canonical string of an SNS message (AWS' documented field order).
fn canonical(fields: &Map<String, Value>) -> String {
    let names: &[&str] = if fields["Type"] == "Notification" {
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
    names
        .iter()
        .filter_map(|n| {
            fields
                .get(*n)
                .and_then(Value::as_str)
                .map(|v| format!("{n}\n{v}\n"))
        })
        .collect()
}

impl App {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// An SNS delivery signed with version 1 or 2.
    fn signed(&self, kind: &str, topic: &str, id: &str, extra: Value, version: &str) -> String {
        let mut fields = extra.as_object().cloned().unwrap_or_default();
        fields.insert("Type".into(), kind.into());
        fields.insert("MessageId".into(), id.into());
        fields.insert("TopicArn".into(), topic.into());
        fields.insert("Timestamp".into(), self.now().to_rfc3339().into());
        fields.insert("SignatureVersion".into(), version.into());
        fields.insert("SigningCertURL".into(), CERT_URL.into());
        let text = canonical(&fields);
        let signature = if version == "1" {
            SigningKey::<sha1::Sha1>::new(self.key.clone())
                .sign(text.as_bytes())
                .to_vec()
        } else {
            SigningKey::<sha2::Sha256>::new(self.key.clone())
                .sign(text.as_bytes())
                .to_vec()
        };
        fields.insert("Signature".into(), STANDARD.encode(signature).into());
        Value::Object(fields).to_string()
    }

    /// A one-step campaign whose message was handed off; returns the
    /// enrollment and the outbox message.
    async fn sent_message(&self) -> (EnrollmentId, outreach_app::dev::OutboxItem, String) {
        let s = &self.service;
        let account = s
            .accounts()
            .link_account(&self.who, "alice@recruit.example", Some("Alice R".into()))
            .await
            .unwrap();
        let candidate = s
            .catalog()
            .create_candidate(
                &self.who,
                NewCandidate {
                    first_name: "Ada".into(),
                    last_name: "Lovelace".into(),
                    title: None,
                    company: None,
                    location: None,
                    timezone: None,
                    emails: vec![
                        NewEmail {
                            address: "ada@home.example".into(),
                            kind: EmailType::Personal,
                        },
                        NewEmail {
                            address: "ada@work.example".into(),
                            kind: EmailType::Work,
                        },
                    ],
                },
            )
            .await
            .unwrap();
        let project = s.catalog().create_project(&self.who, "P").await.unwrap();
        let campaign = s
            .campaigns()
            .create_campaign(
                &self.who,
                &project.id,
                NewCampaign {
                    name: "C".into(),
                    sender_account_id: account.id.to_string(),
                    template_id: None,
                    steps: Some(vec![StepSpec {
                        subject: Some("Hello {{ candidate.first_name }}".into()),
                        body: "<p>Hi</p>".into(),
                        text: None,
                        delay_days: 0,
                    }]),
                    timezone: Some("UTC".into()),
                    when_to_send: WhenToSend::WhenStarted,
                    recipient: None,
                    skip_weekends: false,
                    timezone_mode: Default::default(),
                    daily_limit: None,
                },
            )
            .await
            .unwrap();
        let added = s
            .enrollments()
            .add_candidates(
                &self.who,
                campaign.id.as_str(),
                AddCandidates {
                    candidate_ids: vec![candidate.id.to_string()],
                    allow_duplicate: false,
                },
            )
            .await
            .unwrap();
        s.campaigns()
            .start_campaign(&self.who, campaign.id.as_str())
            .await
            .unwrap();
        let enrollment = added.enrollments[0].id.clone();
        // Run every wake-up due in the next half hour, at its time.
        let until = self.now() + Duration::minutes(30);
        while let Some(w) = self.scheduler.next_due(until).unwrap() {
            self.clock.set(w.at);
            s.sending().run_job(&w.job).await.unwrap();
            self.scheduler.complete(&w).unwrap();
        }
        let item = self.outbox.list().unwrap().pop().expect("a sent message");
        let raw = String::from_utf8(self.outbox.raw(&item.id).unwrap().unwrap()).unwrap();
        (enrollment, item, raw)
    }

    async fn status(&self, id: &EnrollmentId) -> (EnrollmentStatus, Vec<AttemptState>) {
        let e = self
            .store
            .get_enrollment(&self.who.org_id, id)
            .await
            .unwrap()
            .unwrap()
            .value;
        (
            e.status,
            e.steps[0].attempts.iter().map(|a| a.state).collect(),
        )
    }
}

async fn post(router: &axum::Router, path: &str, body: String) -> (StatusCode, Value) {
    let response = router
        .clone()
        .oneshot(
            Request::post(path)
                // SNS posts its JSON as text/plain.
                .header("content-type", "text/plain; charset=UTF-8")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn router(app: &App, verifier: SnsVerifier) -> axum::Router {
    outreach_app::http::router(app.service.clone()).layer(axum::Extension(Arc::new(verifier)))
}

#[tokio::test]
async fn a_subscription_confirmation_answers_the_url_to_visit() {
    let (app, verifier) = app();
    let router = router(&app, verifier);
    let url =
        "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=abc";
    for (path, topic) in [
        ("/v1/webhooks/ses-events", EVENTS_TOPIC),
        ("/v1/webhooks/inbound", INBOUND_TOPIC),
    ] {
        let body = app.signed(
            "SubscriptionConfirmation",
            topic,
            &format!("confirm-{path}"),
            json!({"Message": "You have chosen to subscribe", "SubscribeURL": url, "Token": "abc"}),
            "1",
        );
        let (status, answer) = post(&router, path, body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["outcome"], "confirm_subscription");
        assert_eq!(answer["subscribe_url"], url);
        assert_eq!(answer["topic_arn"], topic);
    }
}

/// SES' event of a hard bounce of the message `item`, as its `feedback_id`.
fn hard_bounce(app: &App, item: &outreach_app::dev::OutboxItem, feedback_id: &str) -> Value {
    json!({
        "eventType": "Bounce",
        "mail": {"timestamp": app.now().to_rfc3339(), "messageId": item.message_id,
                 "destination": [item.to]},
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                   "feedbackId": feedback_id, "timestamp": app.now().to_rfc3339(),
                   "bouncedRecipients": [{"emailAddress": item.to, "status": "5.1.1",
                                          "diagnosticCode": "smtp; 550 5.1.1 unknown"}]}
    })
}

#[tokio::test]
async fn a_signed_bounce_is_applied_once_and_forgeries_are_refused() {
    let (app, verifier) = app();
    let router = router(&app, verifier);
    let (enrollment, item, _) = app.sent_message().await;
    let ses = hard_bounce(&app, &item, "fb-1");
    let body = app.signed(
        "Notification",
        EVENTS_TOPIC,
        "n-1",
        json!({"Message": ses.to_string()}),
        "2",
    );

    // Forged: the event altered after signing, a signature of another key, an untrusted certificate.
    let altered = body.replace("5.1.1 unknown", "5.1.1 unknown!");
    let (status, answer) = post(&router, "/v1/webhooks/ses-events", altered).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    let mut untrusted: Value = serde_json::from_str(&body).unwrap();
    untrusted["SigningCertURL"] = "https://evil.example/SimpleNotificationService.pem".into();
    let (status, _) = post(&router, "/v1/webhooks/ses-events", untrusted.to_string()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mut other_topic: Value = serde_json::from_str(&app.signed(
        "Notification",
        "arn:aws:sns:eu-west-1:999999999999:not-ours",
        "n-2",
        json!({"Message": ses.to_string()}),
        "2",
    ))
    .unwrap();
    let (status, _) = post(&router, "/v1/webhooks/ses-events", other_topic.to_string()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    other_topic["Timestamp"] = (app.now() - Duration::hours(2)).to_rfc3339().into();
    let (status, _) = post(&router, "/v1/webhooks/ses-events", other_topic.to_string()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.status(&enrollment).await.1,
        vec![AttemptState::Sent],
        "nothing forged was applied"
    );

    // The genuine delivery is applied: the step bounced.
    let (status, answer) = post(&router, "/v1/webhooks/ses-events", body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["outcome"], "processed");
    assert_eq!(app.status(&enrollment).await.1, vec![AttemptState::Bounced]);

    // A replay of the same message is refused.
    let (status, answer) = post(&router, "/v1/webhooks/ses-events", body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
}

/// Issue 18: a delivery whose handling failed is not marked as seen, so SNS's
/// retry of the same `MessageId` is handled instead of refused as a replay
/// (the event would be lost). Here the bounce's enrollment write applied but
/// its answer was lost; the retry finds the bounce applied and changes
/// nothing twice, and only then are replays refused.
#[tokio::test]
async fn a_delivery_whose_handling_failed_is_taken_again_on_retry() {
    let (app, verifier) = app();
    let router = router(&app, verifier);
    let (enrollment, item, _) = app.sent_message().await;
    let ses = hard_bounce(&app, &item, "fb-retry");
    let body = app.signed(
        "Notification",
        EVENTS_TOPIC,
        "n-retry",
        json!({"Message": ses.to_string()}),
        "2",
    );
    // The bounce's enrollment write applies, and its answer is lost.
    app.lossy.lose_next("update_enrollment", 1);
    let (status, answer) = post(&router, "/v1/webhooks/ses-events", body.clone()).await;
    assert_eq!(app.lossy.lost(), 1, "the bounce's write lost its answer");
    assert!(status.is_server_error(), "{status}: {answer}");

    // SNS retries the same MessageId: handled, not refused as a replay.
    let (status, answer) = post(&router, "/v1/webhooks/ses-events", body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(app.status(&enrollment).await.1, vec![AttemptState::Bounced]);
    // Once handled, a replay is refused.
    let (status, answer) = post(&router, "/v1/webhooks/ses-events", body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
}

#[tokio::test]
async fn a_certificate_from_an_s3_bucket_named_sns_is_refused() {
    // §15: exactly `sns.<region>.amazonaws.com`; an S3 bucket named `sns` serves
    // whatever its owner uploads.
    let (app, verifier) = app();
    let router = router(&app, verifier);
    for (n, url) in LOOKALIKE_CERT_URLS.iter().enumerate() {
        let mut forged: Value = serde_json::from_str(&app.signed(
            "Notification",
            EVENTS_TOPIC,
            &format!("lookalike-{n}"),
            json!({"Message": "{}"}),
            "2",
        ))
        .unwrap();
        forged["SigningCertURL"] = (*url).into();
        let (status, answer) = post(&router, "/v1/webhooks/ses-events", forged.to_string()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{url}: {answer}");
        assert!(
            answer["detail"]
                .as_str()
                .is_some_and(|d| d.contains("not an SNS one")),
            "{url}: {answer}"
        );
    }
}

#[tokio::test]
async fn an_inbound_reply_in_base64_ends_the_enrollment_and_s3_is_refused() {
    let (app, verifier) = app();
    let router = router(&app, verifier);
    let (enrollment, item, raw) = app.sent_message().await;
    let reply_to = raw
        .lines()
        .find_map(|l| l.strip_prefix("Reply-To: "))
        .expect("a Reply-To")
        .trim()
        .trim_matches(['<', '>'])
        .to_owned();
    let reply = format!(
        "From: Ada <{}>\r\nTo: {reply_to}\r\nSubject: Re: Hello Ada\r\nMessage-ID: <r1@home.example>\r\nDate: {}\r\n\r\nYes, let's talk.\r\n",
        item.to,
        app.now().to_rfc2822()
    );
    let s3 = json!({
        "notificationType": "Received",
        "mail": {"messageId": "inbound-s3", "source": item.to},
        "receipt": {"spfVerdict": {"status": "PASS"}, "dkimVerdict": {"status": "PASS"},
                    "dmarcVerdict": {"status": "PASS"},
                    "action": {"type": "S3", "bucketName": "outreach-inbound", "objectKey": "in/1"}}
    });
    let body = app.signed(
        "Notification",
        INBOUND_TOPIC,
        "in-s3",
        json!({"Message": s3.to_string()}),
        "1",
    );
    let (status, answer) = post(&router, "/v1/webhooks/inbound", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["detail"].as_str().unwrap_or_default().contains("S3"),
        "{answer}"
    );

    let receipt = json!({
        "notificationType": "Received",
        "mail": {"messageId": "inbound-1", "source": item.to},
        "receipt": {"spfVerdict": {"status": "PASS"}, "dkimVerdict": {"status": "FAIL"},
                    "dmarcVerdict": {"status": "FAIL"},
                    "action": {"type": "SNS", "topicArn": INBOUND_TOPIC, "encoding": "BASE64"}},
        "content": STANDARD.encode(&reply),
    });
    let body = app.signed(
        "Notification",
        INBOUND_TOPIC,
        "in-1",
        json!({"Message": receipt.to_string()}),
        "2",
    );
    let (status, answer) = post(&router, "/v1/webhooks/inbound", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["kind"], "reply");
    assert_eq!(answer["enrollment_ids"], json!([enrollment.to_string()]));
    assert_eq!(app.status(&enrollment).await.0, EnrollmentStatus::Replied);
}

#[tokio::test]
async fn without_a_verifier_the_webhooks_do_not_exist() {
    // Local mode adds no verifier: the routes answer 404, whatever is posted.
    let (app, _) = app();
    let router = outreach_app::http::router(app.service.clone());
    for path in ["/v1/webhooks/ses-events", "/v1/webhooks/inbound"] {
        let body = app.signed(
            "Notification",
            EVENTS_TOPIC,
            "x",
            json!({"Message": "{}"}),
            "2",
        );
        let (status, answer) = post(&router, path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {answer}");
        assert_eq!(answer["status"], 404);
    }
}
