//! Hostile templates (issue 9, R-4.2, R-4.4): unbounded loops, huge outputs,
//! deep nesting, recursion, file includes and arbitrary text. Validation and
//! rendering answer every template within the budget — an error or a rendered
//! message within the size limits, with a single-line subject — never a panic,
//! never a hang.
//!
//! Cases per property: `OUTREACH_FUZZ_CASES` (default 2,000; the test script
//! runs 100,000 in release mode).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use outreach_domain::campaign::StepSpec;
use outreach_domain::render::{
    CandidateFields, MAX_OUTPUT_BYTES, RenderContext, RenderError, SenderFields, render_step,
    validate_step,
};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("OUTREACH_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        max_shrink_iters: 1_000,
        ..ProptestConfig::default()
    }
}

/// Far above the few milliseconds a budget-exceeding template needs, far below a hang.
const TIME_LIMIT: Duration = Duration::from_secs(10);

/// Pieces of templates: merge fields, control flow, and the constructs a
/// hostile author would try.
const PIECES: &[&str] = &[
    "Hello ",
    "{{ candidate.first_name }}",
    "{{ candidate.company | default(\"your team\") }}",
    "{{ candidate.title }}",
    "{{ sender.full_name }}",
    "{{ campaign.name }}",
    "{{ custom.referral }}",
    "{{ referral }}",
    "{% if candidate.company %}",
    "{% else %}",
    "{% endif %}",
    "{% for i in range(10000) %}",
    "{% for j in range(10000) %}",
    "{% for k in range(100000) %}",
    "{% for c in candidate.first_name %}",
    "{% endfor %}",
    "{{ i }}",
    "{{ 'x' * 1000 }}",
    "{{ 'x' * 2000000 }}",
    "{{ 'ab' * 9223372036854775807 }}",
    "{{ range(10000) | join(',') }}",
    "{{ range(9999999999) }}",
    "{{ range(0, 10, 0) }}",
    "{% set x = 'aaaaaaaaaaaaaaaa' %}",
    "{% set x = x ~ x ~ x ~ x %}",
    "{{ x }}",
    "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}",
    "{% macro w() %}{% for i in range(10000) %}{{ caller() }}{% endfor %}{% endmacro %}",
    "{% call w() %}{% call w() %}z{% endcall %}{% endcall %}",
    "{% include 'secret.txt' %}",
    "{% import 'macros.html' as m %}",
    "{% extends '/etc/passwd' %}",
    "{% from 'x' import y %}",
    "{{ self }}",
    "{{ loop }}",
    "{{ namespace() }}",
    "{{ debug() }}",
    "{{ lipsum(1000000) }}",
    "{{ cycler(1,2) }}",
    "{{ 1 / 0 }}",
    "{{ 9223372036854775807 + 1 }}",
    "{{ -9223372036854775808 // -1 }}",
    "{{ 2 ** 100000 }}",
    "{{ 'a' | indent(1000000) }}",
    "{{ 'x' | center(100000000) }}",
    "{{ [1,2,3] | batch(0) }}",
    "{{ 'abc'[::0] }}",
    "{{ '%s' | format(1) }}",
    "{{ candidate.first_name | upper | lower | title | trim | replace('a', 'aaaaaaaaaa') }}",
    "{{ candidate.first_name | replace('', 'x') }}",
    "{% raw %}{{ not rendered }}{% endraw %}",
    "{# comment #}",
    "{%- -%}",
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "\r\n",
    "\u{2028}",
    "\u{0}",
    "<script>",
    "&amp;",
];

fn template() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(0..PIECES.len(), 0..24)
            .prop_map(|ps| ps.into_iter().map(|i| PIECES[i]).collect::<String>()),
        1 => ".{0,200}",
        // Nesting of expressions and blocks (the deep end is hostile_render_nesting.rs).
        1 => (1usize..3_000, 0..4u8).prop_map(|(depth, kind)| match kind {
            0 => format!("{{{{ {}1{} }}}}", "(".repeat(depth), ")".repeat(depth)),
            1 => format!("{{{{ {}1{} }}}}", "[".repeat(depth), "]".repeat(depth)),
            2 => format!("{}x{}", "{% if true %}".repeat(depth), "{% endif %}".repeat(depth)),
            _ => format!("{{{{ {}1 }}}}", "-".repeat(depth % 200)),
        }),
    ]
}

fn context() -> impl Strategy<Value = RenderContext> {
    let value = prop::option::of(".{0,40}");
    (
        value.clone(),
        value.clone(),
        value,
        prop::collection::btree_map("[a-z_]{1,8}", ".{0,30}", 0..3),
    )
        .prop_map(|(first, company, sender, custom)| RenderContext {
            candidate: CandidateFields {
                first_name: first,
                last_name: Some("Lovelace".into()),
                full_name: Some("Ada Lovelace".into()),
                title: None,
                company,
                location: None,
            },
            sender: SenderFields {
                first_name: sender.clone(),
                full_name: sender,
                email: Some("sender@recruit.example".into()),
            },
            campaign_name: Some("Backend".into()),
            custom: custom.into_iter().collect::<BTreeMap<_, _>>(),
        })
}

fn step(subject: Option<String>, body: String, text: Option<String>) -> StepSpec {
    StepSpec {
        subject,
        body,
        text,
        delay_days: 0,
    }
}

/// Renders and validates within the budget; a rendered message is within its limits.
fn check(step: &StepSpec, first: Option<&str>, ctx: &RenderContext) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let validated = validate_step(step, true);
    prop_assert!(
        started.elapsed() < TIME_LIMIT,
        "validation took {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let rendered = render_step(step, first, ctx);
    prop_assert!(
        started.elapsed() < TIME_LIMIT,
        "rendering took {:?}",
        started.elapsed()
    );
    if let Ok(m) = &rendered {
        // the subject is one header line.
        prop_assert!(
            !m.subject.contains(['\r', '\n', '\u{2028}', '\u{2029}']),
            "subject {:?}",
            m.subject
        );
        prop_assert!(
            m.html.len() <= MAX_OUTPUT_BYTES,
            "html of {} bytes",
            m.html.len()
        );
        prop_assert!(
            m.text.len() <= 2 * MAX_OUTPUT_BYTES,
            "text of {} bytes",
            m.text.len()
        );
        prop_assert!(m.subject.len() <= MAX_OUTPUT_BYTES);
    }
    if validated.is_ok() && rendered.is_err() {
        // A valid template may still fail for one recipient (a missing field,
        // the budget), but never with a syntax error validation missed.
        prop_assert!(
            !matches!(&rendered, Err(RenderError::Syntax(s)) if s.contains("syntax error")),
            "validated, yet {rendered:?}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn hostile_bodies_stay_within_the_budget(body in template(), ctx in context()) {
        check(&step(Some("Hi".into()), body, None), None, &ctx)?;
    }

    #[test]
    fn hostile_subjects_and_text_parts(subject in template(), text in prop::option::of(template()), ctx in context()) {
        check(&step(Some(subject.clone()), "<p>Hi</p>".into(), text), None, &ctx)?;
        // A later step without a subject replies to the first one's.
        check(&step(None, "<p>Again</p>".into(), None), Some(&subject), &ctx)?;
    }

    #[test]
    fn include_import_and_extends_are_refused(
        before in "[a-zA-Z ,.]{0,40}",
        after in "[a-zA-Z ,.]{0,40}",
        which in 0..4usize,
        path in "[a-zA-Z0-9/._-]{1,30}",
    ) {
        let tag = match which {
            0 => format!("{{% include '{path}' %}}"),
            1 => format!("{{% import '{path}' as m %}}"),
            2 => format!("{{% extends '{path}' %}}"),
            _ => format!("{{% from '{path}' import x %}}"),
        };
        let body = format!("{before}{tag}{after}");
        let step = step(Some("Hi".into()), body, None);
        prop_assert!(validate_step(&step, true).is_err(), "validation accepted {:?}", step.body);
        prop_assert!(render_step(&step, None, &RenderContext::default()).is_err());
    }
}

#[test]
fn the_worst_known_templates_are_refused_quickly() {
    // each exceeds the fuel, output or range budget.
    let bombs = [
        "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}",
        "{{ 'x' * 2000000 }}",
        "{{ 'ab' * 9223372036854775807 }}",
        "{{ range(9999999999) | length }}",
        "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}",
        "{% macro w() %}{% for i in range(10000) %}{{ caller() }}{% endfor %}{% endmacro %}{% call w() %}{% call w() %}z{% endcall %}{% endcall %}",
    ];
    for body in bombs {
        let started = Instant::now();
        let result = render_step(
            &step(Some("Hi".into()), body.into(), None),
            None,
            &RenderContext::default(),
        );
        assert!(
            started.elapsed() < TIME_LIMIT,
            "{body}: {:?}",
            started.elapsed()
        );
        assert!(
            result.is_err(),
            "{body} rendered {} bytes",
            result.map(|m| m.html.len()).unwrap_or(0)
        );
    }
}

/// Counts the bytes allocated by the current thread, to bound what one
/// render may hold at once.
mod peak {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        static CURRENT: Cell<usize> = const { Cell::new(0) };
        static PEAK: Cell<usize> = const { Cell::new(0) };
    }

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let _ = CURRENT.try_with(|c| {
                let now = c.get() + layout.size();
                c.set(now);
                let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
            });
            // SAFETY: forwarded unchanged to the system allocator.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            let _ = CURRENT.try_with(|c| c.set(c.get().saturating_sub(layout.size())));
            // SAFETY: forwarded unchanged to the system allocator.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    /// The most this thread held at once while `f` ran, above what it held before.
    pub fn during<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let base = CURRENT.with(Cell::get);
        PEAK.with(|p| p.set(base));
        let out = f();
        (out, PEAK.with(Cell::get) - base)
    }
}

#[global_allocator]
static ALLOCATOR: peak::Counting = peak::Counting;

#[test]
fn a_refused_template_never_holds_much_memory() {
    // the output budget is 1 MiB; a short template must not make one
    // render hold a hundred times that before it is refused (a send or API
    // function has a few hundred MB at most).
    let limit = 32 * MAX_OUTPUT_BYTES;
    let mut over = Vec::new();
    for body in [
        "{{ 'x' * 2000000 }}",
        "{{ 'x' * 100000000 }}",
        "{{ 'xy' * 50000000 }}",
        "{{ ('x' * 10000) * 10000 }}",
        "{{ range(10000) | join('x' * 10000) }}",
    ] {
        let step = step(Some("Hi".into()), body.into(), None);
        let (result, peak) = peak::during(|| render_step(&step, None, &RenderContext::default()));
        assert!(result.is_err(), "{body} rendered");
        if peak > limit {
            over.push(format!(
                "{body}: {} MB held before the refusal",
                peak / 1_000_000
            ));
        }
    }
    assert!(
        over.is_empty(),
        "templates of a few bytes that hold more than {} MB:\n  {}",
        limit / 1_000_000,
        over.join("\n  ")
    );
}
