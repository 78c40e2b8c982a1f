//! The words, numbers and sentence breaks of an out-of-office text, and the month names,
//! day numbers and years among them, in English, German, French, Spanish and Dutch (R-9.7
//! return dates). A break ends a sentence or paragraph: the cue of a date never reaches
//! across it.

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Word(String),
    Num(String),
    Punct(char),
    /// End of a sentence or paragraph: cues do not reach across it.
    Break,
}

const ORDINAL_SUFFIXES: &[&str] = &["st", "nd", "rd", "th", "er", "e", "ème", "eme", "º", "ª"];

/// The tokens of `text`, lower-cased: words, numbers (with their date separators and
/// ordinal suffixes), the punctuation a date phrase uses, and breaks at the end of a
/// sentence or at a blank line.
pub(super) fn tokenize(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = normalize(text).chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut newlines = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            newlines += 1;
            if newlines == 2 {
                tokens.push(Tok::Break);
            }
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        newlines = 0;
        let (token, next) = if c.is_ascii_digit() {
            read_number(&chars, i)
        } else if c.is_alphabetic() {
            read_word(&chars, i)
        } else {
            (punctuation(c), i + 1)
        };
        tokens.extend(token);
        i = next;
    }
    tokens
}

/// Lower case, one kind of apostrophe and of space, and the Dutch "t/m", "t.e.m." and
/// "tot en met" (through) as one word; the leading space lets the patterns require a
/// word start.
fn normalize(text: &str) -> String {
    format!(" {}", text.to_lowercase())
        .replace(['’', '‘', '´'], "'")
        .replace(['\u{a0}', '\t'], " ")
        .replace(" t/m", " totenmet ")
        .replace(" t.e.m.", " totenmet ")
        .replace(" tot en met ", " totenmet ")
}

/// The number starting at `chars[start]` and the index after it: digits with internal
/// date separators (`03.12.2026`, `2026-12-03`, `12/03/2026`), a trailing dot (German
/// ordinal "4. Dezember", yearless "3.12.") or an ordinal suffix (`3rd`, `1er`, `1º`).
fn read_number(chars: &[char], start: usize) -> (Option<Tok>, usize) {
    let mut i = start;
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    while i + 1 < chars.len()
        && matches!(chars[i], '.' | '-' | '/')
        && chars[i + 1].is_ascii_digit()
        && i - start < 12
    {
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < chars.len() && chars[i] == '.' {
        i += 1;
    }
    let mut raw: String = chars[start..i].iter().collect();
    let suffix_end = (i..chars.len())
        .find(|&j| !chars[j].is_alphabetic())
        .unwrap_or(chars.len());
    let suffix: String = chars[i..suffix_end].iter().collect();
    if !suffix.is_empty() && !raw.ends_with('.') && ORDINAL_SUFFIXES.contains(&suffix.as_str()) {
        raw.push_str(&suffix);
        i = suffix_end;
    }
    (Some(Tok::Num(raw)), i)
}

/// The word starting at `chars[start]` (an apostrophe inside it included: "jusqu'au")
/// and the index after it. A month abbreviation's dot ("Dec. 3") does not end the
/// sentence.
fn read_word(chars: &[char], start: usize) -> (Option<Tok>, usize) {
    let mut i = start;
    while i < chars.len()
        && (chars[i].is_alphabetic()
            || (chars[i] == '\'' && i + 1 < chars.len() && chars[i + 1].is_alphabetic()))
    {
        i += 1;
    }
    let word: String = chars[start..i].iter().collect();
    if i < chars.len() && chars[i] == '.' && month_of(&word).is_some() {
        i += 1;
    }
    (Some(Tok::Word(word)), i)
}

/// The token of one punctuation character: a sentence end, a dash (of a range), or a
/// separator of a date phrase; other characters are dropped.
fn punctuation(c: char) -> Option<Tok> {
    match c {
        '.' | '!' | '?' | ';' => Some(Tok::Break),
        '-' | '–' | '—' => Some(Tok::Punct('-')),
        ',' | ':' | '(' | ')' => Some(Tok::Punct(c)),
        _ => None,
    }
}

pub(super) fn month_of(word: &str) -> Option<u32> {
    let month = match word {
        "january" | "jan" | "januar" | "jänner" | "janvier" | "janv" | "enero" | "januari" => 1,
        "february" | "feb" | "febr" | "februar" | "février" | "fevrier" | "févr" | "fevr"
        | "febrero" | "februari" => 2,
        "march" | "mar" | "märz" | "maerz" | "mär" | "mars" | "marzo" | "maart" | "mrt" => 3,
        "april" | "apr" | "avril" | "avr" | "abril" => 4,
        "may" | "mai" | "mayo" | "mei" => 5,
        "june" | "jun" | "juni" | "juin" | "junio" => 6,
        "july" | "jul" | "juli" | "juillet" | "juil" | "julio" => 7,
        "august" | "aug" | "août" | "aout" | "agosto" | "augustus" => 8,
        "september" | "sep" | "sept" | "septembre" | "septiembre" | "setiembre" => 9,
        "october" | "oct" | "oktober" | "okt" | "octobre" | "octubre" => 10,
        "november" | "nov" | "novembre" | "noviembre" => 11,
        "december" | "dec" | "dezember" | "dez" | "décembre" | "decembre" | "déc" | "diciembre"
        | "dic" => 12,
        _ => return None,
    };
    Some(month)
}

/// A day number token: `3`, `03`, `4.`, `3rd`, `1er`, `1º`.
pub(super) fn day_of(raw: &str) -> Option<u32> {
    let digits_end = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, suffix) = raw.split_at(digits_end);
    if digits.is_empty() || digits.len() > 2 {
        return None;
    }
    if !(suffix.is_empty() || suffix == "." || ORDINAL_SUFFIXES.contains(&suffix)) {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

/// A four-digit year token, `2026` or `2026.`/`2026,`.
pub(super) fn year_of(raw: &str) -> Option<i32> {
    let digits = raw.trim_end_matches(['.', ',']);
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|y| (1970..=2200).contains(y))
}
