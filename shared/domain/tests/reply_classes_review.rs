//! the whole messages an outside review sent (issue 21, /work/review21b
//! t06, t21, t23, t30, t41), rebuilt as raw RFC 5322 and read through
//! [`classify_raw_reply`] as the app reads them: each must be a person's reply
//! (`parse_inbound`), get its class and, where stated, exactly its own text.
//!
//! HTML-only replies hide their quoted history in HTML (Outlook on the web's
//! `divRplyFwdMsg`, Yahoo's `yahoo_quoted`, Gmail's `gmail_quote` with or without the
//! `gmail_attr` line); the quote holds a stop request and must never decide the class.
//! A reply with no own text takes `opt_out` from a subject that is a stop request and
//! has no reply prefix; "Re: <original subject>" classes nothing.

use chrono::NaiveDate;
use outreach_domain::inbound::{InboundKind, ReplyClass, classify_raw_reply, parse_inbound};

use ReplyClass::*;

/// The recruiter's original as the review quoted it: stop requests in every form.
const U: &str = "If you'd rather not hear from me, reply unsubscribe or remove me.";

fn html_mail(subject: &str, html: &str) -> String {
    format!(
        "From: Cand <cand@cand.example>\r\nTo: reply+tok123@reply.outreach.example\r\n\
         Subject: {subject}\r\nMessage-ID: <r1@m.example>\r\n\
         Date: Tue, 01 Dec 2026 16:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
    )
}

fn plain_mail(subject: &str, body: &str) -> String {
    format!(
        "From: Cand <cand@cand.example>\r\nTo: reply+tok123@reply.outreach.example\r\n\
         Subject: {subject}\r\nMessage-ID: <r2@m.example>\r\n\
         Date: Tue, 01 Dec 2026 16:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}"
    )
}

fn html_cases() -> Vec<(&'static str, String, ReplyClass, &'static str)> {
    vec![
        // t23 #1: Outlook on the web, English.
        (
            "t23 owa",
            html_mail(
                "RE: Hello",
                "<html><body><div>I am interested, please call me.</div><div id=\"appendonsend\"></div>\
             <hr style=\"display:inline-block;width:98%\" tabindex=\"-1\"><div id=\"divRplyFwdMsg\" dir=\"ltr\">\
             <font face=\"Calibri, sans-serif\" style=\"font-size:11pt\" color=\"#000000\"><b>From:</b> \
             Alice Recruiter &lt;alice@acme.example&gt;<br><b>Sent:</b> Tuesday, December 1, 2026 3:20 PM<br>\
             <b>To:</b> Cand<br><b>Subject:</b> Hello</font><div>&nbsp;</div></div>\
             <div>Hi Cand, if you'd rather not hear from me, just reply unsubscribe.</div></body></html>",
            ),
            Interested,
            "I am interested, please call me.",
        ),
        // t23 #2 and t06: Outlook on the web, German, no appendonsend.
        (
            "t23 owa de",
            html_mail(
                "AW: Hello",
                "<html><body><p>Gerne, ich bin interessiert.</p><hr><div id=\"divRplyFwdMsg\"><b>Von:</b> \
             Alice<br><b>Gesendet:</b> Dienstag, 1. Dezember 2026 15:20<br><b>An:</b> Cand<br>\
             <b>Betreff:</b> Hello</div><div>Falls nicht: bitte abmelden.</div></body></html>",
            ),
            Interested,
            "Gerne, ich bin interessiert.",
        ),
        // An <hr> before the header block, no div ids at all.
        (
            "hr before From",
            html_mail(
                "RE: Hello",
                &format!(
                    "<div>Interested, let's talk.</div><hr><b>From:</b> Alice<br><b>Sent:</b> Tuesday<br>\
             <b>Subject:</b> Hello<br><div>{U}</div>"
                ),
            ),
            Interested,
            "Interested, let's talk.",
        ),
        // t41: the clients that held before must still hold.
        (
            "t41 outlook desktop",
            html_mail(
                "RE: Hello",
                &format!(
                    "<html><body><div class=WordSection1><p class=MsoNormal>Interested, please call me.<o:p></o:p></p>\
             <p class=MsoNormal><o:p>&nbsp;</o:p></p><div><div style=\"border:none;border-top:solid #E1E1E1 1.0pt;\
             padding:3.0pt 0cm 0cm 0cm\"><p class=MsoNormal><b>From:</b> Alice Recruiter &lt;alice@acme.example&gt; \
             <br><b>Sent:</b> Tuesday, December 1, 2026 3:20 PM<br><b>To:</b> Cand<br><b>Subject:</b> Hello\
             <o:p></o:p></p></div></div><p class=MsoNormal>{U}<o:p></o:p></p></div></body></html>"
                ),
            ),
            Interested,
            "Interested, please call me.",
        ),
        (
            "t41 owa",
            html_mail(
                "RE: Hello",
                &format!(
                    "<div dir=\"ltr\">Interested, please call me.</div><div id=\"appendonsend\"></div>\
             <hr style=\"display:inline-block;width:98%\"><div id=\"divRplyFwdMsg\" dir=\"ltr\"><b>From:</b> \
             Alice<br><b>Sent:</b> Tuesday, December 1, 2026 3:20 PM<br><b>To:</b> Cand<br><b>Subject:</b> \
             Hello</div><div>{U}</div>"
                ),
            ),
            Interested,
            "Interested, please call me.",
        ),
        (
            "t41 apple",
            html_mail(
                "Re: Hello",
                &format!(
                    "<html><body dir=\"auto\">Interested, please call me.<br><br><div dir=\"ltr\">Sent from my iPhone</div>\
             <div dir=\"ltr\"><br><blockquote type=\"cite\">On Dec 1, 2026, at 15:20, Alice Recruiter \
             &lt;alice@acme.example&gt; wrote:<br><br></blockquote></div><blockquote type=\"cite\">\
             <div dir=\"ltr\">{U}</div></blockquote></body></html>"
                ),
            ),
            Interested,
            "Interested, please call me.",
        ),
        (
            "t41 thunderbird",
            html_mail(
                "Re: Hello",
                &format!(
                    "<html><body><p>Interested, please call me.</p><div class=\"moz-cite-prefix\">On 01/12/2026 15:20, \
             Alice Recruiter wrote:<br></div><blockquote type=\"cite\"><p>{U}</p></blockquote></body></html>"
                ),
            ),
            Interested,
            "Interested, please call me.",
        ),
        (
            "t41 gmail es",
            html_mail(
                "Re: Hello",
                &format!(
                    "<div dir=\"ltr\">Me interesa, llámame.</div><br><div class=\"gmail_quote\"><div dir=\"ltr\" \
             class=\"gmail_attr\">El mar, 1 dic 2026 a las 15:20, Alice (&lt;alice@acme.example&gt;) escribió:<br>\
             </div><blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex\">{U} Darme de baja.\
             </blockquote></div>"
                ),
            ),
            Interested,
            "Me interesa, llámame.",
        ),
        // t41: Yahoo, where the text used to be only the quote.
        (
            "t41 yahoo",
            html_mail(
                "Re: Hello",
                &format!(
                    "<html><body><div class=\"ydp\"><div>Interested, please call me.</div></div>\
             <div id=\"yahoo_quoted_123\" class=\"yahoo_quoted\"><div style=\"font-size:13px;color:#26282a;\">\
             <div>On Tuesday, December 1, 2026, 03:20:00 PM GMT+1, Alice &lt;alice@acme.example&gt; wrote:</div>\
             <div><br></div><div>{U}</div></div></div></body></html>"
                ),
            ),
            Interested,
            "Interested, please call me.",
        ),
        // t06: Gmail without the gmail_attr line, the quote in a gmail_quote div.
        (
            "t06 gmail no attr, opt-out",
            html_mail(
                "Re: Hello",
                "<div dir=\"ltr\">Please unsubscribe me.</div><br><div class=\"gmail_quote\">On Tue, Dec 1, 2026 \
             Alice wrote:<blockquote>Hi Cand. Sounds good? I'm interested in your profile.</blockquote></div>",
            ),
            OptOut,
            "Please unsubscribe me.",
        ),
        (
            "t06 gmail no attr, interested",
            html_mail(
                "Re: Hello",
                "<div dir=\"ltr\">Sounds good, let's talk Thursday.</div><br><div class=\"gmail_quote\">\
             <blockquote>Hi Cand. If you'd rather not hear from me, reply unsubscribe, remove me, stop \
             emailing me.</blockquote></div>",
            ),
            Interested,
            "Sounds good, let's talk Thursday.",
        ),
        // Gmail's blockquote alone, no wrapping div.
        (
            "gmail blockquote only",
            html_mail(
                "Re: Hello",
                &format!(
                    "<div dir=\"ltr\">Yes! Thursday works.</div><blockquote class=\"gmail_quote\" \
             style=\"margin:0px\">{U}</blockquote>"
                ),
            ),
            Interested,
            "Yes! Thursday works.",
        ),
        // A bottom-posted answer below the quote is kept.
        (
            "bottom-posted",
            html_mail(
                "Re: Hello",
                &format!(
                    "<div class=\"moz-cite-prefix\">On 01/12/2026 15:20, Alice wrote:</div>\
             <blockquote type=\"cite\">{U}</blockquote><p>Not interested, thanks.</p>"
                ),
            ),
            NotInterested,
            "Not interested, thanks.",
        ),
    ]
}

fn subject_cases() -> Vec<(&'static str, String, ReplyClass)> {
    let mut cases = Vec::new();
    // t21: a stop request written only in the subject, in the six languages.
    for subject in [
        "unsubscribe",
        "Unsubscribe",
        "remove me",
        "Please remove me from your list",
        "Abmelden",
        "Abbestellen",
        "Désabonnement",
        "Darse de baja",
        "Afmelden",
        "Descadastrar",
        "STOP",
    ] {
        cases.push((subject, plain_mail(subject, ""), OptOut));
    }
    cases.push((
        "subject, signature only",
        plain_mail("Unsubscribe", "\r\nSent from my iPhone\r\n"),
        OptOut,
    ));
    // A normal "Re:" subject never classes anything, even with stop words in it.
    cases.push(("Re: Hello, empty", plain_mail("Re: Hello", ""), Other));
    cases.push((
        "Re: remove me, empty",
        plain_mail("Re: Stop by, remove me?", ""),
        Other,
    ));
    // The body decides when there is one.
    cases.push((
        "subject vs body",
        plain_mail("unsubscribe", "Interested, call me.\r\n"),
        Interested,
    ));
    cases.push(("other subject, empty", plain_mail("Question", ""), Other));
    cases
}

fn check(
    label: &str,
    raw: &str,
    class: ReplyClass,
    text: Option<&str>,
    failures: &mut Vec<String>,
) {
    let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let kind = parse_inbound(raw.as_bytes(), day).unwrap().kind;
    let reply = classify_raw_reply(raw.as_bytes()).unwrap();
    if kind != InboundKind::Reply || reply.class != class || text.is_some_and(|t| t != reply.text) {
        failures.push(format!(
            "{label}: kind {kind:?}, expected {} {text:?}, found {} {:?}",
            class.as_str(),
            reply.class.as_str(),
            reply.text
        ));
    }
}

#[test]
fn html_only_replies_lose_their_marked_quotes() {
    let mut failures = Vec::new();
    for (label, raw, class, text) in html_cases() {
        check(label, &raw, class, Some(text), &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_empty_reply_takes_opt_out_from_its_subject_only() {
    let mut failures = Vec::new();
    for (label, raw, class) in subject_cases() {
        check(label, &raw, class, None, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// t30: the short stop requests that read `other`, sent as plain-text replies.
#[test]
fn short_stop_requests_in_every_language_opt_out() {
    let mut failures = Vec::new();
    for body in [
        "Abbestellen",
        "Bitte abbestellen.",
        "Ich möchte mich abmelden.",
        "Bitte keine E-Mails mehr.",
        "Schreiben Sie mir nicht mehr.",
        "Mail mij niet meer.",
        "Stuur mij geen mails meer.",
        "Niet meer mailen a.u.b.",
        "Uitschrijven",
        "Ik wil geen e-mails meer ontvangen.",
        "Cancelar suscripción",
        "Darse de baja",
        "No quiero recibir más correos.",
        "Se désinscrire",
        "Désinscription",
        "Je ne souhaite plus recevoir vos e-mails.",
        "Descadastrar",
        "Não quero mais receber e-mails.",
        "Cancelar subscrição",
        "Opt out",
        "pls remove",
        "unsubscribe me",
        "Don't email me",
        "I don't want to receive any more emails.",
    ] {
        check(
            body,
            &plain_mail("Re: Hello", &format!("{body}\r\n")),
            OptOut,
            Some(body),
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Near misses of the widened rules: none of these asks to stop.
#[test]
fn near_misses_of_stop_requests_do_not_opt_out() {
    let mut failures = Vec::new();
    for (body, class) in [
        (
            "Please don't remove me from the process, I'm interested.",
            Interested,
        ),
        ("Please do not remove me from the shortlist.", Other),
        (
            "I'd like to unsubscribe from my current job, tell me more.",
            Interested,
        ),
        ("Please remove the old address, use this one.", Other),
        (
            "Please remove my old address, my new one is max@new.example.",
            Other,
        ),
        ("I don't want to receive a call, email is fine.", Other),
        (
            "The second role from this list sounds good, let's talk.",
            Interested,
        ),
        ("Por favor, não me remova da lista de candidatos.", Other),
        (
            "I don't want to get your hopes up: I'm not looking.",
            NotInterested,
        ),
        (
            "Ich brauche keine weiteren Informationen, ich bin interessiert.",
            Interested,
        ),
        (
            "Entfernen Sie meine alte Adresse, meine neue ist max@neu.example.",
            Other,
        ),
        (
            "Verwijder mijn oude adres, mijn nieuwe is max@nieuw.example.",
            Other,
        ),
        ("No me molesta que me escriban, me interesa.", Interested),
        ("Stop by our office any time, I'm interested.", Interested),
    ] {
        check(
            body,
            &plain_mail("Re: Hello", &format!("{body}\r\n")),
            class,
            Some(body),
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
