//! The plain-text part derived from a rendered HTML body when a step gives none (R-4.1:
//! the text part is optional): a small, dependency-free reading of the HTML that keeps
//! what a person reads, links to the web with their target.

/// Plain text from rendered HTML, for the text/plain part when none is given.
///
/// Deliberately small: tags are dropped, `<script>`/`<style>` contents too;
/// block elements (`p`, `div`, `li`, `br`, headings, table rows) become line
/// breaks; links to http(s) URLs keep their target as "text (url)"; the usual
/// named entities and numeric ones are decoded; runs of blank lines collapse
/// to one.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    // The href of the open <a> and where its text starts in `out`.
    let mut link: Option<(String, usize)> = None;
    let mut rest = html;
    // Once a '<' finds no '>' after it, no tag can follow: the rest is text (linear time
    // for hostile input such as "<a<a<a…").
    let mut tags_left = true;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        // As in browsers, '<' opens a tag only before a letter, '/' or '!'.
        let opens_tag = rest.starts_with('<')
            && rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!');
        let tag_end = if opens_tag && tags_left {
            rest.find('>')
        } else {
            None
        };
        tags_left &= !opens_tag || tag_end.is_some();
        if let Some(end) = tag_end {
            let tag = Tag::parse(&rest[1..end]);
            rest = &rest[end + 1..];
            match tag.name.as_str() {
                "script" | "style" | "head" | "title" if !tag.closing => {
                    rest = skip_element(rest, &tag.name);
                }
                "br" => out.push('\n'),
                "p" => break_line(&mut out, 2),
                "div" | "li" | "tr" | "ul" | "ol" | "table" | "blockquote" | "hr" | "h1" | "h2"
                | "h3" | "h4" | "h5" | "h6" => break_line(&mut out, 1),
                "a" if !tag.closing => link = tag.href.map(|href| (href, out.len())),
                "a" => {
                    if let Some((href, start)) = link.take() {
                        // `get`: a block tag inside the link may have trimmed `out`.
                        let label = out.get(start..).unwrap_or_default().trim();
                        let is_web = href.starts_with("http://") || href.starts_with("https://");
                        if is_web && !label.contains(href.as_str()) {
                            // Right after the label, before any line break a
                            // block inside the link left behind.
                            let tail = out.split_off(out.trim_end().len());
                            out.push_str(&format!(" ({href})"));
                            out.push_str(&tail);
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        // Text up to the next tag; a '<' that opens no tag is text too.
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let end = rest[first..].find('<').map_or(rest.len(), |i| i + first);
        push_text(&mut out, &rest[..end]);
        rest = &rest[end..];
    }
    tidy_lines(&out)
}

/// The parts of a tag that matter for text extraction.
struct Tag {
    name: String,
    closing: bool,
    href: Option<String>,
}

impl Tag {
    /// Parses the inside of `<…>`.
    fn parse(inner: &str) -> Tag {
        let inner = inner.trim();
        let (closing, inner) = match inner.strip_prefix('/') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, inner),
        };
        let name_len = inner
            .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
            .unwrap_or(inner.len());
        let name = inner[..name_len].to_ascii_lowercase();
        let href = if name == "a" && !closing {
            attribute(&inner[name_len..], "href")
        } else {
            None
        };
        Tag {
            name,
            closing,
            href,
        }
    }
}

/// The entity-decoded value of attribute `wanted` in a tag's attribute list.
fn attribute(attrs: &str, wanted: &str) -> Option<String> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let name_len = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        rest = rest[name_len..].trim_start();
        let mut value = "";
        if let Some(after_eq) = rest.strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            let (v, tail) = match after_eq.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after_eq[1..];
                    let end = body.find(q).unwrap_or(body.len());
                    (&body[..end], body.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after_eq.find(char::is_whitespace).unwrap_or(after_eq.len());
                    (&after_eq[..end], &after_eq[end..])
                }
            };
            value = v;
            rest = tail;
        }
        if name.eq_ignore_ascii_case(wanted) {
            let mut decoded = String::new();
            decode_entities(value.trim(), &mut decoded);
            return Some(decoded);
        }
    }
}

/// Ends the current line so that the text ends with `newlines` line breaks
/// (1: next line, 2: blank line), without stacking breaks from nested blocks.
fn break_line(out: &mut String, newlines: usize) {
    out.truncate(out.trim_end_matches(' ').len());
    let present = out.len() - out.trim_end_matches('\n').len();
    for _ in present..newlines {
        out.push('\n');
    }
}

/// Skips past `</name>` (case-insensitive), or to the end.
fn skip_element<'a>(rest: &'a str, name: &str) -> &'a str {
    for (at, _) in rest.match_indices("</") {
        let candidate = rest.as_bytes().get(at + 2..at + 2 + name.len());
        if candidate.is_some_and(|c| c.eq_ignore_ascii_case(name.as_bytes())) {
            return rest[at..].find('>').map_or("", |end| &rest[at + end + 1..]);
        }
    }
    ""
}

/// Appends a text run: source whitespace collapses to one space, as a browser
/// would show it; entities are decoded afterwards so `&nbsp;` survives.
fn push_text(out: &mut String, text: &str) {
    let mut collapsed = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            if !in_space {
                collapsed.push(' ');
            }
            in_space = true;
        } else {
            collapsed.push(c);
            in_space = false;
        }
    }
    decode_entities(&collapsed, out);
}

/// Decodes `&amp; &lt; &gt; &quot; &#39; &apos; &nbsp;` and numeric entities;
/// anything else is kept as written.
fn decode_entities(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        // Entities are short; the ';' is ASCII, so the index is a char boundary.
        let semi = rest.bytes().take(12).position(|b| b == b';');
        let decoded = semi.and_then(|semi| {
            let entity = &rest[1..semi];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => entity.strip_prefix('#').and_then(|num| {
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => num.parse::<u32>().ok(),
                    };
                    code.and_then(char::from_u32)
                        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
                }),
            };
            c.map(|c| (c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

/// Trims every line and keeps at most one blank line in a row.
fn tidy_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        out.push_str(line);
        blank_run = 0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_to_text_keeps_the_readable_parts() {
        let html = "<html><head><title>t</title><style>p { color: red }</style></head><body>\n\
            <p>Hi   Ada,</p><p>Line one<br>Line two<BR/>\n</p>\
            <ul><li>One &amp; two</li><li>&lt;3 &quot;q&quot; &#39;s&#39; &#x263A; &#8364;&nbsp;5</li></ul>\
            <div>See <a href=\"https://example.com/jobs?a=1&amp;b=2\">the role</a> or \
            <a href='https://example.com'>https://example.com</a>.</div>\
            <script>alert(1)</script><!-- hidden --><p>a < b, café &unknown; &amp</p>\n\n\n<p>Bye</p></body></html>";
        assert_eq!(
            html_to_text(html),
            "Hi Ada,\n\nLine one\nLine two\n\nOne & two\n<3 \"q\" 's' ☺ € 5\n\
             See the role (https://example.com/jobs?a=1&b=2) or https://example.com.\n\n\
             a < b, café &unknown; &amp\n\nBye"
        );
        assert_eq!(html_to_text("plain"), "plain");
        assert_eq!(html_to_text("<SCRIPT>x</Script >y"), "y");
        assert_eq!(
            html_to_text("x<br> <a href='https://e.com'><div>y</div></a>"),
            "x\ny (https://e.com)"
        );
        assert_eq!(html_to_text("é<"), "é<");
    }
}
