//! Table test of inbound classification over a corpus of hand-written raw
//! messages: `tests/corpus/<kind>/NAME.eml`, where the folder (`reply`, `auto_reply`,
//! `bounce`) is the expected kind. An optional `NAME.expect` beside a message states more
//! expectations as `key: value` lines (`#` starts a comment):
//!
//! | key | meaning |
//! |---|---|
//! | `return_date` | `YYYY-MM-DD` or `none` |
//! | `bounce_recipient` | a failed recipient; repeat for several — the list must match exactly |
//! | `permanent` | `true` / `false` |
//! | `status` | enhanced status code, or `none` |
//! | `auth_failure` | `true` / `false` (R-2.3) |
//! | `original_message_id` | Message-ID of the returned original, without brackets |
//! | `reply_token` | a token that `Inbound::reply_tokens` must find (exact case) |
//! | `in_reply_to` | first `In-Reply-To` id, or `none` |
//! | `from` | canonical From address |
//!
//! Every message is checked twice, as stored and with its line endings flipped (CRLF and
//! bare LF), because both reach the service. The test prints the accuracy and requires 100%.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use outreach_domain::inbound::{Inbound, InboundKind, parse_inbound};

const REPLY_DOMAIN: &str = "reply.outreach.example";

/// The day the corpus messages "arrive" when they have no Date header.
fn reference() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

fn corpus_files(kind_dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(kind_dir);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
}

fn expectations(eml: &Path) -> Vec<(String, String)> {
    let Ok(text) = fs::read_to_string(eml.with_extension("expect")) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (key, value) = l
                .split_once(':')
                .unwrap_or_else(|| panic!("{}: bad line {l:?}", eml.display()));
            (key.trim().to_owned(), value.trim().to_owned())
        })
        .collect()
}

fn flip_line_endings(raw: &[u8]) -> Vec<u8> {
    if raw.windows(2).any(|w| w == b"\r\n") {
        let mut out = Vec::with_capacity(raw.len());
        for (i, &b) in raw.iter().enumerate() {
            if b == b'\r' && raw.get(i + 1) == Some(&b'\n') {
                continue;
            }
            out.push(b);
        }
        out
    } else {
        let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
        for &b in raw {
            if b == b'\n' {
                out.push(b'\r');
            }
            out.push(b);
        }
        out
    }
}

/// Every way `inbound` differs from the expectations.
fn problems(inbound: &Inbound, kind: InboundKind, expect: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    if inbound.kind != kind {
        problems.push(format!("kind {:?}, expected {kind:?}", inbound.kind));
    }
    let bounce = inbound.bounce.as_ref();
    if (kind == InboundKind::Bounce) != bounce.is_some() {
        problems.push("bounce details present exactly for bounces".to_owned());
    }
    let expected_recipients: Vec<&str> = expect
        .iter()
        .filter(|(k, _)| k == "bounce_recipient")
        .map(|(_, v)| v.as_str())
        .collect();
    if !expected_recipients.is_empty() {
        let actual: Vec<&str> = bounce
            .map(|b| b.recipients.iter().map(|a| a.as_str()).collect())
            .unwrap_or_default();
        if actual != expected_recipients {
            problems.push(format!(
                "bounce recipients {actual:?}, expected {expected_recipients:?}"
            ));
        }
    }
    let tokens = inbound.reply_tokens(REPLY_DOMAIN);
    for (key, value) in expect {
        let none_or = |v: &str| (v != "none").then(|| v.to_owned());
        let problem = match key.as_str() {
            "bounce_recipient" => None,
            "return_date" => {
                let expected = none_or(value).map(|v| {
                    NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                        .unwrap_or_else(|e| panic!("bad return_date {v:?}: {e}"))
                });
                (inbound.return_date != expected).then(|| {
                    format!(
                        "return_date {:?}, expected {expected:?}",
                        inbound.return_date
                    )
                })
            }
            "permanent" => {
                let actual = bounce.map(|b| b.permanent.to_string());
                (actual.as_deref() != Some(value.as_str()))
                    .then(|| format!("permanent {actual:?}, expected {value}"))
            }
            "status" => {
                let actual = bounce.and_then(|b| b.status.clone());
                (actual != none_or(value)).then(|| format!("status {actual:?}, expected {value}"))
            }
            "auth_failure" => {
                let actual = bounce.map(|b| b.is_auth_failure().to_string());
                (actual.as_deref() != Some(value.as_str()))
                    .then(|| format!("auth_failure {actual:?}, expected {value}"))
            }
            "original_message_id" => {
                let actual = bounce.and_then(|b| b.original_message_id.clone());
                (actual != none_or(value))
                    .then(|| format!("original_message_id {actual:?}, expected {value}"))
            }
            "reply_token" => {
                (!tokens.contains(value)).then(|| format!("reply tokens {tokens:?} lack {value:?}"))
            }
            "in_reply_to" => {
                let actual = inbound.in_reply_to.first().cloned();
                (actual != none_or(value))
                    .then(|| format!("in_reply_to {actual:?}, expected {value}"))
            }
            "from" => {
                let actual = inbound.from.as_ref().map(|a| a.as_str().to_owned());
                (actual != none_or(value)).then(|| format!("from {actual:?}, expected {value}"))
            }
            other => Some(format!("unknown expectation key {other:?}")),
        };
        problems.extend(problem);
    }
    problems
}

#[test]
fn every_corpus_message_is_classified_as_expected() {
    //
    let mut total = 0;
    let mut failures = Vec::new();
    let mut per_kind = Vec::new();
    for (dir, kind) in [
        ("reply", InboundKind::Reply),
        ("auto_reply", InboundKind::AutoReply),
        ("bounce", InboundKind::Bounce),
    ] {
        let files = corpus_files(dir);
        per_kind.push((dir, files.len()));
        for file in files {
            total += 1;
            let raw = fs::read(&file).unwrap();
            let expect = expectations(&file);
            let mut found = Vec::new();
            for (variant, bytes) in [
                ("as stored", raw.clone()),
                ("flipped", flip_line_endings(&raw)),
            ] {
                match parse_inbound(&bytes, reference()) {
                    Ok(inbound) => {
                        for p in problems(&inbound, kind, &expect) {
                            found.push(format!("{variant}: {p}"));
                        }
                    }
                    Err(e) => found.push(format!("{variant}: error {e}")),
                }
            }
            if !found.is_empty() {
                failures.push(format!(
                    "{dir}/{}: {}",
                    file.file_name().unwrap().to_string_lossy(),
                    found.join("; ")
                ));
            }
        }
    }
    println!(
        "inbound corpus: {}/{total} correct ({})",
        total - failures.len(),
        per_kind
            .iter()
            .map(|(dir, n)| format!("{dir} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(
        total >= 45,
        "the corpus should hold at least 45 messages, has {total}"
    );
    assert!(
        failures.is_empty(),
        "misclassified:\n{}",
        failures.join("\n")
    );
}

#[test]
fn truncated_corpus_messages_never_panic() {
    for dir in ["reply", "auto_reply", "bounce"] {
        for file in corpus_files(dir) {
            let raw = fs::read(&file).unwrap();
            // Every 7th prefix keeps the test fast while covering every structure.
            for len in (0..raw.len()).step_by(7) {
                let _ = parse_inbound(&raw[..len], reference());
            }
        }
    }
}
