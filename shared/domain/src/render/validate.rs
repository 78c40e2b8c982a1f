//! What is checked when a template or campaign is saved: a first step with a
//! subject, a body, sizes, the delays between steps, subjects without line breaks, and
//! templates that parse, pass the guard and read no other template. Every problem is a
//! [`FieldError`] naming its input.

use serde::{Deserialize, Serialize};

use crate::campaign::StepSpec;

use super::budget::environment;
use super::renderer::error_message;
use super::{BODY_NAME, SUBJECT_NAME, TEXT_NAME, guard, non_blank};

/// Longest subject template, in characters.
pub const MAX_SUBJECT_CHARS: usize = 998;

/// Largest body or text template, in bytes (R-4.1: 100 KB).
pub const MAX_BODY_BYTES: usize = 100 * 1024;

/// Largest delay of a later step, in days.
pub const MAX_DELAY_DAYS: u32 = 365;

/// Most steps of a template or campaign.
pub const MAX_STEPS: usize = 20;

/// Most step content of a template or campaign, in bytes as stored (R-4.1:
/// 300 KB): the subjects, bodies and text parts of all steps, each measured as
/// the JSON string the stores keep, escapes included. Whatever the content, a
/// template or campaign then fits one DynamoDB item (400 KB).
pub const MAX_STEP_CONTENT_BYTES: usize = 300 * 1024;

/// Why a sequence of steps is too large to keep (R-4.1; 413 in the API), or
/// `None`: more than [`MAX_STEPS`] steps, a body or text part over
/// [`MAX_BODY_BYTES`], or more than [`MAX_STEP_CONTENT_BYTES`] of content in
/// all. Checked before the steps are parsed, so no oversized template is.
pub fn too_large(steps: &[StepSpec]) -> Option<String> {
    if steps.len() > MAX_STEPS {
        return Some(format!("a sequence has at most {MAX_STEPS} steps"));
    }
    for (i, s) in steps.iter().enumerate() {
        if s.body.len() > MAX_BODY_BYTES
            || s.text.as_ref().is_some_and(|t| t.len() > MAX_BODY_BYTES)
        {
            return Some(format!("steps[{i}]: a body or text part is at most 100 KB"));
        }
    }
    let content: usize = steps.iter().map(stored_content_bytes).sum();
    (content > MAX_STEP_CONTENT_BYTES).then(|| {
        format!(
            "the steps hold {} KB of content as stored; at most 300 KB in all",
            content.div_ceil(1024)
        )
    })
}

/// A step's subject, body and text part as the stores keep them: JSON
/// strings, where a quote or backslash takes two bytes and a control
/// character six (`\u0001`).
fn stored_content_bytes(step: &StepSpec) -> usize {
    [
        step.subject.as_deref(),
        Some(step.body.as_str()),
        step.text.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(json_string_bytes)
    .sum()
}

/// The length of `s` encoded as a JSON string by serde_json, quotes included.
pub fn json_string_bytes(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
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

/// Checks one step of a template or campaign.
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
        // A later step without a subject threads as "Re: <first subject>".
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

/// Checks a whole sequence: at least one step, each valid, with field
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
