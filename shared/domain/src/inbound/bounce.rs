//! What a bounce says (R-9.7 last sentence): which recipients failed, whether for good
//! or for now, the status code (5.7.x is the sender's fault, R-2.3), and the
//! Message-ID, From and Reply-To of the returned original, which match the bounce to the
//! step that sent it. Read from the delivery-status report when there is one,
//! else from `X-Failed-Recipients` and the report's text.

use mail_parser::{Message, MimeHeaders, PartType};

use crate::EmailAddress;

use super::InboundBounce;
use super::dsn::{DeliveryReport, DsnRecipient, find_status, status_class};
use super::mime::{
    Headers, dedup_keep_order, first_address, message_ids, parse_mime, scan_addresses,
};

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

/// What a bounce says (module docs): which recipients failed, hard or soft, its status
/// code, and the returned original's Message-ID and Reply-To.
pub(super) fn bounce_details(
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
    let failed: Vec<&DsnRecipient> = report
        .map(|r| r.recipients.iter().filter(|r| r.is_failure()).collect())
        .unwrap_or_default();

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
    let mut recipients = reported_recipients(&failed, headers);
    if recipients.is_empty() {
        recipients = recipients_in_text(notification, excluded);
    }
    dedup_keep_order(&mut recipients);

    let (permanent, status) = if failed.is_empty() {
        severity_in_text(notification, subject_lc)
    } else {
        (
            failed.iter().any(|r| r.is_permanent()),
            failed.iter().find_map(|r| r.status.clone()),
        )
    };
    InboundBounce {
        recipients,
        permanent,
        status,
        original_message_id,
        original_reply_to,
    }
}

/// The failed recipients a report names in so many words: the failed blocks of its
/// delivery-status part (rule 1.1), else its `X-Failed-Recipients` header (rule 1.2).
fn reported_recipients(failed: &[&DsnRecipient], headers: &Headers) -> Vec<EmailAddress> {
    let named: Vec<EmailAddress> = failed
        .iter()
        .filter_map(|r| r.address.as_deref())
        .filter_map(|a| EmailAddress::parse(a).ok())
        .collect();
    if !named.is_empty() {
        return named;
    }
    headers
        .all("x-failed-recipients")
        .flat_map(scan_addresses)
        .filter_map(|a| EmailAddress::parse(&a).ok())
        .collect()
}

/// The failed recipients of a report that names none in its fields: the addresses in
/// the line shapes mail systems use ([`recipients_from_text`]), else every address in the
/// report's text, leaving out the `excluded` ones (the bounce's own parties).
fn recipients_in_text(
    notification: &str,
    excluded: impl Fn(&EmailAddress) -> bool,
) -> Vec<EmailAddress> {
    let shaped: Vec<EmailAddress> = recipients_from_text(notification)
        .into_iter()
        .filter(|a| !excluded(a))
        .collect();
    if !shaped.is_empty() {
        return shaped;
    }
    scan_addresses(notification)
        .iter()
        .filter_map(|a| EmailAddress::parse(a).ok())
        .filter(|a| !excluded(a))
        .collect()
}

/// Words of a report that says the mail system is still trying (a delay, R-9.4).
const DELAY_WORDING: &[&str] = &[
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

/// Hard or soft, and the status code, of a bounce without a failed delivery-status block:
/// a 5.x.x status in the report's text is permanent, a 4.x.x one is not;
/// without a status, delay wording in the subject or text makes it soft, else it is hard.
fn severity_in_text(notification: &str, subject_lc: &str) -> (bool, Option<String>) {
    let status = find_status(notification);
    let lc = notification.to_lowercase();
    let permanent = match status.as_deref().and_then(status_class) {
        Some('5') => true,
        Some('4') => false,
        _ => !DELAY_WORDING
            .iter()
            .any(|d| subject_lc.contains(d) || lc.contains(d)),
    };
    (permanent, status)
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
                let from = h.get("from").and_then(first_address);
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
            from = first_address(&trimmed[5..]);
        } else if reply_to.is_empty() && lower.starts_with("reply-to:") {
            reply_to = scan_addresses(&trimmed[9..]);
        }
    }
    if id.is_none() {
        id = message_ids(headers.all("in-reply-to")).into_iter().next();
    }
    (id, from, reply_to)
}
