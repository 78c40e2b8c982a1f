//! What the words around a date say it means (R-9.7 return dates): back **on** the date,
//! away **until** (through) it, or the **from** of an absence, in English, German, French,
//! Spanish and Dutch. The language of the cue decides how an ambiguous numeric date reads
//! (see [`super::return_date()`]).

use super::return_date::FoundDate;
use super::tokenize::Tok;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Language {
    English,
    Other,
    Unknown,
}

#[derive(Debug, PartialEq)]
pub(super) enum Cue {
    Back(Language),
    Until(Language),
    From(Language),
    Plain(Language),
}

impl Cue {
    pub(super) fn language(&self) -> Language {
        match self {
            Cue::Back(l) | Cue::Until(l) | Cue::From(l) | Cue::Plain(l) => *l,
        }
    }
}

// Cue words of `return_date`, lower-case. English lists are separate because the language
// of the cue decides how an ambiguous numeric date reads.

/// Back on the date.
#[rustfmt::skip]
const BACK_EN: &[&str] = &[
    "back", "return", "returning", "returns", "again", "available", "reachable",
];
#[rustfmt::skip]
const BACK_OTHER: &[&str] = &[
    "wieder", "zurück", "zurueck",                                               // de
    "retour", "reviens", "reviendrai", "rentre", "rentrerai",                    // fr
    "regreso", "regresaré", "regresare", "regresa", "vuelvo", "volveré", "volvere",
    "vuelta", "reincorporo", "reincorporaré", "reincorporare",                   // es
    "terug", "weer",                                                             // nl
];
/// Absent through the date.
const UNTIL_EN: &[&str] = &["until", "till", "til", "untill", "through", "thru"];
#[rustfmt::skip]
const UNTIL_OTHER: &[&str] = &[
    "bis", "jusqu'au", "jusqu'à", "jusqu'a", "jusqu'aux", "jusque", "hasta", "tot", "totenmet",
];
/// "after X": absent through X as well.
const AFTER_EN: &[&str] = &["after"];
const AFTER_OTHER: &[&str] = &["nach", "après", "apres", "después", "despues", "na"];
/// The second date of a range: only with an earlier number in the same sentence.
const RANGE_EN: &[&str] = &["to"];
const RANGE_OTHER: &[&str] = &["au", "al", "a"];
/// The start of the absence, unless a return cue is near.
const FROM_EN: &[&str] = &["from", "since", "starting", "beginning", "effective"];
#[rustfmt::skip]
const FROM_OTHER: &[&str] = &[
    "vom", "von", "seit", "ab", "du", "depuis", "partir", "desde", "van", "vanaf", "sinds",
];
/// Words between a cue and its date that do not change its meaning.
#[rustfmt::skip]
const FILLERS: &[&str] = &[
    "on", "the", "of", "and", "including", "inclusive", "incl",
    "am", "dem", "den", "der", "zum", "zur", "und",
    "einschließlich", "einschliesslich", "inklusive",
    "le", "la", "et", "inclus", "el", "los", "y", "incluido", "incluso", "de", "del", "op", "en",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag",
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    "lunes", "martes", "miércoles", "miercoles", "jueves", "viernes", "sábado", "sabado",
    "domingo",
    "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag",
];
/// Stop the look-ahead for a trailing return cue ("ab 4.12. wieder").
#[rustfmt::skip]
const CONJUNCTIONS: &[&str] = &[
    "and", "und", "et", "y", "en", "but", "aber", "mais", "pero", "maar", "then", "dann",
];

fn classify_word(w: &str, list_en: &[&str], list_other: &[&str]) -> Option<Language> {
    if list_en.contains(&w) {
        Some(Language::English)
    } else if list_other.contains(&w) {
        Some(Language::Other)
    } else {
        None
    }
}

/// What the words around a date say it means (see [`super::return_date()`]): the first
/// word before it that is not a filler decides ([`cue_of_word`]); without one, a return
/// cue anywhere near makes it a return date.
pub(super) fn cue_of(tokens: &[Tok], found: &FoundDate) -> Cue {
    let context = Context::around(tokens, found);
    let immediate = context.before.iter().find_map(|t| match t {
        Tok::Word(w) if FILLERS.contains(&w.as_str()) => None,
        Tok::Punct(',') => None,
        other => Some(*other),
    });
    let decided = match immediate {
        Some(Tok::Word(w)) => cue_of_word(w, &context),
        Some(Tok::Punct('-')) if context.earlier_date_in_sentence => {
            Some(Cue::Until(Language::Unknown))
        }
        _ => None,
    };
    decided.unwrap_or(match (context.back_after, context.back_before) {
        (Some(language), _) | (None, Some(language)) => Cue::Back(language),
        (None, None) => Cue::Plain(Language::Unknown),
    })
}

/// The words of a date's sentence that its cue depends on.
struct Context<'t> {
    /// Up to 8 tokens before the date, nearest first, within its sentence.
    before: Vec<&'t Tok>,
    /// A number earlier in the sentence: "to" or a dash may end a range.
    earlier_date_in_sentence: bool,
    /// A return cue before the date in its sentence ("back", "wieder", …).
    back_before: Option<Language>,
    /// A verb-final return cue a few words after it ("ab dem 4. Dezember wieder").
    back_after: Option<Language>,
}

impl<'t> Context<'t> {
    fn around(tokens: &'t [Tok], found: &FoundDate) -> Self {
        let mut before: Vec<&Tok> = Vec::new();
        let mut earlier_date_in_sentence = false;
        let mut j = found.start;
        // Bounded, so that a long text full of numbers stays linear.
        while j > 0 && found.start - j < 40 {
            j -= 1;
            if tokens[j] == Tok::Break {
                break;
            }
            if before.len() < 8 {
                before.push(&tokens[j]);
            }
            if matches!(tokens[j], Tok::Num(_)) {
                earlier_date_in_sentence = true;
            }
        }
        let back_before = before.iter().find_map(|t| match t {
            Tok::Word(w) => classify_word(w, BACK_EN, BACK_OTHER),
            _ => None,
        });
        Context {
            before,
            earlier_date_in_sentence,
            back_before,
            back_after: trailing_return_cue(tokens, found.end),
        }
    }
}

/// A return cue in the few words after a date, before a conjunction, comma or sentence
/// end: German, French, Spanish and Dutch put the verb last ("ab dem 4. Dezember wieder").
fn trailing_return_cue(tokens: &[Tok], end: usize) -> Option<Language> {
    for t in tokens.iter().skip(end + 1).take(4) {
        match t {
            Tok::Word(w) if CONJUNCTIONS.contains(&w.as_str()) => break,
            Tok::Word(w) => {
                if let Some(language) = classify_word(w, &[], BACK_OTHER) {
                    return Some(language);
                }
            }
            Tok::Break | Tok::Punct(',') => break,
            _ => {}
        }
    }
    None
}

/// The cue of the word right before a date (fillers skipped), or `None` when it is no
/// cue word: "after" and "until" mean absent through the date — but "not back until 4
/// January" is back on it —, "to" after an earlier date ends a range, "back" is a return,
/// and "from" is the start of the absence unless a return cue is near.
fn cue_of_word(w: &str, context: &Context<'_>) -> Option<Cue> {
    if let Some(language) = classify_word(w, AFTER_EN, AFTER_OTHER) {
        return Some(Cue::Until(language));
    }
    if let Some(language) = classify_word(w, UNTIL_EN, UNTIL_OTHER) {
        return Some(match context.back_before {
            Some(_) => Cue::Back(language),
            None => Cue::Until(language),
        });
    }
    if context.earlier_date_in_sentence
        && let Some(language) = classify_word(w, RANGE_EN, RANGE_OTHER)
    {
        return Some(Cue::Until(language));
    }
    if let Some(language) = classify_word(w, BACK_EN, BACK_OTHER) {
        return Some(Cue::Back(language));
    }
    classify_word(w, FROM_EN, FROM_OTHER).map(|language| {
        match context.back_after.or(context.back_before) {
            Some(_) => Cue::Back(language),
            None => Cue::From(language),
        }
    })
}
