//! Builds the RFC 5322 message handed to the mail service for one send.
//!
//! The message carries From (display name + address), To, a Reply-To that
//! routes replies through the service, Subject, Date, optional Message-ID and
//! threading headers, the RFC 8058 one-click unsubscribe headers, and a
//! multipart/alternative body with UTF-8 text/plain and text/html parts.
//! Encoding (RFC 2047 words for non-ASCII names and subjects, transfer
//! encodings for bodies, line folding) is left to `mail-builder`.
//!
//! Every header value is made single-line here as well, even though
//! rendering already does it for subjects: this is the last point before the
//! bytes leave the service, so it must not trust its callers. A subject or
//! display name that contains an encoded-word look-alike (`=?utf-8?Q?=0D=0A?=`)
//! is written encoded as a whole, so a reader decodes exactly our text and
//! never a line break hidden in it (`mail-builder` writes plain ASCII as is).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use mail_builder::MessageBuilder;
use mail_builder::headers::Header;
use mail_builder::headers::address::Address;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::headers::url::URL;
use mail_builder::mime::MimePart;
use outreach_domain::EmailAddress;
use outreach_domain::render::single_line;

/// One message ready to be serialised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// Display name of the sender account; may be empty.
    pub from_name: String,
    pub from: EmailAddress,
    pub to: EmailAddress,
    /// Full reply address, `reply+<token>@<reply domain>`.
    pub reply_to: String,
    /// One-click HTTPS URL, `{public base URL}/v1/unsubscribe/{token}`.
    pub list_unsubscribe_url: String,
    /// Without angle brackets, e.g. `abc@outbox.localhost`. `None` writes no
    /// Message-ID, so the mail service assigns one.
    pub message_id: Option<String>,
    /// Message-ID (without angle brackets) of the message this one answers.
    pub in_reply_to: Option<String>,
    /// Message-IDs (without angle brackets) of the thread, oldest first.
    pub references: Vec<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub date: DateTime<Utc>,
}

/// Serialises `mail` as an RFC 5322 message with CRLF line endings.
pub fn build_mime(mail: &OutgoingMail) -> Vec<u8> {
    let builder = with_from(MessageBuilder::new(), &mail.from_name, &mail.from)
        .to(Address::new_address(
            None::<String>,
            mail.to.as_str().to_owned(),
        ))
        .reply_to(Address::new_address(None::<String>, token(&mail.reply_to)));
    let builder = with_subject(builder, &mail.subject).date(Date::new(mail.date.timestamp()));
    let builder = with_threading(builder, mail)
        .header(
            "List-Unsubscribe",
            URL::new(token(&mail.list_unsubscribe_url)),
        )
        // RFC 8058: mailbox providers POST this body to the URL above.
        .header(
            "List-Unsubscribe-Post",
            Raw::new("List-Unsubscribe=One-Click"),
        )
        .text_body(mail.text.as_str())
        .html_body(mail.html.as_str());
    write_message(builder)
}

/// The From header: the display name as given, in encoded words when it
/// looks like one (so it is not decoded as one), or the bare address.
fn with_from<'x>(
    builder: MessageBuilder<'x>,
    from_name: &str,
    from: &EmailAddress,
) -> MessageBuilder<'x> {
    let from_name = single_line(from_name).trim().to_owned();
    if from_name.is_empty() {
        builder.from(Address::new_address(
            None::<String>,
            from.as_str().to_owned(),
        ))
    } else if looks_encoded(&from_name) {
        builder.header(
            "From",
            Raw::new(format!("{} <{}>", encoded_words(&from_name), from.as_str())),
        )
    } else {
        builder.from(Address::new_address(
            Some(from_name),
            from.as_str().to_owned(),
        ))
    }
}

/// Message-ID (when set), In-Reply-To and References.
fn with_threading<'x>(mut builder: MessageBuilder<'x>, mail: &OutgoingMail) -> MessageBuilder<'x> {
    if let Some(id) = mail
        .message_id
        .as_deref()
        .map(token)
        .filter(|id| !id.is_empty())
    {
        builder = builder.message_id(MessageId::new(id));
    }
    if let Some(id) = mail
        .in_reply_to
        .as_deref()
        .map(token)
        .filter(|id| !id.is_empty())
    {
        builder = builder.in_reply_to(MessageId::new(id));
    }
    let references: Vec<String> = mail
        .references
        .iter()
        .map(|r| token(r))
        .filter(|r| !r.is_empty())
        .collect();
    if !references.is_empty() {
        builder = builder.references(MessageId::new_list(references.into_iter()));
    }
    builder
}

/// The message's bytes. `MessageBuilder::write_to` invents a Message-ID when
/// none is set, which would stop the mail service from assigning its own, so
/// the headers are written here and only the body is left to the builder.
fn write_message(builder: MessageBuilder<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in &builder.headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        value
            .write_header(&mut out, name.len() + 2)
            .expect("writing to a Vec cannot fail");
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    builder
        .write_body(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

/// An address, Message-ID or URL as one token: no whitespace or control
/// characters (so no CR/LF), and no angle brackets, which the header writer
/// adds itself.
/// A reply forwarded to the people who should read it: from a
/// reply-domain address, Reply-To the candidate, the original attached unchanged
/// as `message/rfc822` in 7bit or 8bit (never base64, which RFC 2046 forbids
/// there), marked `Auto-Submitted: auto-forwarded` so that no
/// responder answers it.
pub struct ForwardedMail<'a> {
    pub from: &'a EmailAddress,
    pub to: &'a EmailAddress,
    pub reply_to: Option<&'a EmailAddress>,
    pub subject: &'a str,
    pub note: &'a str,
    pub original: &'a [u8],
    pub date: DateTime<Utc>,
}

pub fn build_forward(mail: &ForwardedMail<'_>) -> Vec<u8> {
    let builder = MessageBuilder::new()
        .from(Address::new_address(
            Some("Outreach"),
            mail.from.as_str().to_owned(),
        ))
        .to(Address::new_address(
            None::<String>,
            mail.to.as_str().to_owned(),
        ));
    let note = MimePart::new("text/plain", mail.note.to_owned());
    let original = match eight_bit_form(mail.original) {
        Some((bytes, encoding)) => MimePart::new("message/rfc822", bytes)
            .attachment("original.eml")
            .transfer_encoding(encoding),
        // Not a message SMTP could have carried (NUL, or lines over 998
        // octets): attached as opaque bytes rather than as a message/rfc822
        // in an encoding RFC 2046 forbids there.
        None => MimePart::new("application/octet-stream", mail.original.to_vec())
            .attachment("original.eml"),
    };
    let mut builder = with_subject(builder, mail.subject)
        .date(Date::new(mail.date.timestamp()))
        .header("Auto-Submitted", Raw::new("auto-forwarded"))
        .body(MimePart::new("multipart/mixed", vec![note, original]));
    if let Some(r) = mail.reply_to {
        builder = builder.reply_to(Address::new_address(None::<String>, r.as_str().to_owned()));
    }
    write_message(builder)
}

/// The original as a `message/rfc822` body may carry it (RFC 2046: 7bit or
/// 8bit only, RFC 2045 §2.7–2.8): line breaks made CRLF, and `7bit` when it is
/// all ASCII, else `8bit`. `None` when it holds a NUL or a line over 998
/// octets, which neither encoding allows.
fn eight_bit_form(original: &[u8]) -> Option<(Vec<u8>, &'static str)> {
    let mut out = Vec::with_capacity(original.len() + original.len() / 40);
    let mut line = 0usize;
    let mut bytes = original.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        match b {
            0 => return None,
            b'\r' | b'\n' => {
                if b == b'\r' && bytes.peek() == Some(&b'\n') {
                    bytes.next();
                }
                out.extend_from_slice(b"\r\n");
                line = 0;
            }
            _ => {
                line += 1;
                if line > 998 {
                    return None;
                }
                out.push(b);
            }
        }
    }
    let encoding = if out.is_ascii() { "7bit" } else { "8bit" };
    Some((out, encoding))
}

/// Sets the Subject: one line, and encoded as a whole when it holds
/// something a reader would decode as an encoded word.
fn with_subject<'x>(builder: MessageBuilder<'x>, subject: &str) -> MessageBuilder<'x> {
    let subject = single_line(subject).trim().to_owned();
    if looks_encoded(&subject) {
        builder.header("Subject", Raw::new(encoded_words(&subject)))
    } else {
        builder.subject(Text::new(subject))
    }
}

/// Whether a reader could take part of `text` for an RFC 2047 encoded word.
fn looks_encoded(text: &str) -> bool {
    text.contains("=?")
}

/// `text` as RFC 2047 base64 encoded words separated by spaces (folding
/// points), each at most 52 characters and cut at character boundaries.
fn encoded_words(text: &str) -> String {
    const CHUNK: usize = 30;
    let mut words = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(CHUNK);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (chunk, tail) = rest.split_at(end);
        words.push(format!("=?utf-8?B?{}?=", STANDARD.encode(chunk)));
        rest = tail;
    }
    words.join(" ")
}

fn token(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control() && *c != '<' && *c != '>')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use mail_parser::{HeaderValue, Message, MessageParser, MimeHeaders};

    fn mail() -> OutgoingMail {
        OutgoingMail {
            from_name: "Sam Sender".into(),
            from: EmailAddress::parse("sam@example.com").unwrap(),
            to: EmailAddress::parse("ada@example.org").unwrap(),
            reply_to: "reply+tok123@reply.example.net".into(),
            list_unsubscribe_url: "https://api.example.net/v1/unsubscribe/unsub456".into(),
            message_id: Some("m2@outbox.localhost".into()),
            in_reply_to: Some("m1@outbox.localhost".into()),
            references: vec!["m0@outbox.localhost".into(), "m1@outbox.localhost".into()],
            subject: "Re: A role at Acme".into(),
            html: "<p>Hello <b>Ada</b></p>".into(),
            text: "Hello Ada\nSecond line".into(),
            date: Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap(),
        }
    }

    fn parse(bytes: &[u8]) -> Message<'_> {
        MessageParser::default()
            .parse(bytes)
            .expect("a parsable message")
    }

    fn single_address(value: Option<&mail_parser::Address<'_>>) -> (Option<String>, String) {
        let addr = value.and_then(|a| a.first()).expect("an address");
        (
            addr.name().map(str::to_owned),
            addr.address().expect("an address").to_owned(),
        )
    }

    fn ids(value: &HeaderValue<'_>) -> Option<Vec<String>> {
        value
            .as_text_list()
            .map(|list| list.iter().map(|id| id.to_string()).collect())
    }

    fn raw_header<'a>(msg: &'a Message<'_>, name: &'static str) -> Option<&'a str> {
        msg.header_raw(name).map(str::trim)
    }

    #[test]
    fn carries_every_header_and_both_parts() {
        //
        let bytes = build_mime(&mail());
        let msg = parse(&bytes);

        assert_eq!(
            single_address(msg.from()),
            (Some("Sam Sender".into()), "sam@example.com".into())
        );
        assert_eq!(single_address(msg.to()), (None, "ada@example.org".into()));
        assert_eq!(
            single_address(msg.reply_to()),
            (None, "reply+tok123@reply.example.net".into())
        );
        assert_eq!(msg.subject(), Some("Re: A role at Acme"));
        assert_eq!(
            msg.date().map(|d| d.to_timestamp()),
            Some(mail().date.timestamp())
        );
        assert_eq!(msg.message_id(), Some("m2@outbox.localhost"));
        assert_eq!(
            ids(msg.in_reply_to()),
            Some(vec!["m1@outbox.localhost".to_owned()])
        );
        assert_eq!(
            ids(msg.references()),
            Some(vec![
                "m0@outbox.localhost".to_owned(),
                "m1@outbox.localhost".to_owned()
            ])
        );
        // RFC 8058
        assert_eq!(
            raw_header(&msg, "List-Unsubscribe"),
            Some("<https://api.example.net/v1/unsubscribe/unsub456>")
        );
        assert_eq!(
            raw_header(&msg, "List-Unsubscribe-Post"),
            Some("List-Unsubscribe=One-Click")
        );
        assert_eq!(raw_header(&msg, "MIME-Version"), Some("1.0"));

        let root = msg.content_type().expect("a content type");
        assert_eq!(
            (root.ctype(), root.subtype()),
            ("multipart", Some("alternative"))
        );
        // Line breaks travel as CRLF, the canonical form of text on the wire.
        assert_eq!(
            msg.body_text(0).as_deref(),
            Some("Hello Ada\r\nSecond line")
        );
        assert_eq!(msg.body_html(0).as_deref(), Some("<p>Hello <b>Ada</b></p>"));
        for (part_id, subtype) in [(msg.text_body[0], "plain"), (msg.html_body[0], "html")] {
            let part = msg.part(part_id).expect("a body part");
            let ct = part.content_type().expect("a content type");
            assert_eq!((ct.ctype(), ct.subtype()), ("text", Some(subtype)));
            assert_eq!(ct.attribute("charset"), Some("utf-8"));
        }
    }

    #[test]
    fn omits_optional_headers_when_absent() {
        // the first step of a sequence does not thread; SES assigns the id.
        let first = OutgoingMail {
            message_id: None,
            in_reply_to: None,
            references: Vec::new(),
            from_name: String::new(),
            ..mail()
        };
        let bytes = build_mime(&first);
        let msg = parse(&bytes);
        assert_eq!(msg.message_id(), None);
        assert!(raw_header(&msg, "Message-ID").is_none());
        assert!(raw_header(&msg, "In-Reply-To").is_none());
        assert!(raw_header(&msg, "References").is_none());
        assert_eq!(single_address(msg.from()), (None, "sam@example.com".into()));
    }

    #[test]
    fn non_ascii_subject_and_display_name_round_trip() {
        let m = OutgoingMail {
            from_name: "José Müller, Recruiting".into(),
            subject: "Ein Job für Sie — ☕ « café »".into(),
            text: "Grüße".into(),
            html: "<p>Grüße</p>".into(),
            ..mail()
        };
        let bytes = build_mime(&m);
        assert!(bytes.is_ascii(), "headers and bodies are transfer-encoded");
        let msg = parse(&bytes);
        assert_eq!(msg.subject(), Some("Ein Job für Sie — ☕ « café »"));
        assert_eq!(
            single_address(msg.from()),
            (
                Some("José Müller, Recruiting".into()),
                "sam@example.com".into()
            )
        );
        assert_eq!(msg.body_text(0).as_deref(), Some("Grüße"));
        assert_eq!(msg.body_html(0).as_deref(), Some("<p>Grüße</p>"));
    }

    #[test]
    fn long_lines_are_encoded_for_the_wire() {
        // RFC 5322 caps lines at 998 octets; a rendered body is often one line.
        let long = format!("<p>{}</p>", "word ".repeat(1000));
        let m = OutgoingMail {
            html: long.clone(),
            subject: "s".repeat(300),
            ..mail()
        };
        let bytes = build_mime(&m);
        assert!(bytes.split(|b| *b == b'\n').all(|line| line.len() <= 998));
        let msg = parse(&bytes);
        assert_eq!(msg.body_html(0).as_deref(), Some(long.as_str()));
        assert_eq!(msg.subject(), Some("s".repeat(300).as_str()));
    }

    #[test]
    fn encoded_word_look_alikes_are_written_encoded() {
        // issue 9: plain ASCII "=?utf-8?Q?=0D=0A?=" would be decoded by the
        // reader into a line break; it is encoded so the reader sees our text.
        let subject = "Re: =?utf-8?Q?a=0D=0AX-Injected:_1?= and more text to fold éé";
        let name = "=?utf-8?B?QmNjOiB4QHkuZXhhbXBsZQ==?=";
        let m = OutgoingMail {
            subject: subject.into(),
            from_name: name.into(),
            ..mail()
        };
        let bytes = build_mime(&m);
        let msg = parse(&bytes);
        assert_eq!(msg.subject(), Some(subject));
        assert_eq!(
            single_address(msg.from()),
            (Some(name.into()), "sam@example.com".into())
        );
        let forward = build_forward(&ForwardedMail {
            from: &EmailAddress::parse("r@reply.example").unwrap(),
            to: &EmailAddress::parse("owner@example.com").unwrap(),
            reply_to: None,
            subject,
            note: "n",
            original: b"Subject: x\r\n\r\nb",
            date: Utc.timestamp_opt(0, 0).unwrap(),
        });
        assert_eq!(parse(&forward).subject(), Some(subject));
    }

    fn forward_of(original: &[u8]) -> Vec<u8> {
        build_forward(&ForwardedMail {
            from: &EmailAddress::parse("r@reply.example").unwrap(),
            to: &EmailAddress::parse("owner@example.com").unwrap(),
            reply_to: None,
            subject: "Reply from a candidate",
            note: "A candidate wrote back.",
            original,
            date: Utc.timestamp_opt(0, 0).unwrap(),
        })
    }

    /// The attached part's Content-Type and Content-Transfer-Encoding.
    fn attached(forward: &[u8]) -> (String, Option<String>) {
        let msg = parse(forward);
        let part = msg.attachments().next().expect("an attachment");
        let ct = part.content_type().expect("a content type");
        (
            format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()),
            part.content_transfer_encoding()
                .map(str::to_ascii_lowercase),
        )
    }

    #[test]
    fn a_forwarded_original_travels_unchanged_in_seven_or_eight_bit() {
        // RFC 2046 §5.2.1: message/rfc822 only in 7bit, 8bit or binary.
        let eight = "From: a@b.example\r\nSubject: x\r\n\r\nGrüße\r\n".as_bytes();
        let fwd = forward_of(eight);
        assert_eq!(
            attached(&fwd),
            ("message/rfc822".to_owned(), Some("8bit".to_owned()))
        );
        assert!(fwd.windows(eight.len()).any(|w| w == eight));
        let seven = b"From: a@b.example\r\nSubject: x\r\n\r\nHello\r\n";
        assert_eq!(
            attached(&forward_of(seven)),
            ("message/rfc822".to_owned(), Some("7bit".to_owned()))
        );
        // Bare line feeds become CRLF, the only line break 7bit/8bit allow.
        let fwd = forward_of(b"From: a@b.example\nSubject: x\n\nHello\n");
        assert!(fwd.windows(seven.len()).any(|w| w == seven));
        assert!(!fwd.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
    }

    #[test]
    fn an_original_no_smtp_could_carry_goes_as_opaque_bytes() {
        // A NUL or a line over 998 octets fits neither 7bit nor 8bit.
        for original in [
            b"Subject: x\r\n\r\na\0b\r\n".to_vec(),
            format!("Subject: x\r\n\r\n{}\r\n", "a".repeat(1200)).into_bytes(),
        ] {
            let (ct, cte) = attached(&forward_of(&original));
            assert_eq!(ct, "application/octet-stream");
            assert_eq!(cte.as_deref(), Some("base64"));
        }
    }

    #[test]
    fn header_values_cannot_inject_headers() {
        //
        let m = OutgoingMail {
            subject: "Hello\r\nBcc: x@y.com".into(),
            from_name: "Sam\r\nBcc: x@y.com".into(),
            reply_to: "reply+t@r.example.net\r\nBcc: x@y.com".into(),
            list_unsubscribe_url: "https://u.example.net/v1/unsubscribe/t>\r\nBcc: x@y.com".into(),
            message_id: Some("<m@x>\r\nBcc: x@y.com".into()),
            in_reply_to: Some("p@x\nBcc: x@y.com".into()),
            references: vec!["p@x\rBcc: x@y.com".into()],
            ..mail()
        };
        let bytes = build_mime(&m);
        let msg = parse(&bytes);
        assert!(msg.bcc().is_none());
        assert!(
            msg.headers()
                .iter()
                .all(|h| !h.name().eq_ignore_ascii_case("bcc")),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(msg.subject(), Some("Hello  Bcc: x@y.com"));
        assert!(matches!(msg.header("Subject"), Some(HeaderValue::Text(_))));
        assert_eq!(
            single_address(msg.from()),
            (Some("Sam  Bcc: x@y.com".into()), "sam@example.com".into())
        );
    }
}
