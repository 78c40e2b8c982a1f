//! Template rendering and step validation (R-4.1–R-4.4, R-8.3 "Re:" subjects).
//!
//! A step's subject, HTML body and optional plain-text part are MiniJinja
//! templates. This module renders them for one recipient and checks them when a
//! template or campaign is saved. It is pure: no I/O, no clock.
//!
//! # Merge fields (R-4.2)
//!
//! | Name | Source |
//! |------|--------|
//! | `candidate.first_name`, `last_name`, `full_name`, `title`, `company`, `location` | [`CandidateFields`] |
//! | `sender.first_name`, `full_name`, `email` | [`SenderFields`] |
//! | `campaign.name` | [`RenderContext::campaign_name`] |
//! | `custom.<name>` and, as a shorthand, `<name>` | [`RenderContext::custom`] |
//!
//! A custom field is also visible at the top level (`{{ referral }}`) unless its
//! name is taken by a namespace (`candidate`, `sender`, `campaign`, `custom`) or
//! a template function (`range`, …); `custom.<name>` (or `custom["odd-name"]`)
//! always works.
//!
//! # Missing fields (R-4.3)
//!
//! A field that is absent, empty or whitespace-only is *missing*: it is
//! undefined to the template. The engine runs in MiniJinja's `SemiStrict` mode,
//! which fails on printing or transforming an undefined value but lets
//! `{{ x | default("…") }}`, `{% if x %}` and `x is defined` inspect it (plain
//! `Strict` mode makes `{% if x %}` fail too). Merge-field namespaces are
//! objects that note the last field looked up without a value, so the error
//! names it: [`RenderError::MissingField`]`("candidate.company")`. Rendering
//! returns all of a part or an error, never partial output.
//!
//! # Escaping and budget (R-4.2)
//!
//! Values are HTML-escaped in the body (auto-escaping is keyed on the internal
//! template name `body.html`), never in the subject or the text part. The
//! environment has no loader, so `include`, `import` and `extends` cannot reach
//! any file; [`validate_step`] refuses them up front. Each part renders with
//! [`FUEL`] units of MiniJinja fuel, at most [`MAX_OUTPUT_BYTES`] of output and
//! `range()` of at most [`MAX_RANGE_LEN`] items; exceeding any of these is
//! [`RenderError::Budget`].
//!
//! Fuel bounds time, not memory or stack, so a template first passes the
//! guard in `guard.rs`: it is refused when nested more than
//! [`MAX_NESTING`] levels deep (MiniJinja parses by recursion and would
//! overflow the stack) or when it uses a construct that builds values outside
//! every budget (`*` repetition, `macro`, `call`, `filter` and block `set`,
//! `with`, recursive loops, `autoescape`, more than
//! `guard::MAX_CONCATENATIONS` `~`/`+` in one tag) or calls a filter, test,
//! function or method that is not on the allow-list. Every value a template
//! names with `set` or iterates with `for`, and every value a filter builds,
//! counts against a working budget of [`MAX_WORKING_BYTES`] per part.
//!
//! The environment holds only that allow-list (`allowed.rs`): each filter's
//! result is estimated from its arguments *before* it runs (`batch`, `slice`,
//! `join`, `replace`, `indent`…), because a failed allocation aborts the
//! process rather than panicking, and stored content is rendered again at
//! every restart (issue 15). `namespace()`, `debug()`, `format`, `pprint` and
//! `safe` are not available.
//!
//! # Where each part lives
//! | File | What it holds | Rules |
//! |------|---------------|-------|
//! | `mod.rs` | [`render_step`], [`single_line`] and the types they return | R-4.2, R-4.4, R-8.3 |
//! | `validate.rs` | [`validate_step`], [`validate_steps`]: what is checked when a step is saved | R-4.1, R-4.4 |
//! | `fields.rs` | [`RenderContext`] and the merge-field namespaces that name a missing field | R-4.2, R-4.3 |
//! | `renderer.rs` | one render of one part, and how an engine error becomes a [`RenderError`] | R-4.3 |
//! | `budget.rs` | the sandboxed environment, fuel, output and working-set budgets | R-4.2 |
//! | `guard.rs` | the template checks that run before MiniJinja parses anything | R-4.2 |
//! | `allowed.rs` | the allow-list of filters, tests, functions and methods | R-4.2 |
//! | `html_text.rs` | [`html_to_text`], the text part derived from the HTML body | R-4.1 |

mod allowed;
mod budget;
mod fields;
mod guard;
mod html_text;
mod renderer;
mod validate;

use crate::campaign::StepSpec;
use renderer::Renderer;
use serde::{Deserialize, Serialize};

pub use allowed::{
    FUNCTIONS as ALLOWED_FUNCTIONS, METHODS as ALLOWED_METHODS, TESTS as ALLOWED_TESTS,
    filter_names as allowed_filters,
};
pub use budget::{
    FUEL, MAX_NAMED_BYTES, MAX_NAMED_ITEMS, MAX_OUTPUT_BYTES, MAX_RANGE_LEN, MAX_WORKING_BYTES,
};
pub use fields::{CandidateFields, RenderContext, SenderFields};
pub use guard::MAX_NESTING;
pub use html_text::html_to_text;
pub use validate::{
    FieldError, MAX_BODY_BYTES, MAX_DELAY_DAYS, MAX_STEP_CONTENT_BYTES, MAX_STEPS,
    MAX_SUBJECT_CHARS, json_string_bytes, too_large, validate_step, validate_steps,
};

/// Internal template names. Auto-escaping is chosen by the name's extension.
const SUBJECT_NAME: &str = "subject.txt";
const BODY_NAME: &str = "body.html";
const TEXT_NAME: &str = "text.txt";

/// Why a step could not be rendered for a recipient.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// R-4.3: the named merge field (e.g. `candidate.company`) has no value and
    /// the template gives no default.
    #[error("merge field `{0}` has no value and no default")]
    MissingField(String),
    /// The template is malformed or fails for a reason other than a missing
    /// field (unknown filter, `include`, …).
    #[error("template error: {0}")]
    Syntax(String),
    /// R-4.2: the template exceeded its fuel, output or range budget.
    #[error("template exceeds its budget: {0}")]
    Budget(String),
}

/// A step rendered for one recipient, ready to be put into a MIME message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RenderedMessage {
    /// Single line: never contains CR or LF (R-4.4).
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Renders one step for one recipient.
///
/// A step without a subject of its own gets "Re: " + the rendered
/// `first_step_subject` (R-8.3). The text part is the rendered `text` when
/// given, else derived from the rendered HTML with [`html_to_text`].
pub fn render_step(
    step: &StepSpec,
    first_step_subject: Option<&str>,
    ctx: &RenderContext,
) -> Result<RenderedMessage, RenderError> {
    let renderer = Renderer::new(ctx);
    let subject = match non_blank(step.subject.as_deref()) {
        Some(own) => bounded_subject(renderer.render(SUBJECT_NAME, own)?)?,
        None => match non_blank(first_step_subject) {
            Some(first) => format!(
                "Re: {}",
                bounded_subject(renderer.render(SUBJECT_NAME, first)?)?
            ),
            None => {
                return Err(RenderError::Syntax(
                    "the step has no subject and there is no first-step subject to reply to".into(),
                ));
            }
        },
    };
    // R-4.4: merged values may carry line breaks; a header never does.
    let subject = single_line(&subject).trim().to_owned();
    let html = renderer.render(BODY_NAME, &step.body)?;
    let text = match non_blank(step.text.as_deref()) {
        Some(text) => renderer.render(TEXT_NAME, text)?,
        None => html_to_text(&html),
    };
    Ok(RenderedMessage {
        subject,
        html,
        text,
    })
}

/// A rendered subject on one line (R-4.4), cut to [`MAX_SUBJECT_CHARS`]
/// characters (ending in `…`): R-4.1's bound on a subject, which merged
/// values may pass (issue 19 item 4: a loop over a long custom field
/// rendered 512,000 characters, and the candidate received them all).
fn bounded_subject(rendered: String) -> Result<String, RenderError> {
    let subject = single_line(&rendered).trim().to_owned();
    Ok(crate::text::bounded(&subject, MAX_SUBJECT_CHARS).into_owned())
}

/// Template source that renders to `text` exactly, whatever it holds: text
/// from outside (a candidate's reply subject, R-12.2) used where a template
/// is expected is never read as merge fields or tags. Every `{` becomes an
/// expression printing it, so no tag, expression or comment can open.
pub fn literal(text: &str) -> String {
    text.replace('{', "{{ \"{\" }}")
}

/// Replaces every control character (CR, LF, tab, …) and Unicode line or
/// paragraph separator with a space, so the value fits on one header line
/// (R-4.4).
pub fn single_line(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// `Some(value)` unless absent, empty or whitespace-only (which counts as
/// missing, R-4.3).
fn non_blank(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {

    use super::*;
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    fn ctx() -> RenderContext {
        RenderContext {
            candidate: CandidateFields {
                first_name: Some("Ada".into()),
                last_name: Some("Lovelace".into()),
                full_name: Some("Ada Lovelace".into()),
                title: Some("Engineer".into()),
                company: None,
                location: Some("   ".into()),
            },
            sender: SenderFields {
                first_name: Some("Sam".into()),
                full_name: Some("Sam Sender".into()),
                email: Some("sam@example.com".into()),
            },
            campaign_name: Some("Q3 hiring".into()),
            custom: BTreeMap::from([
                ("referral".to_owned(), "Grace".to_owned()),
                ("job-title".to_owned(), "CTO".to_owned()),
                ("empty".to_owned(), "".to_owned()),
                ("candidate".to_owned(), "shadow attempt".to_owned()),
            ]),
        }
    }

    /// R-12.2 / issue 21: a candidate's reply subject, answered, is text,
    /// never merge fields or tags.
    #[test]
    fn literal_text_renders_as_itself() {
        let hostile =
            "Re: {{ candidate.first_name }} {% for x in range(9) %}x{% endfor %} {# c #} {{{ }";
        let own = literal(hostile);
        let rendered = render_step(&step(Some(&own), "<p>Hi</p>"), None, &ctx()).expect("renders");
        assert_eq!(rendered.subject, hostile);
    }

    fn step(subject: Option<&str>, body: &str) -> StepSpec {
        StepSpec {
            subject: subject.map(str::to_owned),
            body: body.to_owned(),
            text: None,
            delay_days: 0,
        }
    }

    fn later(subject: Option<&str>, body: &str, delay_days: u32) -> StepSpec {
        StepSpec {
            delay_days,
            ..step(subject, body)
        }
    }

    fn render(
        subject: &str,
        body: &str,
        ctx: &RenderContext,
    ) -> Result<RenderedMessage, RenderError> {
        render_step(&step(Some(subject), body), None, ctx)
    }

    fn fields(result: Result<(), Vec<FieldError>>) -> Vec<String> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn merges_every_namespace() {
        // R-4.2
        let m = render(
            "Hi {{ candidate.first_name }}",
            "{{ candidate.full_name }}, {{ candidate.title }} | {{ sender.first_name }} {{ sender.full_name }} \
             {{ sender.email }} | {{ campaign.name }} | {{ referral }} {{ custom.referral }} {{ custom['job-title'] }}",
            &ctx(),
        )
        .unwrap();
        assert_eq!(m.subject, "Hi Ada");
        assert_eq!(
            m.html,
            "Ada Lovelace, Engineer | Sam Sam Sender sam@example.com | Q3 hiring | Grace Grace CTO"
        );
    }

    #[test]
    fn custom_fields_do_not_shadow_namespaces_or_functions() {
        // R-4.2: a custom field called `candidate` stays reachable as custom.candidate only.
        let mut c = ctx();
        c.custom.insert("range".into(), "nope".into());
        let m = render(
            "{{ candidate.first_name }}",
            "{{ custom.candidate }}{% for i in range(2) %}{{ i }}{% endfor %}",
            &c,
        )
        .unwrap();
        assert_eq!(m.subject, "Ada");
        assert_eq!(m.html, "shadow attempt01");
    }

    #[test]
    fn values_are_escaped_in_the_body_only() {
        // R-4.2
        let mut c = ctx();
        c.candidate.company = Some("<script>alert('x')</script> & Co".into());
        let m = render_step(
            &StepSpec {
                text: Some("Text: {{ candidate.company }}".into()),
                ..step(
                    Some("About {{ candidate.company }}"),
                    "<p>At {{ candidate.company }}</p>",
                )
            },
            None,
            &c,
        )
        .unwrap();
        assert_eq!(m.subject, "About <script>alert('x')</script> & Co");
        assert!(m.html.starts_with("<p>At &lt;script&gt;"), "{}", m.html);
        assert!(!m.html.contains("<script>"));
        assert_eq!(m.text, "Text: <script>alert('x')</script> & Co");

        // The generated text part decodes the escaped value back to plain text.
        let generated = render("s", "<p>At {{ candidate.company }}</p>", &c).unwrap();
        assert_eq!(generated.text, "At <script>alert('x')</script> & Co");
    }

    #[test]
    fn default_filter_and_conditions_handle_missing_fields() {
        // R-4.2, R-4.3: absent, empty and whitespace-only values are all missing.
        let m = render(
            "{{ candidate.company | default('your team') }}",
            "{{ candidate.location | default('your city') }}|{{ custom.empty | default('e') }}|\
             {% if candidate.company %}at {{ candidate.company }}{% else %}no company{% endif %}|\
             {{ candidate.company is defined }}|{{ candidate.first_name is defined }}",
            &ctx(),
        )
        .unwrap();
        assert_eq!(m.subject, "your team");
        // MiniJinja prints booleans the Python way.
        assert_eq!(m.html, "your city|e|no company|False|True");
    }

    #[test]
    fn a_missing_field_without_default_is_named() {
        // R-4.3
        let cases = [
            ("{{ candidate.company }}", "candidate.company"),
            ("{{ candidate.location | upper }}", "candidate.location"),
            (
                "{{ candidate.company | default('x') }} {{ candidate.location }}",
                "candidate.location",
            ),
            ("{{ sender.email }}{{ custom.nope }}", "custom.nope"),
            ("{{ referral }} {{ nope }}", "nope"),
            ("{{ empty }}", "empty"),
            ("Hi {{ candidate.company ~ '!' }}", "candidate.company"),
        ];
        let mut c = ctx();
        c.sender.email = Some("s@x.com".into());
        for (body, field) in cases {
            assert_eq!(
                render("s", body, &c),
                Err(RenderError::MissingField(field.into())),
                "{body}"
            );
        }
        let mut no_campaign = ctx();
        no_campaign.campaign_name = None;
        assert_eq!(
            render("{{ campaign.name }}", "b", &no_campaign),
            Err(RenderError::MissingField("campaign.name".into()))
        );
    }

    #[test]
    fn a_missing_field_fails_the_whole_step() {
        // R-4.3: no half-rendered output, even when the failure is in the text part.
        let s = StepSpec {
            text: Some("{{ sender.first_name }} {{ candidate.company }}".into()),
            ..step(Some("Hi"), "ok")
        };
        assert_eq!(
            render_step(&s, None, &ctx()),
            Err(RenderError::MissingField("candidate.company".into()))
        );
    }

    #[test]
    fn merged_line_breaks_become_spaces_in_the_subject() {
        // R-4.4
        let mut c = ctx();
        c.candidate.company = Some("Acme\r\nBcc: victim@example.com\nX".into());
        let m = render(
            "Hello {{ candidate.company }}",
            "{{ candidate.company }}",
            &c,
        )
        .unwrap();
        assert_eq!(m.subject, "Hello Acme  Bcc: victim@example.com X");
        assert!(!m.subject.contains(['\r', '\n']));
        // The body keeps the value as it is.
        assert!(m.html.contains('\n'));
    }

    #[test]
    fn later_step_without_subject_threads_as_re() {
        // R-8.3
        let first = "Role at {{ candidate.title }}";
        let m = render_step(&later(None, "Following up", 3), Some(first), &ctx()).unwrap();
        assert_eq!(m.subject, "Re: Role at Engineer");
        let blank =
            render_step(&later(Some("  "), "Following up", 3), Some(first), &ctx()).unwrap();
        assert_eq!(blank.subject, "Re: Role at Engineer");
        let own = render_step(
            &later(Some("New {{ sender.first_name }}"), "b", 3),
            Some(first),
            &ctx(),
        )
        .unwrap();
        assert_eq!(own.subject, "New Sam");
        assert!(matches!(
            render_step(&later(None, "b", 3), None, &ctx()),
            Err(RenderError::Syntax(_))
        ));
    }

    #[test]
    fn a_rendered_subject_is_cut_to_998_characters() {
        // R-4.1, issue 19 item 4: a 256-fold loop over a 2,000-character
        // custom field rendered a 512,000-character Subject, sent whole; it is
        // cut to 998 characters now. 998 characters go as they are, and a
        // later step threads as "Re: " + a 998-character first subject.
        let mut c = ctx();
        c.custom.insert("f0".into(), "x".repeat(2_000));
        let subject = "{% for i in range(256) %}{{ custom.f0 }}{% endfor %}";
        let cut = render(subject, "<p>b</p>", &c).unwrap().subject;
        assert_eq!(cut.chars().count(), MAX_SUBJECT_CHARS);
        assert!(cut.starts_with("xxx") && cut.ends_with('…'));
        let longest = "s".repeat(MAX_SUBJECT_CHARS);
        assert_eq!(render(&longest, "b", &c).unwrap().subject, longest);
        let over = format!("{longest}{{{{ candidate.first_name }}}}");
        assert_eq!(
            render(&over, "b", &c).unwrap().subject.chars().count(),
            MAX_SUBJECT_CHARS
        );
        let threaded = render_step(&later(None, "b", 3), Some(&longest), &c).unwrap();
        assert_eq!(threaded.subject, format!("Re: {longest}"));
    }

    #[test]
    fn endless_or_huge_loops_hit_the_budget() {
        // R-4.2
        let wide = format!("{{% set w = '{}' %}}", "x".repeat(2000));
        let cases = [
            "{% for i in range(100000000) %}x{% endfor %}".to_owned(),
            "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}"
                .to_owned(),
            // Little fuel, lots of output.
            format!("{wide}{{% for i in range(10000) %}}{{{{ w }}}}{{% endfor %}}"),
            // Little fuel, lots of memory.
            format!("{wide}{{{{ range(10000) | join(w) }}}}"),
            format!("{wide}{{{{ w | replace('x', w) }}}}"),
            format!("{wide}{{{{ w | indent(2000000) }}}}"),
            format!("{wide}{}", "{% set w = w ~ w %}".repeat(20)),
            "{% set x = 'x' %}".to_owned() + &"{% set x = [x] %}".repeat(40) + "{{ x }}",
            format!("{wide}{{% for i in range(10000) %}}{{% set y = w | upper %}}{{% endfor %}}"),
        ];
        for body in &cases {
            let started = Instant::now();
            let result = render("s", body, &ctx());
            assert!(
                matches!(result, Err(RenderError::Budget(_))),
                "{body}: {:?}",
                result.map(|m| m.html.len())
            );
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{body} took {:?}",
                started.elapsed()
            );
        }
    }

    #[test]
    fn constructs_that_escape_the_budget_are_refused() {
        // R-4.2, issue 9: repetition, captured blocks and unbounded nesting are
        // refused when saved and when rendered, before MiniJinja runs.
        for body in [
            "{{ 'x' * 100000000 }}",
            "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
            "{% set x %}{% for i in range(10000) %}xxxx{% endfor %}{% endset %}",
            "{% autoescape false %}{{ candidate.company }}{% endautoescape %}",
            &format!("{{{{ {}1 }}}}", "-".repeat(MAX_NESTING + 1)),
        ] {
            assert!(
                matches!(render("s", body, &ctx()), Err(RenderError::Syntax(_))),
                "{body}"
            );
            assert_eq!(
                fields(validate_step(&step(Some("s"), body), true)),
                ["body"],
                "{body}"
            );
        }
        // `namespace()` and `format` are not available.
        assert!(render("s", "{% set n = namespace(x=1) %}{{ n.x }}", &ctx()).is_err());
        assert!(render("s", "{{ '%9999999s' | format(1) }}", &ctx()).is_err());
    }

    #[test]
    fn assignments_loops_and_filters_still_work() {
        // R-4.2: the guard's rewriting keeps ordinary templates working.
        let m = render(
            "{% set name = candidate.first_name | default('there') %}Hi {{ name }}",
            "{% set greeting = 'Hello ' ~ candidate.first_name %}{{ greeting | upper }}\
             {% for w in ['a', 'b'] if w != 'b' %}-{{ w | replace('a', 'A') }}{% endfor %}\
             {{ range(3) | join(',') }}{% for a, b in [(1, 2)] %}{{ a + b }}{% endfor %}",
            &ctx(),
        )
        .unwrap();
        assert_eq!(m.subject, "Hi Ada");
        assert_eq!(m.html, "HELLO ADA-A0,1,23");
    }

    #[test]
    fn dense_but_legitimate_templates_fit_the_budget() {
        // R-4.2: the fuel constant leaves room for the largest allowed body.
        let body = "{{referral}}".repeat(MAX_BODY_BYTES / "{{referral}}".len());
        let m = render("s", &body, &ctx()).unwrap();
        assert_eq!(
            m.html.len(),
            "Grace".len() * (MAX_BODY_BYTES / "{{referral}}".len())
        );
    }

    #[test]
    fn templates_cannot_read_other_templates() {
        // R-4.2
        for body in [
            "{% include 'x' %}",
            "{% import 'x' as y %}",
            "{% extends 'x' %}",
            "{% from 'x' import y %}",
        ] {
            assert!(
                matches!(render("s", body, &ctx()), Err(RenderError::Syntax(_))),
                "{body}"
            );
            assert_eq!(
                fields(validate_step(&step(Some("s"), body), true)),
                ["body"],
                "{body}"
            );
        }
        // Mentions in comments or raw sections are only text.
        let harmless = "{# {% include 'x' %} #}{% raw %}{% include 'x' %}{% endraw %}";
        assert_eq!(validate_step(&step(Some("s"), harmless), true), Ok(()));
        assert_eq!(
            render("s", harmless, &ctx()).unwrap().html,
            "{% include 'x' %}"
        );
    }

    #[test]
    fn syntax_errors_are_reported_per_field() {
        // R-4.4
        let s = StepSpec {
            text: Some("{% if %}".into()),
            ..step(Some("Hi {{ candidate.first_name"), "{% for x in %}")
        };
        let errors = validate_step(&s, true).unwrap_err();
        let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, ["subject", "body", "text"]);
        assert!(
            errors[0].message.contains("syntax error"),
            "{}",
            errors[0].message
        );
        assert!(matches!(
            render("{{ x", "b", &ctx()),
            Err(RenderError::Syntax(_))
        ));
        assert!(matches!(
            render("s", "{{ 'a' | no_such_filter }}", &ctx()),
            Err(RenderError::Syntax(_))
        ));
    }

    #[test]
    fn validates_subject_body_and_delay() {
        // R-4.1, R-4.4
        assert_eq!(validate_step(&step(Some("Hi"), "Body"), true), Ok(()));
        assert_eq!(
            fields(validate_step(&step(None, "Body"), true)),
            ["subject"]
        );
        assert_eq!(
            fields(validate_step(&step(Some(" "), "Body"), true)),
            ["subject"]
        );
        assert_eq!(validate_step(&later(None, "Body", 1), false), Ok(()));
        assert_eq!(
            fields(validate_step(&step(Some("a\r\nBcc: x@y.com"), "B"), true)),
            ["subject"]
        );
        assert_eq!(
            fields(validate_step(&step(Some("a\nb"), "B"), true)),
            ["subject"]
        );
        assert_eq!(
            validate_step(&step(Some(&"é".repeat(998)), "B"), true),
            Ok(())
        );
        assert_eq!(
            fields(validate_step(&step(Some(&"a".repeat(999)), "B"), true)),
            ["subject"]
        );
        assert_eq!(
            fields(validate_step(&step(Some("s"), " \n"), true)),
            ["body"]
        );
        assert_eq!(
            validate_step(&step(Some("s"), &"a".repeat(MAX_BODY_BYTES)), true),
            Ok(())
        );
        assert_eq!(
            fields(validate_step(
                &step(Some("s"), &"a".repeat(MAX_BODY_BYTES + 1)),
                true
            )),
            ["body"]
        );
        assert_eq!(
            fields(validate_step(&later(Some("s"), "B", 1), true)),
            ["delay_days"]
        );
        assert_eq!(
            fields(validate_step(&later(Some("s"), "B", 0), false)),
            ["delay_days"]
        );
        assert_eq!(validate_step(&later(Some("s"), "B", 365), false), Ok(()));
        assert_eq!(
            fields(validate_step(&later(Some("s"), "B", 366), false)),
            ["delay_days"]
        );
    }

    #[test]
    fn validate_steps_names_the_step() {
        // R-4.1
        assert_eq!(fields(validate_steps(&[])), ["steps"]);
        let steps = [step(Some("Hi"), "B"), later(None, "", 0)];
        assert_eq!(
            fields(validate_steps(&steps)),
            ["steps[1].body", "steps[1].delay_days"]
        );
        assert_eq!(
            validate_steps(&[step(Some("Hi"), "B"), later(None, "B", 2)]),
            Ok(())
        );
    }

    #[test]
    fn a_sequence_is_too_large_by_its_steps_or_its_content_as_stored() {
        // R-4.1: at most 20 steps, 100 KB a body, 300 KB of step content in all.
        let body = |n: usize| "x".repeat(n);
        let mut twenty: Vec<StepSpec> = (0..20).map(|_| later(Some("s"), "B", 1)).collect();
        assert_eq!(too_large(&twenty), None);
        twenty.push(later(Some("s"), "B", 1));
        assert!(too_large(&twenty).is_some_and(|why| why.contains("20 steps")));
        assert!(too_large(&[step(Some("s"), &body(MAX_BODY_BYTES + 1))]).is_some());
        // Three full bodies fit; a fourth step's body is beyond 300 KB in all.
        let full: Vec<StepSpec> = (0..3)
            .map(|_| later(Some("s"), &body(100_000), 1))
            .collect();
        assert_eq!(too_large(&full), None);
        let mut over = full.clone();
        over.push(later(Some("s"), &body(8 * 1024), 1));
        assert!(too_large(&over).is_some_and(|why| why.contains("300 KB")));
        // Measured as stored: 60 KB of control characters is 360 KB of JSON.
        let escaped = step(Some("s"), &"\u{1}".repeat(60 * 1024));
        assert!(too_large(std::slice::from_ref(&escaped)).is_some());
    }

    #[test]
    fn json_string_bytes_is_the_length_serde_json_writes() {
        let every_ascii: String = (0u8..128).map(char::from).collect();
        for s in ["", "plain", "é ü 漢字 🎉", "\"\\/", every_ascii.as_str()] {
            assert_eq!(
                json_string_bytes(s),
                serde_json::to_string(s).unwrap().len(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn every_part_of_a_context_may_be_absent_from_its_json() {
        let empty: RenderContext = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, RenderContext::default());
        let partial: RenderContext =
            serde_json::from_str(r#"{"candidate": {"company": "Acme"}, "sender": {}}"#).unwrap();
        assert_eq!(partial.candidate.company.as_deref(), Some("Acme"));
        assert_eq!(partial.candidate.first_name, None);
        assert_eq!(partial.sender, SenderFields::default());
        assert!(partial.custom.is_empty());
    }

    #[test]
    fn single_line_replaces_control_characters() {
        // R-4.4
        assert_eq!(single_line("a\r\nb\tc\u{2028}d"), "a  b c d");
    }
}
