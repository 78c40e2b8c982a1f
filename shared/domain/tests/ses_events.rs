//! SES notifications as SNS delivers them (R-9.1, R-9.2, R-9.4, R-9.5, R-9.8, R-2.3).
//!
//! The samples in `tests/ses/` follow the record shapes of the Amazon SES developer guide
//! for both formats: configuration-set event publishing (`eventType`, with `mail.tags`)
//! and identity feedback notifications (`notificationType`, no tags), each wrapped in an
//! SNS envelope whose `Message` is the SES JSON as a string.

use std::fs;
use std::path::Path;

use outreach_domain::ses_event::{
    BounceType, ConfirmationKind, SesEvent, SesEventError, SesNotification, parse_notification,
};

fn sample(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ses")
        .join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn event(name: &str) -> SesEvent {
    match parse_notification(&sample(name)) {
        Ok(SesNotification::Event { event, .. }) => event,
        other => panic!("{name}: expected an event, got {other:?}"),
    }
}

#[test]
fn event_publishing_permanent_bounce() {
    // R-9.2, R-9.8
    let notification = parse_notification(&sample("event_bounce_permanent.json")).unwrap();
    let SesNotification::Event {
        sns_message_id,
        event,
    } = notification
    else {
        panic!("not an event");
    };
    assert_eq!(
        sns_message_id.as_deref(),
        Some("a1b2c3d4-e5f6-5a7b-8c9d-0e1f2a3b4c01")
    );
    let SesEvent::Bounce {
        mail,
        bounce_type,
        sub_type,
        recipients,
        feedback_id,
        timestamp,
    } = &event
    else {
        panic!("not a bounce: {event:?}");
    };
    assert_eq!(*bounce_type, BounceType::Permanent);
    assert_eq!(sub_type, "General");
    assert_eq!(
        mail.message_id,
        "0102019a4f6e2c1b-7d3e9f1a-5b2c-4e8d-9a6f-3c1b2d4e5f60-000000"
    );
    assert_eq!(
        mail.rfc822_message_id.as_deref(),
        Some(
            "0102019a4f6e2c1b-7d3e9f1a-5b2c-4e8d-9a6f-3c1b2d4e5f60-000000@eu-west-1.amazonses.com"
        )
    );
    assert_eq!(mail.destination, vec!["ada.nobody@example.com"]);
    assert_eq!(
        mail.source.as_deref(),
        Some("Maya Chen <maya.chen@talentco.example>")
    );
    // R-9.8: tags resolve the event without a look-up by message id.
    assert_eq!(mail.tag("enrollment"), Some("enr_01JD3KB9XC"));
    assert_eq!(mail.tag("step"), Some("1"));
    assert_eq!(mail.tag("ses:configuration-set"), Some("outreach-events"));
    assert!(
        mail.headers
            .iter()
            .any(|(n, v)| n == "Reply-To" && v.starts_with("reply+"))
    );
    assert_eq!(recipients.len(), 1);
    assert_eq!(recipients[0].address.as_str(), "ada.nobody@example.com");
    assert_eq!(recipients[0].status.as_deref(), Some("5.1.1"));
    assert_eq!(recipients[0].action.as_deref(), Some("failed"));
    assert!(
        recipients[0]
            .diagnostic
            .as_deref()
            .unwrap()
            .contains("User unknown")
    );
    assert!(!recipients[0].is_auth_failure());
    assert_eq!(timestamp.as_deref(), Some("2026-11-20T09:00:03.512Z"));
    assert_eq!(
        event.dedupe_keys(),
        vec![format!("bounce:{feedback_id}")],
        "one key per bounce: its feedbackId"
    );
}

#[test]
fn identity_notification_permanent_bounce() {
    // R-9.2, R-9.8: the other format parses too, without tags.
    let event = event("identity_bounce_permanent.json");
    let SesEvent::Bounce {
        mail,
        bounce_type,
        recipients,
        feedback_id,
        ..
    } = &event
    else {
        panic!("not a bounce: {event:?}");
    };
    assert_eq!(*bounce_type, BounceType::Permanent);
    assert!(mail.tags.is_empty());
    assert_eq!(
        feedback_id,
        "0102019a4f6ea1b2-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d-000000"
    );
    let addresses: Vec<&str> = recipients.iter().map(|r| r.address.as_str()).collect();
    // Canonical form (R-3.5).
    assert_eq!(
        addresses,
        vec!["grace.gone@example.org", "old.address@example.org"]
    );
    assert_eq!(event.kind(), "Bounce");
}

#[test]
fn transient_and_undetermined_bounces() {
    // R-9.4
    let transient = event("event_bounce_transient.json");
    let SesEvent::Bounce {
        bounce_type,
        sub_type,
        recipients,
        ..
    } = &transient
    else {
        panic!("not a bounce");
    };
    assert_eq!(*bounce_type, BounceType::Transient);
    assert_eq!(sub_type, "MailboxFull");
    assert_eq!(recipients[0].status.as_deref(), Some("4.2.2"));

    let undetermined = event("identity_bounce_undetermined.json");
    let SesEvent::Bounce {
        mail,
        bounce_type,
        recipients,
        ..
    } = &undetermined
    else {
        panic!("not a bounce");
    };
    assert_eq!(*bounce_type, BounceType::Undetermined);
    assert_eq!(
        recipients[0].address.as_str(),
        "ivan.sutherland@example.com"
    );
    assert_eq!(recipients[0].status, None);
    assert!(!recipients[0].is_auth_failure());
    assert!(mail.headers.is_empty());
    assert_eq!(mail.rfc822_message_id, None);
}

#[test]
fn dmarc_refusal_is_an_auth_failure() {
    // R-2.3: 5.7.x is the sender account's fault, not the address's.
    let event = event("event_bounce_dmarc_5_7_1.json");
    let SesEvent::Bounce { recipients, .. } = &event else {
        panic!("not a bounce");
    };
    assert_eq!(recipients[0].status.as_deref(), Some("5.7.1"));
    assert!(recipients[0].is_auth_failure());
}

#[test]
fn complaints_in_both_formats() {
    // R-9.5, R-9.8
    let published = event("event_complaint.json");
    let SesEvent::Complaint {
        mail,
        recipients,
        feedback_id,
        feedback_type,
        timestamp,
    } = &published
    else {
        panic!("not a complaint: {published:?}");
    };
    assert_eq!(recipients[0].as_str(), "donald.knuth.tex@example.com");
    assert_eq!(feedback_type.as_deref(), Some("abuse"));
    assert_eq!(timestamp.as_deref(), Some("2026-11-20T10:00:00.000Z"));
    assert_eq!(mail.tag("campaign"), Some("cmp_01JD3KA2B7"));
    assert_eq!(
        published.dedupe_keys(),
        vec![format!("complaint:{feedback_id}")]
    );

    let identity = event("identity_complaint.json");
    let SesEvent::Complaint {
        recipients,
        feedback_type,
        mail,
        ..
    } = &identity
    else {
        panic!("not a complaint: {identity:?}");
    };
    assert_eq!(recipients[0].as_str(), "richard.hamming@example.net");
    assert_eq!(*feedback_type, None);
    assert!(mail.tags.is_empty());
}

#[test]
fn deliveries_in_both_formats() {
    // R-9.1, R-9.8: one key per message, event type and recipient.
    let published = event("event_delivery.json");
    let SesEvent::Delivery {
        mail,
        recipients,
        timestamp,
    } = &published
    else {
        panic!("not a delivery: {published:?}");
    };
    assert_eq!(recipients[0].as_str(), "ada.lovelace.dev@example.com");
    assert_eq!(timestamp.as_deref(), Some("2026-11-20T09:00:01.866Z"));
    assert_eq!(mail.tag("attempt"), Some("1"));
    assert_eq!(
        published.dedupe_keys(),
        vec![
            "delivery:0102019a4f6e2c1b-7d3e9f1a-5b2c-4e8d-9a6f-3c1b2d4e5f60-000000:ada.lovelace.dev@example.com"
                .to_owned()
        ]
    );

    let identity = event("identity_delivery.json");
    let keys = identity.dedupe_keys();
    assert_eq!(
        keys,
        vec![
            "delivery:0102019a50a1b2c3-3b5d7f9a-2c4e-4a6b-9d8f-0e1f2a3b4c5d-000000:linus@example.org"
                .to_owned(),
            "delivery:0102019a50a1b2c3-3b5d7f9a-2c4e-4a6b-9d8f-0e1f2a3b4c5d-000000:linus.alt@example.org"
                .to_owned(),
        ]
    );
}

#[test]
fn other_event_kinds_are_ignored_but_parse() {
    for (name, kind) in [
        ("event_open.json", "Open"),
        ("event_delivery_delay.json", "DeliveryDelay"),
    ] {
        let event = event(name);
        let SesEvent::Other { kind: k, mail } = &event else {
            panic!("{name}: expected Other, got {event:?}");
        };
        assert_eq!(k, kind);
        assert!(mail.is_some(), "{name}: mail is parsed when present");
        assert!(event.dedupe_keys().is_empty());
    }
    // SES' own "subscription succeeded" notice has no mail object at all.
    let notice = br#"{"Type":"Notification","MessageId":"m1","Message":"{\"notificationType\":\"AmazonSnsSubscriptionSucceeded\",\"message\":\"You have successfully subscribed your Amazon SNS topic\"}"}"#;
    match parse_notification(notice).unwrap() {
        SesNotification::Event {
            event: SesEvent::Other { kind, mail: None },
            ..
        } => assert_eq!(kind, "AmazonSnsSubscriptionSucceeded"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn subscription_confirmations_are_their_own_variant() {
    let SesNotification::Confirmation(confirmation) =
        parse_notification(&sample("subscription_confirmation.json")).unwrap()
    else {
        panic!("not a confirmation");
    };
    assert_eq!(confirmation.kind, ConfirmationKind::Subscribe);
    assert!(
        confirmation
            .subscribe_url
            .starts_with("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription")
    );
    assert!(confirmation.token.starts_with("2336412f37fb"));
    assert_eq!(
        confirmation.topic_arn.as_deref(),
        Some("arn:aws:sns:eu-west-1:123456789012:outreach-ses-events")
    );

    let unsubscribe = br#"{"Type":"UnsubscribeConfirmation","MessageId":"u1","Token":"tok","TopicArn":"arn:aws:sns:eu-west-1:123456789012:t","Message":"You have chosen to deactivate subscription","SubscribeURL":"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok"}"#;
    let SesNotification::Confirmation(confirmation) = parse_notification(unsubscribe).unwrap()
    else {
        panic!("not a confirmation");
    };
    assert_eq!(confirmation.kind, ConfirmationKind::Unsubscribe);
    assert_eq!(confirmation.token, "tok");
}

#[test]
fn bare_ses_json_without_an_envelope() {
    // SNS raw message delivery, or a test posting the inner JSON.
    let SesNotification::Event {
        sns_message_id,
        event,
    } = parse_notification(&sample("bare_event_complaint.json")).unwrap()
    else {
        panic!("not an event");
    };
    assert_eq!(sns_message_id, None);
    assert!(matches!(
        &event,
        SesEvent::Complaint { feedback_type: Some(t), .. } if t == "not-spam"
    ));
    // The same object through `SesEvent::from_json`.
    let text = String::from_utf8(sample("bare_event_complaint.json")).unwrap();
    assert_eq!(SesEvent::from_json(&text).unwrap(), event);
}

#[test]
fn minimal_local_mode_notification() {
    // SPEC §14: `POST /dev/ses-events` with an outbox message id and little else.
    let body = br#"{"Type":"Notification","Message":"{\"notificationType\":\"Bounce\",\"mail\":{\"messageId\":\"outbox-42\"},\"bounce\":{\"bounceType\":\"Permanent\",\"feedbackId\":\"fb-1\",\"bouncedRecipients\":[{\"emailAddress\":\"ada@example.com\"}]}}"}"#;
    let SesNotification::Event { event, .. } = parse_notification(body).unwrap() else {
        panic!("not an event");
    };
    assert_eq!(event.mail().unwrap().message_id, "outbox-42");
    assert_eq!(event.dedupe_keys(), vec!["bounce:fb-1".to_owned()]);
    // A delivery without `delivery.recipients` falls back to `mail.destination`.
    let body = br#"{"eventType":"Delivery","mail":{"messageId":"outbox-43","destination":["Ada@Example.com"]}}"#;
    let SesNotification::Event { event, .. } = parse_notification(body).unwrap() else {
        panic!("not an event");
    };
    assert_eq!(
        event.dedupe_keys(),
        vec!["delivery:outbox-43:ada@example.com".to_owned()]
    );
}

/// The variant of an error, for table tests.
fn variant(error: &SesEventError) -> &'static str {
    match error {
        SesEventError::NotJson(_) => "NotJson",
        SesEventError::NotSesOrSns => "NotSesOrSns",
        SesEventError::MessageNotJsonString(_) => "MessageNotJsonString",
        SesEventError::MissingMessageId => "MissingMessageId",
        SesEventError::UnknownStructure(_) => "UnknownStructure",
    }
}

#[test]
fn malformed_inputs_are_clear_errors() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "NotJson"),
        (b"not json", "NotJson"),
        (b"\xff\xfe{}", "NotJson"),
        (b"[1,2,3]", "NotSesOrSns"),
        (b"\"Bounce\"", "NotSesOrSns"),
        (br#"{"hello":"world"}"#, "NotSesOrSns"),
        (
            br#"{"Type":"Notification","Message":{"eventType":"Bounce"}}"#,
            "MessageNotJsonString",
        ),
        (
            br#"{"Type":"Notification","Message":"plain text"}"#,
            "MessageNotJsonString",
        ),
        (br#"{"Type":"Notification"}"#, "MessageNotJsonString"),
        (
            br#"{"Type":"Notification","Message":"[]"}"#,
            "MessageNotJsonString",
        ),
        (
            br#"{"Type":"Notification","Message":"{\"foo\":1}"}"#,
            "NotSesOrSns",
        ),
        (
            br#"{"eventType":"Bounce","mail":{},"bounce":{"feedbackId":"f"}}"#,
            "MissingMessageId",
        ),
        (
            br#"{"eventType":"Bounce","mail":{"messageId":""},"bounce":{"feedbackId":"f"}}"#,
            "MissingMessageId",
        ),
        (
            br#"{"eventType":"Bounce","bounce":{"feedbackId":"f"}}"#,
            "UnknownStructure",
        ),
        (
            br#"{"eventType":"Bounce","mail":{"messageId":"m"}}"#,
            "UnknownStructure",
        ),
        (
            br#"{"eventType":"Bounce","mail":{"messageId":"m"},"bounce":{}}"#,
            "UnknownStructure",
        ),
        (
            br#"{"notificationType":"Complaint","mail":{"messageId":"m"},"complaint":{"complainedRecipients":[]}}"#,
            "UnknownStructure",
        ),
        (br#"{"eventType":42}"#, "UnknownStructure"),
        (br#"{"Type":"Weird"}"#, "UnknownStructure"),
        (
            br#"{"Type":"SubscriptionConfirmation","Token":"t"}"#,
            "UnknownStructure",
        ),
    ];
    for (input, expected) in cases {
        let shown = String::from_utf8_lossy(input);
        let error = parse_notification(input).expect_err(&shown);
        assert_eq!(variant(&error), *expected, "{shown} gave {error:?}");
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn never_panics_on_random_or_mutated_input() {
    // A small deterministic generator keeps the test reproducible without a crate.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let samples: Vec<Vec<u8>> =
        fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ses"))
            .unwrap()
            .map(|e| fs::read(e.unwrap().path()).unwrap())
            .collect();
    let alphabet = br#"{}[]":,\ 0123456789.-eEtrufalsn"#;
    for round in 0..4000 {
        let sample = &samples[round % samples.len()];
        // Byte flips and truncations of real samples.
        let mut mutated = sample.clone();
        for _ in 0..(1 + next() % 6) {
            let at = (next() % mutated.len() as u64) as usize;
            mutated[at] = alphabet[(next() % alphabet.len() as u64) as usize];
        }
        let _ = parse_notification(&mutated);
        // Mutations of the inner SES JSON, re-wrapped in a valid envelope, reach the SES
        // parser rather than stopping at the envelope.
        if let Ok(serde_json::Value::Object(mut envelope)) =
            serde_json::from_slice::<serde_json::Value>(sample)
            && let Some(serde_json::Value::String(inner)) = envelope.get("Message").cloned()
        {
            let mut inner = inner.into_bytes();
            for _ in 0..(1 + next() % 4) {
                let at = (next() % inner.len() as u64) as usize;
                inner[at] = alphabet[(next() % alphabet.len() as u64) as usize];
            }
            let inner = String::from_utf8_lossy(&inner).into_owned();
            envelope.insert("Message".to_owned(), serde_json::Value::String(inner));
            let body = serde_json::to_vec(&envelope).unwrap();
            let _ = parse_notification(&body);
        }
        let cut = (next() % sample.len() as u64) as usize;
        let _ = parse_notification(&sample[..cut]);
        // Pure noise.
        let noise: Vec<u8> = (0..(next() % 200))
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let _ = parse_notification(&noise);
    }
    // Deep nesting stays an error, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_notification(deep.as_bytes()).is_err());
}
