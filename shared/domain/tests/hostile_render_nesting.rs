//! Deeply nested templates (issue 9, R-4.2): a template of at most 100 KB must
//! be refused or rendered — it must never overflow the stack, which aborts the
//! whole process (a panic handler cannot catch it), so one API call could stop
//! the local server or the API function.
//!
//! Each construct is tried in a child process of this test binary, on a thread
//! with the 2 MiB stack of a Tokio worker or a test thread, so that one abort
//! does not hide the others; the test lists every construct that crashed.

use std::process::Command;
use std::time::Duration;

use outreach_domain::campaign::StepSpec;
use outreach_domain::render::{RenderContext, render_step, validate_step};

/// Nested constructs, each at most ~100 KB (R-4.1's body limit) at the largest depth.
fn template(kind: &str, depth: usize) -> String {
    match kind {
        "unary_minus" => format!("{{{{ {}1 }}}}", "-".repeat(depth)),
        "not" => format!("{{{{ {}true }}}}", "not ".repeat(depth)),
        "parentheses" => format!("{{{{ {}1{} }}}}", "(".repeat(depth), ")".repeat(depth)),
        "lists" => format!("{{{{ {}1{} }}}}", "[".repeat(depth), "]".repeat(depth)),
        "ifs" => format!(
            "{}x{}",
            "{% if true %}".repeat(depth),
            "{% endif %}".repeat(depth)
        ),
        "filters" => format!("{{{{ 'x'{} }}}}", "|upper".repeat(depth)),
        "attributes" => format!("{{{{ candidate{} }}}}", ".a".repeat(depth)),
        "additions" => format!("{{{{ 1{} }}}}", " + 1".repeat(depth)),
        "concatenations" => format!("{{{{ 'a'{} }}}}", " ~ 'a'".repeat(depth)),
        "dicts" => format!("{{{{ {}1{} }}}}", "{'a': ".repeat(depth), "}".repeat(depth)),
        _ => unreachable!("unknown construct {kind}"),
    }
}

const KINDS: &[&str] = &[
    "unary_minus",
    "not",
    "parentheses",
    "lists",
    "ifs",
    "filters",
    "attributes",
    "additions",
    "concatenations",
    "dicts",
];

const DEPTHS: &[usize] = &[100, 1_000, 5_000, 20_000];

/// The child: validates and renders one construct on a 2 MiB thread.
fn child(kind: &str, depth: usize) {
    let body = template(kind, depth);
    let worker = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let step = StepSpec {
                subject: Some("Hi".into()),
                body,
                text: None,
                delay_days: 0,
            };
            let _ = validate_step(&step, true);
            let _ = render_step(&step, None, &RenderContext::default());
        })
        .expect("a thread");
    worker.join().expect("no panic");
}

#[test]
fn deeply_nested_templates_never_overflow_the_stack() {
    if let (Ok(kind), Ok(depth)) = (
        std::env::var("HOSTILE_NESTING_KIND"),
        std::env::var("HOSTILE_NESTING_DEPTH"),
    ) {
        child(&kind, depth.parse().expect("a depth"));
        return;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let mut crashed = Vec::new();
    for kind in KINDS {
        for depth in DEPTHS {
            let body_len = template(kind, *depth).len();
            if body_len > 100 * 1024 {
                continue;
            }
            let mut run = Command::new(&exe);
            run.args([
                "--exact",
                "deeply_nested_templates_never_overflow_the_stack",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("HOSTILE_NESTING_KIND", kind)
            .env("HOSTILE_NESTING_DEPTH", depth.to_string());
            let started = std::time::Instant::now();
            let out = run.output().expect("the child runs");
            let elapsed = started.elapsed();
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let why = stderr
                    .lines()
                    .find(|l| l.contains("overflow") || l.contains("panicked"))
                    .unwrap_or("failed")
                    .to_owned();
                crashed.push(format!("{kind} × {depth} ({body_len} bytes): {why}"));
            } else if elapsed > Duration::from_secs(20) {
                crashed.push(format!("{kind} × {depth}: took {elapsed:?}"));
            }
        }
    }
    assert!(
        crashed.is_empty(),
        "templates within the 100 KB limit that crash validation or rendering:\n  {}",
        crashed.join("\n  ")
    );
}
