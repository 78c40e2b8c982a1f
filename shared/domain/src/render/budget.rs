//! The budgets of one render: the sandboxed MiniJinja environment (no loader,
//! SemiStrict undefined values, fuel, HTML escaping for `.html` names only), the working
//! set every named or built value is charged to, `range()` with a length cap, and the
//! writer that refuses output past [`MAX_OUTPUT_BYTES`]. A budget error carries
//! [`BudgetExceeded`] as its source, so that it becomes [`super::RenderError::Budget`].

use minijinja::value::{Object, Value, ValueKind};
use minijinja::{AutoEscape, Environment, ErrorKind, State, UndefinedBehavior};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::allowed;

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

/// The sandboxed environment: empty but for the allow-list of
/// [`allowed`] (so no loader, no file access, nothing unbounded), SemiStrict
/// undefined values, fuel, and HTML auto-escaping for `.html` names only.
pub(super) fn environment<'s>() -> Environment<'s> {
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
pub(super) fn charge(state: &State, bytes: usize, items: usize) -> Result<(), minijinja::Error> {
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

pub(super) fn budget_error(message: String) -> minijinja::Error {
    minijinja::Error::new(ErrorKind::InvalidOperation, message).with_source(BudgetExceeded)
}

/// What the guard wraps around every `set` value and `for` iterable: the
/// value itself, once measured and counted against the working budget.
pub(super) fn bounded_value(state: &State, value: Value) -> Result<Value, minijinja::Error> {
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
pub(super) fn measure(
    value: &Value,
    depth: usize,
    items: &mut usize,
) -> Result<usize, minijinja::Error> {
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
pub(super) fn bounded_range(
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
pub(super) struct BudgetExceeded;

impl std::fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("template budget exceeded")
    }
}

impl std::error::Error for BudgetExceeded {}

/// Collects rendered output up to [`MAX_OUTPUT_BYTES`], then refuses more.
#[derive(Default)]
pub(super) struct CappedWriter {
    pub(super) buf: Vec<u8>,
    pub(super) overflowed: bool,
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
