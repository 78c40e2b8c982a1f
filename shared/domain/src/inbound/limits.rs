//! R-9.6's bounds on what the inbound parser reads: over 25 MB, nested deeper
//! than 20 levels or with more than 500 parts, a message is `too_complex` and
//! is not parsed at all.
//!
//! mail-parser builds a message attached as `message/rfc822` as a value inside
//! its parent, so a message nested thousands of levels deep is a structure
//! thousands of levels deep, and dropping or copying it recurses until the
//! stack overflows (an abort, not a panic). The scan here decides before
//! mail-parser runs, with a loop and a heap stack of open multiparts: it
//! follows the MIME tree as mail-parser does (boundaries at line starts,
//! `message/rfc822` and `message/global` bodies read as messages, parts of a
//! `multipart/digest` without a `Content-Type` too), decodes a base64 or
//! quoted-printable message part to look inside it (mail-parser does, three
//! levels deep), and counts every entity. As a second, structure-blind bound,
//! the `Content-Type` fields at line starts are counted too: every level of
//! nesting needs one, so a scan that misread the tree still bounds it.

/// Larger messages are not read (R-9.6).
pub const MAX_BYTES: usize = 25 * 1024 * 1024;
/// Deeper nesting is not read (R-9.6): levels of multiparts and attached messages.
pub const MAX_DEPTH: usize = 20;
/// More parts are not read (R-9.6): every entity counts, containers included.
pub const MAX_PARTS: usize = 500;

/// How many encoded message parts deep the scan decodes (mail-parser: 3).
const MAX_DECODED: usize = 4;

/// Whether `raw` is over R-9.6's limits. Linear in the input (each byte is
/// looked at a bounded number of times), no recursion beyond
/// [`MAX_DECODED`] levels.
pub fn too_complex(raw: &[u8]) -> bool {
    if raw.len() > MAX_BYTES {
        return true;
    }
    let mut parts = 0;
    scan(raw, 0, 0, &mut parts).is_err()
}

struct Over;

/// An open multipart: its boundary, the depth of its children, whether it is a digest.
struct Open {
    boundary: Vec<u8>,
    child_depth: usize,
    digest: bool,
}

fn scan(raw: &[u8], depth: usize, decoded: usize, parts: &mut usize) -> Result<(), Over> {
    if content_type_lines(raw) > MAX_PARTS {
        return Err(Over);
    }
    let mut open: Vec<Open> = Vec::new();
    let mut pos = 0;
    let mut depth = depth;
    let mut in_digest = false;
    loop {
        // An entity starts at `pos`: its header block, then its body.
        *parts += 1;
        if *parts > MAX_PARTS || depth > MAX_DEPTH {
            return Err(Over);
        }
        let head = read_head(raw, pos);
        pos = head.body;
        match head.kind(in_digest) {
            Kind::Multipart { boundary, digest } => {
                open.push(Open {
                    boundary,
                    child_depth: depth + 1,
                    digest,
                });
            }
            Kind::Message if head.encoded() => {
                let end = next_delimiter(raw, pos, &open).map_or(raw.len(), |d| d.start);
                if decoded < MAX_DECODED {
                    let inner = decode(&raw[pos..end], head.base64());
                    scan(&inner, depth + 1, decoded + 1, parts)?;
                }
            }
            Kind::Message => {
                // The attached message's header block starts right here.
                depth += 1;
                in_digest = false;
                continue;
            }
            Kind::Leaf => {}
        }
        // The next entity starts after the next delimiter of an open multipart.
        loop {
            let Some(d) = next_delimiter(raw, pos, &open) else {
                return Ok(());
            };
            open.truncate(d.open + 1);
            pos = d.end;
            if d.close {
                open.pop();
                continue;
            }
            let parent = &open[d.open];
            depth = parent.child_depth;
            in_digest = parent.digest;
            break;
        }
    }
}

/// `Content-Type` fields at the start of a line, anywhere in `raw`.
fn content_type_lines(raw: &[u8]) -> usize {
    const NAME: &[u8] = b"content-type:";
    let starts = std::iter::once(0).chain(
        raw.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1),
    );
    starts
        .filter(|&i| {
            raw.get(i..i + NAME.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(NAME))
        })
        .count()
}

/// What the header block of an entity says about its body.
struct Head {
    content_type: Option<String>,
    transfer_encoding: Option<String>,
    /// Where the body starts.
    body: usize,
}

enum Kind {
    Multipart { boundary: Vec<u8>, digest: bool },
    Message,
    Leaf,
}

impl Head {
    fn kind(&self, in_digest: bool) -> Kind {
        let Some(ct) = &self.content_type else {
            return if in_digest { Kind::Message } else { Kind::Leaf };
        };
        let mut params = ct.split(';');
        let mime = params
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let (main, sub) = mime.split_once('/').unwrap_or((mime.as_str(), ""));
        let (main, sub) = (main.trim(), sub.trim());
        if main == "message" && matches!(sub, "rfc822" | "global") {
            return Kind::Message;
        }
        if main != "multipart" {
            return Kind::Leaf;
        }
        let boundary = params.find_map(|p| {
            let (name, value) = p.split_once('=')?;
            let name = name.trim().to_ascii_lowercase();
            // `boundary*0=` (RFC 2231) is read as the first piece: enough to count.
            (name == "boundary" || name.starts_with("boundary*"))
                .then(|| value.trim().trim_matches('"').as_bytes().to_vec())
        });
        match boundary {
            Some(boundary) if !boundary.is_empty() => Kind::Multipart {
                boundary,
                digest: sub == "digest",
            },
            _ => Kind::Leaf,
        }
    }

    fn encoded(&self) -> bool {
        self.transfer_encoding.as_deref().is_some_and(|e| {
            e.eq_ignore_ascii_case("base64") || e.eq_ignore_ascii_case("quoted-printable")
        })
    }

    fn base64(&self) -> bool {
        self.transfer_encoding
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("base64"))
    }
}

/// The header block at `pos`: up to the first empty line (or the end).
fn read_head(raw: &[u8], pos: usize) -> Head {
    let mut head = Head {
        content_type: None,
        transfer_encoding: None,
        body: raw.len(),
    };
    let mut field: Option<(usize, Vec<u8>)> = None; // (which, value so far)
    let mut i = pos;
    let finish = |field: &mut Option<(usize, Vec<u8>)>, head: &mut Head| {
        if let Some((which, value)) = field.take() {
            let value = String::from_utf8_lossy(&value).trim().to_owned();
            match which {
                0 => head.content_type = Some(value),
                _ => head.transfer_encoding = Some(value),
            }
        }
    };
    while i < raw.len() {
        let end = line_end(raw, i);
        let line = &raw[i..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let next = (end + 1).min(raw.len());
        if line.is_empty() {
            finish(&mut field, &mut head);
            head.body = next;
            return head;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some((_, value)) = field.as_mut() {
                value.push(b' ');
                value.extend_from_slice(line);
            }
        } else {
            finish(&mut field, &mut head);
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                let name = line[..colon].trim_ascii();
                let value = line[colon + 1..].to_vec();
                if name.eq_ignore_ascii_case(b"content-type") {
                    field = Some((0, value));
                } else if name.eq_ignore_ascii_case(b"content-transfer-encoding") {
                    field = Some((1, value));
                }
            }
        }
        i = next;
        if end == raw.len() {
            break;
        }
    }
    finish(&mut field, &mut head);
    head
}

/// A delimiter line of an open multipart.
struct Delimiter {
    /// Which open multipart (the innermost that matches).
    open: usize,
    /// `--boundary--`: the multipart ends.
    close: bool,
    /// Where the delimiter line starts, and where the line after it does.
    start: usize,
    end: usize,
}

/// Where the line starting at `from` ends: its `\n`, or the end of `raw`.
fn line_end(raw: &[u8], from: usize) -> usize {
    raw[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(raw.len(), |n| from + n)
}

/// The first line at or after `from` that is `--boundary` of an open multipart.
fn next_delimiter(raw: &[u8], from: usize, open: &[Open]) -> Option<Delimiter> {
    if open.is_empty() {
        return None;
    }
    let mut i = from;
    while i < raw.len() {
        let end = line_end(raw, i);
        let line = &raw[i..end];
        if let Some(rest) = line.strip_prefix(b"--") {
            for (index, o) in open.iter().enumerate().rev() {
                if let Some(after) = rest.strip_prefix(o.boundary.as_slice()) {
                    return Some(Delimiter {
                        open: index,
                        close: after.starts_with(b"--"),
                        start: i,
                        end: (end + 1).min(raw.len()),
                    });
                }
            }
        }
        i = end + 1;
    }
    None
}

/// A base64 or quoted-printable body, decoded leniently (bad input is skipped).
fn decode(body: &[u8], base64: bool) -> Vec<u8> {
    if base64 {
        let mut out = Vec::with_capacity(body.len() / 4 * 3);
        let (mut buffer, mut bits) = (0u32, 0);
        for &b in body {
            let v = match b {
                b'A'..=b'Z' => b - b'A',
                b'a'..=b'z' => b - b'a' + 26,
                b'0'..=b'9' => b - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => continue,
            };
            buffer = (buffer << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((buffer >> bits) as u8);
                buffer &= (1 << bits) - 1;
            }
        }
        return out;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'=' if body
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
            {
                let hex = std::str::from_utf8(&body[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 3;
            }
            b'=' if body.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' if body.get(i + 1..i + 3) == Some(b"\r\n") => i += 3,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> Vec<u8> {
        let mut raw = String::new();
        for _ in 0..levels {
            raw.push_str("Content-Type: message/rfc822\r\n\r\n");
        }
        raw.push_str("Subject: inner\r\n\r\nhi\r\n");
        raw.into_bytes()
    }

    fn multipart(children: usize) -> Vec<u8> {
        let mut raw = String::from("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
        for i in 0..children {
            raw.push_str(&format!(
                "--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n"
            ));
        }
        raw.push_str("--b--\r\n");
        raw.into_bytes()
    }

    #[test]
    fn depth_counts_attached_messages_and_stops_past_twenty() {
        // R-9.6: the top is level 0, so 20 attached levels pass and 21 do not.
        assert!(!too_complex(&nested(20)));
        assert!(too_complex(&nested(21)));
        assert!(too_complex(&nested(20_000)));
    }

    #[test]
    fn parts_count_every_entity() {
        // R-9.6: the container and 499 children are 500 parts.
        assert!(!too_complex(&multipart(499)));
        assert!(too_complex(&multipart(500)));
    }

    #[test]
    fn siblings_are_not_depth() {
        // Forty messages attached side by side are two levels deep, not forty.
        let mut raw = String::from("Content-Type: multipart/mixed; boundary=b\r\n\r\n");
        for _ in 0..40 {
            raw.push_str("--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\nhi\r\n");
        }
        raw.push_str("--b--\r\n");
        assert!(!too_complex(raw.as_bytes()));
    }

    #[test]
    fn a_base64_attached_message_is_looked_into() {
        let inner = nested(25);
        let mut encoded = String::new();
        const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for chunk in inner.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
            for k in 0..=chunk.len() {
                encoded.push(char::from(B64[((n >> (18 - 6 * k)) & 63) as usize]));
            }
        }
        let raw = format!(
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--b--\r\n"
        );
        assert!(too_complex(raw.as_bytes()));
    }

    #[test]
    fn size_over_25_mb_is_too_complex() {
        let mut raw = b"Subject: big\r\n\r\n".to_vec();
        raw.resize(MAX_BYTES + 1, b'a');
        assert!(too_complex(&raw));
        raw.truncate(MAX_BYTES);
        assert!(!too_complex(&raw));
    }
}
