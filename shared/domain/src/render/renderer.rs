//! One render of one part of a step for one recipient: the guard first, then MiniJinja in
//! its sandbox, all of the output or an error — never partial output. An engine error
//! becomes a [`RenderError`]: out of fuel or over a budget is `Budget`, an
//! undefined value is `MissingField` naming the merge field, anything else `Syntax`.

use minijinja::ErrorKind;
use minijinja::value::Value;
use std::sync::Arc;

use super::budget::{BudgetExceeded, CappedWriter, MAX_OUTPUT_BYTES, environment};
use super::fields::{MissingLog, Root};
use super::{BODY_NAME, RenderContext, RenderError, SUBJECT_NAME, guard};

/// Renders parts of one step for one recipient.
pub(super) struct Renderer {
    root: Value,
    log: Arc<MissingLog>,
}

impl Renderer {
    pub(super) fn new(ctx: &RenderContext) -> Self {
        let env = environment();
        let log = Arc::new(MissingLog::default());
        let globals = env.globals().map(|(name, _)| name.to_owned()).collect();
        let root = Root::of(ctx, globals, &log);
        Renderer { root, log }
    }

    /// Renders one part completely, or fails without any output.
    pub(super) fn render(&self, name: &str, source: &str) -> Result<String, RenderError> {
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
pub(super) fn error_message(e: &minijinja::Error) -> String {
    let what = e
        .detail()
        .map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind()));
    match e.line() {
        Some(line) => format!("{what} (line {line})"),
        None => what,
    }
}
