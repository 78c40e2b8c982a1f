//! The part of a message body its author wrote, quoted history cut off (R-9.6, R-9.7,
//! One reader serves every rule that must not read quoted text as the
//! author's: bounce wording (a quoted bounce is not a bounce), out-of-office return dates
//! (the date of a quoted original is not a return date) and reply classes (an
//! "unsubscribe" in the quoted original's footer is not a stop request).
//!
//! The history starts at the first of these, in the forms Gmail, Outlook (desktop and
//! web), Apple Mail and Thunderbird write in English, German, French, Spanish, Dutch and
//! Portuguese:
//! - a separator line: `-----Original Message-----` and its translations, any line of
//!   three or more dashes around words (`---------- Forwarded message ---------`), a rule
//!   of 20 or more underscores (Outlook), "Begin forwarded message:" and its translations;
//! - an attribution: "On <date>, <name> wrote:", "Am <date> schrieb <name>:", "Le <date>,
//!   <name> a écrit :", "El <date>, <name> escribió:", "Op <date> schreef <name>:", "Op
//!   <date> heeft <name> het volgende geschreven:", "Em <date>, <name> escreveu:", "No
//!   dia <date>, <name> escreveu:" — also wrapped over up to three lines;
//! - a header block: `From:`/`Von:`/`De:`/`Van:`/`Da:` followed within four lines by
//!   `Sent:`/`Date:`/`To:`/`Subject:`, `Gesendet:`/`An:`/`Betreff:`, `Envoyé :`/`À :`/
//!   `Objet :`, `Enviado:`/`Enviado el:`/`Para:`/`Asunto:`/`Assunto:`, `Verzonden:`/`Aan:`/
//!   `Onderwerp:` (Outlook; Outlook on the web may put the whole block on one line, and
//!   plain text made from its HTML writes `*From:*`).
//!
//! `>`-quoted lines are skipped wherever they are (interleaved answers keep the author's
//! lines between them). An answer written *below* an attribution (bottom-posting, as
//! Thunderbird users do) is kept: an attribution with no own text above it does not end
//! the text, its `>` lines are skipped and what follows is read.

/// Longest run of lines read as one wrapped attribution ("On …, Ada Lovelace <ada@…>\n
/// wrote:").
const ATTRIBUTION_LINES: usize = 3;

/// The text its author wrote: everything before the quoted history (module docs),
/// without `>` lines, leading and trailing blank lines trimmed.
pub(crate) fn own_text(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut own = String::new();
    let mut i = 0;
    while i < lines.len() {
        if is_quote_separator(&normalized(lines[i])) || is_header_block(&lines, i) {
            break;
        }
        if let Some(span) = attribution_span(&lines, i) {
            if !own.trim().is_empty() {
                break;
            }
            i += span;
            continue;
        }
        if !lines[i].trim_start().starts_with('>') {
            own.push_str(lines[i].trim_end());
            own.push('\n');
        }
        i += 1;
    }
    own.trim_end().trim_start_matches('\n').to_owned()
}

/// Lower case, one kind of space, `*bold*` markers and the space French puts before a
/// colon removed, trimmed.
fn normalized(line: &str) -> String {
    line.to_lowercase()
        .replace(['\u{a0}', '\u{202f}', '\t'], " ")
        .replace('*', "")
        .replace(" :", ":")
        .trim()
        .to_owned()
}

#[rustfmt::skip]
const SEPARATOR_PREFIXES: &[&str] = &[
    "begin forwarded message:", "anfang der weitergeleiteten nachricht:",
    "début du message réexpédié:", "début du message transféré:",
    "inicio del mensaje reenviado:", "begin doorgestuurd bericht:",
    "início da mensagem reencaminhada:", "início da mensagem encaminhada:",
];

/// Words of a dashed separator line (`-----Original Message-----`, `---------- Forwarded
/// message ---------`, `-----Mensagem original-----`, …). Other dashed lines are not
/// separators: sendmail writes its bounce wording between dashes ("----- The following
/// addresses had permanent fatal errors -----"), and that must stay readable (R-9.7).
#[rustfmt::skip]
const SEPARATOR_WORDS: &[&str] = &[
    "original", "message", "nachricht", "origine", "mensaje", "bericht", "mensagem",
    "forwarded", "weitergeleitet", "transféré", "reenviado", "doorgestuurd", "encaminhada",
    "reencaminhada",
];

fn is_quote_separator(lower: &str) -> bool {
    let dashed = lower.starts_with("---")
        && lower.ends_with("---")
        && SEPARATOR_WORDS.iter().any(|w| lower.contains(w));
    dashed
        || SEPARATOR_PREFIXES.iter().any(|s| lower.starts_with(s))
        || (lower.len() >= 20 && lower.chars().all(|c| c == '_'))
}

/// Verbs of an attribution line.
#[rustfmt::skip]
const ATTRIBUTION_VERBS: &[&str] = &[
    "wrote", "schrieb", "a écrit", "escribió", "escribio", "schreef", "geschreven",
    "escreveu", "skrev", "ha scritto",
];

/// How an attribution starts when its verb is not right before the colon.
#[rustfmt::skip]
const ATTRIBUTION_STARTS: &[&str] = &["on ", "am ", "le ", "el ", "op ", "em ", "no dia ", "il "];

/// The number of lines of the attribution starting at `lines[i]`, if one does.
fn attribution_span(lines: &[&str], i: usize) -> Option<usize> {
    let first = normalized(lines[i]);
    if first.is_empty() {
        return None;
    }
    let starts = ATTRIBUTION_STARTS.iter().any(|s| first.starts_with(s));
    let mut joined = first;
    for span in 1..=ATTRIBUTION_LINES {
        if span > 1 {
            let next = normalized(lines.get(i + span - 1)?);
            if next.is_empty() {
                return None;
            }
            joined = format!("{joined} {next}");
        }
        if is_attribution(&joined, starts) {
            return Some(span);
        }
        if !starts {
            return None;
        }
    }
    None
}

fn is_attribution(joined: &str, starts: bool) -> bool {
    if !joined.ends_with(':') || joined.len() > 400 {
        return false;
    }
    let head = joined.trim_end_matches(':').trim_end();
    let verb_last = ATTRIBUTION_VERBS.iter().any(|v| head.ends_with(v));
    let verb_inside = ATTRIBUTION_VERBS
        .iter()
        .any(|v| head.contains(&format!(" {v} ")));
    verb_last || (starts && verb_inside)
}

/// Fields that start the header block above quoted history.
const FROM_FIELDS: &[&str] = &["from:", "von:", "de:", "van:", "da:"];

/// Fields that follow `From:` in that block.
#[rustfmt::skip]
const QUOTED_HEADER_FIELDS: &[&str] = &[
    "sent:", "date:", "to:", "subject:", "cc:",
    "gesendet:", "datum:", "an:", "betreff:",
    "envoyé:", "date:", "à:", "objet:",
    "enviado:", "enviado el:", "fecha:", "para:", "asunto:",
    "verzonden:", "aan:", "onderwerp:",
    "enviada:", "data:", "assunto:",
];

/// A `From:` line that starts a header block: the next fields follow within four lines,
/// or on the same line (Outlook on the web).
fn is_header_block(lines: &[&str], i: usize) -> bool {
    let first = normalized(lines[i]);
    if !FROM_FIELDS.iter().any(|k| first.starts_with(k)) {
        return false;
    }
    let same_line = [
        "sent:",
        "gesendet:",
        "envoyé:",
        "enviado:",
        "verzonden:",
        "date:",
    ]
    .iter()
    .any(|k| first.contains(&format!(" {k}")));
    same_line
        || lines.iter().skip(i + 1).take(4).any(|l| {
            let l = normalized(l);
            QUOTED_HEADER_FIELDS.iter().any(|k| l.starts_with(k))
        })
}

#[cfg(test)]
mod tests {
    use super::own_text;

    fn own(body: &str) -> String {
        own_text(body)
    }

    #[test]
    fn gmail_attribution_in_each_language_ends_the_own_text() {
        for attribution in [
            "On Thu, Nov 19, 2026 at 10:02 AM Ada Lovelace <ada@example.com> wrote:",
            "Am Do., 19. Nov. 2026 um 10:02 Uhr schrieb Ada Lovelace <ada@example.com>:",
            "Le jeu. 19 nov. 2026 à 10:02, Ada Lovelace <ada@example.com> a écrit :",
            "El jue, 19 nov 2026 a las 10:02, Ada Lovelace (<ada@example.com>) escribió:",
            "Op do 19 nov 2026 om 10:02 schreef Ada Lovelace <ada@example.com>:",
            "Em qui., 19 de nov. de 2026 às 10:02, Ada Lovelace <ada@example.com> escreveu:",
        ] {
            let body =
                format!("Yes, let's talk.\n\n{attribution}\n\n> Hi Grace,\n> unsubscribe here\n");
            assert_eq!(own(&body), "Yes, let's talk.", "{attribution}");
        }
    }

    #[test]
    fn apple_mail_and_thunderbird_attributions() {
        for attribution in [
            "On 19 Nov 2026, at 10:02, Ada Lovelace <ada@example.com> wrote:",
            "Am 19.11.2026 um 10:02 schrieb Ada Lovelace <ada@example.com>:",
            "Le 19 nov. 2026 à 10:02, Ada Lovelace <ada@example.com> a écrit :",
            "El 19 nov 2026, a las 10:02, Ada Lovelace <ada@example.com> escribió:",
            "Op 19 nov. 2026 om 10:02 heeft Ada Lovelace <ada@example.com> het volgende geschreven:",
            "Em 19 de nov. de 2026, à(s) 10:02, Ada Lovelace <ada@example.com> escreveu:",
            "No dia 19/11/2026, às 10:02, Ada Lovelace <ada@example.com> escreveu:",
            "On 19.11.26 10:02, Ada Lovelace wrote:",
            "Am 19.11.26 um 10:02 schrieb Ada Lovelace:",
        ] {
            let body = format!("Gerne.\n\n{attribution}\n\n> Text\n");
            assert_eq!(own(&body), "Gerne.", "{attribution}");
        }
    }

    #[test]
    fn a_wrapped_attribution_is_found() {
        let body = "Sure.\n\nOn Thu, Nov 19, 2026 at 10:02 AM Ada Lovelace <\nada@example.com> wrote:\n\n> Hi\n";
        assert_eq!(own(body), "Sure.");
        let body = "Claro.\n\nEl jue, 19 nov 2026 a las 10:02, Ada Lovelace\n(<ada@example.com>) escribió:\n> Hola\n";
        assert_eq!(own(body), "Claro.");
    }

    #[test]
    fn outlook_header_blocks_in_each_language() {
        for block in [
            "From: Ada Lovelace <ada@example.com>\nSent: Thursday, November 19, 2026 10:02 AM\nTo: Grace <g@x.example>\nSubject: Role",
            "Von: Ada Lovelace <ada@example.com>\nGesendet: Donnerstag, 19. November 2026 10:02\nAn: Grace\nBetreff: Stelle",
            "De : Ada Lovelace <ada@example.com>\nEnvoyé : jeudi 19 novembre 2026 10:02\nÀ : Grace\nObjet : Poste",
            "De: Ada Lovelace <ada@example.com>\nEnviado el: jueves, 19 de noviembre de 2026 10:02\nPara: Grace\nAsunto: Puesto",
            "Van: Ada Lovelace <ada@example.com>\nVerzonden: donderdag 19 november 2026 10:02\nAan: Grace\nOnderwerp: Functie",
            "De: Ada Lovelace <ada@example.com>\nEnviado: quinta-feira, 19 de novembro de 2026 10:02\nPara: Grace\nAssunto: Vaga",
            "*From:* Ada Lovelace <ada@example.com>\n*Sent:* Thursday, November 19, 2026 10:02 AM",
            "From: Ada Lovelace <ada@example.com> Sent: Thursday, November 19, 2026 10:02 AM To: Grace Subject: Role",
        ] {
            let body =
                format!("Thanks, interested.\n\n{block}\n\nHi, unsubscribe: https://x.example/u\n");
            assert_eq!(own(&body), "Thanks, interested.", "{block}");
        }
    }

    #[test]
    fn separators_end_the_own_text() {
        for separator in [
            "-----Original Message-----",
            "-----Ursprüngliche Nachricht-----",
            "-----Message d'origine-----",
            "-----Mensaje original-----",
            "-----Oorspronkelijk bericht-----",
            "-----Mensagem original-----",
            "---------- Forwarded message ---------",
            "________________________________",
            "Begin forwarded message:",
            "Início da mensagem encaminhada:",
        ] {
            let body = format!("Top.\n{separator}\nFrom: x\nunsubscribe\n");
            assert_eq!(own(&body), "Top.", "{separator}");
        }
    }

    #[test]
    fn dashed_bounce_wording_is_no_separator() {
        let body =
            "   ----- The following addresses had permanent fatal errors -----\n<a@b.example>\n";
        assert!(own(body).contains("permanent fatal errors"));
    }

    #[test]
    fn quoted_lines_are_skipped_and_bottom_posting_is_kept() {
        let interleaved = "> Are you open to a call?\nYes, Tuesday.\n> Remote?\nHybrid is fine.\n";
        assert_eq!(own(interleaved), "Yes, Tuesday.\nHybrid is fine.");
        let bottom =
            "On 19.11.26 10:02, Ada Lovelace wrote:\n> Hi Grace,\n> interested?\n\nVery much so.\n";
        assert_eq!(own(bottom), "Very much so.");
    }

    #[test]
    fn own_lines_that_look_alike_stay() {
        let body = "On Monday I can talk.\nFrom: my side, all good.\nLe poste me plaît.\n";
        assert_eq!(own(body), body.trim_end());
    }
}
