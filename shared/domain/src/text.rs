//! Bounded text kept from outside input (issue 19 item 4): what a store keeps of
//! a subject, a bounce's diagnostic or a reason string is cut to a fixed number
//! of characters, so a record that holds it always fits the item limit.

use std::borrow::Cow;

/// Most characters kept of a reason or diagnostic (an attempt's `reason`, an
/// enrollment event's `detail`, a blocked reason).
pub const MAX_REASON_CHARS: usize = 1_000;

/// Most characters kept of an inbound message's subject: RFC 5322's line limit,
/// the same bound puts on a step's subject.
pub const MAX_SUBJECT_CHARS: usize = crate::render::MAX_SUBJECT_CHARS;

/// The ellipsis that ends a cut text.
const ELLIPSIS: char = '…';

/// `text` when it has at most `max_chars` characters (Unicode scalar values);
/// else its first `max_chars - 1` characters and an ellipsis, so the result
/// never has more than `max_chars` characters and is cut on a char boundary.
pub fn bounded(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let keep = max_chars.saturating_sub(1);
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            let mut cut = String::with_capacity(end + ELLIPSIS.len_utf8());
            cut.push_str(&text[..end]);
            if max_chars > 0 {
                cut.push(ELLIPSIS);
            }
            Cow::Owned(cut)
        }
    }
}

/// [`bounded`] to [`MAX_REASON_CHARS`], owned.
pub fn reason(text: &str) -> String {
    bounded(text, MAX_REASON_CHARS).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_text_is_kept_as_it_is() {
        assert_eq!(bounded("abc", 3), "abc");
        assert!(matches!(bounded("abc", 3), Cow::Borrowed(_)));
        assert_eq!(bounded("", 0), "");
    }

    #[test]
    fn a_long_text_is_cut_on_a_char_boundary_with_an_ellipsis() {
        assert_eq!(bounded("abcd", 3), "ab…");
        let s = "é".repeat(2_000);
        let cut = bounded(&s, MAX_SUBJECT_CHARS);
        assert_eq!(cut.chars().count(), MAX_SUBJECT_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(
            reason(&"D".repeat(90_000)).chars().count(),
            MAX_REASON_CHARS
        );
    }
}
