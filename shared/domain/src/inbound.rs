//! Classifies a raw RFC 5322 message that arrived at the reply domain.
//!
//! The inbound handler (and `POST /dev/inbound` in local mode, SPEC §14) has raw bytes and
//! must decide whether a person answered (a **reply** ends the enrollment, R-9.6), a machine
//! answered for them (an **automatic reply** is recorded and may hold the next step until a
//! return date, R-9.7), or a mail system reports a failure (a **bounce**, never a reply,
//! last sentence). This module reads the message with `mail-parser` (any charset,
//! any MIME shape) and returns that decision with what matching needs: the sender, every
//! recipient (for the reply token, R-8.3), the threading ids, and for bounces the failed
//! recipients and the Message-ID of the returned original. It does no I/O and reads no
//! clock: the date an out-of-office is read against is a parameter.
//!
//! # Classification, first match wins
//! 1. **Bounce** (RFC 3464 and the non-standard reports of common systems):
//!    1. a delivery-status report (`multipart/report; report-type=delivery-status`, or any
//!       `message/delivery-status` / `message/global-delivery-status` part) naming at least
//!       one recipient that failed or is delayed — a report that only says `delivered`,
//!       `relayed` or `expanded` is a success receipt and goes to 2.1;
//!    2. an `X-Failed-Recipients` header (Exim, Gmail);
//!    3. a sender that is a mail system: `MAILER-DAEMON` and its spellings, Exchange's
//!       `MicrosoftExchange…` system mailbox, or the display name "Mail Delivery
//!       System/Subsystem" (Postfix, Gmail, Yahoo, qmail);
//!    4. a bounce subject that is not itself a reply ("Undelivered Mail Returned to Sender",
//!       "Mail delivery failed", "Undeliverable:", "Delivery Status Notification", "failure
//!       notice", "Returned mail", "Unzustellbar", "Non remis", "Onbestelbaar", …);
//!    5. bounce wording of a mail system in the message's own (unquoted) text ("This is the
//!       mail system at host", "This message was created automatically by mail delivery
//!       software", "Hi. This is the qmail-send program", "Delivery has failed to these
//!       recipients or groups", …).
//! 2. **Automatic reply** (R-9.7):
//!    1. any other `multipart/report` (read receipts, success DSNs, feedback reports);
//!    2. `Auto-Submitted` with any value but `no` (RFC 3834);
//!    3. `X-Autoreply`, `X-Autorespond`, `X-Autoreply-From`, `X-Mail-Autoreply`,
//!       `X-Auto-Reply` (any value but `no`/`false`);
//!    4. `Precedence` (or `X-Precedence`) `auto_reply`, `bulk` or `junk`;
//!    5. an empty `Return-Path: <>`: RFC 3834 §3.3 tells responders to send with a null
//!       envelope sender, and no person's mail client does that (the bounces among such
//!       mail were caught by 1);
//!    6. an out-of-office subject in English, German, French, Spanish or Dutch that is not
//!       itself a reply ("Automatic reply:", "Out of Office", "Abwesenheitsnotiz",
//!       "Réponse automatique", "Respuesta automática", "Automatisch antwoord", "AUTO:", …);
//!       everyday words ("Absence", "Vacation", "Auto") count only as the whole subject or
//!       its first word before a separator, so "Auto insurance role" stays a reply.
//!
//!    `X-Auto-Response-Suppress` is deliberately *not* a signal: it asks others not to
//!    auto-respond to this message, and add-ins and CRMs set it on mail people write.
//! 3. Everything else is a **reply** from a person.
//!
//! # Reply tokens and case
//! Tokens are issued in lower-case base32 ([`crate::token`]), which case-folding cannot
//! change, and are matched ignoring case. Tokens issued earlier were mixed-case
//! URL-safe base64 and are found only with their case intact, so [`Inbound`] keeps every
//! recipient twice: canonical in `recipients` (for comparing addresses; [`EmailAddress`]
//! lower-cases the local part, R-3.5) and as written in `recipients_raw` (for tokens). Use
//! [`Inbound::reply_tokens`] or [`reply_tokens_raw`]; [`reply_tokens`] on canonical
//! addresses returns lower-cased tokens.
//!
//! # Limits
//! A message over 25 MB, nested deeper than 20 levels or with more than 500 parts is
//! [`InboundError::TooComplex`] before mail-parser sees it (R-9.6; see `limits`): no
//! message, however built, can overflow the stack.
//!
//! # Return dates of out-of-office replies
//! See [`return_date`]. `parse_inbound` reads it only for automatic replies, from the
//! subject and the message's own text (quoted history is cut off, so the date of the
//! quoted original is never read as a return date), against the `Date` header's calendar
//! day, or against `reference` when the message has no readable `Date`.
//!
//! Nothing here panics, whatever the bytes: malformed input is an [`InboundError`] or a
//! best-effort [`Inbound`]. (mail-parser 0.11 itself `debug_assert!`s on some corrupt MIME
//! trees; in debug builds such a message is [`InboundError::Unreadable`].)

use chrono::{Datelike, Days, NaiveDate};
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use crate::EmailAddress;
use crate::render::single_line;

mod limits;

pub use limits::{MAX_BYTES, MAX_DEPTH, MAX_PARTS};

/// What came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InboundKind {
    /// A person answered: ends the enrollment.
    Reply,
    /// An automatic reply (out-of-office and other responders): recorded, never ends the
    /// enrollment.
    AutoReply,
    /// A delivery-status notification: a bounce, never a reply.
    Bounce,
}

impl InboundKind {
    /// The name `POST /dev/inbound` answers with (Appendix A).
    pub fn as_str(self) -> &'static str {
        match self {
            InboundKind::Reply => "reply",
            InboundKind::AutoReply => "auto_reply",
            InboundKind::Bounce => "bounce",
        }
    }
}

/// A classified inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub kind: InboundKind,
    /// The `From` address (canonical); `None` when missing or not an address. Trust it for
    /// matching only with a passing DMARC verdict, which is not ours to see.
    pub from: Option<EmailAddress>,
    /// Every recipient (canonical, deduplicated, in order): `To`, `Cc`, `Delivered-To`,
    /// `X-Original-To`, `Envelope-To`, `X-Envelope-To`, `X-Forwarded-To`, `X-Rcpt-To`,
    /// and the `for` clause of `Received` lines (envelope hints).
    pub recipients: Vec<EmailAddress>,
    /// The same recipients as written, original case kept (tokens issued as
    /// mixed-case base64 are found only as written).
    pub recipients_raw: Vec<String>,
    /// `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To` ids, without angle brackets.
    pub in_reply_to: Vec<String>,
    /// `References` ids, without angle brackets, oldest first.
    pub references: Vec<String>,
    /// Decoded `Subject`, on one line: controls and line breaks are spaces.
    pub subject: Option<String>,
    /// The `Auto-Submitted` value, as written.
    pub auto_submitted: Option<String>,
    /// Calendar day of the `Date` header, in the sender's own offset.
    pub date: Option<NaiveDate>,
    /// The day the person is back, when an automatic reply says so.
    pub return_date: Option<NaiveDate>,
    /// Details of a bounce; `Some` exactly when `kind` is [`InboundKind::Bounce`].
    pub bounce: Option<InboundBounce>,
}

/// What a bounce says about the failed delivery.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboundBounce {
    /// Recipients whose delivery failed (or is delayed), from the DSN fields, the
    /// `X-Failed-Recipients` header or the report's text. May be empty when the report
    /// names nobody readable; match on `original_message_id` then.
    pub recipients: Vec<EmailAddress>,
    /// Hard or soft: a 5.x.x status, or without a status a `failed`
    /// action or failure wording, is permanent; a 4.x.x status (even with `failed`: the
    /// server gave up on a temporary error) or a delay report is not.
    pub permanent: bool,
    /// Enhanced status code, e.g. `5.1.1`, when the report gives one. A generic `x.0.0`
    /// DSN status gives way to the specific code in its `Diagnostic-Code`.
    pub status: Option<String>,
    /// The Message-ID (without angle brackets) of the returned original message, for
    /// matching the bounce to the step that sent it.
    pub original_message_id: Option<String>,
    /// `Reply-To` addresses of the returned original, as written: they carry the reply
    /// token even when the bounce itself went elsewhere.
    pub original_reply_to: Vec<String>,
}

impl InboundBounce {
    /// True for an authentication refusal (5.7.x: DMARC, SPF, DKIM), which makes the
    /// sender account's fault, not the address's.
    pub fn is_auth_failure(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.starts_with("5.7."))
    }
}

/// Why the bytes are not a message at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    #[error("the message is empty")]
    Empty,
    #[error("the input is not an RFC 5322 message: it has no header fields")]
    NotAMessage,
    #[error("the message's MIME structure is too corrupt to read")]
    Unreadable,
    /// over 25 MB, nested deeper than 20 levels or more than 500 parts.
    #[error("the message is too large or too deeply nested to read")]
    TooComplex,
}

impl Inbound {
    /// Reply tokens for `reply_domain`, exact case: first from this
    /// message's recipients, then, for a bounce, from the returned original's `Reply-To`.
    pub fn reply_tokens(&self, reply_domain: &str) -> Vec<String> {
        let mut tokens = reply_tokens_raw(&self.recipients_raw, reply_domain);
        if let Some(bounce) = &self.bounce {
            for token in reply_tokens_raw(&bounce.original_reply_to, reply_domain) {
                if tokens.len() < MAX_REPLY_TOKENS && !tokens.contains(&token) {
                    tokens.push(token);
                }
            }
        }
        tokens
    }
}

/// Most recipients of an inbound message that are read (R-9.6: matching and
/// forwarding look at these only).
pub const MAX_RECIPIENTS: usize = 100;

/// Most reply tokens one message is looked up by.
pub const MAX_REPLY_TOKENS: usize = 10;

/// Tokens of `reply+TOKEN@reply_domain` among canonical addresses. [`EmailAddress`] has
/// lower-cased the local part, so these tokens are lower-cased too: prefer
/// [`reply_tokens_raw`] with [`Inbound::recipients_raw`] (module docs).
pub fn reply_tokens(recipients: &[EmailAddress], reply_domain: &str) -> Vec<String> {
    let addresses: Vec<&str> = recipients.iter().map(EmailAddress::as_str).collect();
    reply_tokens_raw(&addresses, reply_domain)
}

/// Tokens of `reply+TOKEN@reply_domain` among addresses as written, case kept (look
/// them up with [`crate::token::lookup_forms`]). The
/// domain compares case-insensitively; a token is one or more of `[A-Za-z0-9_-]` (URL-safe
/// base64). Duplicates are dropped, order kept.
pub fn reply_tokens_raw<S: AsRef<str>>(addresses: &[S], reply_domain: &str) -> Vec<String> {
    let reply_domain = reply_domain.trim().trim_end_matches('.');
    let mut tokens = Vec::new();
    for address in addresses {
        let address = strip_brackets(address.as_ref().trim());
        let Some((local, domain)) = address.rsplit_once('@') else {
            continue;
        };
        if !domain
            .trim_end_matches('.')
            .eq_ignore_ascii_case(reply_domain)
        {
            continue;
        }
        let Some(token) = local
            .get(..6)
            .filter(|prefix| prefix.eq_ignore_ascii_case("reply+"))
            .and_then(|_| local.get(6..))
        else {
            continue;
        };
        let valid = !token.is_empty()
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid && !tokens.iter().any(|t| t == token) {
            tokens.push(token.to_owned());
            if tokens.len() == MAX_REPLY_TOKENS {
                break;
            }
        }
    }
    tokens
}

/// Parses and classifies one inbound message (module docs). `reference` is the day it
/// arrived; the return date of an out-of-office is read against the `Date` header's day
/// when there is one, else against `reference`.
pub fn parse_inbound(raw: &[u8], reference: NaiveDate) -> Result<Inbound, InboundError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(InboundError::Empty);
    }
    if limits::too_complex(raw) {
        return Err(InboundError::TooComplex);
    }
    let message = parse_mime(raw, false)
        .ok_or(InboundError::Unreadable)?
        .ok_or(InboundError::NotAMessage)?;
    if message.root_part().headers.is_empty() {
        return Err(InboundError::NotAMessage);
    }
    let headers = Headers::of(&message);

    let from_raw = headers.get("from").unwrap_or_default();
    let from = scan_addresses(from_raw)
        .into_iter()
        .next()
        .and_then(|a| EmailAddress::parse(&a).ok());

    let mut recipients_raw = Vec::new();
    for name in [
        "to",
        "cc",
        "delivered-to",
        "x-original-to",
        "envelope-to",
        "x-envelope-to",
        "x-forwarded-to",
        "x-rcpt-to",
    ] {
        for value in headers.all(name) {
            recipients_raw.extend(scan_addresses(value));
        }
    }
    for received in headers.all("received") {
        recipients_raw.extend(received_for(received));
    }
    dedup_keep_order(&mut recipients_raw);
    // A reply names a handful of recipients; anyone can write to the reply
    // domain, so a message naming 100,000 costs no more than one naming 100.
    recipients_raw.truncate(MAX_RECIPIENTS);
    let mut recipients: Vec<EmailAddress> = recipients_raw
        .iter()
        .filter_map(|a| EmailAddress::parse(a).ok())
        .collect();
    dedup_keep_order(&mut recipients);

    // an encoded word (`=?utf-8?b?DQo=?=`) can decode to CR, LF or other
    // controls; the subject is quoted into headers we write (the forward), so
    // it is made one line right after decoding.
    let subject = message.subject().map(|s| single_line(s).trim().to_owned());
    // French clients write "RE\u{a0}:" with a no-break space.
    let subject_lc = subject
        .as_deref()
        .unwrap_or_default()
        .to_lowercase()
        .replace('\u{a0}', " ");
    let auto_submitted = headers.get("auto-submitted").map(str::to_owned);
    let date = message.date().and_then(|d| {
        NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
    });
    let null_return_path = headers
        .get("return-path")
        .is_some_and(|rp| matches!(rp.trim(), "" | "<>" | "< >"));

    let text = body_text(&message);
    let own = own_text(&text);
    let own_lc = own.to_lowercase();

    // last sentence: delivery-status notifications are bounces, never replies.
    let report = delivery_report(&message);
    let kind = match &report {
        Some(report) if report.is_failure() => InboundKind::Bounce,
        Some(_) => InboundKind::AutoReply,
        None if is_bounce(&headers, from_raw, from.as_ref(), &subject_lc, &own_lc) => {
            InboundKind::Bounce
        }
        None if is_auto_reply(&message, &headers, null_return_path, &subject_lc) => {
            InboundKind::AutoReply
        }
        None => InboundKind::Reply,
    };

    let bounce = (kind == InboundKind::Bounce).then(|| {
        bounce_details(
            &message,
            &headers,
            report.as_ref(),
            &text,
            &subject_lc,
            &from,
            &recipients,
        )
    });

    let return_date = (kind == InboundKind::AutoReply)
        .then(|| {
            let subject = subject.as_deref().unwrap_or_default();
            return_date(&format!("{subject}\n\n{own}"), date.unwrap_or(reference))
        })
        .flatten();

    let mut in_reply_to = message_ids(headers.all("in-reply-to"));
    dedup_keep_order(&mut in_reply_to);
    let mut references = message_ids(headers.all("references"));
    dedup_keep_order(&mut references);

    Ok(Inbound {
        kind,
        from,
        recipients,
        recipients_raw,
        message_id: message_ids(headers.all("message-id")).into_iter().next(),
        in_reply_to,
        references,
        subject,
        auto_submitted,
        date,
        return_date,
        bounce,
    })
}

/// Runs mail-parser, `None` when it panicked. mail-parser 0.11 guards one corrupt-multipart
/// state with `debug_assert!`, so debug builds panic on some broken MIME trees (release
/// builds recover). Inbound mail is hostile input and a panic would make the handler retry
/// forever, so such a message is unreadable instead. Only the parser runs under
/// `catch_unwind`: a panic in our own rules must still fail tests.
fn parse_mime(raw: &[u8], headers_only: bool) -> Option<Option<Message<'_>>> {
    std::panic::catch_unwind(|| {
        let parser = MessageParser::default();
        if headers_only {
            parser.parse_headers(raw)
        } else {
            parser.parse(raw)
        }
    })
    .ok()
}

// ---------------------------------------------------------------------------------------
// Header access

/// Top-level header fields as (lower-case name, unfolded raw value).
struct Headers(Vec<(String, String)>);

impl Headers {
    fn of(message: &Message<'_>) -> Headers {
        Headers(
            message
                .headers_raw()
                .map(|(name, value)| (name.to_ascii_lowercase(), unfold(value)))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

fn unfold(value: &str) -> String {
    value
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every syntactically valid address in `text`, as written (case kept), in order.
fn scan_addresses(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for piece in text.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ',' | ';' | '<' | '>' | '(' | ')' | '"' | '[' | ']' | '\'' | '`' | ':' | '{' | '}'
            )
    }) {
        if !piece.contains('@') {
            continue;
        }
        let piece = piece.trim_matches(|c: char| matches!(c, '.' | '!' | '?' | '*' | '='));
        if EmailAddress::parse(piece).is_ok() {
            found.push(piece.to_owned());
        }
    }
    dedup_keep_order(&mut found);
    found
}

/// The address in the `for` clause of a `Received` field (`… for <a@b>; date`).
fn received_for(received: &str) -> Vec<String> {
    let lower = received.to_ascii_lowercase();
    let Some(pos) = lower.find(" for ") else {
        return Vec::new();
    };
    let rest = received.get(pos + 5..).unwrap_or_default();
    let clause = rest.split(';').next().unwrap_or_default();
    scan_addresses(clause).into_iter().take(1).collect()
}

/// Message ids of `In-Reply-To`, `References` or `Message-ID` values, without brackets.
fn message_ids<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut ids = Vec::new();
    for value in values {
        let mut bracketed = Vec::new();
        let mut rest = value;
        while let Some(open) = rest.find('<') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('>') else { break };
            let id = after[..close].trim();
            if !id.is_empty() && !id.contains(char::is_whitespace) {
                bracketed.push(id.to_owned());
            }
            rest = &after[close + 1..];
        }
        if bracketed.is_empty() {
            // Broken clients write ids without brackets.
            bracketed.extend(
                value
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .filter(|t| t.contains('@'))
                    .map(str::to_owned),
            );
        }
        ids.extend(bracketed);
    }
    ids
}

fn strip_brackets(s: &str) -> &str {
    s.strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s)
}

/// Drops repeated items, keeping the first of each (linear, for hostile address lists).
fn dedup_keep_order<T: Eq + std::hash::Hash + Clone>(items: &mut Vec<T>) {
    let mut seen = std::collections::HashSet::new();
    items.retain(|item| seen.insert(item.clone()));
}

// ---------------------------------------------------------------------------------------
// Body text

/// Bounds on the text we scan, so that a hostile message costs linear time at most.
const MAX_TEXT_BYTES: usize = 64 * 1024;

fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The readable text of the top-level message: its text parts, or its HTML parts turned
/// into text. The parts of an attached original are not included.
fn body_text(message: &Message<'_>) -> String {
    let mut text = String::new();
    for pos in 0..message.text_body_count().min(8) {
        if let Some(part) = message.body_text(pos) {
            text.push_str(clip(&part, MAX_TEXT_BYTES));
            text.push('\n');
        }
        if text.len() > MAX_TEXT_BYTES {
            break;
        }
    }
    clip(&text, MAX_TEXT_BYTES).to_owned()
}

/// The part of a body its author wrote: stops at the quoted history ("On … wrote:",
/// "-----Original Message-----", an Outlook `From:`/`Sent:` block) and skips `>` lines.
fn own_text(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut own = String::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        let lower = trimmed.to_lowercase();
        if is_quote_separator(&lower) || is_attribution(&lower, lines.get(i + 1).copied()) {
            break;
        }
        if is_header_block_start(&lower) {
            let next: Vec<String> = lines
                .iter()
                .skip(i + 1)
                .take(4)
                .map(|l| l.trim().to_lowercase())
                .collect();
            if next
                .iter()
                .any(|l| QUOTED_HEADER_FIELDS.iter().any(|k| l.starts_with(k)))
            {
                break;
            }
        }
        if trimmed.starts_with('>') {
            continue;
        }
        own.push_str(line);
        own.push('\n');
    }
    own
}

fn is_quote_separator(lower: &str) -> bool {
    const SEPARATORS: &[&str] = &[
        "-----original message-----",
        "----- original message -----",
        "-------- original message --------",
        "-----ursprüngliche nachricht-----",
        "-------- ursprüngliche nachricht --------",
        "-----message d'origine-----",
        "-------- message original --------",
        "-----mensaje original-----",
        "-----oorspronkelijk bericht-----",
        "---------- forwarded message ---------",
        "begin forwarded message:",
    ];
    SEPARATORS.iter().any(|s| lower.starts_with(s))
        || (lower.len() >= 20 && lower.chars().all(|c| c == '_'))
}

/// "On Thu, 19 Nov 2026 … wrote:" and its translations, possibly wrapped over two lines.
fn is_attribution(lower: &str, next: Option<&str>) -> bool {
    const ENDINGS: &[&str] = &[
        "wrote:",
        "schrieb:",
        "a écrit :",
        "a écrit:",
        "escribió:",
        "schreef:",
        "skrev:",
        "ha scritto:",
    ];
    if ENDINGS.iter().any(|e| lower.ends_with(e)) {
        return true;
    }
    let starts = ["on ", "am ", "le ", "el ", "op "]
        .iter()
        .any(|s| lower.starts_with(s));
    if let (true, Some(next)) = (starts, next) {
        let next = next.trim().to_lowercase();
        return ENDINGS.iter().any(|e| next.ends_with(e));
    }
    false
}

/// Fields that follow `From:` in the header block Outlook puts above quoted history.
#[rustfmt::skip]
const QUOTED_HEADER_FIELDS: &[&str] = &[
    "sent:", "date:", "to:", "gesendet:", "datum:", "an:", "envoyé :", "envoyé:", "à :",
    "enviado:", "fecha:", "para:", "verzonden:", "aan:",
];

fn is_header_block_start(lower: &str) -> bool {
    ["from:", "von:", "de :", "de:", "van:"]
        .iter()
        .any(|k| lower.starts_with(k))
}

// ---------------------------------------------------------------------------------------
// Classification rules

/// A subject that begins like a person's reply or forward: never a machine's subject.
fn is_reply_subject(subject_lc: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "re:", "re :", "aw:", "antw:", "antwort:", "sv:", "vs:", "r:", "rif:", "rv:", "ref:",
        "réf:", "wg:", "fw:", "fwd:", "tr:", "enc:", "odp:",
    ];
    PREFIXES.iter().any(|p| subject_lc.starts_with(p))
}

/// Rules 1.2–1.5 (rule 1.1 is the delivery report, checked before).
fn is_bounce(
    headers: &Headers,
    from_raw: &str,
    from: Option<&EmailAddress>,
    subject_lc: &str,
    own_lc: &str,
) -> bool {
    headers.has("x-failed-recipients")
        || is_mail_system_sender(from_raw, from)
        || is_bounce_subject(subject_lc)
        || has_bounce_wording(own_lc)
}

fn is_mail_system_sender(from_raw: &str, from: Option<&EmailAddress>) -> bool {
    let display = from_raw.to_lowercase();
    if display.contains("mail delivery system") || display.contains("mail delivery subsystem") {
        return true;
    }
    let Some(from) = from else { return false };
    let local = from.local_part();
    matches!(
        local,
        "mailer-daemon" | "mailer_daemon" | "mailerdaemon" | "mail-daemon" | "maildaemon"
    ) || local.starts_with("mailer-daemon")
        || local.starts_with("microsoftexchange")
}

fn is_bounce_subject(subject_lc: &str) -> bool {
    if is_reply_subject(subject_lc) {
        return false;
    }
    const STARTS: &[&str] = &[
        "failure notice",
        "returned mail",
        "undeliverable",
        "undelivered mail",
        "delivery failure",
        "delivery failed",
        "mail delivery failed",
        "message not delivered",
        "mail system error",
        "delayed mail",
        "delivery delayed",
        "message delayed",
        "unzustellbar",
        "nicht zustellbar",
        "non remis",
        "non distribuable",
        "no se puede entregar",
        "imposible de entregar",
        "onbestelbaar",
        "niet bezorgd",
    ];
    const CONTAINS: &[&str] = &[
        "delivery status notification",
        "undelivered mail returned to sender",
        "returning message to sender",
        "mail delivery failed",
        "delivery has failed",
        "non-delivery report",
        "nondeliverable mail",
        "could not be delivered",
    ];
    STARTS.iter().any(|s| subject_lc.starts_with(s))
        || CONTAINS.iter().any(|c| subject_lc.contains(c))
        || (subject_lc.starts_with("warning: message") && subject_lc.contains("delayed"))
}

fn has_bounce_wording(own_lc: &str) -> bool {
    const WORDING: &[&str] = &[
        "this is the mail system at host",
        "this message was created automatically by mail delivery software",
        "hi. this is the qmail-send program",
        "delivery has failed to these recipients or groups",
        "delivery to the following recipient failed permanently",
        "delivery to the following recipients failed",
        "delivery to the following recipient has been delayed",
        "sorry, we were unable to deliver your message",
        "the following addresses had permanent fatal errors",
        "i'm afraid i wasn't able to deliver your message",
        "i'm sorry to have to inform you that your message could not",
        "the original message was received at",
        "die zustellung an folgende empfänger oder gruppen ist fehlgeschlagen",
        "la remise aux destinataires ou groupes suivants a échoué",
        "error en la entrega a estos destinatarios o grupos",
        "bezorging bij deze ontvangers of groepen is mislukt",
    ];
    WORDING.iter().any(|w| own_lc.contains(w))
}

/// Rules 2.2–2.6 (rule 2.1 is the non-failure report, decided before).
fn is_auto_reply(
    message: &Message<'_>,
    headers: &Headers,
    null_return_path: bool,
    subject_lc: &str,
) -> bool {
    let is_no = |v: &str| matches!(v.trim().to_ascii_lowercase().as_str(), "no" | "false" | "0");
    // Rule 2.1 for a report we could not read (e.g. a disposition notification).
    let is_report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    if is_report {
        return true;
    }
    // Auto-Submitted other than `no` (RFC 3834).
    if headers.get("auto-submitted").is_some_and(|v| !is_no(v)) {
        return true;
    }
    // X-Autoreply / X-Autorespond and their relatives.
    let autoreply_header = [
        "x-autoreply",
        "x-autorespond",
        "x-autoreply-from",
        "x-mail-autoreply",
        "x-auto-reply",
    ]
    .iter()
    .any(|name| headers.all(name).any(|v| !is_no(v)));
    if autoreply_header {
        return true;
    }
    // Precedence auto_reply | bulk | junk.
    let precedence = headers
        .all("precedence")
        .chain(headers.all("x-precedence"))
        .any(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "auto_reply" | "auto-reply" | "bulk" | "junk"
            )
        });
    if precedence || null_return_path {
        return true;
    }
    is_auto_reply_subject(subject_lc)
}

/// common out-of-office subjects (en, de, fr, es, nl), unless the subject is a
/// person's "Re:".
fn is_auto_reply_subject(subject_lc: &str) -> bool {
    if is_reply_subject(subject_lc) {
        return false;
    }
    // Specific enough to match anywhere in the subject.
    const PHRASES: &[&str] = &[
        "automatic reply",
        "auto reply",
        "auto-reply",
        "autoreply",
        "auto response",
        "auto-response",
        "autoresponse",
        "automated reply",
        "automated response",
        "out of office",
        "out of the office",
        "out-of-office",
        "abwesenheitsnotiz",
        "automatische antwort",
        "automatische rückantwort",
        "réponse automatique",
        "reponse automatique",
        "message d'absence",
        "respuesta automática",
        "respuesta automatica",
        "fuera de la oficina",
        "fuera de oficina",
        "automatisch antwoord",
        "afwezigheidsmelding",
        "afwezigheidsbericht",
        "risposta automatica",
        "autosvar",
    ];
    // Ordinary words count only as the whole subject or its first word, followed by a
    // separator (`AUTO: …`, `Absence - …`, `[OOO] …`): "Auto insurance" is not automatic.
    #[rustfmt::skip]
    const LEADING_WORDS: &[&str] = &[
        "auto", "ooo", "away", "vacation", "urlaub", "abwesenheit", "absence", "absent",
        "absente", "congés", "ausente", "vacaciones", "vakantie",
    ];
    // Phrases that also count when the sentence goes on ("Abwesend bis 3.12.").
    #[rustfmt::skip]
    const LEADING_PHRASES: &[&str] = &[
        "on vacation", "on holiday", "on leave", "away from", "abwesend", "außer haus",
        "ausser haus", "nicht im büro", "im urlaub", "en congé", "en vacances",
        "de vacaciones", "afwezig", "niet aanwezig", "buiten kantoor", "met vakantie",
    ];
    if PHRASES.iter().any(|p| subject_lc.contains(p)) {
        return true;
    }
    let subject_lc = subject_lc.trim_start_matches(['[', '(', '*', ' ']);
    let separator = |rest: &str| {
        let rest = rest.trim_start();
        rest.is_empty() || rest.starts_with([':', '-', '(', ')', ']', '–', '|', '/'])
    };
    LEADING_WORDS
        .iter()
        .any(|w| subject_lc.strip_prefix(w).is_some_and(separator))
        || LEADING_PHRASES.iter().any(|p| {
            subject_lc
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with(' ') || separator(rest))
        })
}

// ---------------------------------------------------------------------------------------
// RFC 3464 delivery-status reports

/// One per-recipient block of a delivery-status report.
#[derive(Debug, Default)]
struct DsnRecipient {
    address: Option<String>,
    action: Option<String>,
    status: Option<String>,
    diagnostic: Option<String>,
}

impl DsnRecipient {
    /// Failed, or delayed: the address did not (yet) get the message.
    fn is_failure(&self) -> bool {
        match self.action.as_deref() {
            Some(action) => !matches!(action, "delivered" | "relayed" | "expanded"),
            None => matches!(
                self.status.as_deref().and_then(status_class),
                Some('4' | '5')
            ),
        }
    }

    fn is_permanent(&self) -> bool {
        match self.status.as_deref().and_then(status_class) {
            Some('5') => true,
            Some('4') => false,
            _ => self.action.as_deref() == Some("failed"),
        }
    }
}

#[derive(Debug, Default)]
struct DeliveryReport {
    recipients: Vec<DsnRecipient>,
}

impl DeliveryReport {
    /// A report that names no recipient at all is still a failure report: success
    /// receipts always say `delivered`/`relayed`/`expanded`.
    fn is_failure(&self) -> bool {
        self.recipients.is_empty() || self.recipients.iter().any(DsnRecipient::is_failure)
    }
}

/// Rule 1.1: the message is (or contains) a delivery-status report.
fn delivery_report(message: &Message<'_>) -> Option<DeliveryReport> {
    let top_is_dsn = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    let mut report: Option<DeliveryReport> = top_is_dsn.then(DeliveryReport::default);
    for part in message.parts.iter().skip(1) {
        let is_status_part = part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct.subtype().is_some_and(|s| {
                    s.eq_ignore_ascii_case("delivery-status")
                        || s.eq_ignore_ascii_case("global-delivery-status")
                })
        });
        if is_status_part {
            let text = String::from_utf8_lossy(part.contents());
            report
                .get_or_insert_with(DeliveryReport::default)
                .recipients
                .extend(parse_dsn_fields(clip(&text, MAX_TEXT_BYTES)));
        }
    }
    report
}

/// The per-recipient field groups of a `message/delivery-status` body (RFC 3464 §2.3).
fn parse_dsn_fields(text: &str) -> Vec<DsnRecipient> {
    let mut recipients = Vec::new();
    let mut current = DsnRecipient::default();
    let mut has_recipient_field = false;
    // Unfold continuation lines, then read groups separated by blank lines.
    let mut fields: Vec<Option<(String, String)>> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            fields.push(None);
        } else if line.starts_with([' ', '\t']) {
            if let Some(Some((_, value))) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push(Some((
                name.trim().to_ascii_lowercase(),
                value.trim().to_owned(),
            )));
        }
    }
    fields.push(None);
    for field in fields {
        match field {
            None => {
                if has_recipient_field {
                    // A generic `x.0.0` status (Exim, SES) hides the code the remote
                    // server gave in its diagnostic; the specific one decides, e.g.
                    // 5.7.x for.
                    let specific = current.diagnostic.as_deref().and_then(find_status);
                    let generic = current
                        .status
                        .as_deref()
                        .is_none_or(|s| s.ends_with(".0.0"));
                    if generic
                        && let Some(specific) = specific
                        && current
                            .status
                            .as_deref()
                            .and_then(status_class)
                            .is_none_or(|class| status_class(&specific) == Some(class))
                    {
                        current.status = Some(specific);
                    }
                    recipients.push(std::mem::take(&mut current));
                }
                current = DsnRecipient::default();
                has_recipient_field = false;
            }
            Some((name, value)) => match name.as_str() {
                "final-recipient" | "original-recipient" => {
                    has_recipient_field = true;
                    // `rfc822; ada@example.com` — Final-Recipient wins over Original-Recipient.
                    let address = value.split_once(';').map_or(value.as_str(), |(_, a)| a);
                    if let Some(address) = scan_addresses(address).into_iter().next()
                        && (name == "final-recipient" || current.address.is_none())
                    {
                        current.address = Some(address);
                    }
                }
                "action" => {
                    current.action = value
                        .split_whitespace()
                        .next()
                        .map(|a| a.to_ascii_lowercase());
                }
                "status" => current.status = find_status(&value),
                "diagnostic-code" => current.diagnostic = Some(value),
                _ => {}
            },
        }
    }
    recipients
}

/// The first enhanced status code (`5.1.1`, `4.4.7`, …) in `text` (RFC 3463).
fn find_status(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if !matches!(b, b'2' | b'4' | b'5') || bytes.get(i + 1) != Some(&b'.') {
            continue;
        }
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.') {
            continue;
        }
        let rest = &bytes[i + 2..];
        let subject_len = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=3).contains(&subject_len) || rest.get(subject_len) != Some(&b'.') {
            continue;
        }
        let detail = &rest[subject_len + 1..];
        let detail_len = detail.iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=3).contains(&detail_len) {
            continue;
        }
        let after = detail.get(detail_len);
        if after.is_some_and(|c| {
            c.is_ascii_alphanumeric()
                || *c == b'.' && detail.get(detail_len + 1).is_some_and(u8::is_ascii_digit)
        }) {
            continue;
        }
        let end = i + 2 + subject_len + 1 + detail_len;
        return text.get(i..end).map(str::to_owned);
    }
    None
}

fn status_class(status: &str) -> Option<char> {
    status
        .trim()
        .chars()
        .next()
        .filter(|c| matches!(c, '2' | '4' | '5'))
}

// ---------------------------------------------------------------------------------------
// Bounce details

/// Where a mail system's report stops and its copy of the original message begins.
fn notification_part(text: &str) -> &str {
    const MARKERS: &[&str] = &[
        "------ this is a copy of the message",
        "--- below this line is a copy of the message",
        "----- original message -----",
        "-----original message-----",
        "original message headers:",
        "----- original message follows -----",
        "--- original message follows",
        "------- returned message --------",
        "----- message header follows -----",
        "----- original message header -----",
        "------ original message ------",
    ];
    // ASCII lower-casing keeps byte offsets, so the cut is valid in `text`.
    let lower = text.to_ascii_lowercase();
    let cut = MARKERS
        .iter()
        .filter_map(|m| lower.find(m))
        .min()
        .unwrap_or(text.len());
    text.get(..cut).unwrap_or(text)
}

fn bounce_details(
    message: &Message<'_>,
    headers: &Headers,
    report: Option<&DeliveryReport>,
    text: &str,
    subject_lc: &str,
    from: &Option<EmailAddress>,
    own_recipients: &[EmailAddress],
) -> InboundBounce {
    let notification = notification_part(text);
    let (original_message_id, original_from, original_reply_to) =
        returned_original(message, headers, text);

    // Addresses that are never the failed recipient: the bounce's own parties, the mail
    // system, and the original's sender.
    let excluded = |a: &EmailAddress| {
        from.as_ref() == Some(a)
            || own_recipients.contains(a)
            || original_from.as_ref() == Some(a)
            || matches!(
                a.local_part(),
                "postmaster" | "mailer-daemon" | "mailerdaemon" | "mailer_daemon" | "abuse"
            )
    };

    let mut bounce = InboundBounce {
        original_message_id,
        original_reply_to,
        ..InboundBounce::default()
    };

    let failed: Vec<&DsnRecipient> = report
        .map(|r| r.recipients.iter().filter(|r| r.is_failure()).collect())
        .unwrap_or_default();
    if !failed.is_empty() {
        bounce.recipients = failed
            .iter()
            .filter_map(|r| r.address.as_deref())
            .filter_map(|a| EmailAddress::parse(a).ok())
            .collect();
        bounce.permanent = failed.iter().any(|r| r.is_permanent());
        bounce.status = failed.iter().find_map(|r| r.status.clone());
    }

    if bounce.recipients.is_empty() {
        bounce.recipients = headers
            .all("x-failed-recipients")
            .flat_map(scan_addresses)
            .filter_map(|a| EmailAddress::parse(&a).ok())
            .collect();
    }
    if bounce.recipients.is_empty() {
        bounce.recipients = recipients_from_text(notification)
            .into_iter()
            .filter(|a| !excluded(a))
            .collect();
    }
    if bounce.recipients.is_empty() {
        bounce.recipients = scan_addresses(notification)
            .iter()
            .filter_map(|a| EmailAddress::parse(a).ok())
            .filter(|a| !excluded(a))
            .collect();
    }
    dedup_keep_order(&mut bounce.recipients);

    if failed.is_empty() {
        bounce.status = find_status(notification);
        let delayed = [
            "delay",
            "still being retried",
            "will be retried",
            "will retry",
            "will keep trying",
            "will continue to try",
            "not yet been delivered",
            "verzögert",
            "retardé",
            "retrasad",
            "vertraagd",
        ];
        let lc = notification.to_lowercase();
        bounce.permanent = match bounce.status.as_deref().and_then(status_class) {
            Some('5') => true,
            Some('4') => false,
            _ => !delayed
                .iter()
                .any(|d| subject_lc.contains(d) || lc.contains(d)),
        };
    }
    bounce
}

/// Failed recipients from the line shapes mail systems use:
/// `<ada@example.com>: host … said: 550 …` (Postfix, qmail, Yahoo), a line that is only an
/// address, possibly `addr (addr)` or `<addr>` (Exim, Gmail, Exchange), and
/// "… delivered to ada@example.com …" / "Your message to ada@example.com couldn't be
/// delivered" sentences.
fn recipients_from_text(notification: &str) -> Vec<EmailAddress> {
    let mut found = Vec::new();
    for line in notification.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let lower = trimmed.to_lowercase();
        if [
            "from:",
            "to:",
            "reply-to:",
            "return-path:",
            "sender:",
            "cc:",
        ]
        .iter()
        .any(|h| lower.starts_with(h))
        {
            continue;
        }
        let addresses = scan_addresses(trimmed);
        if addresses.is_empty() {
            continue;
        }
        let leading = trimmed.starts_with('<') && trimmed.contains(">:");
        let only_addresses = {
            let mut rest = trimmed.to_owned();
            for a in &addresses {
                rest = rest.replace(a.as_str(), "");
            }
            rest = rest.replace("mailto", "");
            !rest.chars().any(char::is_alphanumeric)
        };
        let sentence = [
            "delivered to",
            "your message to",
            "delivery to",
            "deliver to",
            "deliver your message to",
            "recipient address",
            "couldn't be delivered",
            "could not be delivered",
        ]
        .iter()
        .any(|p| lower.contains(p));
        if leading {
            found.extend(addresses.iter().take(1).cloned());
        } else if only_addresses || sentence {
            found.extend(addresses);
        }
    }
    let mut parsed: Vec<EmailAddress> = found
        .iter()
        .filter_map(|a| EmailAddress::parse(a).ok())
        .collect();
    dedup_keep_order(&mut parsed);
    parsed
}

/// Message-ID, From and Reply-To of the original returned with a bounce: from an attached
/// `message/rfc822`, a `text/rfc822-headers` part, or the headers copied inline into the
/// report's text; the bounce's own `In-Reply-To` (Gmail) is the last resort for the id.
fn returned_original(
    message: &Message<'_>,
    headers: &Headers,
    text: &str,
) -> (Option<String>, Option<EmailAddress>, Vec<String>) {
    for part in message.parts.iter().skip(1) {
        let original_headers = match &part.body {
            PartType::Message(original) => Some(Headers::of(original)),
            _ if part.content_type().is_some_and(|ct| {
                ct.subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"))
            }) =>
            {
                parse_mime(part.contents(), true)
                    .flatten()
                    .map(|m| Headers::of(&m))
            }
            _ => None,
        };
        if let Some(h) = original_headers {
            let id = message_ids(h.all("message-id")).into_iter().next();
            if id.is_some() {
                let from = h
                    .get("from")
                    .and_then(|f| scan_addresses(f).into_iter().next())
                    .and_then(|a| EmailAddress::parse(&a).ok());
                let reply_to = h.all("reply-to").flat_map(scan_addresses).collect();
                return (id, from, reply_to);
            }
        }
    }
    // Inline copy: header lines after the report's text.
    let rest = text
        .get(notification_part(text).len()..)
        .unwrap_or_default();
    let mut id = None;
    let mut from = None;
    let mut reply_to = Vec::new();
    for line in rest.lines() {
        let trimmed = line.trim_start();
        let lower = trimmed.to_ascii_lowercase();
        if id.is_none() && lower.starts_with("message-id:") {
            // The matched prefixes are ASCII, so these offsets are char boundaries.
            id = message_ids(std::iter::once(&trimmed[11..]))
                .into_iter()
                .next();
        } else if from.is_none() && lower.starts_with("from:") {
            from = scan_addresses(&trimmed[5..])
                .into_iter()
                .next()
                .and_then(|a| EmailAddress::parse(&a).ok());
        } else if reply_to.is_empty() && lower.starts_with("reply-to:") {
            reply_to = scan_addresses(&trimmed[9..]);
        }
    }
    if id.is_none() {
        id = message_ids(headers.all("in-reply-to")).into_iter().next();
    }
    (id, from, reply_to)
}

// ---------------------------------------------------------------------------------------
// Return dates

/// The day an out-of-office author is back, read from `text` (subject and body), or `None`
/// when no date with a return meaning can be read. Dates without a year take their next
/// occurrence on or after `reference` (the day the message was written).
///
/// Meaning comes from the words around the date, in English, German, French, Spanish and
/// Dutch:
/// - a **return** cue ("back on", "returning", "return", "wieder", "zurück", "de retour",
///   "regresaré", "volveré", "de vuelta", "terug", "weer", also after the date as in
///   "ab dem 4. Dezember wieder", and "not back until X") means back **on** that date;
/// - an **until** cue ("until", "till", "through", "bis", "jusqu'au", "hasta", "tot",
///   "tot en met", "t/m", "after", "nach", "après", "después", "na", or a range's second
///   date: "to", "au", "al", "–") means absent **through** that date, so back the **day
///   after** — a deliberate choice: "until" is ambiguous in English, and a step sent a day
///   late does less harm than one that lands while the person is still away;
/// - a **from** cue without a return cue ("from", "vom", "ab", "du", "desde", "van") is the
///   start of the absence and ignored; so is a date with no cue at all.
///
/// The first return date wins; else the first until date plus one day.
///
/// Formats: ISO `2026-12-03`; day-first dotted `03.12.2026`, `3.12.26`, `3.12.` (the final
/// dot is required without a year, so times like `12.30` are not dates); month names in
/// the five languages, full or abbreviated (`December 3`, `Dec. 3rd, 2026`, `3 December`,
/// `4. Dezember`, `1er décembre`, `3 de diciembre de 2026`, `3 december`). Numeric dates with
/// `/` or `-` (`12/03/2026`, `03-12-2026`) are ambiguous between day-first and US
/// month-first: after a cue in German, French, Spanish or Dutch they are day-first; after
/// an English cue the reading that falls within a year after `reference` is taken, and
/// when both readings do, the date is not read at all. Weekday-only phrases ("back on
/// Monday") are not read. Dates more than a month before `reference` or more than two
/// years after it are ignored.
pub fn return_date(text: &str, reference: NaiveDate) -> Option<NaiveDate> {
    let earliest = reference.checked_sub_days(Days::new(31))?;
    let latest = reference.checked_add_days(Days::new(731))?;
    let tokens = tokenize(clip(text, 20_000));
    let mut first_until = None;
    for found in find_dates(&tokens) {
        let cue = cue_of(&tokens, &found);
        let Some(date) = found.spec.resolve(reference, cue.language()) else {
            continue;
        };
        if date < earliest || date > latest {
            continue;
        }
        match cue {
            Cue::Back(_) => return Some(date),
            Cue::Until(_) if first_until.is_none() => first_until = Some(date),
            _ => {}
        }
    }
    first_until.and_then(|d: NaiveDate| d.checked_add_days(Days::new(1)))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Num(String),
    Punct(char),
    /// End of a sentence or paragraph: cues do not reach across it.
    Break,
}

const ORDINAL_SUFFIXES: &[&str] = &["st", "nd", "rd", "th", "er", "e", "ème", "eme", "º", "ª"];

fn tokenize(text: &str) -> Vec<Tok> {
    // Dutch "t/m", "t.e.m." and "tot en met" (through) become one word; the leading space
    // lets the patterns require a word start.
    let text = format!(" {}", text.to_lowercase())
        .replace(['’', '‘', '´'], "'")
        .replace(['\u{a0}', '\t'], " ")
        .replace(" t/m", " totenmet ")
        .replace(" t.e.m.", " totenmet ")
        .replace(" tot en met ", " totenmet ");
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut newlines = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            newlines += 1;
            if newlines == 2 {
                tokens.push(Tok::Break);
            }
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        newlines = 0;
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            // Internal separators: 03.12.2026, 2026-12-03, 12/03/2026.
            while i + 1 < chars.len()
                && matches!(chars[i], '.' | '-' | '/')
                && chars[i + 1].is_ascii_digit()
                && i - start < 12
            {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            // A trailing dot: German ordinal ("4. Dezember") or yearless date ("3.12.").
            if i < chars.len() && chars[i] == '.' {
                i += 1;
            }
            let mut raw: String = chars[start..i].iter().collect();
            // Ordinal suffix: 3rd, 1er, 1º.
            let suffix_end = (i..chars.len())
                .find(|&j| !chars[j].is_alphabetic())
                .unwrap_or(chars.len());
            let suffix: String = chars[i..suffix_end].iter().collect();
            if !suffix.is_empty()
                && !raw.ends_with('.')
                && ORDINAL_SUFFIXES.contains(&suffix.as_str())
            {
                raw.push_str(&suffix);
                i = suffix_end;
            }
            tokens.push(Tok::Num(raw));
            continue;
        }
        if c.is_alphabetic() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphabetic()
                    || (chars[i] == '\'' && i + 1 < chars.len() && chars[i + 1].is_alphabetic()))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // "Dec. 3": the abbreviation's dot does not end the sentence.
            if i < chars.len() && chars[i] == '.' && month_of(&word).is_some() {
                i += 1;
            }
            tokens.push(Tok::Word(word));
            continue;
        }
        match c {
            '.' | '!' | '?' | ';' => tokens.push(Tok::Break),
            '-' | '–' | '—' => tokens.push(Tok::Punct('-')),
            ',' | ':' | '(' | ')' => tokens.push(Tok::Punct(c)),
            _ => {}
        }
        i += 1;
    }
    tokens
}

fn month_of(word: &str) -> Option<u32> {
    let month = match word {
        "january" | "jan" | "januar" | "jänner" | "janvier" | "janv" | "enero" | "januari" => 1,
        "february" | "feb" | "febr" | "februar" | "février" | "fevrier" | "févr" | "fevr"
        | "febrero" | "februari" => 2,
        "march" | "mar" | "märz" | "maerz" | "mär" | "mars" | "marzo" | "maart" | "mrt" => 3,
        "april" | "apr" | "avril" | "avr" | "abril" => 4,
        "may" | "mai" | "mayo" | "mei" => 5,
        "june" | "jun" | "juni" | "juin" | "junio" => 6,
        "july" | "jul" | "juli" | "juillet" | "juil" | "julio" => 7,
        "august" | "aug" | "août" | "aout" | "agosto" | "augustus" => 8,
        "september" | "sep" | "sept" | "septembre" | "septiembre" | "setiembre" => 9,
        "october" | "oct" | "oktober" | "okt" | "octobre" | "octubre" => 10,
        "november" | "nov" | "novembre" | "noviembre" => 11,
        "december" | "dec" | "dezember" | "dez" | "décembre" | "decembre" | "déc" | "diciembre"
        | "dic" => 12,
        _ => return None,
    };
    Some(month)
}

/// A day number token: `3`, `03`, `4.`, `3rd`, `1er`, `1º`.
fn day_of(raw: &str) -> Option<u32> {
    let digits_end = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, suffix) = raw.split_at(digits_end);
    if digits.is_empty() || digits.len() > 2 {
        return None;
    }
    if !(suffix.is_empty() || suffix == "." || ORDINAL_SUFFIXES.contains(&suffix)) {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

/// A four-digit year token, `2026` or `2026.`/`2026,`.
fn year_of(raw: &str) -> Option<i32> {
    let digits = raw.trim_end_matches(['.', ',']);
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|y| (1970..=2200).contains(y))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum DateSpec {
    /// Day and month are known.
    Exact {
        year: Option<i32>,
        month: u32,
        day: u32,
    },
    /// `a/b/y` or `a-b-y`: day-first or month-first.
    Ambiguous { year: Option<i32>, a: u32, b: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    English,
    Other,
    Unknown,
}

impl DateSpec {
    fn resolve(self, reference: NaiveDate, language: Language) -> Option<NaiveDate> {
        match self {
            DateSpec::Exact { year, month, day } => on_or_after(year, month, day, reference),
            DateSpec::Ambiguous { year, a, b } => {
                let day_first = on_or_after(year, b, a, reference);
                let month_first = on_or_after(year, a, b, reference);
                match (language, day_first, month_first) {
                    (_, Some(d), Some(m)) if d == m => Some(d),
                    (_, Some(d), None) => Some(d),
                    (_, None, Some(m)) => Some(m),
                    (Language::Other, d, _) => d,
                    (_, Some(d), Some(m)) => {
                        // English (or unknown) cue: keep the one reading that is within a year.
                        let year_after = reference.checked_add_days(Days::new(366))?;
                        let plausible = |x: NaiveDate| x >= reference && x <= year_after;
                        match (plausible(d), plausible(m)) {
                            (true, false) => Some(d),
                            (false, true) => Some(m),
                            _ => None,
                        }
                    }
                    _ => None,
                }
            }
        }
    }
}

/// The date itself when the year is given, else its next occurrence on or after
/// `reference`.
fn on_or_after(year: Option<i32>, month: u32, day: u32, reference: NaiveDate) -> Option<NaiveDate> {
    match year {
        Some(year) => NaiveDate::from_ymd_opt(year, month, day),
        None => (reference.year()..=reference.year().saturating_add(8))
            .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
            .find(|d| *d >= reference),
    }
}

fn two_or_four_digit_year(raw: &str) -> Option<i32> {
    match raw.len() {
        4 => raw.parse().ok(),
        2 => raw.parse::<i32>().ok().map(|y| 2000 + y),
        _ => None,
    }
}

/// An all-numeric date token.
fn numeric_date(raw: &str) -> Option<DateSpec> {
    let trailing_dot = raw.ends_with('.');
    let body = raw.trim_end_matches('.');
    let sep = body.chars().find(|c| matches!(c, '.' | '-' | '/'))?;
    let parts: Vec<&str> = body.split(sep).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let num = |p: &str| p.parse::<u32>().ok();
    match (sep, parts.as_slice()) {
        // ISO 8601 (also 2026/12/03).
        (_, [y, m, d]) if y.len() == 4 => Some(DateSpec::Exact {
            year: y.parse().ok(),
            month: num(m)?,
            day: num(d)?,
        })
        .filter(|_| m.len() <= 2 && d.len() <= 2),
        ('.', [d, m, y]) if d.len() <= 2 && m.len() <= 2 => Some(DateSpec::Exact {
            year: Some(two_or_four_digit_year(y)?),
            month: num(m)?,
            day: num(d)?,
        }),
        ('.', [d, m]) if trailing_dot && d.len() <= 2 && m.len() <= 2 => Some(DateSpec::Exact {
            year: None,
            month: num(m)?,
            day: num(d)?,
        }),
        ('/' | '-', [a, b, y]) if a.len() <= 2 && b.len() <= 2 => Some(DateSpec::Ambiguous {
            year: Some(two_or_four_digit_year(y)?),
            a: num(a)?,
            b: num(b)?,
        }),
        ('/', [a, b]) if a.len() <= 2 && b.len() <= 2 => Some(DateSpec::Ambiguous {
            year: None,
            a: num(a)?,
            b: num(b)?,
        }),
        _ => None,
    }
}

#[derive(Debug)]
struct FoundDate {
    start: usize,
    end: usize,
    spec: DateSpec,
}

fn word(tokens: &[Tok], i: usize) -> Option<&str> {
    match tokens.get(i) {
        Some(Tok::Word(w)) => Some(w),
        _ => None,
    }
}

fn num(tokens: &[Tok], i: usize) -> Option<&str> {
    match tokens.get(i) {
        Some(Tok::Num(n)) => Some(n),
        _ => None,
    }
}

/// A year after a month name or day: `, 2026`, `2026`, `de 2026`, `del 2026`.
fn year_after(tokens: &[Tok], i: usize) -> (Option<i32>, usize) {
    let mut j = i;
    if matches!(tokens.get(j), Some(Tok::Punct(','))) {
        j += 1;
    }
    if matches!(word(tokens, j), Some("de" | "del")) {
        j += 1;
    }
    match num(tokens, j).and_then(year_of) {
        Some(year) => (Some(year), j),
        None => (None, i.saturating_sub(1)),
    }
}

fn find_dates(tokens: &[Tok]) -> Vec<FoundDate> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // Numeric forms.
        if let Some(spec) = num(tokens, i).and_then(numeric_date) {
            found.push(FoundDate {
                start: i,
                end: i,
                spec,
            });
            i += 1;
            continue;
        }
        // Day first: 3 December [2026], 3rd of December, 4. Dezember, 3 de diciembre de 2026.
        if let Some(day) = num(tokens, i).and_then(day_of) {
            let mut j = i + 1;
            if matches!(word(tokens, j), Some("of" | "de")) {
                j += 1;
            }
            if let Some(month) = word(tokens, j).and_then(month_of) {
                let (year, end) = year_after(tokens, j + 1);
                found.push(FoundDate {
                    start: i,
                    end: end.max(j),
                    spec: DateSpec::Exact { year, month, day },
                });
                i = end.max(j) + 1;
                continue;
            }
        }
        // Month first: December 3[, 2026], Dec. 3rd.
        if let Some(month) = word(tokens, i).and_then(month_of)
            && let Some(day) = num(tokens, i + 1).and_then(day_of)
        {
            let (year, end) = year_after(tokens, i + 2);
            found.push(FoundDate {
                start: i,
                end: end.max(i + 1),
                spec: DateSpec::Exact { year, month, day },
            });
            i = end.max(i + 1) + 1;
            continue;
        }
        i += 1;
    }
    found
}

#[derive(Debug, PartialEq)]
enum Cue {
    Back(Language),
    Until(Language),
    From(Language),
    Plain(Language),
}

impl Cue {
    fn language(&self) -> Language {
        match self {
            Cue::Back(l) | Cue::Until(l) | Cue::From(l) | Cue::Plain(l) => *l,
        }
    }
}

// Cue words of `return_date`, lower-case. English lists are separate because the language
// of the cue decides how an ambiguous numeric date reads.

/// Back on the date.
#[rustfmt::skip]
const BACK_EN: &[&str] = &[
    "back", "return", "returning", "returns", "again", "available", "reachable",
];
#[rustfmt::skip]
const BACK_OTHER: &[&str] = &[
    "wieder", "zurück", "zurueck",                                               // de
    "retour", "reviens", "reviendrai", "rentre", "rentrerai",                    // fr
    "regreso", "regresaré", "regresare", "regresa", "vuelvo", "volveré", "volvere",
    "vuelta", "reincorporo", "reincorporaré", "reincorporare",                   // es
    "terug", "weer",                                                             // nl
];
/// Absent through the date.
const UNTIL_EN: &[&str] = &["until", "till", "til", "untill", "through", "thru"];
#[rustfmt::skip]
const UNTIL_OTHER: &[&str] = &[
    "bis", "jusqu'au", "jusqu'à", "jusqu'a", "jusqu'aux", "jusque", "hasta", "tot", "totenmet",
];
/// "after X": absent through X as well.
const AFTER_EN: &[&str] = &["after"];
const AFTER_OTHER: &[&str] = &["nach", "après", "apres", "después", "despues", "na"];
/// The second date of a range: only with an earlier number in the same sentence.
const RANGE_EN: &[&str] = &["to"];
const RANGE_OTHER: &[&str] = &["au", "al", "a"];
/// The start of the absence, unless a return cue is near.
const FROM_EN: &[&str] = &["from", "since", "starting", "beginning", "effective"];
#[rustfmt::skip]
const FROM_OTHER: &[&str] = &[
    "vom", "von", "seit", "ab", "du", "depuis", "partir", "desde", "van", "vanaf", "sinds",
];
/// Words between a cue and its date that do not change its meaning.
#[rustfmt::skip]
const FILLERS: &[&str] = &[
    "on", "the", "of", "and", "including", "inclusive", "incl",
    "am", "dem", "den", "der", "zum", "zur", "und",
    "einschließlich", "einschliesslich", "inklusive",
    "le", "la", "et", "inclus", "el", "los", "y", "incluido", "incluso", "de", "del", "op", "en",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag",
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    "lunes", "martes", "miércoles", "miercoles", "jueves", "viernes", "sábado", "sabado",
    "domingo",
    "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag",
];
/// Stop the look-ahead for a trailing return cue ("ab 4.12. wieder").
#[rustfmt::skip]
const CONJUNCTIONS: &[&str] = &[
    "and", "und", "et", "y", "en", "but", "aber", "mais", "pero", "maar", "then", "dann",
];

fn classify_word(w: &str, list_en: &[&str], list_other: &[&str]) -> Option<Language> {
    if list_en.contains(&w) {
        Some(Language::English)
    } else if list_other.contains(&w) {
        Some(Language::Other)
    } else {
        None
    }
}

/// What the words around a date say it means (see [`return_date`]).
fn cue_of(tokens: &[Tok], found: &FoundDate) -> Cue {
    // Look back within the sentence.
    let mut before: Vec<&Tok> = Vec::new();
    let mut earlier_date_in_sentence = false;
    let mut j = found.start;
    // Bounded, so that a long text full of numbers stays linear.
    while j > 0 && found.start - j < 40 {
        j -= 1;
        if tokens[j] == Tok::Break {
            break;
        }
        if before.len() < 8 {
            before.push(&tokens[j]);
        }
        if matches!(tokens[j], Tok::Num(_)) {
            earlier_date_in_sentence = true;
        }
    }
    let back_before = before.iter().find_map(|t| match t {
        Tok::Word(w) => classify_word(w, BACK_EN, BACK_OTHER),
        _ => None,
    });

    // Look ahead a few words for a verb-final return cue ("ab dem 4. Dezember wieder").
    let mut back_after = None;
    for t in tokens.iter().skip(found.end + 1).take(4) {
        match t {
            Tok::Word(w) if CONJUNCTIONS.contains(&w.as_str()) => break,
            Tok::Word(w) => {
                if let Some(language) = classify_word(w, &[], BACK_OTHER) {
                    back_after = Some(language);
                    break;
                }
            }
            Tok::Break | Tok::Punct(',') => break,
            _ => {}
        }
    }

    // The first word before the date that is not a filler decides.
    let immediate = before.iter().find_map(|t| match t {
        Tok::Word(w) if FILLERS.contains(&w.as_str()) => None,
        Tok::Punct(',') => None,
        other => Some(*other),
    });
    match immediate {
        Some(Tok::Word(w)) => {
            if let Some(language) = classify_word(w, AFTER_EN, AFTER_OTHER) {
                // "back after 3 December": absent through that date.
                return Cue::Until(language);
            }
            if let Some(language) = classify_word(w, UNTIL_EN, UNTIL_OTHER) {
                // "not back until 4 January" is back on that date.
                return match back_before {
                    Some(_) => Cue::Back(language),
                    None => Cue::Until(language),
                };
            }
            if earlier_date_in_sentence
                && let Some(language) = classify_word(w, RANGE_EN, RANGE_OTHER)
            {
                return Cue::Until(language);
            }
            if let Some(language) = classify_word(w, BACK_EN, BACK_OTHER) {
                return Cue::Back(language);
            }
            if let Some(language) = classify_word(w, FROM_EN, FROM_OTHER) {
                return match back_after.or(back_before) {
                    Some(_) => Cue::Back(language),
                    None => Cue::From(language),
                };
            }
        }
        Some(Tok::Punct('-')) if earlier_date_in_sentence => {
            return Cue::Until(Language::Unknown);
        }
        _ => {}
    }
    match (back_after, back_before) {
        (Some(language), _) | (None, Some(language)) => Cue::Back(language),
        (None, None) => Cue::Plain(Language::Unknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const REF: (i32, u32, u32) = (2026, 11, 20);

    fn rd(text: &str) -> Option<NaiveDate> {
        return_date(text, d(REF.0, REF.1, REF.2))
    }

    #[test]
    fn return_dates_in_english() {
        //
        assert_eq!(rd("I will be back on December 3."), Some(d(2026, 12, 3)));
        assert_eq!(rd("Returning on 3 December."), Some(d(2026, 12, 3)));
        assert_eq!(
            rd("I'm out of the office until December 2, 2026."),
            Some(d(2026, 12, 3))
        );
        assert_eq!(rd("I won't be back until January 4."), Some(d(2027, 1, 4)));
        assert_eq!(
            rd("Away from Nov 20 to Dec 2 with no email."),
            Some(d(2026, 12, 3))
        );
        assert_eq!(
            rd("I'll be back in the office on Thursday, Dec. 3rd"),
            Some(d(2026, 12, 3))
        );
        assert_eq!(rd("back 2026-12-03"), Some(d(2026, 12, 3)));
        // US month-first is the only reading within a year.
        assert_eq!(rd("until 12/02/2026"), Some(d(2026, 12, 3)));
        // Both readings within a year: not read.
        assert_eq!(rd("back on 01/02/2027"), None);
        // Only a start date, or a date with no cue.
        assert_eq!(rd("I am on leave from December 1."), None);
        assert_eq!(rd("I am out of office on December 3."), None);
        // "after" is absent through that date too.
        assert_eq!(
            rd("I'll get back to you after December 3."),
            Some(d(2026, 12, 4))
        );
        // The date of the quoted original or a signature is not a return date.
        assert_eq!(rd("Sent: Thursday, November 19, 2026 4:00 PM"), None);
        assert_eq!(
            rd("I am out of the office with limited access to email."),
            None
        );
        // Start, then return: the return wins.
        assert_eq!(
            rd("I am out from December 1 and will be back on December 7."),
            Some(d(2026, 12, 7))
        );
    }

    #[test]
    fn return_dates_in_other_languages() {
        //
        assert_eq!(
            rd("Ich bin bis zum 03.12.2026 nicht im Büro."),
            Some(d(2026, 12, 4))
        );
        assert_eq!(
            rd("Ab dem 4. Dezember bin ich wieder erreichbar."),
            Some(d(2026, 12, 4))
        );
        assert_eq!(
            rd("Vom 20.11. bis 2.12. bin ich im Urlaub."),
            Some(d(2026, 12, 3))
        );
        assert_eq!(
            rd("Je serai de retour le 3 décembre."),
            Some(d(2026, 12, 3))
        );
        assert_eq!(
            rd("Je suis absente jusqu’au 2 décembre inclus."),
            Some(d(2026, 12, 3))
        );
        assert_eq!(
            rd("Je suis absent du 20 au 30 novembre."),
            Some(d(2026, 12, 1))
        );
        assert_eq!(rd("Regresaré el 3 de diciembre."), Some(d(2026, 12, 3)));
        assert_eq!(
            rd("Estaré fuera hasta el 03/12/2026."),
            Some(d(2026, 12, 4))
        );
        assert_eq!(
            rd("A partir del 4 de diciembre de 2026 estaré de vuelta."),
            Some(d(2026, 12, 4))
        );
        assert_eq!(rd("Ik ben terug op 3 december."), Some(d(2026, 12, 3)));
        assert_eq!(
            rd("Ik ben afwezig tot en met 03-12-2026."),
            Some(d(2026, 12, 4))
        );
        assert_eq!(rd("Ik ben t/m 3 december afwezig."), Some(d(2026, 12, 4)));
        assert_eq!(
            rd("Vanaf 4 december ben ik weer aanwezig."),
            Some(d(2026, 12, 4))
        );
    }

    #[test]
    fn yearless_dates_take_the_next_occurrence() {
        // A date earlier in the year than the reference is next year's.
        assert_eq!(rd("back on November 2"), Some(d(2027, 11, 2)));
        assert_eq!(rd("back on November 20"), Some(d(2026, 11, 20)));
        assert_eq!(
            return_date("back on February 29", d(2026, 3, 1)),
            Some(d(2028, 2, 29))
        );
        // Times are not dates.
        assert_eq!(rd("Ich bin bis 17.30 Uhr erreichbar."), None);
    }

    #[test]
    fn finds_enhanced_status_codes() {
        assert_eq!(
            find_status("smtp; 550 5.1.1 <a@b.c>: unknown"),
            Some("5.1.1".into())
        );
        assert_eq!(find_status("Status: 4.4.7"), Some("4.4.7".into()));
        assert_eq!(find_status("version 15.1.1 and 1.2.3.4"), None);
        assert_eq!(find_status("5.7.26"), Some("5.7.26".into()));
        assert_eq!(find_status("5."), None);
    }

    #[test]
    fn a_message_naming_many_reply_addresses_is_read_in_linear_time() {
        // issue 15's adversarial pass: 100,000 reply-domain recipients
        // took 20-33 s (tokens were de-duplicated pairwise, then each looked
        // up). Only the first MAX_RECIPIENTS recipients and MAX_REPLY_TOKENS
        // tokens are read.
        let to: Vec<String> = (0..100_000)
            .map(|i| format!("reply+tok{i}@reply.outreach.example"))
            .collect();
        let raw = format!(
            "From: a@x.example\r\nTo: {}\r\nSubject: s\r\n\r\nb\r\n",
            to.join(",\r\n ")
        );
        let reference = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let inbound = parse_inbound(raw.as_bytes(), reference).unwrap();
        assert_eq!(inbound.recipients_raw.len(), MAX_RECIPIENTS);
        let tokens = inbound.reply_tokens("reply.outreach.example");
        assert_eq!(tokens.len(), MAX_REPLY_TOKENS);
        assert_eq!(tokens[0], "tok0", "the first ones, in order");
    }

    #[test]
    fn reply_tokens_keep_case_and_check_the_domain() {
        //
        let raw = [
            "reply+Ab3_dE-9@Reply.Outreach.example",
            "<reply+XYZ@reply.outreach.example>",
            "reply+bad!@reply.outreach.example",
            "reply+@reply.outreach.example",
            "reply+Other@elsewhere.example",
            "maya@talentco.example",
            "reply+Ab3_dE-9@reply.outreach.example",
        ];
        assert_eq!(
            reply_tokens_raw(&raw, "reply.outreach.example"),
            vec!["Ab3_dE-9".to_owned(), "XYZ".to_owned()]
        );
        let canonical: Vec<EmailAddress> = raw
            .iter()
            .filter_map(|a| EmailAddress::parse(a).ok())
            .collect();
        assert_eq!(
            reply_tokens(&canonical, "REPLY.outreach.example"),
            vec!["ab3_de-9".to_owned()]
        );
    }

    /// A minimal message with extra header lines and a body.
    fn classify(headers: &str, body: &str) -> Inbound {
        let raw = format!(
            "From: Ada <ada@example.com>\r\nTo: reply+Tok@reply.outreach.example\r\n\
             Date: Fri, 20 Nov 2026 10:00:00 +0000\r\n{headers}\r\n{body}\r\n"
        );
        parse_inbound(raw.as_bytes(), d(2026, 11, 20)).unwrap()
    }

    #[test]
    fn each_rule_alone_decides() {
        use InboundKind::*;
        let plain = "Subject: Re: Staff engineer role\r\n";
        assert_eq!(classify(plain, "Sounds good!").kind, Reply);
        // Rule 1.2
        let h = format!("{plain}X-Failed-Recipients: bob@example.org\r\n");
        let inbound = classify(&h, "Sorry.");
        assert_eq!(inbound.kind, Bounce);
        assert_eq!(
            inbound.bounce.unwrap().recipients[0].as_str(),
            "bob@example.org"
        );
        // Rule 1.3
        let raw = "From: MAILER-DAEMON@mx.example.org\r\nSubject: Hello\r\n\r\nx\r\n";
        assert_eq!(
            parse_inbound(raw.as_bytes(), d(2026, 11, 20)).unwrap().kind,
            Bounce
        );
        // Rule 1.4
        assert_eq!(
            classify("Subject: Undeliverable: Hello\r\n", "x").kind,
            Bounce
        );
        assert_eq!(classify("Subject: failure notice\r\n", "x").kind, Bounce);
        // Rule 1.5, only in the author's own text, not in quoted history.
        let wording = "Hi. This is the qmail-send program at mx.example.org.";
        assert_eq!(classify("Subject: Hi\r\n", wording).kind, Bounce);
        assert_eq!(
            classify(plain, &format!("Funny!\r\n\r\n> {wording}")).kind,
            Reply
        );
        // Rule 2.1: a report that only says "delivered" is a receipt, not a bounce.
        let receipt = "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n";
        let body = "--b\r\nContent-Type: text/plain\r\n\r\nDelivered.\r\n--b\r\n\
                    Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n\
                    Final-Recipient: rfc822; ada@example.com\r\nAction: delivered\r\nStatus: 2.0.0\r\n--b--";
        assert_eq!(
            classify(&format!("Subject: Delivered\r\n{receipt}"), body).kind,
            AutoReply
        );
        // Rules 2.2–2.6
        for headers in [
            "Subject: Hi\r\nAuto-Submitted: auto-replied\r\n",
            "Subject: Hi\r\nX-Autoreply: yes\r\n",
            "Subject: Hi\r\nX-Autorespond: Hi\r\n",
            "Subject: Hi\r\nPrecedence: junk\r\n",
            "Subject: Hi\r\nReturn-Path: <>\r\n",
            "Subject: Out of Office: Staff engineer role\r\n",
            "Subject: [Auto-Reply] Staff engineer role\r\n",
            "Subject: Abwesenheitsnotiz\r\n",
            "Subject: AUTO: Jane is away\r\n",
            "Subject: Absent - back Monday\r\n",
            "Subject: Abwesend bis 3.12.\r\n",
            "Subject: RE\u{a0}: Réponse automatique\r\nX-Autoreply: yes\r\n",
        ] {
            assert_eq!(classify(headers, "Away.").kind, AutoReply, "{headers:?}");
        }
        // Values that say "no", and a header that is no signal at all.
        for headers in [
            "Subject: Hi\r\nAuto-Submitted: no\r\n",
            "Subject: Hi\r\nX-Autoreply: no\r\n",
            "Subject: Hi\r\nPrecedence: list\r\n",
            "Subject: Hi\r\nX-Auto-Response-Suppress: All\r\n",
            "Subject: Absences in the team\r\nReturn-Path: <ada@example.com>\r\n",
            "Subject: Auto insurance platform role\r\n",
            "Subject: Vacation policy question\r\n",
            "Subject: RE\u{a0}: Absence\r\n",
        ] {
            assert_eq!(
                classify(headers, "Yes, let's talk.").kind,
                Reply,
                "{headers:?}"
            );
        }
    }

    #[test]
    fn return_date_is_read_for_auto_replies_only_against_the_date_header() {
        // "back on December 3" written on 2026-12-20 means next year's.
        let raw = "From: a@example.com\r\nDate: Sun, 20 Dec 2026 10:00:00 +0000\r\n\
                   Auto-Submitted: auto-replied\r\nSubject: Away\r\n\r\nBack on January 3.\r\n";
        let inbound = parse_inbound(raw.as_bytes(), d(2026, 11, 1)).unwrap();
        assert_eq!(inbound.return_date, Some(d(2027, 1, 3)));
        // Without a Date header the reference is used.
        let raw = "From: a@example.com\r\nAuto-Submitted: auto-replied\r\nSubject: Away\r\n\r\n\
                   Back on 3 December.\r\n";
        let inbound = parse_inbound(raw.as_bytes(), d(2026, 11, 1)).unwrap();
        assert_eq!(inbound.return_date, Some(d(2026, 12, 3)));
        // A reply never has one.
        assert_eq!(
            classify("Subject: Re: x\r\n", "I'm back on December 3.").return_date,
            None
        );
    }

    #[test]
    fn an_encoded_subject_never_decodes_to_a_line_break() {
        // issue 9: "=?utf-8?b?...?=" decoding to CR/LF would reach the
        // forward's Subject header.
        let raw = b"From: Ada <ada@example.com>\r\nTo: reply+Tok_1@reply.outreach.example\r\n\
Subject: =?utf-8?b?UmU6IEhpDQpCY2M6IHZAZXZpbC5leGFtcGxl?= =?utf-8?q?_and=0Aon?=\r\n\r\nThanks!\r\n";
        let inbound = parse_inbound(raw, d(2026, 11, 20)).unwrap();
        let subject = inbound.subject.unwrap();
        assert!(!subject.contains(['\r', '\n']), "{subject:?}");
        assert!(
            subject.starts_with("Re: Hi  Bcc: v@evil.example"),
            "{subject:?}"
        );
        assert_eq!(inbound.kind, InboundKind::Reply);
    }

    #[test]
    fn rejects_what_is_not_a_message() {
        let reference = d(2026, 11, 20);
        assert_eq!(parse_inbound(b"", reference), Err(InboundError::Empty));
        assert_eq!(
            parse_inbound(b" \r\n ", reference),
            Err(InboundError::Empty)
        );
    }

    #[test]
    fn survives_the_mail_parser_assertion_on_corrupt_multiparts() {
        // Found by fuzzing: mail-parser 0.11 `debug_assert!`s on this tree (a panic message
        // on stderr during debug test runs is expected); release builds parse it.
        let raw = b"Content-Type:multipart;boundary=b\n\n--bContent-Type:message/rfc822\n\n3\n\
Content-type:message/rfc822\n\n\n--b--";
        let result = parse_inbound(raw, d(2026, 11, 20));
        if cfg!(debug_assertions) {
            assert_eq!(result, Err(InboundError::Unreadable));
        } else {
            assert!(matches!(result, Ok(_) | Err(InboundError::NotAMessage)));
        }
    }

    #[test]
    fn never_panics_on_random_or_truncated_input() {
        // A small deterministic generator keeps the test reproducible without a crate.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let reference = d(2026, 11, 20);
        let sample = b"From: Ada <ada@example.com>\r\nTo: reply+Tok_1@reply.outreach.example\r\n\
Subject: Re: Hello\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nback on 3.12. <x@y.z>: 550 5.1.1\r\n--b\r\n\
Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; x@y.z\r\nAction: failed\r\n\
Status: 5.1.1\r\n--b--\r\n";
        for len in 0..sample.len() {
            let _ = parse_inbound(&sample[..len], reference);
        }
        let alphabet = b"\r\n:;<>@.-/ =?\"abcdefXYZ0123456789\t,()[]\\\xc3\xa9\xff";
        for round in 0..3000 {
            let len = (next() % 400) as usize;
            let bytes: Vec<u8> = if round % 2 == 0 {
                (0..len).map(|_| (next() % 256) as u8).collect()
            } else {
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            };
            let _ = parse_inbound(&bytes, reference);
            let _ = return_date(&String::from_utf8_lossy(&bytes), reference);
            let mut mutated = sample.to_vec();
            for _ in 0..4 {
                let at = (next() % mutated.len() as u64) as usize;
                mutated[at] = (next() % 256) as u8;
            }
            let _ = parse_inbound(&mutated, reference);
        }
        for extreme in [NaiveDate::MIN, NaiveDate::MAX] {
            let _ = return_date("back on December 31 until 12/31/9999 2026-02-30", extreme);
        }
    }
}
