//! The header, subject and wording rules that tell a bounce (rules 1.2–1.5) and an
//! automatic reply (rules 2.1–2.6) from a person's reply. The rules are
//! numbered as in the module docs of [`super`]; rule 1.1, the delivery-status report, is
//! in [`super::dsn`].

use mail_parser::{Message, MimeHeaders};

use crate::EmailAddress;

use super::mime::Headers;

/// A subject that begins like a person's reply or forward: never a machine's subject.
pub(super) fn is_reply_subject(subject_lc: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "re:", "re :", "aw:", "antw:", "antwort:", "sv:", "vs:", "r:", "rif:", "rv:", "ref:",
        "réf:", "wg:", "fw:", "fwd:", "tr:", "enc:", "odp:",
    ];
    PREFIXES.iter().any(|p| subject_lc.starts_with(p))
}

/// Rules 1.2–1.5 (rule 1.1 is the delivery report, checked before).
pub(super) fn is_bounce(
    headers: &Headers,
    from_raw: &str,
    from: Option<&EmailAddress>,
    subject_lc: &str,
    own_lc: &str,
) -> bool {
    headers.has("x-failed-recipients")
        || is_mail_system_sender(from_raw, from)
        || is_bounce_subject(subject_lc)
        || has_bounce_wording(own_lc)
}

fn is_mail_system_sender(from_raw: &str, from: Option<&EmailAddress>) -> bool {
    let display = from_raw.to_lowercase();
    if display.contains("mail delivery system") || display.contains("mail delivery subsystem") {
        return true;
    }
    let Some(from) = from else { return false };
    let local = from.local_part();
    matches!(
        local,
        "mailer-daemon" | "mailer_daemon" | "mailerdaemon" | "mail-daemon" | "maildaemon"
    ) || local.starts_with("mailer-daemon")
        || local.starts_with("microsoftexchange")
}

fn is_bounce_subject(subject_lc: &str) -> bool {
    if is_reply_subject(subject_lc) {
        return false;
    }
    const STARTS: &[&str] = &[
        "failure notice",
        "returned mail",
        "undeliverable",
        "undelivered mail",
        "delivery failure",
        "delivery failed",
        "mail delivery failed",
        "message not delivered",
        "mail system error",
        "delayed mail",
        "delivery delayed",
        "message delayed",
        "unzustellbar",
        "nicht zustellbar",
        "non remis",
        "non distribuable",
        "no se puede entregar",
        "imposible de entregar",
        "onbestelbaar",
        "niet bezorgd",
    ];
    const CONTAINS: &[&str] = &[
        "delivery status notification",
        "undelivered mail returned to sender",
        "returning message to sender",
        "mail delivery failed",
        "delivery has failed",
        "non-delivery report",
        "nondeliverable mail",
        "could not be delivered",
    ];
    STARTS.iter().any(|s| subject_lc.starts_with(s))
        || CONTAINS.iter().any(|c| subject_lc.contains(c))
        || (subject_lc.starts_with("warning: message") && subject_lc.contains("delayed"))
}

fn has_bounce_wording(own_lc: &str) -> bool {
    const WORDING: &[&str] = &[
        "this is the mail system at host",
        "this message was created automatically by mail delivery software",
        "hi. this is the qmail-send program",
        "delivery has failed to these recipients or groups",
        "delivery to the following recipient failed permanently",
        "delivery to the following recipients failed",
        "delivery to the following recipient has been delayed",
        "sorry, we were unable to deliver your message",
        "the following addresses had permanent fatal errors",
        "i'm afraid i wasn't able to deliver your message",
        "i'm sorry to have to inform you that your message could not",
        "the original message was received at",
        "die zustellung an folgende empfänger oder gruppen ist fehlgeschlagen",
        "la remise aux destinataires ou groupes suivants a échoué",
        "error en la entrega a estos destinatarios o grupos",
        "bezorging bij deze ontvangers of groepen is mislukt",
    ];
    WORDING.iter().any(|w| own_lc.contains(w))
}

/// Rules 2.2–2.6 (rule 2.1 is the non-failure report, decided before).
pub(super) fn is_auto_reply(
    message: &Message<'_>,
    headers: &Headers,
    null_return_path: bool,
    subject_lc: &str,
) -> bool {
    let is_no = |v: &str| matches!(v.trim().to_ascii_lowercase().as_str(), "no" | "false" | "0");
    // Rule 2.1 for a report we could not read (e.g. a disposition notification).
    let is_report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    if is_report {
        return true;
    }
    // Auto-Submitted other than `no` (RFC 3834).
    if headers.get("auto-submitted").is_some_and(|v| !is_no(v)) {
        return true;
    }
    // X-Autoreply / X-Autorespond and their relatives.
    let autoreply_header = [
        "x-autoreply",
        "x-autorespond",
        "x-autoreply-from",
        "x-mail-autoreply",
        "x-auto-reply",
    ]
    .iter()
    .any(|name| headers.all(name).any(|v| !is_no(v)));
    if autoreply_header {
        return true;
    }
    // Precedence auto_reply | bulk | junk.
    let precedence = headers
        .all("precedence")
        .chain(headers.all("x-precedence"))
        .any(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "auto_reply" | "auto-reply" | "bulk" | "junk"
            )
        });
    if precedence || null_return_path {
        return true;
    }
    is_auto_reply_subject(subject_lc)
}

/// common out-of-office subjects (en, de, fr, es, nl), unless the subject is a
/// person's "Re:".
fn is_auto_reply_subject(subject_lc: &str) -> bool {
    if is_reply_subject(subject_lc) {
        return false;
    }
    // Specific enough to match anywhere in the subject.
    const PHRASES: &[&str] = &[
        "automatic reply",
        "auto reply",
        "auto-reply",
        "autoreply",
        "auto response",
        "auto-response",
        "autoresponse",
        "automated reply",
        "automated response",
        "out of office",
        "out of the office",
        "out-of-office",
        "abwesenheitsnotiz",
        "automatische antwort",
        "automatische rückantwort",
        "réponse automatique",
        "reponse automatique",
        "message d'absence",
        "respuesta automática",
        "respuesta automatica",
        "fuera de la oficina",
        "fuera de oficina",
        "automatisch antwoord",
        "afwezigheidsmelding",
        "afwezigheidsbericht",
        "risposta automatica",
        "autosvar",
    ];
    // Ordinary words count only as the whole subject or its first word, followed by a
    // separator (`AUTO: …`, `Absence - …`, `[OOO] …`): "Auto insurance" is not automatic.
    #[rustfmt::skip]
    const LEADING_WORDS: &[&str] = &[
        "auto", "ooo", "away", "vacation", "urlaub", "abwesenheit", "absence", "absent",
        "absente", "congés", "ausente", "vacaciones", "vakantie",
    ];
    // Phrases that also count when the sentence goes on ("Abwesend bis 3.12.").
    #[rustfmt::skip]
    const LEADING_PHRASES: &[&str] = &[
        "on vacation", "on holiday", "on leave", "away from", "abwesend", "außer haus",
        "ausser haus", "nicht im büro", "im urlaub", "en congé", "en vacances",
        "de vacaciones", "afwezig", "niet aanwezig", "buiten kantoor", "met vakantie",
    ];
    if PHRASES.iter().any(|p| subject_lc.contains(p)) {
        return true;
    }
    let subject_lc = subject_lc.trim_start_matches(['[', '(', '*', ' ']);
    let separator = |rest: &str| {
        let rest = rest.trim_start();
        rest.is_empty() || rest.starts_with([':', '-', '(', ')', ']', '–', '|', '/'])
    };
    LEADING_WORDS
        .iter()
        .any(|w| subject_lc.strip_prefix(w).is_some_and(separator))
        || LEADING_PHRASES.iter().any(|p| {
            subject_lc
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with(' ') || separator(rest))
        })
}
