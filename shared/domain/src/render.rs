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
//! guard in [`guard`]: it is refused when nested more than
//! [`MAX_NESTING`] levels deep (MiniJinja parses by recursion and would
//! overflow the stack) or when it uses a construct that builds values outside
//! every budget (`*` repetition, `macro`, `call`, `filter` and block `set`,
//! `with`, recursive loops, `autoescape`, more than
//! [`guard::MAX_CONCATENATIONS`] `~`/`+` in one tag) or calls a filter, test,
//! function or method that is not on the allow-list. Every value a template
//! names with `set` or iterates with `for`, and every value a filter builds,
//! counts against a working budget of [`MAX_WORKING_BYTES`] per part.
//!
//! The environment holds only that allow-list ([`allowed`]): each filter's
//! result is estimated from its arguments *before* it runs (`batch`, `slice`,
//! `join`, `replace`, `indent`…), because a failed allocation aborts the
//! process rather than panicking, and stored content is rendered again at
//! every restart (issue 15). `namespace()`, `debug()`, `format`, `pprint` and
//! `safe` are not available.

mod allowed;
mod guard;

use crate::campaign::StepSpec;
use minijinja::value::{Enumerator, Object, ObjectExt, Value, ValueKind};
use minijinja::{AutoEscape, Environment, ErrorKind, State, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub use allowed::{
    FUNCTIONS as ALLOWED_FUNCTIONS, METHODS as ALLOWED_METHODS, TESTS as ALLOWED_TESTS,
    filter_names as allowed_filters,
};
pub use guard::MAX_NESTING;

/// MiniJinja fuel for rendering one part (subject, body or text). One unit is
/// roughly one engine instruction: a merge field costs about two, a loop
/// iteration with a test five. Real templates use a few hundred; 20 000 still
/// renders a body of several thousand merge fields or a 256-item loop with
/// work in it. Fuel also bounds time, and an operator (`in`, `==`, `~`) is one
/// instruction whatever its operands hold, so together with the size of named
/// values ([`MAX_NAMED_ITEMS`], [`MAX_NAMED_BYTES`]) and of one tag's
/// concatenations it keeps the costliest render far under a second.
pub const FUEL: u64 = 20_000;

/// Largest rendered part, in bytes. A 100 KB template can legitimately grow
/// with merged values, but not past this.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;

/// Largest `range()` a template may build. MiniJinja's own cap (100 000) would
/// be reported as a generic error; ours is lower and reported as a budget error.
/// As small as a named list (below): an email never needs a longer one.
pub const MAX_RANGE_LEN: usize = MAX_NAMED_ITEMS;

/// Most items (counted through nested lists and maps) in one value a template
/// names with `set` or iterates with `for`, and most bytes in it. Fuel counts
/// an operator (`in`, `==`, `<`, `~`) as one instruction whatever its operands
/// hold, so the size of what a template keeps bounds the cost of each
/// instruction: with these limits, the worst loop of comparisons or
/// concatenations the fuel lets run stays well under a second (issue 15's
/// adversarial pass ran `x in l` over a 10,000-item list for 23 s).
pub const MAX_NAMED_ITEMS: usize = 256;
pub const MAX_NAMED_BYTES: usize = 16 * 1024;

/// Bytes of values one part may build besides its output: what `set` names,
/// what `for` iterates and what filters return, added up over the render.
pub const MAX_WORKING_BYTES: usize = 8 * 1024 * 1024;

/// Items of named or iterated values one part may inspect, added up (the
/// measuring of [`MAX_WORKING_BYTES`] has a cost of its own).
const MAX_WORKING_ITEMS: usize = 1_000_000;

/// Deepest value (a list in a list …) a template may name; printing or
/// dropping a deeper one recurses once per level.
const MAX_VALUE_DEPTH: usize = 32;

/// Longest subject template, in characters (R-4.1).
pub const MAX_SUBJECT_CHARS: usize = 998;

/// Largest body or text template, in bytes (R-4.1: 100 KB).
pub const MAX_BODY_BYTES: usize = 100 * 1024;

/// Largest delay of a later step, in days (R-4.1).
pub const MAX_DELAY_DAYS: u32 = 365;

/// Internal template names. Auto-escaping is chosen by the name's extension.
const SUBJECT_NAME: &str = "subject.txt";
const BODY_NAME: &str = "body.html";
const TEXT_NAME: &str = "text.txt";

/// Candidate merge fields (`candidate.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateFields {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
}

/// Sender merge fields (`sender.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderFields {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// Everything a step can merge for one recipient (R-4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderContext {
    #[serde(default)]
    pub candidate: CandidateFields,
    #[serde(default)]
    pub sender: SenderFields,
    #[serde(default)]
    pub campaign_name: Option<String>,
    /// Per-enrollment custom fields (and overrides), by name.
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
}

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

/// One problem found by [`validate_step`]; `field` names the offending input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A step rendered for one recipient, ready to be put into a MIME message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RenderedMessage {
    /// Single line: never contains CR or LF (R-4.4).
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Checks one step of a template or campaign (R-4.1, R-4.4).
///
/// `field` names are relative to the step (`subject`, `body`, `text`,
/// `delay_days`) because the step does not know its index;
/// [`validate_steps`] prefixes them as `steps[i].subject`.
pub fn validate_step(step: &StepSpec, is_first: bool) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();

    match non_blank(step.subject.as_deref()) {
        None if is_first => {
            errors.push(FieldError::new("subject", "the first step needs a subject"))
        }
        // A later step without a subject threads as "Re: <first subject>" (R-8.3).
        None => {}
        Some(subject) => {
            if subject.contains(['\r', '\n']) {
                errors.push(FieldError::new(
                    "subject",
                    "a subject cannot contain line breaks (CR or LF)",
                ));
            }
            if subject.chars().count() > MAX_SUBJECT_CHARS {
                errors.push(FieldError::new(
                    "subject",
                    format!("a subject is at most {MAX_SUBJECT_CHARS} characters"),
                ));
            }
            check_template("subject", SUBJECT_NAME, subject, &mut errors);
        }
    }

    match non_blank(Some(&step.body)) {
        None => errors.push(FieldError::new("body", "a body is required")),
        Some(body) if body.len() > MAX_BODY_BYTES => {
            errors.push(FieldError::new("body", "a body is at most 100 KB"))
        }
        Some(body) => check_template("body", BODY_NAME, body, &mut errors),
    }

    match non_blank(step.text.as_deref()) {
        None => {}
        Some(text) if text.len() > MAX_BODY_BYTES => {
            errors.push(FieldError::new("text", "a text part is at most 100 KB"))
        }
        Some(text) => check_template("text", TEXT_NAME, text, &mut errors),
    }

    if is_first && step.delay_days != 0 {
        errors.push(FieldError::new(
            "delay_days",
            "the first step's delay_days must be 0 or omitted",
        ));
    } else if !is_first && !(1..=MAX_DELAY_DAYS).contains(&step.delay_days) {
        errors.push(FieldError::new(
            "delay_days",
            format!("delay_days must be between 1 and {MAX_DELAY_DAYS}"),
        ));
    }

    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Checks a whole sequence (R-4.1): at least one step, each valid, with field
/// names such as `steps[0].subject`.
pub fn validate_steps(steps: &[StepSpec]) -> Result<(), Vec<FieldError>> {
    if steps.is_empty() {
        return Err(vec![FieldError::new(
            "steps",
            "at least one step is required",
        )]);
    }
    let errors: Vec<FieldError> = steps
        .iter()
        .enumerate()
        .filter_map(|(i, step)| validate_step(step, i == 0).err().map(|e| (i, e)))
        .flat_map(|(i, errs)| {
            errs.into_iter()
                .map(move |e| FieldError::new(format!("steps[{i}].{}", e.field), e.message))
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
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
        Some(own) => renderer.render(SUBJECT_NAME, own)?,
        None => match non_blank(first_step_subject) {
            Some(first) => format!("Re: {}", renderer.render(SUBJECT_NAME, first)?.trim()),
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

/// Plain text from rendered HTML, for the text/plain part when none is given.
///
/// Deliberately small: tags are dropped, `<script>`/`<style>` contents too;
/// block elements (`p`, `div`, `li`, `br`, headings, table rows) become line
/// breaks; links to http(s) URLs keep their target as "text (url)"; the usual
/// named entities and numeric ones are decoded; runs of blank lines collapse
/// to one.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    // The href of the open <a> and where its text starts in `out`.
    let mut link: Option<(String, usize)> = None;
    let mut rest = html;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        // As in browsers, '<' opens a tag only before a letter, '/' or '!'.
        let opens_tag = rest.starts_with('<')
            && rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!');
        if opens_tag && let Some(end) = rest.find('>') {
            let tag = Tag::parse(&rest[1..end]);
            rest = &rest[end + 1..];
            match tag.name.as_str() {
                "script" | "style" | "head" | "title" if !tag.closing => {
                    rest = skip_element(rest, &tag.name);
                }
                "br" => out.push('\n'),
                "p" => break_line(&mut out, 2),
                "div" | "li" | "tr" | "ul" | "ol" | "table" | "blockquote" | "hr" | "h1" | "h2"
                | "h3" | "h4" | "h5" | "h6" => break_line(&mut out, 1),
                "a" if !tag.closing => link = tag.href.map(|href| (href, out.len())),
                "a" => {
                    if let Some((href, start)) = link.take() {
                        // `get`: a block tag inside the link may have trimmed `out`.
                        let label = out.get(start..).unwrap_or_default().trim();
                        let is_web = href.starts_with("http://") || href.starts_with("https://");
                        if is_web && !label.contains(href.as_str()) {
                            // Right after the label, before any line break a
                            // block inside the link left behind.
                            let tail = out.split_off(out.trim_end().len());
                            out.push_str(&format!(" ({href})"));
                            out.push_str(&tail);
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        // Text up to the next tag; a '<' that opens no tag is text too.
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let end = rest[first..].find('<').map_or(rest.len(), |i| i + first);
        push_text(&mut out, &rest[..end]);
        rest = &rest[end..];
    }
    tidy_lines(&out)
}

// ---------------------------------------------------------------------------
// Rendering machinery
// ---------------------------------------------------------------------------

/// The sandboxed environment: empty but for the allow-list of
/// [`allowed`] (so no loader, no file access, nothing unbounded), SemiStrict
/// undefined values, fuel, and HTML auto-escaping for `.html` names only.
fn environment<'s>() -> Environment<'s> {
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_fuel(Some(FUEL));
    // Debug info would copy every variable in scope into each error.
    env.set_debug(false);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    allowed::register(&mut env);
    env
}

/// The per-render working budget ([`MAX_WORKING_BYTES`]), kept in the
/// render's state.
#[derive(Debug, Default)]
struct WorkingSet {
    bytes: AtomicUsize,
    items: AtomicUsize,
}

impl Object for WorkingSet {}

/// Counts `bytes` and `items` against the render's working budget.
fn charge(state: &State, bytes: usize, items: usize) -> Result<(), minijinja::Error> {
    let set = state.get_or_set_temp_object("outreach.working_set", WorkingSet::default);
    let bytes = set
        .bytes
        .fetch_add(bytes, Ordering::Relaxed)
        .saturating_add(bytes);
    let items = set
        .items
        .fetch_add(items, Ordering::Relaxed)
        .saturating_add(items);
    if bytes > MAX_WORKING_BYTES || items > MAX_WORKING_ITEMS {
        return Err(budget_error(format!(
            "the template builds more than {} MB of values",
            MAX_WORKING_BYTES / (1024 * 1024)
        )));
    }
    Ok(())
}

fn budget_error(message: String) -> minijinja::Error {
    minijinja::Error::new(ErrorKind::InvalidOperation, message).with_source(BudgetExceeded)
}

/// What the guard wraps around every `set` value and `for` iterable: the
/// value itself, once measured and counted against the working budget.
fn bounded_value(state: &State, value: Value) -> Result<Value, minijinja::Error> {
    let mut items = 0;
    let bytes = measure(&value, 0, &mut items)?;
    // A named value stays small, so that the operators applied to it (which
    // fuel counts once each, whatever they hold) and the few concatenations
    // the guard lets one expression make stay cheap.
    if bytes > MAX_NAMED_BYTES {
        return Err(budget_error(format!(
            "the template names a value larger than {MAX_NAMED_BYTES} bytes"
        )));
    }
    if items > MAX_NAMED_ITEMS + 1 {
        return Err(budget_error(format!(
            "the template names a list or map of more than {MAX_NAMED_ITEMS} items"
        )));
    }
    charge(state, bytes, items)?;
    Ok(value)
}

/// Approximate bytes held by `value`, strings in full, containers item by
/// item; refuses values nested deeper than [`MAX_VALUE_DEPTH`] or with more
/// than [`MAX_WORKING_ITEMS`] items.
fn measure(value: &Value, depth: usize, items: &mut usize) -> Result<usize, minijinja::Error> {
    const SLOT: usize = std::mem::size_of::<Value>();
    *items += 1;
    if *items > MAX_WORKING_ITEMS {
        return Err(budget_error("the template builds too large a value".into()));
    }
    match value.kind() {
        ValueKind::String => Ok(SLOT + value.as_str().map_or(0, str::len)),
        ValueKind::Bytes => Ok(SLOT + value.as_bytes().map_or(0, <[u8]>::len)),
        ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => {
            if depth >= MAX_VALUE_DEPTH {
                return Err(budget_error(format!(
                    "the template nests values more than {MAX_VALUE_DEPTH} levels deep"
                )));
            }
            let Ok(iter) = value.try_iter() else {
                return Ok(SLOT);
            };
            let is_map = value.kind() == ValueKind::Map;
            let mut total = SLOT;
            for item in iter {
                total += measure(&item, depth + 1, items)?;
                if is_map && let Ok(v) = value.get_item(&item) {
                    total += measure(&v, depth + 1, items)?;
                }
            }
            Ok(total)
        }
        _ => Ok(SLOT),
    }
}

/// `range()` with a budget: same arguments as MiniJinja's, at most
/// [`MAX_RANGE_LEN`] items.
fn bounded_range(
    lower: i64,
    upper: Option<i64>,
    step: Option<i64>,
) -> Result<Value, minijinja::Error> {
    let (start, end) = match upper {
        Some(upper) => (i128::from(lower), i128::from(upper)),
        None => (0, i128::from(lower)),
    };
    let step_len = i128::from(step.unwrap_or(1));
    let len = match step_len {
        0 => 0, // MiniJinja reports the zero step itself.
        s if s > 0 => ((end - start + s - 1) / s).max(0),
        s => ((start - end + (-s) - 1) / (-s)).max(0),
    };
    if len > MAX_RANGE_LEN as i128 {
        return Err(budget_error(format!(
            "range() is limited to {MAX_RANGE_LEN} items"
        )));
    }
    let as_isize = |v: i64| {
        isize::try_from(v).map_err(|_| {
            minijinja::Error::new(ErrorKind::InvalidOperation, "range bound out of range")
        })
    };
    minijinja::functions::range(
        as_isize(lower)?,
        upper.map(as_isize).transpose()?,
        step.map(as_isize).transpose()?,
    )
}

/// Marks a MiniJinja error raised by one of our budget checks.
#[derive(Debug)]
struct BudgetExceeded;

impl std::fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("template budget exceeded")
    }
}

impl std::error::Error for BudgetExceeded {}

/// The name of the last merge field looked up without a value. When the
/// engine then reports an undefined value, this is the field to blame: a
/// defaulted lookup (`x | default(…)`) is recorded too, but it does not fail,
/// and any later failing lookup overwrites it.
#[derive(Debug, Default)]
struct MissingLog(Mutex<Option<String>>);

impl MissingLog {
    fn record(&self, name: String) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(name);
    }

    fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// One merge-field namespace (`candidate`, `sender`, `campaign`, `custom`):
/// present values only, so a missing one is undefined, and recorded.
#[derive(Debug)]
struct Namespace {
    name: &'static str,
    values: BTreeMap<String, String>,
    log: Arc<MissingLog>,
}

impl Object for Namespace {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str().map_or_else(|| key.to_string(), str::to_owned);
        match self.values.get(&key) {
            Some(value) => Some(Value::from(value.as_str())),
            None => {
                self.log.record(format!("{}.{key}", self.name));
                None
            }
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.mapped_enumerator(|this| Box::new(this.values.keys().map(|k| Value::from(k.as_str()))))
    }
}

/// The template's top-level scope: the namespaces, then custom fields as a
/// shorthand. Template functions (`range`, …) are looked up here first by the
/// engine, so they are neither shadowed by custom fields nor recorded.
#[derive(Debug)]
struct Root {
    namespaces: BTreeMap<&'static str, Value>,
    custom: BTreeMap<String, String>,
    globals: BTreeSet<String>,
    log: Arc<MissingLog>,
}

impl Object for Root {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        if let Some(namespace) = self.namespaces.get(key) {
            return Some(namespace.clone());
        }
        if self.globals.contains(key) {
            return None;
        }
        match self.custom.get(key) {
            Some(value) => Some(Value::from(value.as_str())),
            None => {
                self.log.record(key.to_owned());
                None
            }
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.mapped_enumerator(|this| {
            Box::new(
                this.namespaces
                    .keys()
                    .map(|k| Value::from(*k))
                    .chain(this.custom.keys().map(|k| Value::from(k.as_str()))),
            )
        })
    }
}

/// Renders parts of one step for one recipient.
struct Renderer {
    root: Value,
    log: Arc<MissingLog>,
}

impl Renderer {
    fn new(ctx: &RenderContext) -> Self {
        let env = environment();
        let log = Arc::new(MissingLog::default());
        let namespace = |name: &'static str, pairs: &[(&str, &Option<String>)]| {
            let values = pairs
                .iter()
                .filter_map(|(k, v)| {
                    non_blank(v.as_deref()).map(|v| ((*k).to_owned(), v.to_owned()))
                })
                .collect();
            Value::from_object(Namespace {
                name,
                values,
                log: log.clone(),
            })
        };
        let c = &ctx.candidate;
        let s = &ctx.sender;
        let custom: BTreeMap<String, String> = ctx
            .custom
            .iter()
            .filter(|(_, v)| non_blank(Some(v)).is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let namespaces = BTreeMap::from([
            (
                "candidate",
                namespace(
                    "candidate",
                    &[
                        ("first_name", &c.first_name),
                        ("last_name", &c.last_name),
                        ("full_name", &c.full_name),
                        ("title", &c.title),
                        ("company", &c.company),
                        ("location", &c.location),
                    ],
                ),
            ),
            (
                "sender",
                namespace(
                    "sender",
                    &[
                        ("first_name", &s.first_name),
                        ("full_name", &s.full_name),
                        ("email", &s.email),
                    ],
                ),
            ),
            (
                "campaign",
                namespace("campaign", &[("name", &ctx.campaign_name)]),
            ),
            (
                "custom",
                Value::from_object(Namespace {
                    name: "custom",
                    values: custom.clone(),
                    log: log.clone(),
                }),
            ),
        ]);
        let globals = env.globals().map(|(name, _)| name.to_owned()).collect();
        let root = Value::from_object(Root {
            namespaces,
            custom,
            globals,
            log: log.clone(),
        });
        Renderer { root, log }
    }

    /// Renders one part completely, or fails without any output.
    fn render(&self, name: &str, source: &str) -> Result<String, RenderError> {
        self.log.take();
        // The guard first: MiniJinja must never see what would overflow its stack.
        let source = guard::check(source).map_err(RenderError::Syntax)?;
        let source = source.as_ref();
        let env = environment();
        let template = env
            .template_from_named_str(name, source)
            .map_err(|e| syntax_error(&e))?;
        let mut out = CappedWriter::default();
        match template.render_captured_to(&self.root, &mut out) {
            Ok(_) => Ok(String::from_utf8(out.buf).expect("MiniJinja writes UTF-8")),
            Err(_) if out.overflowed => Err(RenderError::Budget(format!(
                "the rendered {} is larger than {} bytes",
                part_name(name),
                MAX_OUTPUT_BYTES
            ))),
            Err(e) => Err(self.classify(&e, source)),
        }
    }

    fn classify(&self, e: &minijinja::Error, source: &str) -> RenderError {
        if e.kind() == ErrorKind::OutOfFuel {
            return RenderError::Budget("the template ran longer than its budget allows".into());
        }
        // MiniJinja reports runaway recursion (e.g. a macro calling itself)
        // as a plain invalid operation; its message is the only marker.
        let recursion = e.kind() == ErrorKind::InvalidOperation
            && e.detail().is_some_and(|d| d.contains("recursion limit"));
        if recursion || has_source::<BudgetExceeded>(e) {
            return RenderError::Budget(e.detail().unwrap_or("budget exceeded").to_owned());
        }
        match e.kind() {
            ErrorKind::UndefinedError => {
                // Fall back to the failing expression's text for undefined
                // values that are not merge fields (e.g. `loop.nope`).
                let name = self.log.take().or_else(|| {
                    e.range()
                        .and_then(|r| source.get(r))
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                });
                RenderError::MissingField(name.unwrap_or_else(|| "unknown".into()))
            }
            ErrorKind::TemplateNotFound => RenderError::Syntax(
                "templates cannot include, import or extend other templates".into(),
            ),
            _ => syntax_error(e),
        }
    }
}

fn part_name(template_name: &str) -> &'static str {
    match template_name {
        SUBJECT_NAME => "subject",
        BODY_NAME => "body",
        _ => "text part",
    }
}

fn has_source<T: std::error::Error + 'static>(e: &minijinja::Error) -> bool {
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.is::<T>() {
            return true;
        }
        cause = c.source();
    }
    false
}

fn syntax_error(e: &minijinja::Error) -> RenderError {
    RenderError::Syntax(error_message(e))
}

/// "kind: detail (line n)", without MiniJinja's internal template name.
fn error_message(e: &minijinja::Error) -> String {
    let what = e
        .detail()
        .map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind()));
    match e.line() {
        Some(line) => format!("{what} (line {line})"),
        None => what,
    }
}

/// Collects rendered output up to [`MAX_OUTPUT_BYTES`], then refuses more.
#[derive(Default)]
struct CappedWriter {
    buf: Vec<u8>,
    overflowed: bool,
}

impl io::Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("rendered output exceeds its budget"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Validation of one template source: syntax, then the tags that would read
/// other templates (which fail anyway at render time, but should be refused
/// when the template is saved).
fn check_template(field: &str, name: &str, source: &str, errors: &mut Vec<FieldError>) {
    let checked = match guard::check(source) {
        Ok(checked) => checked,
        Err(why) => return errors.push(FieldError::new(field, why)),
    };
    let env = environment();
    if let Err(e) = env.template_from_named_str(name, &checked) {
        errors.push(FieldError::new(field, error_message(&e)));
    } else if let Some(tag) = file_tag(source) {
        errors.push(FieldError::new(
            field,
            format!("`{{% {tag} %}}` is not allowed: templates cannot include, import or extend other templates"),
        ));
    }
}

/// The first `include`/`import`/`from`/`extends` block tag in `source`, if any.
/// Comments and `{% raw %}` sections are skipped.
fn file_tag(source: &str) -> Option<&'static str> {
    let mut rest = source;
    loop {
        let start = rest.find("{%").into_iter().chain(rest.find("{#")).min()?;
        if rest[start..].starts_with("{#") {
            rest = rest[start..]
                .find("#}")
                .map_or("", |end| &rest[start + end + 2..]);
            continue;
        }
        rest = &rest[start + 2..];
        let word: String = rest
            .trim_start_matches(['-', '+'])
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        match word.as_str() {
            "include" => return Some("include"),
            "import" => return Some("import"),
            "from" => return Some("from"),
            "extends" => return Some("extends"),
            "raw" => {
                rest = rest.find("endraw").map_or("", |end| &rest[end..]);
            }
            _ => {}
        }
    }
}

/// `Some(value)` unless absent, empty or whitespace-only (which counts as
/// missing, R-4.3).
fn non_blank(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

// ---------------------------------------------------------------------------
// HTML to text helpers
// ---------------------------------------------------------------------------

/// The parts of a tag that matter for text extraction.
struct Tag {
    name: String,
    closing: bool,
    href: Option<String>,
}

impl Tag {
    /// Parses the inside of `<…>`.
    fn parse(inner: &str) -> Tag {
        let inner = inner.trim();
        let (closing, inner) = match inner.strip_prefix('/') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, inner),
        };
        let name_len = inner
            .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
            .unwrap_or(inner.len());
        let name = inner[..name_len].to_ascii_lowercase();
        let href = if name == "a" && !closing {
            attribute(&inner[name_len..], "href")
        } else {
            None
        };
        Tag {
            name,
            closing,
            href,
        }
    }
}

/// The entity-decoded value of attribute `wanted` in a tag's attribute list.
fn attribute(attrs: &str, wanted: &str) -> Option<String> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let name_len = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        rest = rest[name_len..].trim_start();
        let mut value = "";
        if let Some(after_eq) = rest.strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            let (v, tail) = match after_eq.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after_eq[1..];
                    let end = body.find(q).unwrap_or(body.len());
                    (&body[..end], body.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after_eq.find(char::is_whitespace).unwrap_or(after_eq.len());
                    (&after_eq[..end], &after_eq[end..])
                }
            };
            value = v;
            rest = tail;
        }
        if name.eq_ignore_ascii_case(wanted) {
            let mut decoded = String::new();
            decode_entities(value.trim(), &mut decoded);
            return Some(decoded);
        }
    }
}

/// Ends the current line so that the text ends with `newlines` line breaks
/// (1: next line, 2: blank line), without stacking breaks from nested blocks.
fn break_line(out: &mut String, newlines: usize) {
    out.truncate(out.trim_end_matches(' ').len());
    let present = out.len() - out.trim_end_matches('\n').len();
    for _ in present..newlines {
        out.push('\n');
    }
}

/// Skips past `</name>` (case-insensitive), or to the end.
fn skip_element<'a>(rest: &'a str, name: &str) -> &'a str {
    for (at, _) in rest.match_indices("</") {
        let candidate = rest.as_bytes().get(at + 2..at + 2 + name.len());
        if candidate.is_some_and(|c| c.eq_ignore_ascii_case(name.as_bytes())) {
            return rest[at..].find('>').map_or("", |end| &rest[at + end + 1..]);
        }
    }
    ""
}

/// Appends a text run: source whitespace collapses to one space, as a browser
/// would show it; entities are decoded afterwards so `&nbsp;` survives.
fn push_text(out: &mut String, text: &str) {
    let mut collapsed = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            if !in_space {
                collapsed.push(' ');
            }
            in_space = true;
        } else {
            collapsed.push(c);
            in_space = false;
        }
    }
    decode_entities(&collapsed, out);
}

/// Decodes `&amp; &lt; &gt; &quot; &#39; &apos; &nbsp;` and numeric entities;
/// anything else is kept as written.
fn decode_entities(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        // Entities are short; the ';' is ASCII, so the index is a char boundary.
        let semi = rest.bytes().take(12).position(|b| b == b';');
        let decoded = semi.and_then(|semi| {
            let entity = &rest[1..semi];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => entity.strip_prefix('#').and_then(|num| {
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => num.parse::<u32>().ok(),
                    };
                    code.and_then(char::from_u32)
                        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
                }),
            };
            c.map(|c| (c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

/// Trims every line and keeps at most one blank line in a row.
fn tidy_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        out.push_str(line);
        blank_run = 0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn single_line_replaces_control_characters() {
        // R-4.4
        assert_eq!(single_line("a\r\nb\tc\u{2028}d"), "a  b c d");
    }

    #[test]
    fn html_to_text_keeps_the_readable_parts() {
        let html = "<html><head><title>t</title><style>p { color: red }</style></head><body>\n\
            <p>Hi   Ada,</p><p>Line one<br>Line two<BR/>\n</p>\
            <ul><li>One &amp; two</li><li>&lt;3 &quot;q&quot; &#39;s&#39; &#x263A; &#8364;&nbsp;5</li></ul>\
            <div>See <a href=\"https://example.com/jobs?a=1&amp;b=2\">the role</a> or \
            <a href='https://example.com'>https://example.com</a>.</div>\
            <script>alert(1)</script><!-- hidden --><p>a < b, café &unknown; &amp</p>\n\n\n<p>Bye</p></body></html>";
        assert_eq!(
            html_to_text(html),
            "Hi Ada,\n\nLine one\nLine two\n\nOne & two\n<3 \"q\" 's' ☺ € 5\n\
             See the role (https://example.com/jobs?a=1&b=2) or https://example.com.\n\n\
             a < b, café &unknown; &amp\n\nBye"
        );
        assert_eq!(html_to_text("plain"), "plain");
        assert_eq!(html_to_text("<SCRIPT>x</Script >y"), "y");
        assert_eq!(
            html_to_text("x<br> <a href='https://e.com'><div>y</div></a>"),
            "x\ny (https://e.com)"
        );
        assert_eq!(html_to_text("é<"), "é<");
    }
}
