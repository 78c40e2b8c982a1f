//! the reply corpus. Every entry of `tests/replies/<language>.txt` is a reply body
//! as a mail client writes it — the answer, a signature, the quoted history in the form
//! of Gmail, Outlook, Apple Mail or Thunderbird — and the class a recruiter would give it.
//! The test classifies each one and reports every mismatch at once (language, entry
//! number, first line, expected and found class, the own text that was read), with the
//! counts per language and class.
//!
//! File format: lines before the first entry are comments; an entry starts with a line
//! `=== <class>` (`=== <class> html` when the body is the HTML part) and runs to the next.

use std::collections::BTreeMap;

use outreach_domain::inbound::{ReplyClass, classify_reply};

const LANGUAGES: &[&str] = &["en", "de", "fr", "es", "nl", "pt"];
/// SPEC R-9.9 / issue 21: at least 20 replies per language, every class in each.
const MIN_PER_LANGUAGE: usize = 20;

struct Entry {
    class: ReplyClass,
    html: bool,
    body: String,
}

fn entries(language: &str) -> Vec<Entry> {
    let path = format!(
        "{}/tests/replies/{language}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut entries: Vec<Entry> = Vec::new();
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("=== ") {
            let mut words = header.split_whitespace();
            let name = words.next().unwrap_or_default();
            let class =
                ReplyClass::parse(name).unwrap_or_else(|| panic!("{path}: unknown class {name:?}"));
            let html = words.next() == Some("html");
            entries.push(Entry {
                class,
                html,
                body: String::new(),
            });
        } else if let Some(entry) = entries.last_mut() {
            entry.body.push_str(line);
            entry.body.push('\n');
        }
    }
    entries
}

#[test]
fn every_reply_of_the_corpus_gets_its_class() {
    let mut mismatches = Vec::new();
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut total = 0;
    for language in LANGUAGES {
        let entries = entries(language);
        assert!(
            entries.len() >= MIN_PER_LANGUAGE,
            "{language}: {} replies, fewer than {MIN_PER_LANGUAGE}",
            entries.len()
        );
        for class in ReplyClass::ALL {
            assert!(
                entries.iter().any(|e| e.class == class),
                "{language}: no reply of class {}",
                class.as_str()
            );
        }
        for (n, entry) in entries.iter().enumerate() {
            total += 1;
            *counts.entry((language, entry.class.as_str())).or_default() += 1;
            let reply = if entry.html {
                classify_reply(None, Some(&entry.body))
            } else {
                classify_reply(Some(&entry.body), None)
            };
            if reply.class != entry.class {
                let first = entry.body.lines().find(|l| !l.trim().is_empty());
                mismatches.push(format!(
                    "{language} #{}: expected {}, found {} — {:?}\n    own text: {:?}",
                    n + 1,
                    entry.class.as_str(),
                    reply.class.as_str(),
                    first.unwrap_or_default(),
                    reply.text
                ));
            }
        }
    }
    let summary: Vec<String> = counts
        .iter()
        .map(|((language, class), n)| format!("{language}/{class}: {n}"))
        .collect();
    println!("{total} replies; {}", summary.join(", "));
    println!(
        "accuracy {}/{total} = {:.1} %",
        total - mismatches.len(),
        100.0 * (total - mismatches.len()) as f64 / total as f64
    );
    assert!(
        mismatches.is_empty(),
        "{} of {total} replies misclassified:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// What only quoted history or a signature holds in the corpus: the recruiter's address,
/// mobile footers, separators, quoted lines, the links of the original.
const MARKERS: &[&str] = &[
    "grace@acme-talent.com",
    "Sent from my",
    "Von meinem",
    "Envoyé de mon",
    "Enviado desde mi",
    "Verzonden vanaf mijn",
    "Enviado do meu",
    "-----",
    "\n> ",
    "https://out.example",
];

#[test]
fn quoted_history_and_signatures_never_reach_the_own_text() {
    // Every corpus entry quotes an original or signs off; none of that may remain.
    for language in LANGUAGES {
        for (n, entry) in entries(language).iter().enumerate() {
            let reply = if entry.html {
                classify_reply(None, Some(&entry.body))
            } else {
                classify_reply(Some(&entry.body), None)
            };
            for marker in MARKERS {
                assert!(
                    !reply.text.contains(marker) && !reply.text.starts_with("> "),
                    "{language} #{}: own text keeps {marker:?}: {:?}",
                    n + 1,
                    reply.text
                );
            }
        }
    }
}
