//! The text of an HTML-only reply, its quoted history cut off where the HTML marks it
//! . Mail clients that write no `text/plain` part mark the quoted original
//! in the HTML, and those marks are surer than any reading of the text; what they do not
//! mark is then cut off by the text rules of `quoted.rs`, which see one line per block
//! element (a `</div>`, `<p>`, `<br>`, `<hr>`… ends a line, [`crate::render::html_to_text`]).
//!
//! - **Left out, whole element** (nested elements counted, an unclosed one runs to the
//!   end): every `<blockquote>` (Gmail's `class="gmail_quote"`, Apple Mail's and
//!   Thunderbird's `type="cite"`), and any element whose `class` or `id` names a quote
//!   container: `gmail_quote` (Gmail's attribution and quote, with or without the
//!   `gmail_attr` line), `yahoo_quoted` (Yahoo), `moz-cite-prefix` (Thunderbird's
//!   attribution), `protonmail_quote`, `OLK_SRC_BODY_SECTION` (Outlook for Mac),
//!   `mail-editor-reference-message-container` (new Outlook). An answer written below
//!   such an element (bottom-posting) is kept.
//! - **Cut, everything after**: Outlook on the web's `id="appendonsend"` and
//!   `id="divRplyFwdMsg"` (also with Outlook's `x_` prefix), and an `<hr>` whose next text
//!   is a header field that starts quoted history (`From:`, `Von:`, `De :`, `Van:`,
//!   `Da:`) — Outlook writes its header block after a rule.
//!
//! One pass over the tags, linear in the input: the input is clipped by the caller, a
//! tag without `>` ends the tag scan (the rest is text), and the look-ahead after an
//! `<hr>` reads at most [`HR_LOOKAHEAD`] bytes.

use mail_parser::{Message, PartType};

use super::mime::{MAX_TEXT_BYTES, clip};
use crate::render::html_to_text;

/// Bytes after an `<hr>` searched for the header field that makes it a cut.
const HR_LOOKAHEAD: usize = 512;

/// Parts of a `class` or `id` that mark a quote container (module docs), lower case.
#[rustfmt::skip]
const QUOTE_CONTAINERS: &[&str] = &[
    "gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote",
    "olk_src_body_section", "mail-editor-reference-message-container",
];

/// Parts of an `id` that start Outlook on the web's quoted history, lower case.
const CUT_MARKERS: &[&str] = &["divrplyfwdmsg", "appendonsend"];

/// Header fields that start quoted history after an `<hr>`, lower case.
const FROM_FIELDS: &[&str] = &["from:", "von:", "de:", "van:", "da:"];

/// The readable text of an HTML reply body without its marked quoted history (module
/// docs); the text rules of `quoted.rs` still run on it.
pub(super) fn html_reply_text(html: &str) -> String {
    html_to_text(&without_marked_quotes(html))
}

/// The readable text of a reply's top-level message for its class: as
/// [`super::mime::body_text`], except that a part that is HTML (the message has no
/// `text/plain` alternative) is read by [`html_reply_text`] instead of mail-parser's
/// conversion, which ends no line at a `</div>` and keeps every quote.
pub(super) fn reply_body_text(message: &Message<'_>) -> String {
    let mut text = String::new();
    for pos in 0..message.text_body_count().min(8) {
        let Some(part) = message.text_part(pos as u32) else {
            continue;
        };
        match &part.body {
            PartType::Text(plain) => text.push_str(clip(plain, MAX_TEXT_BYTES)),
            PartType::Html(html) => text.push_str(&html_reply_text(clip(html, 4 * MAX_TEXT_BYTES))),
            _ => continue,
        }
        text.push('\n');
        if text.len() > MAX_TEXT_BYTES {
            break;
        }
    }
    clip(&text, MAX_TEXT_BYTES).to_owned()
}

/// `html` with quote containers left out and cut at the first cut marker.
fn without_marked_quotes(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    // While inside a left-out element: its tag name and nesting depth.
    let mut skipping: Option<(String, usize)> = None;
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let (before, at_tag) = rest.split_at(open);
        if skipping.is_none() {
            out.push_str(before);
        }
        if let Some(after) = at_tag.strip_prefix("<!--") {
            let Some(end) = after.find("-->") else {
                return out;
            };
            if skipping.is_none() {
                out.push_str(&at_tag[..4 + end + 3]);
            }
            rest = &after[end + 3..];
            continue;
        }
        let Some(close) = at_tag.find('>') else {
            // No tag can follow: the rest is text.
            if skipping.is_none() {
                out.push_str(at_tag);
            }
            return out;
        };
        let tag = &at_tag[..=close];
        rest = &at_tag[close + 1..];
        let (name, closing) = tag_name(tag);
        if let Some((skipped, depth)) = skipping.as_mut() {
            if name == *skipped {
                if closing {
                    *depth -= 1;
                } else if !tag.ends_with("/>") {
                    *depth += 1;
                }
                if *depth == 0 {
                    skipping = None;
                }
            }
            continue;
        }
        if closing {
            out.push_str(tag);
            continue;
        }
        let lower = tag.to_ascii_lowercase();
        if CUT_MARKERS.iter().any(|m| lower.contains(m))
            || (name == "hr" && starts_with_from_field(rest))
        {
            return out;
        }
        if name == "blockquote" || QUOTE_CONTAINERS.iter().any(|m| lower.contains(m)) {
            if !tag.ends_with("/>") {
                skipping = Some((name, 1));
            }
            continue;
        }
        out.push_str(tag);
    }
    if skipping.is_none() {
        out.push_str(rest);
    }
    out
}

/// The lower-case name of the tag `<…>` and whether it closes.
fn tag_name(tag: &str) -> (String, bool) {
    let inner = tag.trim_start_matches('<').trim_end_matches('>').trim();
    let (closing, inner) = match inner.strip_prefix('/') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, inner),
    };
    let end = inner
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(inner.len());
    (inner[..end].to_ascii_lowercase(), closing)
}

/// Whether the first text of `html` (tags, spaces and `&nbsp;` skipped) is a header field
/// that starts quoted history (`<b>From:</b> …`).
fn starts_with_from_field(html: &str) -> bool {
    let mut end = html.len().min(HR_LOOKAHEAD);
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
        if text.len() > 16 {
            break;
        }
    }
    let text = text
        .replace("&nbsp;", " ")
        .replace('\u{a0}', " ")
        .to_lowercase();
    let text = text.trim_start().replace(" :", ":");
    FROM_FIELDS.iter().any(|f| text.starts_with(f))
}

#[cfg(test)]
mod tests {
    use super::html_reply_text;

    #[test]
    fn outlook_on_the_web_is_cut_at_its_markers() {
        let html = "<div>I am interested.</div><div id=\"appendonsend\"></div><hr>\
            <div id=\"divRplyFwdMsg\"><b>From:</b> A<br><b>Sent:</b> B</div><div>unsubscribe</div>";
        assert_eq!(html_reply_text(html), "I am interested.");
        let html = "<p>Gerne.</p><hr><div id=\"x_divRplyFwdMsg\"><b>Von:</b> A</div>";
        assert_eq!(html_reply_text(html), "Gerne.");
        let html = "<p>Oui.</p><hr style=\"x\"><font><b>De&nbsp;:</b> A</font><p>stop</p>";
        assert_eq!(html_reply_text(html), "Oui.");
    }

    #[test]
    fn an_own_rule_is_kept() {
        let html = "<p>Yes.</p><hr><p>Call me on Monday.</p>";
        assert_eq!(html_reply_text(html), "Yes.\n\nCall me on Monday.");
    }

    #[test]
    fn quote_containers_are_left_out_and_bottom_posting_kept() {
        let html = "<div>Top.</div><div class=\"gmail_quote\">On x wrote:<blockquote>\
            <div><blockquote>deep</blockquote>quoted</div></blockquote></div><div>Below.</div>";
        assert_eq!(html_reply_text(html), "Top.\nBelow.");
        let html = "<div>Hi</div><div id=\"yahoo_quoted_1\" class=\"yahoo_quoted\"><div>q</div>";
        assert_eq!(html_reply_text(html), "Hi");
    }

    #[test]
    fn broken_html_stays_text_and_linear() {
        assert_eq!(html_reply_text("a < b and c"), "a < b and c");
        let hostile = "<a".repeat(100_000);
        let started = std::time::Instant::now();
        html_reply_text(&hostile);
        let hostile = "<blockquote>".repeat(50_000);
        assert_eq!(html_reply_text(&hostile), "");
        assert!(started.elapsed().as_secs() < 2);
    }
}
