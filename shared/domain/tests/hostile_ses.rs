//! Hostile input for the SNS/SES notification parser (issue 9, R-9.8):
//! arbitrary bytes, arbitrary JSON built from the words SES and SNS use, and
//! the real samples of `tests/ses` mutated node by node. `parse_notification`
//! answers every body with a notification or an error — never a panic — and
//! what it answers is well-formed.
//!
//! Cases per property: `OUTREACH_FUZZ_CASES` (default 2,000; the test script
//! runs 100,000 in release mode).

use std::path::Path;
use std::time::{Duration, Instant};

use outreach_domain::ses_event::{SesEvent, SesNotification, parse_notification};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn cases() -> u32 {
    std::env::var("OUTREACH_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

/// Keys and string values of SNS envelopes and SES events.
const WORDS: &[&str] = &[
    "Type",
    "Notification",
    "SubscriptionConfirmation",
    "UnsubscribeConfirmation",
    "Message",
    "MessageId",
    "SubscribeURL",
    "Token",
    "TopicArn",
    "eventType",
    "notificationType",
    "Bounce",
    "Complaint",
    "Delivery",
    "Send",
    "mail",
    "messageId",
    "tags",
    "org",
    "enrollment",
    "step",
    "attempt",
    "headers",
    "name",
    "value",
    "commonHeaders",
    "destination",
    "bounce",
    "bounceType",
    "Permanent",
    "Transient",
    "bounceSubType",
    "bouncedRecipients",
    "emailAddress",
    "status",
    "5.7.1",
    "5.1.1",
    "4.0.0",
    "diagnosticCode",
    "smtp; 550 5.7.26 x",
    "feedbackId",
    "complaint",
    "complainedRecipients",
    "delivery",
    "recipients",
    "a@b.example",
    "not an address",
    "",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0..WORDS.len()).prop_map(|i| WORDS[i].to_owned()),
        1 => ".{0,20}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((word(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// The real samples, as JSON.
fn samples() -> &'static [Value] {
    static SAMPLES: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    SAMPLES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ses");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("samples folder")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        let out: Vec<Value> = files
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).expect("sample")).expect("json"))
            .collect();
        assert!(out.len() >= 10, "{} samples", out.len());
        out
    })
}

#[derive(Debug, Clone)]
enum Edit {
    /// Replace the node at this path position with another value.
    Replace(usize, Value),
    Remove(usize),
    /// Turn the `Message` string into JSON or the JSON into a string.
    FlipMessage,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), json_value()).prop_map(|(i, v)| Edit::Replace(i, v)),
        2 => any::<usize>().prop_map(Edit::Remove),
        1 => Just(Edit::FlipMessage),
    ]
}

/// Number of nodes below (and including) `v`.
fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(o) => o.values().map(count).sum(),
        _ => 0,
    }
}

/// Applies `f` to the `n`-th node in pre-order; `true` when it was found.
fn at_nth(v: &mut Value, n: &mut usize, f: &mut dyn FnMut(&mut Value)) -> bool {
    if *n == 0 {
        f(v);
        return true;
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|c| at_nth(c, n, f)),
        Value::Object(o) => o.values_mut().any(|c| at_nth(c, n, f)),
        _ => false,
    }
}

/// Edits a sample, reaching into the SES JSON that `Message` holds as a string.
fn mutate(mut v: Value, edits: &[Edit]) -> Value {
    let inner: Option<Value> = v
        .get("Message")
        .and_then(Value::as_str)
        .and_then(|m| serde_json::from_str(m).ok());
    let mut target = inner.clone().unwrap_or_else(|| v.clone());
    for e in edits {
        match e {
            Edit::Replace(i, new) => {
                let mut n = i % count(&target);
                at_nth(&mut target, &mut n, &mut |node| *node = new.clone());
            }
            Edit::Remove(i) => {
                let mut n = i % count(&target);
                at_nth(&mut target, &mut n, &mut |node| match node {
                    Value::Object(o) if !o.is_empty() => {
                        let key = o.keys().nth(i % o.len()).cloned().expect("a key");
                        o.remove(&key);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        a.remove(i % a.len());
                    }
                    other => *other = Value::Null,
                });
            }
            Edit::FlipMessage => {}
        }
    }
    let flip = edits.iter().any(|e| matches!(e, Edit::FlipMessage));
    match (inner, v.as_object_mut()) {
        (Some(_), Some(envelope)) => {
            let message = if flip {
                target
            } else {
                Value::String(target.to_string())
            };
            envelope.insert("Message".into(), message);
            v
        }
        _ if flip => json!({"Type": "Notification", "Message": target.to_string()}),
        _ => target,
    }
}

fn check(body: &[u8]) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let parsed = parse_notification(body);
    prop_assert!(started.elapsed() < Duration::from_secs(5));
    match parsed {
        Ok(SesNotification::Event { event, .. }) => {
            if let Some(mail) = event.mail() {
                prop_assert!(!mail.message_id.trim().is_empty());
            }
            match &event {
                SesEvent::Bounce { .. }
                | SesEvent::Complaint { .. }
                | SesEvent::Delivery { .. } => {
                    let keys = event.dedupe_keys();
                    prop_assert!(!keys.is_empty());
                    prop_assert!(keys.iter().all(|k| !k.is_empty()));
                }
                SesEvent::Other { .. } => prop_assert!(event.dedupe_keys().is_empty()),
            }
            if let SesEvent::Bounce { recipients, .. } = &event {
                for r in recipients {
                    let _ = r.is_auth_failure();
                }
            }
        }
        Ok(SesNotification::Confirmation(c)) => {
            let _ = (&c.subscribe_url, &c.token);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        check(&body)?;
    }

    #[test]
    fn arbitrary_json_never_panics(v in json_value(), wrap in any::<bool>()) {
        let body = if wrap {
            json!({"Type": "Notification", "MessageId": "m", "Message": v.to_string()})
        } else {
            v
        };
        check(body.to_string().as_bytes())?;
    }

    #[test]
    fn mutated_samples_never_panic(
        index in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..6),
        cut in any::<Option<prop::sample::Index>>(),
    ) {
        let samples = samples();
        let v = mutate(samples[index.index(samples.len())].clone(), &edits);
        let mut body = v.to_string().into_bytes();
        if let Some(cut) = cut {
            body.truncate(cut.index(body.len() + 1));
        }
        check(&body)?;
    }

    #[test]
    fn deeply_nested_json_is_refused_not_a_crash(depth in 1usize..5_000, array in any::<bool>()) {
        let (open, close) = if array { ("[", "]") } else { ("{\"a\":", "}") };
        let body = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        check(body.as_bytes())?;
        let wrapped = json!({"Type": "Notification", "Message": body}).to_string();
        check(wrapped.as_bytes())?;
    }
}
