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
//! [`InboundError::TooComplex`] before mail-parser sees it (R-9.6; see `limits.rs`): no
//! message, however built, can overflow the stack.
//!
//! # Return dates of out-of-office replies
//! See [`return_date()`]. `parse_inbound` reads it only for automatic replies, from the
//! subject and the message's own text (quoted history is cut off, so the date of the
//! quoted original is never read as a return date), against the `Date` header's calendar
//! day, or against `reference` when the message has no readable `Date`.
//!
//! Nothing here panics, whatever the bytes: malformed input is an [`InboundError`] or a
//! best-effort [`Inbound`]. (mail-parser 0.11 itself `debug_assert!`s on some corrupt MIME
//! trees; in debug builds such a message is [`InboundError::Unreadable`].)
//!
//! # Where each part lives
//! | File | What it holds | Rules |
//! |------|---------------|-------|
//! | `mod.rs` | [`parse_inbound`] and the types it returns | R-9.6, R-9.7 |
//! | `limits.rs` | the size, depth and part-count checks before parsing | R-9.6 |
//! | `mime.rs` | mail-parser under a panic guard, header fields, addresses, body text | R-9.6 |
//! | `quoted.rs` | the author's own text: quoted history cut off (six languages, four clients) | R-9.6, R-9.7, R-9.9 |
//! | `signature.rs` | the signature cut off a reply's own text | R-9.9, R-11.2 |
//! | `reply_class.rs`, `reply_phrases.rs` | a reply's class and the phrases it is read from | R-9.9, R-9.5, R-11.2 |
//! | `classify.rs` | rules 1.2–1.5 (bounce) and 2.1–2.6 (automatic reply) | R-9.6, R-9.7 |
//! | `dsn.rs` | rule 1.1: RFC 3464 delivery-status reports and status codes | R-9.7, R-9.2, R-9.4, R-2.3 |
//! | `bounce.rs` | the failed recipients and the returned original of a bounce | R-9.7, R-8.3 |
//! | `reply_tokens.rs` | `reply+TOKEN@` in recipient addresses | R-8.3, R-9.6 |
//! | `return_date.rs`, `tokenize.rs`, `cue.rs` | the return date of an out-of-office | R-9.7 |

mod bounce;
mod classify;
mod cue;
mod dsn;
mod html_reply;
mod limits;
mod mime;
mod quoted;
mod reply_class;
mod reply_phrases;
mod reply_tokens;
mod return_date;
mod signature;
mod tokenize;

use chrono::NaiveDate;
use mail_parser::Message;

use crate::EmailAddress;
use crate::render::single_line;
use bounce::bounce_details;
use classify::{is_auto_reply, is_bounce};
use dsn::{DeliveryReport, delivery_report};
use mime::{
    Headers, body_text, dedup_keep_order, first_address, message_ids, parse_mime, received_for,
    scan_addresses,
};
use quoted::own_text;

pub use limits::{MAX_BYTES, MAX_DEPTH, MAX_PARTS};
pub use reply_class::{
    ClassifiedReply, ReplyClass, classify_raw_reply, classify_reply, reply_class_of, reply_own_text,
};
pub use reply_tokens::{MAX_REPLY_TOKENS, reply_tokens, reply_tokens_raw};
pub use return_date::return_date;

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

/// Parses and classifies one inbound message (module docs). `reference` is the day it
/// arrived; the return date of an out-of-office is read against the `Date` header's day
/// when there is one, else against `reference`.
pub fn parse_inbound(raw: &[u8], reference: NaiveDate) -> Result<Inbound, InboundError> {
    let message = read_message(raw)?;
    let headers = Headers::of(&message);
    let from = first_address(headers.get("from").unwrap_or_default());
    let (recipients_raw, recipients) = read_recipients(&headers);
    let subject = read_subject(&message);
    // French clients write "RE\u{a0}:" with a no-break space.
    let subject_lc = subject
        .as_deref()
        .unwrap_or_default()
        .to_lowercase()
        .replace('\u{a0}', " ");
    let date = message.date().and_then(|d| {
        NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
    });
    let text = body_text(&message);
    let own = own_text(&text);

    let report = delivery_report(&message);
    let kind = kind_of(
        &message,
        &headers,
        report.as_ref(),
        from.as_ref(),
        &subject_lc,
        &own,
    );
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

    Ok(Inbound {
        kind,
        from,
        recipients,
        recipients_raw,
        message_id: message_ids(headers.all("message-id")).into_iter().next(),
        in_reply_to: distinct_ids(&headers, "in-reply-to"),
        references: distinct_ids(&headers, "references"),
        subject,
        auto_submitted: headers.get("auto-submitted").map(str::to_owned),
        date,
        return_date,
        bounce,
    })
}

/// The message mail-parser reads from `raw`, or why there is none.: a message over
/// the limits ([`MAX_BYTES`], [`MAX_DEPTH`], [`MAX_PARTS`]) is refused before mail-parser
/// sees it, and input without a single header field is not a message.
fn read_message(raw: &[u8]) -> Result<Message<'_>, InboundError> {
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
    Ok(message)
}

/// Header fields that name a recipient, besides the `for` clause of `Received` lines.
const RECIPIENT_FIELDS: &[&str] = &[
    "to",
    "cc",
    "delivered-to",
    "x-original-to",
    "envelope-to",
    "x-envelope-to",
    "x-forwarded-to",
    "x-rcpt-to",
];

/// Every recipient, as written and canonical ([`Inbound::recipients_raw`],
/// [`Inbound::recipients`]), deduplicated in order.: only the first
/// [`MAX_RECIPIENTS`] are read.
fn read_recipients(headers: &Headers) -> (Vec<String>, Vec<EmailAddress>) {
    let mut recipients_raw = Vec::new();
    for name in RECIPIENT_FIELDS {
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
    (recipients_raw, recipients)
}

/// The decoded subject on one line.: an encoded word (`=?utf-8?b?DQo=?=`) can
/// decode to CR, LF or other controls; the subject is quoted into headers we write (the
/// forward), so it is made one line right after decoding.
fn read_subject(message: &Message<'_>) -> Option<String> {
    message.subject().map(|s| single_line(s).trim().to_owned())
}

/// The classification of the module docs, first match wins: a bounce (rules 1.1–1.5,
/// last sentence: delivery-status notifications are bounces, never replies), an
/// automatic reply (rules 2.1–2.6, R-9.7), else a person's reply.
fn kind_of(
    message: &Message<'_>,
    headers: &Headers,
    report: Option<&DeliveryReport>,
    from: Option<&EmailAddress>,
    subject_lc: &str,
    own: &str,
) -> InboundKind {
    if let Some(report) = report {
        return if report.is_failure() {
            InboundKind::Bounce
        } else {
            InboundKind::AutoReply
        };
    }
    let from_raw = headers.get("from").unwrap_or_default();
    if is_bounce(headers, from_raw, from, subject_lc, &own.to_lowercase()) {
        return InboundKind::Bounce;
    }
    let null_return_path = headers
        .get("return-path")
        .is_some_and(|rp| matches!(rp.trim(), "" | "<>" | "< >"));
    if is_auto_reply(message, headers, null_return_path, subject_lc) {
        InboundKind::AutoReply
    } else {
        InboundKind::Reply
    }
}

/// The message ids of every `name` field (`In-Reply-To`, `References`), each once, in order.
fn distinct_ids(headers: &Headers, name: &str) -> Vec<String> {
    let mut ids = message_ids(headers.all(name));
    dedup_keep_order(&mut ids);
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
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
