//! Hostile header values (issue 9, R-4.4, R-8.3): every field of an outgoing
//! message — display names, subjects, addresses, the Reply-To, the unsubscribe
//! URL, message ids, bodies — drawn from arbitrary text with line breaks,
//! controls, encoded-word look-alikes and header look-alikes. Whatever goes in,
//! no CR or LF ever reaches a header line (no header injection), the header
//! block holds exactly the headers the service writes, and the message parses
//! back to the same From, To and Reply-To.
//!
//! Cases per property: `OUTREACH_FUZZ_CASES` (default 2,000; the test script
//! runs 100,000 in release mode).

use std::collections::BTreeMap;
use std::sync::Once;

use chrono::{TimeZone, Utc};
use mail_parser::MessageParser;
use outreach_app::mime::{OutgoingMail, build_mime};
use outreach_domain::EmailAddress;
use outreach_domain::render::single_line;
use proptest::prelude::*;

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

/// mail-parser's debug assertions (see `outreach_domain::inbound`) are not
/// ours to judge here; anything else that panics is.
fn quiet_mail_parser_asserts() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info
                .location()
                .is_some_and(|l| l.file().contains("mail-parser"))
            {
                default(info);
            }
        }));
    });
}

/// Text that tries to break out of a header.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\r\n".to_owned()),
        Just("\n".to_owned()),
        Just("\r".to_owned()),
        Just("\r\nBcc: victim@evil.example".to_owned()),
        Just("\nX-Injected: yes".to_owned()),
        Just("\r\n\r\n<html>body</html>".to_owned()),
        Just("\u{85}".to_owned()),
        Just("\u{2028}".to_owned()),
        Just("\u{2029}".to_owned()),
        Just("\u{0}".to_owned()),
        Just("\t".to_owned()),
        Just("\u{b}\u{c}".to_owned()),
        Just("=?utf-8?B?QmNjOiB4QHkuZXhhbXBsZQ==?=".to_owned()),
        Just("=?utf-8?Q?a=0D=0AX-Injected:_1?=".to_owned()),
        Just("\"".to_owned()),
        Just("<>".to_owned()),
        Just(",;:@\\".to_owned()),
        Just(" ".repeat(100)),
        Just("é日本語🙂".to_owned()),
        "[ -~]{0,40}",
        ".{0,40}",
        "[a-z]{60,120}",
    ];
    prop::collection::vec(piece, 0..6).prop_map(|ps| ps.concat())
}

/// Addresses the service accepts, including odd but valid local parts and IDNs.
fn address() -> impl Strategy<Value = EmailAddress> {
    let local = prop_oneof![
        "[a-z0-9._%+-]{1,30}",
        "[!#$%&'*+/=?^_`{|}~a-z0-9.-]{1,30}",
        "[a-zé日本🙂]{1,12}",
        "reply\\+[A-Za-z0-9_-]{1,40}",
    ];
    let domain = prop_oneof![
        "[a-z0-9-]{1,20}\\.(example|com|org)",
        Just("bücher.example".to_owned()),
        Just("例え.テスト".to_owned()),
        "[a-z]{1,63}\\.[a-z]{2,10}\\.[a-z]{2,6}",
    ];
    (local, domain)
        .prop_map(|(l, d)| EmailAddress::parse(&format!("{l}@{d}")))
        .prop_filter("a valid address", Result::is_ok)
        .prop_map(Result::unwrap)
}

fn mail() -> impl Strategy<Value = OutgoingMail> {
    (
        (hostile(), address(), address(), hostile(), hostile()),
        (
            prop::option::of(hostile()),
            prop::option::of(hostile()),
            prop::collection::vec(hostile(), 0..4),
        ),
        (hostile(), hostile(), hostile(), 0i64..4_102_444_800),
    )
        .prop_map(
            |(
                (from_name, from, to, reply_to, url),
                (message_id, in_reply_to, references),
                (subject, html, text, at),
            )| OutgoingMail {
                from_name,
                from,
                to,
                reply_to,
                list_unsubscribe_url: url,
                message_id,
                in_reply_to,
                references,
                subject,
                html,
                text,
                date: Utc.timestamp_opt(at, 0).single().expect("a valid instant"),
            },
        )
}

/// The headers `build_mime` writes: nothing else may appear at the top level.
const ALLOWED: &[&str] = &[
    "from",
    "to",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// The header block, unfolded into (name, value) pairs; an error names a bad line.
fn header_fields(head: &[u8]) -> Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(head).map_err(|e| format!("headers are not UTF-8: {e}"))?;
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.split("\r\n") {
        if line.contains(['\r', '\n']) {
            return Err(format!("a bare CR or LF inside header line {line:?}"));
        }
        if line.starts_with([' ', '\t']) {
            let Some(last) = fields.last_mut() else {
                return Err(format!("a continuation line first: {line:?}"));
            };
            last.1.push_str(line);
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("a header line without a name: {line:?}"));
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(format!("a malformed header name {name:?}"));
        }
        fields.push((name.to_ascii_lowercase(), value.to_owned()));
    }
    Ok(fields)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_line_break_ever_reaches_a_header(mail in mail()) {
        quiet_mail_parser_asserts();
        let raw = build_mime(&mail);
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| TestCaseError::fail("no blank line after the headers"))?;
        let fields = header_fields(&raw[..end]).map_err(TestCaseError::fail)?;
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (name, value) in &fields {
            prop_assert!(ALLOWED.contains(&name.as_str()), "an injected header {name}: {value}");
            *counts.entry(name.as_str()).or_default() += 1;
        }
        for name in ["from", "to", "reply-to", "subject", "date", "list-unsubscribe", "list-unsubscribe-post", "mime-version"] {
            prop_assert_eq!(counts.get(name).copied(), Some(1), "{} headers named {}", counts.get(name).copied().unwrap_or(0), name);
        }
        for name in ["message-id", "in-reply-to", "references", "content-type"] {
            prop_assert!(counts.get(name).copied().unwrap_or(0) <= 1, "{name} repeated");
        }
        let post = fields.iter().find(|(n, _)| n == "list-unsubscribe-post").map(|(_, v)| v.trim());
        prop_assert_eq!(post, Some("List-Unsubscribe=One-Click"));

        // The message parses back to the same addresses.
        let parsed = std::panic::catch_unwind(|| {
            MessageParser::default().parse(&raw).map(|m| {
                let first = |a: Option<&mail_parser::Address<'_>>| {
                    a.and_then(|a| a.first()).and_then(|a| a.address()).map(str::to_lowercase)
                };
                (first(m.from()), first(m.to()), m.subject().map(str::to_owned))
            })
        });
        let Ok(parsed) = parsed else {
            return Err(TestCaseError::fail("mail-parser panicked on our own message"));
        };
        let (from, to, subject) = parsed.ok_or_else(|| TestCaseError::fail("the message does not parse"))?;
        prop_assert_eq!(from.as_deref(), Some(mail.from.as_str()));
        prop_assert_eq!(to.as_deref(), Some(mail.to.as_str()));
        let expected = single_line(&mail.subject).trim().to_owned();
        if !expected.is_empty() {
            let subject = subject.unwrap_or_default();
            prop_assert!(!subject.contains(['\r', '\n']), "subject {subject:?}");
        }
    }
}
