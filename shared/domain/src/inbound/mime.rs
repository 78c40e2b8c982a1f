//! Reading the raw message for the rules of: mail-parser under a panic
//! guard, the top-level header fields, the addresses and message ids written in them, and
//! the readable body text (the author's own part of it, quoted history cut off, is read by
//! `quoted.rs`). The text scanned is clipped to
//! [`MAX_TEXT_BYTES`], so that a hostile message costs linear time at most (R-9.6 limits).

use mail_parser::{Message, MessageParser};

use crate::EmailAddress;

/// Runs mail-parser, `None` when it panicked. mail-parser 0.11 guards one corrupt-multipart
/// state with `debug_assert!`, so debug builds panic on some broken MIME trees (release
/// builds recover). Inbound mail is hostile input and a panic would make the handler retry
/// forever, so such a message is unreadable instead. Only the parser runs under
/// `catch_unwind`: a panic in our own rules must still fail tests.
pub(super) fn parse_mime(raw: &[u8], headers_only: bool) -> Option<Option<Message<'_>>> {
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
pub(super) struct Headers(Vec<(String, String)>);

impl Headers {
    pub(super) fn of(message: &Message<'_>) -> Headers {
        Headers(
            message
                .headers_raw()
                .map(|(name, value)| (name.to_ascii_lowercase(), unfold(value)))
                .collect(),
        )
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn has(&self, name: &str) -> bool {
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
pub(super) fn scan_addresses(text: &str) -> Vec<String> {
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

/// The first valid address in `text` (a `From` value), canonical.
pub(super) fn first_address(text: &str) -> Option<EmailAddress> {
    scan_addresses(text)
        .into_iter()
        .next()
        .and_then(|a| EmailAddress::parse(&a).ok())
}

/// The address in the `for` clause of a `Received` field (`… for <a@b>; date`).
pub(super) fn received_for(received: &str) -> Vec<String> {
    let lower = received.to_ascii_lowercase();
    let Some(pos) = lower.find(" for ") else {
        return Vec::new();
    };
    let rest = received.get(pos + 5..).unwrap_or_default();
    let clause = rest.split(';').next().unwrap_or_default();
    scan_addresses(clause).into_iter().take(1).collect()
}

/// Message ids of `In-Reply-To`, `References` or `Message-ID` values, without brackets.
pub(super) fn message_ids<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
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

pub(super) fn strip_brackets(s: &str) -> &str {
    s.strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s)
}

/// Drops repeated items, keeping the first of each (linear, for hostile address lists).
pub(super) fn dedup_keep_order<T: Eq + std::hash::Hash + Clone>(items: &mut Vec<T>) {
    let mut seen = std::collections::HashSet::new();
    items.retain(|item| seen.insert(item.clone()));
}

// ---------------------------------------------------------------------------------------
// Body text

/// Bounds on the text we scan, so that a hostile message costs linear time at most.
pub(super) const MAX_TEXT_BYTES: usize = 64 * 1024;

pub(super) fn clip(s: &str, max: usize) -> &str {
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
pub(super) fn body_text(message: &Message<'_>) -> String {
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
