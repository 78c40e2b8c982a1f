//! The signature cut off a reply's own text (R-9.9: the class is read without it; R-11.2:
//! the inbox shows the text without it). The signature starts at the first of:
//! - the `-- ` delimiter line (RFC 3676 §4.3; `--` without the space too);
//! - a mobile client's footer: "Sent from my iPhone", "Von meinem iPhone gesendet",
//!   "Envoyé de mon iPhone", "Enviado desde mi iPhone", "Verzonden vanaf mijn iPhone",
//!   "Enviado do meu iPhone", "Get Outlook for iOS" and their kin;
//! - a sign-off line ("Best regards,", "Mit freundlichen Grüßen", "Cordialement",
//!   "Saludos", "Met vriendelijke groet", "Atenciosamente", …) that nothing but a short
//!   signature follows: no line, or a name (every word capitalised) first and at most
//!   [`MAX_SIGNATURE_LINES`] lines in all;
//! - a sign-off and a name on one line ("Thanks, Anna", "Saludos, Juan Pérez", "VG Lisa")
//!   followed only by names and contact details.
//!
//! A sign-off followed by more text ("Thanks, but no." or "Danke\n\nIch bin interessiert")
//! is not a signature: the text stays.

use super::reply_class::fold;

/// Most lines after a sign-off that can still be its signature block.
const MAX_SIGNATURE_LINES: usize = 8;

/// Sign-offs, lower-case and accents folded ([`fold`]), without trailing punctuation.
#[rustfmt::skip]
const SIGN_OFFS: &[&str] = &[
    // en
    "best", "best regards", "kind regards", "regards", "warm regards", "warmest regards",
    "many thanks", "thanks", "thank you", "thanks again", "thanks a lot", "cheers",
    "all the best", "best wishes", "sincerely", "yours sincerely", "yours truly", "br",
    "talk soon", "have a great day", "have a nice day", "take care",
    // de
    "mit freundlichen grussen", "mit freundlichen gruessen", "freundliche grusse",
    "viele grusse", "beste grusse", "liebe grusse", "herzliche grusse", "schone grusse",
    "gruss", "grusse", "lg", "vg", "mfg", "danke", "vielen dank", "danke schon",
    "besten dank", "mit besten grussen",
    // fr
    "cordialement", "bien cordialement", "bien a vous", "salutations",
    "sinceres salutations", "meilleures salutations", "bonne journee", "belle journee",
    "merci", "merci beaucoup", "a bientot", "amicalement", "bonne soiree",
    // es
    "saludos", "un saludo", "saludos cordiales", "atentamente", "gracias",
    "muchas gracias", "un abrazo", "abrazos", "cordialmente", "muchos saludos",
    // nl
    "met vriendelijke groet", "met vriendelijke groeten", "vriendelijke groet",
    "vriendelijke groeten", "groet", "groeten", "groetjes", "hartelijke groet",
    "hartelijke groeten", "mvg", "bedankt", "dank je", "dank u", "dank je wel",
    "dank u wel", "alvast bedankt", "fijne dag",
    // pt
    "atenciosamente", "cumprimentos", "melhores cumprimentos", "abraco", "abracos",
    "um abraco", "obrigado", "obrigada", "att", "abs", "saudacoes", "beijos", "bjs",
    "muito obrigado", "muito obrigada",
];

/// How mobile and webmail footers start, folded.
#[rustfmt::skip]
const FOOTERS: &[&str] = &[
    "sent from my ", "sent from outlook", "sent from mail for", "sent from yahoo",
    "get outlook for", "sent via ", "sent with ",
    "von meinem ", "gesendet von ", "gesendet mit ",
    "envoye de mon ", "envoye depuis ", "obtenir outlook pour",
    "enviado desde mi ", "enviado desde ", "obtener outlook para",
    "verzonden vanaf mijn ", "verstuurd vanaf mijn ", "verzonden met ", "download outlook voor",
    "enviado do meu ", "enviado de meu ", "enviado do ", "obter o outlook para",
];

/// `text` without its signature (module docs), trailing blank lines trimmed.
pub(crate) fn strip_signature(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    // The non-blank lines, so that each line finds those after it in constant time.
    let filled: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    let mut filled_before = 0;
    let mut cut = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let filled_here = usize::from(!line.trim().is_empty());
        let rest = &filled[filled_before + filled_here..];
        if starts_signature(line, rest) {
            cut = i;
            break;
        }
        filled_before += filled_here;
    }
    lines[..cut].join("\n").trim_end().to_owned()
}

/// Whether `raw` starts the signature, `rest` being the non-blank lines after it.
fn starts_signature(raw: &str, rest: &[&str]) -> bool {
    let line = raw.trim();
    if line == "--" || raw.trim_end_matches(['\r', '\n']) == "-- " {
        return true;
    }
    let folded = fold(line);
    if FOOTERS.iter().any(|f| folded.starts_with(f)) {
        return true;
    }
    if rest.len() > MAX_SIGNATURE_LINES {
        return false;
    }
    let bare = folded.trim_end_matches(['.', ',', '!', ';', ' ']);
    if SIGN_OFFS.contains(&bare) {
        return rest.first().is_none_or(|first| is_name(first));
    }
    sign_off_and_name(line) && rest.iter().all(|l| is_signature_line(l))
}

/// "Thanks, Anna", "Saludos, Juan Pérez", "VG Lisa": a sign-off of up to three words and
/// a name on one line.
fn sign_off_and_name(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    (1..words.len().min(4)).any(|k| {
        let head = fold(&words[..k].join(" "));
        let head = head.trim_end_matches(['.', ',', '!', ';']);
        SIGN_OFFS.contains(&head) && is_name(&words[k..].join(" "))
    })
}

/// A line of a signature block: a name, or contact details (a number, an address, a
/// link, a `|` separator).
fn is_signature_line(line: &str) -> bool {
    is_name(line)
        || line.contains(|c: char| c.is_ascii_digit() || c == '@' || c == '|')
        || line.contains("www.")
        || line.contains("http")
}

/// Particles of names that are written in lower case ("Jan van Dijk", "Ana da Silva").
#[rustfmt::skip]
const NAME_PARTICLES: &[&str] = &[
    "van", "von", "de", "der", "den", "da", "das", "do", "dos", "del", "la", "le", "y", "e",
    "ten", "ter", "zu",
];

/// One to five words, each capitalised (or a lower-case particle), ending without a
/// sentence mark: "Anna", "Jan van Dijk", "J. Smith", "Anna (she/her)".
fn is_name(line: &str) -> bool {
    let line = line.trim_end_matches(['.', ',']);
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.is_empty() || words.len() > 5 || line.ends_with(['!', '?', ':']) {
        return false;
    }
    words.iter().all(|w| {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        w.is_empty()
            || NAME_PARTICLES.contains(&w)
            || w.chars().next().is_some_and(char::is_uppercase)
    })
}

#[cfg(test)]
mod tests {
    use super::strip_signature;

    #[test]
    fn the_dash_dash_delimiter_cuts() {
        let text = "Happy to talk.\n\n-- \nAnna Schmidt\nStaff Engineer\nunsubscribe@list.example";
        assert_eq!(strip_signature(text), "Happy to talk.");
    }

    #[test]
    fn mobile_footers_cut_in_each_language() {
        for footer in [
            "Sent from my iPhone",
            "Von meinem iPhone gesendet",
            "Envoyé de mon iPhone",
            "Enviado desde mi iPhone",
            "Verzonden vanaf mijn iPhone",
            "Enviado do meu iPhone",
            "Get Outlook for Android",
        ] {
            let text = format!("Yes please.\n\n{footer}");
            assert_eq!(strip_signature(&text), "Yes please.", "{footer}");
        }
    }

    #[test]
    fn a_sign_off_with_a_name_cuts() {
        for text in [
            "Interested.\n\nBest regards,\nAnna Schmidt\nACME GmbH\n+49 30 1234567",
            "Interested.\n\nMit freundlichen Grüßen\n\nAnna Schmidt",
            "Interested.\nCordialement,\nJean-Luc Dupont",
            "Interested.\nThanks, Anna",
            "Interested.\nSaludos, Juan Pérez",
            "Interested.\nMet vriendelijke groet,\nJan van Dijk",
            "Interested.\nAtenciosamente,\nAna da Silva",
            "Interested.\n\nThanks!",
            "Interested.\n\nVG Lisa",
            "Interested.\n\nThanks, Anna\nACME | +44 20 7946 0958",
        ] {
            assert_eq!(strip_signature(text), "Interested.", "{text}");
        }
    }

    #[test]
    fn a_sign_off_followed_by_more_text_stays() {
        for text in [
            "Thanks, but I'm not looking right now.",
            "Danke\n\nich bin interessiert, wann passt es Ihnen?",
            "Merci,\nje ne suis pas intéressé.\nJean",
            "Thanks, Grace\nI'm interested, let's talk.",
            "Danke Ihnen\n\nich bin interessiert.",
        ] {
            assert!(
                strip_signature(text).starts_with(text.lines().next().unwrap()),
                "{text}"
            );
            assert!(strip_signature(text).lines().count() >= 2 || !text.contains('\n'));
        }
    }
}
