//! Hostile input for the inbound MIME parser (issue 9, R-9.6, R-9.7): arbitrary
//! bytes, mutated real messages from `tests/corpus`, and messages assembled from
//! header and MIME fragments. `parse_inbound` must answer every input with a
//! classification or an error — never a panic, never a hang — and what it
//! answers must be well-formed.
//!
//! Cases per property: `OUTREACH_FUZZ_CASES` (default 2,000; the test script
//! runs 100,000 in release mode).
//!
//! mail-parser 0.11 `debug_assert!`s on some corrupt MIME trees; `parse_inbound`
//! catches that panic and answers `Unreadable` (see its docs). The panic hook
//! below keeps those expected messages off stderr; any other panic still fails.

use std::path::Path;
use std::sync::Once;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use outreach_domain::inbound::{
    InboundError, InboundKind, parse_inbound, reply_tokens_raw, return_date,
};
use proptest::prelude::*;

const REPLY_DOMAIN: &str = "reply.outreach.example";

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

/// Silences the panics mail-parser's debug assertions raise (and
/// `parse_inbound` catches); every other panic is reported as usual.
fn quiet_mail_parser_asserts() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let from_mail_parser = info
                .location()
                .is_some_and(|l| l.file().contains("mail-parser"));
            if !from_mail_parser {
                default(info);
            }
        }));
    });
}

fn reference() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).expect("valid date")
}

/// Every message of the classification corpus, raw.
fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
        let mut out = Vec::new();
        for kind in ["reply", "auto_reply", "bounce"] {
            let mut files: Vec<_> = std::fs::read_dir(root.join(kind))
                .expect("corpus folder")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect();
            files.sort();
            out.extend(files.iter().map(|p| std::fs::read(p).expect("corpus file")));
        }
        assert!(out.len() >= 40, "the corpus has {} messages", out.len());
        out
    })
}

/// Fragments that steer a parser into its corners.
const FRAGMENTS: &[&str] = &[
    "\r\n",
    "\n",
    "\r",
    "\r\n\r\n",
    "\r\n ",
    "\r\n\t",
    "--",
    "\r\n--b1\r\n",
    "\r\n--b1--\r\n",
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n",
    "Content-Type: multipart/report; report-type=delivery-status; boundary=b1\r\n",
    "Content-Type: message/rfc822\r\n",
    "Content-Type: message/delivery-status\r\n",
    "Content-Type: text/plain; charset=\"iso-2022-jp\"\r\n",
    "Content-Type: text/html; charset=utf-16\r\n",
    "Content-Transfer-Encoding: base64\r\n",
    "Content-Transfer-Encoding: quoted-printable\r\n",
    "=?utf-8?B?",
    "=?utf-8?Q?=C3=A9?=",
    "=?x-unknown?B?AAAA?=",
    "?=",
    "=\r\n",
    "=ZZ",
    "Final-Recipient: rfc822; x@y.example\r\n",
    "Action: failed\r\nStatus: 5.1.1\r\n",
    "Status: 5.7.26\r\n",
    "Diagnostic-Code: smtp; 550 5.7.1 DMARC\r\n",
    "X-Failed-Recipients: a@b.example\r\n",
    "From: MAILER-DAEMON@x.example\r\n",
    "From: \"Mail Delivery System\" <>\r\n",
    "To: reply+Tok_en-1@reply.outreach.example\r\n",
    "Auto-Submitted: auto-replied\r\n",
    "Precedence: bulk\r\n",
    "Return-Path: <>\r\n",
    "Subject: Automatic reply: back on December 3\r\n",
    "Subject: Undeliverable: Hi\r\n",
    "In-Reply-To: <a@b>\r\nReferences: <c@d> <e@f>\r\n",
    "Date: Mon, 30 Feb 2026 25:61:61 +9999\r\n",
    "I will be back on 03.12.2026.",
    "until 31/12/2026",
    "de retour le 1er décembre",
    "\u{0}",
    "\u{feff}",
    "<",
    ">",
    "\"",
    ";",
    ":",
    "@",
    "\\",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Fragment(usize, usize),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
    LongLine(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<usize>(), 0..FRAGMENTS.len()).prop_map(|(p, f)| Mutation::Fragment(p, f)),
        (any::<usize>(), 1..200usize).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), 1..400usize).prop_map(|(p, n)| Mutation::Duplicate(p, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1..20_000usize).prop_map(|(p, n)| Mutation::LongLine(p, n)),
    ]
}

fn apply(mut raw: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = raw.len().max(1);
        match m {
            Mutation::Flip(p, b) => {
                if !raw.is_empty() {
                    let i = p % raw.len();
                    raw[i] = *b;
                }
            }
            Mutation::Insert(p, bytes) => {
                let i = p % (raw.len() + 1);
                raw.splice(i..i, bytes.iter().copied());
            }
            Mutation::Fragment(p, f) => {
                let i = p % (raw.len() + 1);
                raw.splice(i..i, FRAGMENTS[*f].bytes());
            }
            Mutation::Delete(p, n) => {
                let i = p % len;
                let end = (i + n).min(raw.len());
                if i < end {
                    raw.drain(i..end);
                }
            }
            Mutation::Duplicate(p, n) => {
                let i = p % len;
                let end = (i + n).min(raw.len());
                if i < end {
                    let copy: Vec<u8> = raw[i..end].to_vec();
                    raw.splice(end..end, copy);
                }
            }
            Mutation::Truncate(p) => raw.truncate(p % len),
            Mutation::LongLine(p, n) => {
                let i = p % (raw.len() + 1);
                raw.splice(i..i, std::iter::repeat_n(b'x', *n));
            }
        }
    }
    raw
}

/// A message put together from header lines and fragments.
fn assembled() -> impl Strategy<Value = Vec<u8>> {
    let header = prop_oneof![
        (0..FRAGMENTS.len()).prop_map(|f| FRAGMENTS[f].to_owned()),
        ("[A-Za-z-]{1,20}", ".{0,80}").prop_map(|(n, v)| format!("{n}: {v}\r\n")),
    ];
    (
        prop::collection::vec(header, 0..25),
        prop::collection::vec(0..FRAGMENTS.len(), 0..40),
        ".{0,300}",
    )
        .prop_map(|(headers, body, text)| {
            let mut raw = headers.concat();
            raw.push_str("\r\n");
            for f in body {
                raw.push_str(FRAGMENTS[f]);
            }
            raw.push_str(&text);
            raw.into_bytes()
        })
}

/// Whatever the input, the answer is well-formed and came quickly.
fn check(raw: &[u8]) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let parsed = parse_inbound(raw, reference());
    prop_assert!(
        started.elapsed() < Duration::from_secs(10),
        "parsing {} bytes took {:?}",
        raw.len(),
        started.elapsed()
    );
    let Ok(inbound) = parsed else {
        return Ok(());
    };
    prop_assert_eq!(
        inbound.kind == InboundKind::Bounce,
        inbound.bounce.is_some()
    );
    if inbound.kind != InboundKind::AutoReply {
        prop_assert!(inbound.return_date.is_none());
    }
    if let Some(date) = inbound.return_date {
        // Never more than a month before or two years after the day it is read against.
        let base = inbound.date.unwrap_or(reference());
        prop_assert!(date >= base - chrono::Days::new(31) && date <= base + chrono::Days::new(731));
    }
    for token in inbound.reply_tokens(REPLY_DOMAIN) {
        prop_assert!(!token.is_empty());
        prop_assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "token {token:?}"
        );
    }
    for id in inbound.in_reply_to.iter().chain(&inbound.references) {
        prop_assert!(!id.contains(['\r', '\n']), "id {id:?}");
    }
    if let Some(subject) = &inbound.subject {
        prop_assert!(subject.len() <= raw.len() * 4 + 16);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..4096)) {
        quiet_mail_parser_asserts();
        check(&raw)?;
    }

    #[test]
    fn mutated_corpus_messages_never_panic(
        index in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..12),
        flip_line_endings in any::<bool>(),
    ) {
        quiet_mail_parser_asserts();
        let corpus = corpus();
        let mut raw = corpus[index.index(corpus.len())].clone();
        if flip_line_endings {
            raw = String::from_utf8_lossy(&raw).replace("\r\n", "\n").into_bytes();
        }
        check(&apply(raw, &mutations))?;
    }

    #[test]
    fn assembled_messages_never_panic(raw in assembled()) {
        quiet_mail_parser_asserts();
        check(&raw)?;
    }

    #[test]
    fn return_dates_and_tokens_of_any_text(text in ".{0,400}", addresses in prop::collection::vec(".{0,60}", 0..6)) {
        if let Some(date) = return_date(&text, reference()) {
            prop_assert!(date >= reference() - chrono::Days::new(31));
            prop_assert!(date <= reference() + chrono::Days::new(731));
        }
        for token in reply_tokens_raw(&addresses, REPLY_DOMAIN) {
            prop_assert!(!token.is_empty());
            prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        }
    }
}

// ---------------------------------------------------------------------------------------
// R-9.6: size, depth and part-count limits, in a memory-capped child process.
//
// A message nested 20,000 levels deep used to overflow the stack: an abort, which no
// `catch_unwind` sees and which would kill the test runner with it. So the property runs
// in a child: this test binary re-executed with `capped_mime_shapes` (ignored when run
// directly), under `ulimit -v` (address space) and `ulimit -s` (the main thread's 8 MB;
// the test itself runs on a 2 MB test thread, as small as a tokio worker's). An abort
// in the child fails `huge_deep_and_wide_mime_never_stops_the_process` with the child's
// output.

/// Virtual memory of the child, KiB.
const CHILD_ADDRESS_SPACE_KIB: u64 = 3 * 1024 * 1024;

/// At most this many shapes per run (a shape can be 26 MB): `OUTREACH_FUZZ_CASES`, capped.
fn shape_cases() -> u32 {
    std::env::var("OUTREACH_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64u32)
        .min(400)
}

/// One generated message and what R-9.6 says of it.
#[derive(Debug, Clone)]
struct Shape {
    raw: Vec<u8>,
    /// Certainly over a limit (must be `TooComplex`); `false` when certainly within.
    over: bool,
}

impl Shape {
    /// A chain of `levels` attached messages, every `boundary_every`-th level
    /// wrapped in a multipart too; the level `base64_at`, if any, base64-encoded
    /// with the rest of the chain inside it. Built in linear time.
    fn nested(levels: usize, boundary_every: usize, base64_at: Option<usize>) -> Shape {
        let bottom = b"From: a@b.example\r\nSubject: bottom\r\n\r\nhello\r\n".to_vec();
        let split = base64_at.filter(|&b| b < levels);
        let (body, depth) = match split {
            Some(b) => {
                let (inner, inner_depth) = chain(b + 1..levels, boundary_every, bottom);
                let mut encoded =
                    b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                        .to_vec();
                encoded.extend_from_slice(base64(&inner).as_bytes());
                let (outer, outer_depth) = chain(0..b, boundary_every, encoded);
                (outer, outer_depth + 1 + inner_depth)
            }
            None => chain(0..levels, boundary_every, bottom),
        };
        let mut raw =
            b"From: x@y.example\r\nTo: reply+abc@reply.outreach.example\r\nSubject: nest\r\n"
                .to_vec();
        raw.extend_from_slice(&body);
        Shape {
            raw,
            over: depth > 20,
        }
    }

    fn wide(parts: usize) -> Shape {
        let mut raw = String::from(
            "From: x@y.example\r\nSubject: wide\r\nContent-Type: multipart/mixed; boundary=w\r\n\r\n",
        );
        for i in 0..parts {
            raw.push_str(&format!(
                "--w\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n"
            ));
        }
        raw.push_str("--w--\r\n");
        Shape {
            raw: raw.into_bytes(),
            // The message itself is a part too.
            over: parts + 1 > 500,
        }
    }

    fn large(bytes: usize) -> Shape {
        let mut raw = b"From: x@y.example\r\nSubject: large\r\n\r\n".to_vec();
        let line = b"The quick brown fox jumps over the lazy dog, again and again.\r\n";
        while raw.len() < bytes {
            raw.extend_from_slice(line);
        }
        raw.truncate(bytes);
        Shape {
            over: raw.len() > 25 * 1024 * 1024,
            raw,
        }
    }
}

/// `core` inside the levels `levels` of attached messages (outermost first),
/// and how many levels deep that puts it.
fn chain(levels: std::ops::Range<usize>, boundary_every: usize, core: Vec<u8>) -> (Vec<u8>, usize) {
    let mut prefix = Vec::new();
    let mut suffixes: Vec<String> = Vec::new();
    let mut depth = 0;
    for level in levels {
        if boundary_every > 0 && level % boundary_every == 0 {
            prefix.extend_from_slice(
                format!(
                    "Content-Type: multipart/mixed; boundary=\"l{level}\"\r\n\r\n--l{level}\r\n"
                )
                .as_bytes(),
            );
            suffixes.push(format!("\r\n--l{level}--\r\n"));
            depth += 1;
        }
        prefix.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        depth += 1;
    }
    prefix.extend_from_slice(&core);
    for suffix in suffixes.iter().rev() {
        prefix.extend_from_slice(suffix.as_bytes());
    }
    (prefix, depth)
}

fn base64(bytes: &[u8]) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in bytes.chunks(3).enumerate() {
        let n = chunk.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for k in 0..4 {
            out.push(if k <= chunk.len() {
                char::from(B64[((n >> (18 - 6 * k)) & 63) as usize])
            } else {
                '='
            });
        }
        if i % 19 == 18 {
            out.push_str("\r\n");
        }
    }
    out
}

fn shape() -> impl Strategy<Value = Shape> {
    let levels = prop_oneof![0..40usize, 15_000..25_000usize, 500..3_000usize];
    prop_oneof![
        6 => (levels, 0..4usize, prop::option::of(0..40usize))
            .prop_map(|(l, every, b64)| Shape::nested(l, every, b64)),
        3 => prop_oneof![0..600usize, 400..20_000usize].prop_map(Shape::wide),
        1 => prop_oneof![
            0..1_000_000usize,
            (25 * 1024 * 1024 - 64usize)..(25 * 1024 * 1024 + 64),
            (25 * 1024 * 1024 + 64usize)..(27 * 1024 * 1024),
        ]
        .prop_map(Shape::large),
    ]
}

#[test]
#[ignore = "the child half of huge_deep_and_wide_mime_never_stops_the_process, which runs it capped"]
fn capped_mime_shapes() {
    quiet_mail_parser_asserts();
    let config = ProptestConfig {
        cases: shape_cases(),
        max_shrink_iters: 50,
        // Shapes are built, not random bytes worth keeping.
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&shape(), |shape| {
        let parsed = parse_inbound(&shape.raw, reference());
        if shape.over {
            prop_assert_eq!(
                parsed,
                Err(InboundError::TooComplex),
                "{} bytes",
                shape.raw.len()
            );
        } else {
            prop_assert_ne!(
                parsed,
                Err(InboundError::TooComplex),
                "{} bytes",
                shape.raw.len()
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn huge_deep_and_wide_mime_never_stops_the_process() {
    // R-9.6: "no message, however built, can stop the process".
    let exe = std::env::current_exe().expect("the test binary");
    let script =
        format!("ulimit -v {CHILD_ADDRESS_SPACE_KIB} && ulimit -s 8192 && exec \"$0\" \"$@\"");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(exe)
        .args([
            "capped_mime_shapes",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail = |s: &str| {
        s.chars()
            .rev()
            .take(3000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()
    };
    assert!(
        out.status.success(),
        "the capped child failed ({}):\n{}\n{}",
        out.status,
        tail(&stdout),
        tail(&stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}"
    );
}

#[test]
fn a_message_nested_twenty_thousand_deep_is_too_complex() {
    // R-9.6; issue 15 finding 4 (this one would abort the runner before the fix: it runs
    // on this thread only because the limit is checked before any recursive parsing).
    let shape = Shape::nested(20_000, 0, None);
    assert!(shape.over);
    assert_eq!(
        parse_inbound(&shape.raw, reference()),
        Err(InboundError::TooComplex)
    );
    let ok = Shape::nested(19, 0, None);
    assert!(parse_inbound(&ok.raw, reference()).is_ok());
}
