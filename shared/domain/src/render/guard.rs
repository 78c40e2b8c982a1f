//! The template guard: a scan of a template's source that runs before
//! MiniJinja sees it (R-4.2, issue 9).
//!
//! MiniJinja parses and compiles by recursion, and several constructs
//! (`- - -1`, `not not x`, `a + a + …`, `x|f|f|…`, `x.a.a…`) nest without its
//! own recursion guard; a 100 KB template can overflow a 2 MiB stack, which
//! aborts the process. Fuel bounds time but not memory: a few bytes of
//! `'x' * 100000000`, or a value doubled by `{% set x = x ~ x %}` thirty times,
//! allocate gigabytes in one instruction each. So the guard:
//!
//! - refuses a template nested more than [`MAX_NESTING`] levels deep, counting
//!   open blocks, brackets and the operators of one expression (an upper bound
//!   of the depth of MiniJinja's syntax tree);
//! - refuses the constructs that build values outside every budget: string and
//!   list repetition (`*`), blocks that capture their output in memory
//!   (`macro`, `call`, `filter`, block `set`, `with`), recursive loops, and
//!   `autoescape`, which would turn off the escaping of merged values;
//! - rewrites what a `set` assigns and what a `for` iterates as
//!   `__outreach_bounded((…))`, so every value a template names is measured
//!   against the render's working budget.
//!
//! The scan mirrors MiniJinja's lexer (delimiters, whitespace markers, string
//! escapes, `raw` sections); where it cannot follow the source, MiniJinja
//! reports the syntax error itself.

use std::borrow::Cow;

/// Deepest nesting of blocks, brackets and operators a template may use. Real
/// templates stay below ten; MiniJinja itself overflows a 2 MiB stack in the
/// thousands (debug builds), and refuses bracket nesting beyond 150.
pub const MAX_NESTING: usize = 100;

/// The function the guard wraps around every `set` value and `for` iterable.
pub const BOUNDED_FN: &str = "__outreach_bounded";

/// Most `~` and `+` one tag may use. Each joins two values (named ones of up
/// to [`MAX_NAMED_BYTES`](super::MAX_NAMED_BYTES)) into a new one, which no
/// budget check sees; real templates join a handful.
pub const MAX_CONCATENATIONS: usize = 8;

/// Words that may stand before `(` without calling a function.
const KEYWORDS: &[&str] = &[
    "and", "elif", "else", "for", "if", "in", "is", "not", "or", "set",
];

/// Checks `source` and returns the text to hand to MiniJinja (rewritten when it
/// assigns or iterates), or why the template is refused.
pub fn check(source: &str) -> Result<Cow<'_, str>, String> {
    let bytes = source.as_bytes();
    let mut inserts: Vec<(usize, &'static str)> = Vec::new();
    let mut blocks = 0usize;
    let mut at = 0;
    while let Some(start) = next_tag(bytes, at) {
        if bytes[start + 1] == b'#' {
            at = find(bytes, start + 2, b"#}").map_or(bytes.len(), |end| end + 2);
            continue;
        }
        let is_block = bytes[start + 1] == b'%';
        let mut pos = start + 2;
        if matches!(bytes.get(pos), Some(b'-' | b'+')) {
            pos += 1;
        }
        let (tokens, end) = lex_tag(source, pos, is_block);
        at = end;
        let keyword = match tokens.first() {
            Some(t) if is_block => t.ident(source),
            _ => None,
        };
        if keyword == Some("raw") {
            at = end_of_raw(bytes, end);
            continue;
        }
        check_tag(source, &tokens, keyword, &mut blocks, &mut inserts)
            .map_err(|why| format!("{why} (line {})", line_of(source, start)))?;
    }
    Ok(apply_inserts(source, inserts))
}

/// The rules of the module docs for one tag, whose first word is `keyword` when it is a
/// block: no `*` repetition, no nesting past [`MAX_NESTING`] (counting the `blocks` open
/// around it), only allowed calls ([`check_calls`]), no block that captures its output or
/// turns off escaping, no recursive loop. Counts the blocks it opens and closes, and notes
/// in `inserts` where a `set` value or a `for` iterable is wrapped in [`BOUNDED_FN`].
fn check_tag(
    source: &str,
    tokens: &[Token],
    keyword: Option<&str>,
    blocks: &mut usize,
    inserts: &mut Vec<(usize, &'static str)>,
) -> Result<(), String> {
    if tokens
        .iter()
        .any(|t| t.kind == Kind::Op && t.text(source) == "*")
    {
        return Err("`*` (repeating a string or a list) is not available in templates".into());
    }
    let depth = *blocks + expression_depth(source, tokens);
    if depth > MAX_NESTING {
        return Err(format!(
            "the template nests more than {MAX_NESTING} levels deep (blocks, brackets and operators)"
        ));
    }
    check_calls(source, tokens)?;
    match keyword {
        Some(k @ ("macro" | "call" | "filter" | "with" | "block" | "autoescape")) => {
            return Err(format!(
                "`{{% {k} %}}` is not available in templates: use `if`, `for` and `set`"
            ));
        }
        Some("set") => {
            let Some(eq) = top_level(tokens, source, |t, s| t.kind == Kind::Assign && s == "=")
            else {
                return Err(
                    "a `{% set %}` block is not available in templates: assign with `{% set x = … %}`"
                        .into(),
                );
            };
            wrap(tokens, eq + 1, tokens.len(), inserts);
        }
        Some("for") => {
            if tokens.iter().any(|t| t.ident(source) == Some("recursive")) {
                return Err("recursive loops are not available in templates".into());
            }
            wrap_iterable(source, tokens, inserts);
            *blocks += 1;
        }
        Some("if") => *blocks += 1,
        Some(k) if k.starts_with("end") => *blocks = blocks.saturating_sub(1),
        _ => {}
    }
    Ok(())
}

/// Wraps what a `for` tag iterates: the expression after `in`, up to a loop filter's
/// `if` when there is one.
fn wrap_iterable(source: &str, tokens: &[Token], inserts: &mut Vec<(usize, &'static str)>) {
    if let Some(in_at) = top_level(tokens, source, |t, s| t.kind == Kind::Ident && s == "in") {
        let end = top_level(&tokens[in_at + 1..], source, |t, s| {
            t.kind == Kind::Ident && s == "if"
        })
        .map_or(tokens.len(), |i| in_at + 1 + i);
        wrap(tokens, in_at + 1, end, inserts);
    }
}

/// `source` with each `(position, text)` of `inserts` (in source order) inserted;
/// borrowed when there is nothing to insert.
fn apply_inserts<'s>(source: &'s str, inserts: Vec<(usize, &'static str)>) -> Cow<'s, str> {
    if inserts.is_empty() {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() + inserts.len() * 24);
    let mut copied = 0;
    for (pos, text) in inserts {
        out.push_str(&source[copied..pos]);
        out.push_str(text);
        copied = pos;
    }
    out.push_str(&source[copied..]);
    Cow::Owned(out)
}

/// Refuses the filters, tests, functions and methods that are not on the
/// allow-list ([`super::allowed`]), `loop.cycle()` without arguments (which
/// MiniJinja would divide by zero) and more than [`MAX_CONCATENATIONS`]
/// concatenations, so a template that would fail on them is refused when it
/// is saved.
fn check_calls(source: &str, tokens: &[Token]) -> Result<(), String> {
    use super::allowed::{FUNCTIONS, METHODS, TESTS, filter_names};
    let concatenations = tokens
        .iter()
        .filter(|t| t.kind == Kind::Op && matches!(t.text(source), "~" | "+"))
        .count();
    if concatenations > MAX_CONCATENATIONS {
        return Err(format!(
            "one tag joins values with `~` or `+` more than {MAX_CONCATENATIONS} times: use `{{% set %}}` for the parts"
        ));
    }
    let text = |i: usize| tokens.get(i).map(|t| t.text(source));
    let op =
        |i: usize, s: &str| tokens.get(i).is_some_and(|t| t.kind == Kind::Op) && text(i) == Some(s);
    for (i, t) in tokens.iter().enumerate() {
        let Some(name) = t.ident(source) else {
            continue;
        };
        let before = i.checked_sub(1);
        let after_is = before.is_some_and(|b| text(b) == Some("is"))
            || (before.is_some_and(|b| text(b) == Some("not"))
                && before
                    .and_then(|b| b.checked_sub(1))
                    .is_some_and(|bb| text(bb) == Some("is")));
        let called = tokens
            .get(i + 1)
            .is_some_and(|n| n.kind == Kind::Open && n.text(source) == "(");
        if before.is_some_and(|b| op(b, "|")) {
            if !filter_names().any(|f| f == name) {
                return Err(format!("there is no filter `{name}` in templates"));
            }
        } else if after_is && name != "not" {
            if !TESTS.contains(&name) {
                return Err(format!("there is no test `{name}` in templates"));
            }
        } else if before.is_some_and(|b| op(b, ".")) {
            if called {
                if !METHODS.contains(&name) {
                    return Err(format!("there is no method `{name}` in templates"));
                }
                if name == "cycle" && text(i + 2) == Some(")") {
                    return Err("`cycle()` needs at least one value".into());
                }
            }
        } else if called && !KEYWORDS.contains(&name) && !FUNCTIONS.contains(&name) {
            return Err(format!(
                "there is no function `{name}` in templates (available: range, dict)"
            ));
        }
    }
    Ok(())
}

/// Wraps `tokens[from..to]` (an expression) in the bounding function.
fn wrap(tokens: &[Token], from: usize, to: usize, inserts: &mut Vec<(usize, &'static str)>) {
    if from < to {
        inserts.push((tokens[from].start, "__outreach_bounded(("));
        inserts.push((tokens[to - 1].end, "))"));
    }
}

/// The index of the first token outside any bracket that satisfies `wanted`.
fn top_level(
    tokens: &[Token],
    source: &str,
    wanted: impl Fn(&Token, &str) -> bool,
) -> Option<usize> {
    let mut balance = 0isize;
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            Kind::Open => balance += 1,
            Kind::Close => balance -= 1,
            _ if balance == 0 && wanted(t, t.text(source)) => return Some(i),
            _ => {}
        }
    }
    None
}

/// An upper bound of the syntax-tree depth of one tag's expression: brackets
/// open, plus the operators of the current item at each open level (items
/// separated by `,` `:` or `=` are siblings, not nested).
fn expression_depth(source: &str, tokens: &[Token]) -> usize {
    let mut levels: Vec<usize> = vec![0];
    let mut deepest = 0;
    for t in tokens {
        match t.kind {
            Kind::Open => levels.push(0),
            Kind::Close if levels.len() > 1 => {
                levels.pop();
            }
            Kind::Separator | Kind::Assign => *levels.last_mut().expect("a level") = 0,
            Kind::Op => *levels.last_mut().expect("a level") += 1,
            Kind::Ident
                if matches!(
                    t.text(source),
                    "and" | "or" | "not" | "in" | "is" | "if" | "else"
                ) =>
            {
                *levels.last_mut().expect("a level") += 1
            }
            _ => {}
        }
        deepest = deepest.max(levels.len() - 1 + levels.iter().sum::<usize>());
    }
    deepest
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    Op,
    Open,
    Close,
    Separator,
    Assign,
    Literal,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

impl Token {
    fn text<'s>(&self, source: &'s str) -> &'s str {
        &source[self.start..self.end]
    }

    fn ident<'s>(&self, source: &'s str) -> Option<&'s str> {
        (self.kind == Kind::Ident).then(|| self.text(source))
    }
}

/// The start of the next `{{`, `{%` or `{#` at or after `from`.
fn next_tag(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < bytes.len() {
        if bytes[i] == b'{' && matches!(bytes[i + 1], b'{' | b'%' | b'#') {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| from + i)
}

/// Where the text after `{% raw %}` ends: past the matching `{% endraw %}`, or
/// the end of the source.
fn end_of_raw(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(start) = find(bytes, at, b"{%") {
        let mut p = start + 2;
        if matches!(bytes.get(p), Some(b'-' | b'+')) {
            p += 1;
        }
        while bytes.get(p).is_some_and(u8::is_ascii_whitespace) {
            p += 1;
        }
        if bytes[p..].starts_with(b"endraw") {
            p += "endraw".len();
            while bytes.get(p).is_some_and(u8::is_ascii_whitespace) {
                p += 1;
            }
            if matches!(bytes.get(p), Some(b'-' | b'+')) {
                p += 1;
            }
            if bytes[p..].starts_with(b"%}") {
                return p + 2;
            }
        }
        at = start + 2;
    }
    bytes.len()
}

/// The tokens of one tag starting at `pos` (after its opening delimiter) and
/// where the tag ends. An unterminated tag runs to the end of the source.
fn lex_tag(source: &str, mut pos: usize, is_block: bool) -> (Vec<Token>, usize) {
    let bytes = source.as_bytes();
    let close: &[u8] = if is_block { b"%}" } else { b"}}" };
    let mut tokens = Vec::new();
    let mut balance = 0isize;
    loop {
        while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
            pos += 1;
        }
        let Some(&c) = bytes.get(pos) else {
            return (tokens, pos);
        };
        // A closing delimiter inside brackets belongs to a map literal.
        if balance == 0 {
            let rest = &bytes[pos..];
            if rest.starts_with(close) {
                return (tokens, pos + 2);
            }
            if matches!(c, b'-' | b'+') && rest[1..].starts_with(close) {
                return (tokens, pos + 3);
            }
        }
        let (kind, end) = lex_token(source, pos);
        match kind {
            Kind::Open => balance += 1,
            Kind::Close => balance -= 1,
            _ => {}
        }
        tokens.push(Token {
            kind,
            start: pos,
            end,
        });
        pos = end;
    }
}

/// The kind of the token at `pos` (not whitespace) and where it ends, as MiniJinja's
/// lexer reads it: operators of one or two characters, separators, brackets, string
/// literals with their escapes, numbers and names. Anything else is a syntax error for
/// MiniJinja; the scan steps over one character.
fn lex_token(source: &str, pos: usize) -> (Kind, usize) {
    let bytes = source.as_bytes();
    if matches!(
        bytes.get(pos..pos + 2),
        Some(b"//" | b"**" | b"==" | b"!=" | b">=" | b"<=")
    ) {
        return (Kind::Op, pos + 2);
    }
    match bytes[pos] {
        b'+' | b'-' | b'*' | b'/' | b'%' | b'.' | b'~' | b'|' | b'>' | b'<' => (Kind::Op, pos + 1),
        b',' | b':' => (Kind::Separator, pos + 1),
        b'=' => (Kind::Assign, pos + 1),
        b'(' | b'[' | b'{' => (Kind::Open, pos + 1),
        b')' | b']' | b'}' => (Kind::Close, pos + 1),
        quote @ (b'\'' | b'"') => (Kind::Literal, end_of_string(bytes, pos + 1, quote)),
        b'0'..=b'9' => (Kind::Literal, end_of_number(bytes, pos)),
        b if b.is_ascii_alphabetic() || b == b'_' => (Kind::Ident, end_of_name(bytes, pos)),
        _ => {
            let width = source[pos..].chars().next().map_or(1, char::len_utf8);
            (Kind::Other, pos + width)
        }
    }
}

/// Past the closing `quote` of a string literal whose text starts at `pos` (a backslash
/// escapes the next byte), or the end of the source.
fn end_of_string(bytes: &[u8], mut pos: usize, quote: u8) -> usize {
    while let Some(&b) = bytes.get(pos) {
        pos += if b == b'\\' { 2 } else { 1 };
        if b == quote {
            break;
        }
    }
    pos.min(bytes.len())
}

/// Past a number starting at `pos`: digits, letters and underscores (`1_000`, `1e5`), then
/// a fraction when a digit follows the dot.
fn end_of_number(bytes: &[u8], pos: usize) -> usize {
    let pos = end_of_name(bytes, pos);
    if bytes.get(pos) == Some(&b'.') && bytes.get(pos + 1).is_some_and(u8::is_ascii_digit) {
        end_of_name(bytes, pos + 1)
    } else {
        pos
    }
}

/// Past the letters, digits and underscores starting at `pos`.
fn end_of_name(bytes: &[u8], mut pos: usize) -> usize {
    while bytes
        .get(pos)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        pos += 1;
    }
    pos
}

fn line_of(source: &str, at: usize) -> usize {
    source[..at].bytes().filter(|b| *b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(source: &str) -> String {
        check(source).expect_err(source)
    }

    #[test]
    fn ordinary_templates_pass_unchanged() {
        for source in [
            "Hi {{ candidate.first_name | default('there') }},",
            "{% if candidate.company %}at {{ candidate.company }}{% else %}x{% endif %}",
            "{{ '}}' }} {{ \"%}\" }} {# {{ * }} #}",
            "{% raw %}{{ 'x' * 3 }}{% macro %}{% endraw %}{{ 2 ** 3 }}",
            "{{ a ~ b ~ c }} {{ [1, 2, {'a': (1)}] }}",
        ] {
            assert_eq!(check(source), Ok(Cow::Borrowed(source)), "{source}");
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        // issue 9: each of these overflowed the stack in MiniJinja.
        let depth = MAX_NESTING + 1;
        for source in [
            format!("{{{{ {}1 }}}}", "-".repeat(depth)),
            format!("{{{{ {}true }}}}", "not ".repeat(depth)),
            format!("{{{{ {}1{} }}}}", "(".repeat(depth), ")".repeat(depth)),
            format!("{{{{ 'x'{} }}}}", "|upper".repeat(depth)),
            format!("{{{{ candidate{} }}}}", ".a".repeat(depth)),
            format!("{{{{ 1{} }}}}", " + 1".repeat(depth)),
            format!(
                "{}x{}",
                "{% if true %}".repeat(depth),
                "{% endif %}".repeat(depth)
            ),
            format!("{{{{ {}1", "-".repeat(depth)),
        ] {
            assert!(refused(&source).contains("nests more than"), "{source}");
        }
        // Siblings are not nested.
        let list = format!("{{{{ [{}] }}}}", "a|upper, ".repeat(500));
        assert!(check(&list).is_ok());
        let ifs = "{% if a %}x{% endif %}".repeat(500);
        assert!(check(&ifs).is_ok());
    }

    #[test]
    fn constructs_outside_the_budget_are_refused() {
        for source in [
            "{{ 'x' * 100000000 }}",
            "{% macro m() %}x{% endmacro %}",
            "{% call m() %}x{% endcall %}",
            "{% filter upper %}x{% endfilter %}",
            "{% set x %}captured{% endset %}",
            "{% with x = 1 %}{% endwith %}",
            "{% for x in y recursive %}{% endfor %}",
            "{%- autoescape false -%}{{ x }}{% endautoescape %}",
        ] {
            refused(source);
        }
    }

    #[test]
    fn assignments_and_loops_are_bounded() {
        assert_eq!(
            check("{% set x = x ~ x -%} {% for a, b in items | list if a %}{% endfor %}").unwrap(),
            "{% set x = __outreach_bounded((x ~ x)) -%} \
             {% for a, b in __outreach_bounded((items | list)) if a %}{% endfor %}"
        );
        assert_eq!(
            check("{% set a, b = 1, 2 %}").unwrap(),
            "{% set a, b = __outreach_bounded((1, 2)) %}"
        );
    }
}
