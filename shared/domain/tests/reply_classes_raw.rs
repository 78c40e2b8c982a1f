//! on whole messages: every reply of the inbound corpus (`tests/corpus/reply`, raw
//! RFC 5322 as Gmail, Outlook, Apple Mail, Thunderbird, Yahoo and mobile clients send it,
//! in several charsets and transfer encodings, written for issue 15 before reply classes
//! existed) is read through [`classify_raw_reply`] and must get the class a recruiter would
//! give it, with none of its quoted history in the own text.

use outreach_domain::inbound::{ReplyClass, classify_raw_reply};

#[rustfmt::skip]
const EXPECTED: &[(&str, ReplyClass)] = &[
    ("apple_mail", ReplyClass::Interested),
    ("attachment_cv_pdf", ReplyClass::Interested),
    ("base64_utf8_spanish", ReplyClass::Interested),
    // Questions before anything is decided.
    ("changed_subject_no_threading", ReplyClass::Other),
    ("delivered_to_sender_address", ReplyClass::Interested),
    ("dutch_reply", ReplyClass::Interested),
    ("french_outlook", ReplyClass::Interested),
    ("gmail_quoted", ReplyClass::Interested),
    ("iso_8859_1", ReplyClass::Interested),
    ("mentions_vacation", ReplyClass::Interested),
    // "Not interested, thanks. Please remove me from your list.": opt_out wins.
    ("mobile_android_gmail", ReplyClass::OptOut),
    ("mobile_iphone", ReplyClass::Interested),
    ("outlook_exchange", ReplyClass::NotInterested),
    ("quoted_printable", ReplyClass::Interested),
    ("re_subject_with_bounce_words", ReplyClass::Interested),
    ("thunderbird_german", ReplyClass::Interested),
    ("yahoo_html_only", ReplyClass::Interested),
];

#[test]
fn every_raw_reply_of_the_inbound_corpus_gets_its_class() {
    let dir = format!("{}/tests/corpus/reply", env!("CARGO_MANIFEST_DIR"));
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".eml").map(str::to_owned)
        })
        .collect();
    on_disk.sort();
    let listed: Vec<&str> = EXPECTED.iter().map(|(name, _)| *name).collect();
    assert_eq!(on_disk, listed, "every corpus reply has an expected class");
    let mut mismatches = Vec::new();
    for (name, expected) in EXPECTED {
        let raw = std::fs::read(format!("{dir}/{name}.eml")).unwrap();
        let reply = classify_raw_reply(&raw).unwrap();
        if reply.class != *expected || reply.text.contains("\n>") || reply.text.contains("wrote:") {
            mismatches.push(format!(
                "{name}: expected {}, found {} — own text {:?}",
                expected.as_str(),
                reply.class.as_str(),
                reply.text
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
