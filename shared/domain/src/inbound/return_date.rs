//! The return date of an out-of-office reply (R-9.7: the next step is held until the first
//! sending slot after it): the dates written in the text, in the forms of five languages,
//! and the one the words around them ([`super::cue`]) make a return date. The rules are in
//! the doc comment of [`return_date()`].

use chrono::{Datelike, Days, NaiveDate};

use super::cue::{Cue, Language, cue_of};
use super::mime::clip;
use super::tokenize::{Tok, day_of, month_of, tokenize, year_of};

/// The day an out-of-office author is back, read from `text` (subject and body), or `None`
/// when no date with a return meaning can be read. Dates without a year take their next
/// occurrence on or after `reference` (the day the message was written).
///
/// Meaning comes from the words around the date, in English, German, French, Spanish and
/// Dutch:
/// - a **return** cue ("back on", "returning", "return", "wieder", "zurück", "de retour",
///   "regresaré", "volveré", "de vuelta", "terug", "weer", also after the date as in
///   "ab dem 4. Dezember wieder", and "not back until X") means back **on** that date;
/// - an **until** cue ("until", "till", "through", "bis", "jusqu'au", "hasta", "tot",
///   "tot en met", "t/m", "after", "nach", "après", "después", "na", or a range's second
///   date: "to", "au", "al", "–") means absent **through** that date, so back the **day
///   after** — a deliberate choice: "until" is ambiguous in English, and a step sent a day
///   late does less harm than one that lands while the person is still away;
/// - a **from** cue without a return cue ("from", "vom", "ab", "du", "desde", "van") is the
///   start of the absence and ignored; so is a date with no cue at all.
///
/// The first return date wins; else the first until date plus one day.
///
/// Formats: ISO `2026-12-03`; day-first dotted `03.12.2026`, `3.12.26`, `3.12.` (the final
/// dot is required without a year, so times like `12.30` are not dates); month names in
/// the five languages, full or abbreviated (`December 3`, `Dec. 3rd, 2026`, `3 December`,
/// `4. Dezember`, `1er décembre`, `3 de diciembre de 2026`, `3 december`). Numeric dates with
/// `/` or `-` (`12/03/2026`, `03-12-2026`) are ambiguous between day-first and US
/// month-first: after a cue in German, French, Spanish or Dutch they are day-first; after
/// an English cue the reading that falls within a year after `reference` is taken, and
/// when both readings do, the date is not read at all. Weekday-only phrases ("back on
/// Monday") are not read. Dates more than a month before `reference` or more than two
/// years after it are ignored.
pub fn return_date(text: &str, reference: NaiveDate) -> Option<NaiveDate> {
    let earliest = reference.checked_sub_days(Days::new(31))?;
    let latest = reference.checked_add_days(Days::new(731))?;
    let tokens = tokenize(clip(text, 20_000));
    let mut first_until = None;
    for found in find_dates(&tokens) {
        let cue = cue_of(&tokens, &found);
        let Some(date) = found.spec.resolve(reference, cue.language()) else {
            continue;
        };
        if date < earliest || date > latest {
            continue;
        }
        match cue {
            Cue::Back(_) => return Some(date),
            Cue::Until(_) if first_until.is_none() => first_until = Some(date),
            _ => {}
        }
    }
    first_until.and_then(|d: NaiveDate| d.checked_add_days(Days::new(1)))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum DateSpec {
    /// Day and month are known.
    Exact {
        year: Option<i32>,
        month: u32,
        day: u32,
    },
    /// `a/b/y` or `a-b-y`: day-first or month-first.
    Ambiguous { year: Option<i32>, a: u32, b: u32 },
}

impl DateSpec {
    fn resolve(self, reference: NaiveDate, language: Language) -> Option<NaiveDate> {
        match self {
            DateSpec::Exact { year, month, day } => on_or_after(year, month, day, reference),
            DateSpec::Ambiguous { year, a, b } => {
                let day_first = on_or_after(year, b, a, reference);
                let month_first = on_or_after(year, a, b, reference);
                match (language, day_first, month_first) {
                    (_, Some(d), Some(m)) if d == m => Some(d),
                    (_, Some(d), None) => Some(d),
                    (_, None, Some(m)) => Some(m),
                    (Language::Other, d, _) => d,
                    (_, Some(d), Some(m)) => {
                        // English (or unknown) cue: keep the one reading that is within a year.
                        let year_after = reference.checked_add_days(Days::new(366))?;
                        let plausible = |x: NaiveDate| x >= reference && x <= year_after;
                        match (plausible(d), plausible(m)) {
                            (true, false) => Some(d),
                            (false, true) => Some(m),
                            _ => None,
                        }
                    }
                    _ => None,
                }
            }
        }
    }
}

/// The date itself when the year is given, else its next occurrence on or after
/// `reference`.
fn on_or_after(year: Option<i32>, month: u32, day: u32, reference: NaiveDate) -> Option<NaiveDate> {
    match year {
        Some(year) => NaiveDate::from_ymd_opt(year, month, day),
        None => (reference.year()..=reference.year().saturating_add(8))
            .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
            .find(|d| *d >= reference),
    }
}

fn two_or_four_digit_year(raw: &str) -> Option<i32> {
    match raw.len() {
        4 => raw.parse().ok(),
        2 => raw.parse::<i32>().ok().map(|y| 2000 + y),
        _ => None,
    }
}

/// An all-numeric date token.
fn numeric_date(raw: &str) -> Option<DateSpec> {
    let trailing_dot = raw.ends_with('.');
    let body = raw.trim_end_matches('.');
    let sep = body.chars().find(|c| matches!(c, '.' | '-' | '/'))?;
    let parts: Vec<&str> = body.split(sep).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let num = |p: &str| p.parse::<u32>().ok();
    match (sep, parts.as_slice()) {
        // ISO 8601 (also 2026/12/03).
        (_, [y, m, d]) if y.len() == 4 => Some(DateSpec::Exact {
            year: y.parse().ok(),
            month: num(m)?,
            day: num(d)?,
        })
        .filter(|_| m.len() <= 2 && d.len() <= 2),
        ('.', [d, m, y]) if d.len() <= 2 && m.len() <= 2 => Some(DateSpec::Exact {
            year: Some(two_or_four_digit_year(y)?),
            month: num(m)?,
            day: num(d)?,
        }),
        ('.', [d, m]) if trailing_dot && d.len() <= 2 && m.len() <= 2 => Some(DateSpec::Exact {
            year: None,
            month: num(m)?,
            day: num(d)?,
        }),
        ('/' | '-', [a, b, y]) if a.len() <= 2 && b.len() <= 2 => Some(DateSpec::Ambiguous {
            year: Some(two_or_four_digit_year(y)?),
            a: num(a)?,
            b: num(b)?,
        }),
        ('/', [a, b]) if a.len() <= 2 && b.len() <= 2 => Some(DateSpec::Ambiguous {
            year: None,
            a: num(a)?,
            b: num(b)?,
        }),
        _ => None,
    }
}

#[derive(Debug)]
pub(super) struct FoundDate {
    pub(super) start: usize,
    pub(super) end: usize,
    spec: DateSpec,
}

fn word(tokens: &[Tok], i: usize) -> Option<&str> {
    match tokens.get(i) {
        Some(Tok::Word(w)) => Some(w),
        _ => None,
    }
}

fn num(tokens: &[Tok], i: usize) -> Option<&str> {
    match tokens.get(i) {
        Some(Tok::Num(n)) => Some(n),
        _ => None,
    }
}

/// A year after a month name or day: `, 2026`, `2026`, `de 2026`, `del 2026`.
fn year_after(tokens: &[Tok], i: usize) -> (Option<i32>, usize) {
    let mut j = i;
    if matches!(tokens.get(j), Some(Tok::Punct(','))) {
        j += 1;
    }
    if matches!(word(tokens, j), Some("de" | "del")) {
        j += 1;
    }
    match num(tokens, j).and_then(year_of) {
        Some(year) => (Some(year), j),
        None => (None, i.saturating_sub(1)),
    }
}

fn find_dates(tokens: &[Tok]) -> Vec<FoundDate> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // Numeric forms.
        if let Some(spec) = num(tokens, i).and_then(numeric_date) {
            found.push(FoundDate {
                start: i,
                end: i,
                spec,
            });
            i += 1;
            continue;
        }
        // Day first: 3 December [2026], 3rd of December, 4. Dezember, 3 de diciembre de 2026.
        if let Some(day) = num(tokens, i).and_then(day_of) {
            let mut j = i + 1;
            if matches!(word(tokens, j), Some("of" | "de")) {
                j += 1;
            }
            if let Some(month) = word(tokens, j).and_then(month_of) {
                let (year, end) = year_after(tokens, j + 1);
                found.push(FoundDate {
                    start: i,
                    end: end.max(j),
                    spec: DateSpec::Exact { year, month, day },
                });
                i = end.max(j) + 1;
                continue;
            }
        }
        // Month first: December 3[, 2026], Dec. 3rd.
        if let Some(month) = word(tokens, i).and_then(month_of)
            && let Some(day) = num(tokens, i + 1).and_then(day_of)
        {
            let (year, end) = year_after(tokens, i + 2);
            found.push(FoundDate {
                start: i,
                end: end.max(i + 1),
                spec: DateSpec::Exact { year, month, day },
            });
            i = end.max(i + 1) + 1;
            continue;
        }
        i += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const REF: (i32, u32, u32) = (2026, 11, 20);

    fn rd(text: &str) -> Option<NaiveDate> {
        return_date(text, d(REF.0, REF.1, REF.2))
    }

    #[test]
    fn return_dates_in_english() {
        //
        #[rustfmt::skip]
        let cases = [
            ("I will be back on December 3.", Some(d(2026, 12, 3))),
            ("Returning on 3 December.", Some(d(2026, 12, 3))),
            ("I'm out of the office until December 2, 2026.", Some(d(2026, 12, 3))),
            ("I won't be back until January 4.", Some(d(2027, 1, 4))),
            ("Away from Nov 20 to Dec 2 with no email.", Some(d(2026, 12, 3))),
            ("I'll be back in the office on Thursday, Dec. 3rd", Some(d(2026, 12, 3))),
            ("back 2026-12-03", Some(d(2026, 12, 3))),
            // US month-first is the only reading within a year.
            ("until 12/02/2026", Some(d(2026, 12, 3))),
            // Both readings within a year: not read.
            ("back on 01/02/2027", None),
            // Only a start date, or a date with no cue.
            ("I am on leave from December 1.", None),
            ("I am out of office on December 3.", None),
            // "after" is absent through that date too.
            ("I'll get back to you after December 3.", Some(d(2026, 12, 4))),
            // The date of the quoted original or a signature is not a return date.
            ("Sent: Thursday, November 19, 2026 4:00 PM", None),
            ("I am out of the office with limited access to email.", None),
            // Start, then return: the return wins.
            ("I am out from December 1 and will be back on December 7.", Some(d(2026, 12, 7))),
        ];
        for (text, expected) in cases {
            assert_eq!(rd(text), expected, "{text}");
        }
    }

    #[test]
    fn return_dates_in_other_languages() {
        //
        #[rustfmt::skip]
        let cases = [
            ("Ich bin bis zum 03.12.2026 nicht im Büro.", Some(d(2026, 12, 4))),
            ("Ab dem 4. Dezember bin ich wieder erreichbar.", Some(d(2026, 12, 4))),
            ("Vom 20.11. bis 2.12. bin ich im Urlaub.", Some(d(2026, 12, 3))),
            ("Je serai de retour le 3 décembre.", Some(d(2026, 12, 3))),
            ("Je suis absente jusqu’au 2 décembre inclus.", Some(d(2026, 12, 3))),
            ("Je suis absent du 20 au 30 novembre.", Some(d(2026, 12, 1))),
            ("Regresaré el 3 de diciembre.", Some(d(2026, 12, 3))),
            ("Estaré fuera hasta el 03/12/2026.", Some(d(2026, 12, 4))),
            ("A partir del 4 de diciembre de 2026 estaré de vuelta.", Some(d(2026, 12, 4))),
            ("Ik ben terug op 3 december.", Some(d(2026, 12, 3))),
            ("Ik ben afwezig tot en met 03-12-2026.", Some(d(2026, 12, 4))),
            ("Ik ben t/m 3 december afwezig.", Some(d(2026, 12, 4))),
            ("Vanaf 4 december ben ik weer aanwezig.", Some(d(2026, 12, 4))),
        ];
        for (text, expected) in cases {
            assert_eq!(rd(text), expected, "{text}");
        }
    }

    #[test]
    fn yearless_dates_take_the_next_occurrence() {
        // A date earlier in the year than the reference is next year's.
        assert_eq!(rd("back on November 2"), Some(d(2027, 11, 2)));
        assert_eq!(rd("back on November 20"), Some(d(2026, 11, 20)));
        assert_eq!(
            return_date("back on February 29", d(2026, 3, 1)),
            Some(d(2028, 2, 29))
        );
        // Times are not dates.
        assert_eq!(rd("Ich bin bis 17.30 Uhr erreichbar."), None);
    }
}
