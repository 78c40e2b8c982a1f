//! RFC 3464 delivery-status reports, rule 1.1 of the classification (R-9.7 last sentence: a
//! delivery-status notification is a bounce, never a reply): the per-recipient blocks of a
//! `message/delivery-status` part, whether each failed or was delayed, hard or soft
//! and the enhanced status code (RFC 3463) that tells an authentication refusal
//! (5.7.x, R-2.3) apart.

use mail_parser::{Message, MimeHeaders};

use super::mime::{MAX_TEXT_BYTES, clip, scan_addresses};

/// One per-recipient block of a delivery-status report.
#[derive(Debug, Default)]
pub(super) struct DsnRecipient {
    pub(super) address: Option<String>,
    pub(super) action: Option<String>,
    pub(super) status: Option<String>,
    pub(super) diagnostic: Option<String>,
}

impl DsnRecipient {
    /// Failed, or delayed: the address did not (yet) get the message.
    pub(super) fn is_failure(&self) -> bool {
        match self.action.as_deref() {
            Some(action) => !matches!(action, "delivered" | "relayed" | "expanded"),
            None => matches!(
                self.status.as_deref().and_then(status_class),
                Some('4' | '5')
            ),
        }
    }

    pub(super) fn is_permanent(&self) -> bool {
        match self.status.as_deref().and_then(status_class) {
            Some('5') => true,
            Some('4') => false,
            _ => self.action.as_deref() == Some("failed"),
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct DeliveryReport {
    pub(super) recipients: Vec<DsnRecipient>,
}

impl DeliveryReport {
    /// A report that names no recipient at all is still a failure report: success
    /// receipts always say `delivered`/`relayed`/`expanded`.
    pub(super) fn is_failure(&self) -> bool {
        self.recipients.is_empty() || self.recipients.iter().any(DsnRecipient::is_failure)
    }
}

/// Rule 1.1: the message is (or contains) a delivery-status report.
pub(super) fn delivery_report(message: &Message<'_>) -> Option<DeliveryReport> {
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

/// The per-recipient field groups of a `message/delivery-status` body (RFC 3464 §2.3):
/// groups are separated by blank lines, and a group with a `Final-Recipient` or
/// `Original-Recipient` field is one recipient's block.
fn parse_dsn_fields(text: &str) -> Vec<DsnRecipient> {
    let mut recipients = Vec::new();
    let mut current = DsnRecipient::default();
    let mut has_recipient_field = false;
    for field in unfolded_fields(text) {
        match field {
            None => {
                if has_recipient_field {
                    current.prefer_specific_status();
                    recipients.push(std::mem::take(&mut current));
                }
                current = DsnRecipient::default();
                has_recipient_field = false;
            }
            Some((name, value)) => {
                has_recipient_field |=
                    matches!(name.as_str(), "final-recipient" | "original-recipient");
                current.read_field(&name, value);
            }
        }
    }
    recipients
}

/// The fields of `text` as (lower-case name, value), continuation lines unfolded, with
/// `None` for each blank line and one more at the end, so that every group is closed.
fn unfolded_fields(text: &str) -> Vec<Option<(String, String)>> {
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
    fields
}

impl DsnRecipient {
    /// Reads one field of a recipient's block; fields that do not matter are ignored.
    fn read_field(&mut self, name: &str, value: String) {
        match name {
            "final-recipient" | "original-recipient" => {
                // `rfc822; ada@example.com` — Final-Recipient wins over Original-Recipient.
                let address = value.split_once(';').map_or(value.as_str(), |(_, a)| a);
                if let Some(address) = scan_addresses(address).into_iter().next()
                    && (name == "final-recipient" || self.address.is_none())
                {
                    self.address = Some(address);
                }
            }
            "action" => {
                self.action = value
                    .split_whitespace()
                    .next()
                    .map(|a| a.to_ascii_lowercase());
            }
            "status" => self.status = find_status(&value),
            "diagnostic-code" => self.diagnostic = Some(value),
            _ => {}
        }
    }

    /// A generic `x.0.0` status (Exim, SES) hides the code the remote server gave in its
    /// diagnostic; the specific one of the same class decides, e.g. 5.7.x for.
    fn prefer_specific_status(&mut self) {
        let specific = self.diagnostic.as_deref().and_then(find_status);
        let generic = self.status.as_deref().is_none_or(|s| s.ends_with(".0.0"));
        if generic
            && let Some(specific) = specific
            && self
                .status
                .as_deref()
                .and_then(status_class)
                .is_none_or(|class| status_class(&specific) == Some(class))
        {
            self.status = Some(specific);
        }
    }
}

/// The first enhanced status code (`5.1.1`, `4.4.7`, …) in `text` (RFC 3463).
pub(super) fn find_status(text: &str) -> Option<String> {
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

pub(super) fn status_class(status: &str) -> Option<char> {
    status
        .trim()
        .chars()
        .next()
        .filter(|c| matches!(c, '2' | '4' | '5'))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
