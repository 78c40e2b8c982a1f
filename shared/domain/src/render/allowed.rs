//! What a template may call (R-4.2, issue 15): an allow-list of filters,
//! tests, functions and methods, each with the bound that keeps it within the
//! render's memory and time budgets.
//!
//! The environment starts empty ([`minijinja::Environment::empty`]): a name
//! that is not listed here does not exist for templates, so a filter added to
//! MiniJinja later is unavailable until someone decides its bound. Every
//! listed filter runs through one wrapper that, *before* calling it, measures
//! its arguments (counting the items against the render's working budget, so
//! the measuring itself is bounded in time) and estimates the largest result
//! it can build from them; a call whose estimate exceeds
//! [`MAX_OUTPUT_BYTES`](super::MAX_OUTPUT_BYTES) is refused with a budget
//! error instead of asking the allocator for it (`[1]|batch(100000000000)`
//! would ask for 2.4 TB, and a failed allocation aborts the process). The
//! result is then counted against the working budget too.
//!
//! Tests measure their arguments the same way (a test's time grows with what
//! it compares). Methods: MiniJinja's core has no string or list methods;
//! the loop object has `cycle` and `changed`, and the guard
//! ([`super::guard`]) refuses every other method name, `changed` (an
//! uncounted comparison per iteration) and `cycle()` without arguments
//! (MiniJinja divides by the number of arguments).

use super::budget::{
    MAX_OUTPUT_BYTES, bounded_range, bounded_value, budget_error, charge, measure,
};
use super::guard;
use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Environment, ErrorKind, State, filters, tests};

/// How large a filter's result can be, judged from its arguments.
#[derive(Debug, Clone, Copy)]
enum Bound {
    /// A scalar or one of the arguments (a number, a bool, one item): the
    /// arguments are not even measured.
    Scalar,
    /// At most this many times the measured size of the arguments (the
    /// arguments are measured, which bounds the filter's time as well).
    Scaled(usize),
    /// Estimated from the arguments by [`estimate`].
    Estimated,
}

/// Every filter a template may use, with its bound. `safe` is not here: it
/// would turn off the HTML escaping of a merged value, like
/// `autoescape`; `format` pads to any width, `pprint` indents by depth, and
/// `tojson`/`urlencode` are not compiled in.
const FILTERS: &[(&str, Bound)] = &[
    ("abs", Bound::Scalar),
    ("attr", Bound::Scalar),
    ("batch", Bound::Estimated),
    ("bool", Bound::Scalar),
    ("capitalize", Bound::Scaled(3)),
    ("chain", Bound::Scaled(2)),
    ("count", Bound::Scaled(0)),
    ("d", Bound::Scalar),
    ("default", Bound::Scalar),
    ("dictsort", Bound::Scaled(3)),
    ("e", Bound::Scaled(6)),
    ("escape", Bound::Scaled(6)),
    ("first", Bound::Scaled(0)),
    ("float", Bound::Scalar),
    ("groupby", Bound::Scaled(4)),
    ("indent", Bound::Estimated),
    ("int", Bound::Scalar),
    ("items", Bound::Scaled(3)),
    ("join", Bound::Estimated),
    ("last", Bound::Scaled(0)),
    ("length", Bound::Scaled(0)),
    // One string per line or word, each a value slot plus its text.
    ("lines", Bound::Scaled(48)),
    ("list", Bound::Scaled(2)),
    // Unicode case mappings grow a string by at most three times.
    ("lower", Bound::Scaled(3)),
    ("map", Bound::Scaled(2)),
    ("max", Bound::Scaled(0)),
    ("min", Bound::Scaled(0)),
    ("reject", Bound::Scaled(2)),
    ("rejectattr", Bound::Scaled(2)),
    ("replace", Bound::Estimated),
    ("reverse", Bound::Scaled(2)),
    ("round", Bound::Scalar),
    ("select", Bound::Scaled(2)),
    ("selectattr", Bound::Scaled(2)),
    ("slice", Bound::Estimated),
    ("sort", Bound::Scaled(2)),
    ("split", Bound::Scaled(48)),
    // A value's printed form: quotes and escapes (`\u{0}`) grow it.
    ("string", Bound::Scaled(8)),
    ("sum", Bound::Scaled(0)),
    ("title", Bound::Scaled(3)),
    ("trim", Bound::Scaled(1)),
    ("unique", Bound::Scaled(2)),
    ("upper", Bound::Scaled(3)),
    ("zip", Bound::Scaled(2)),
];

/// The names of every filter a template may use.
pub fn filter_names() -> impl Iterator<Item = &'static str> {
    FILTERS.iter().map(|(name, _)| *name)
}

/// Every test a template may use (`x is defined`). None allocates: each looks
/// at its arguments and answers a bool, in time bounded by their measure.
pub const TESTS: &[&str] = &[
    "!=",
    "<",
    "<=",
    "==",
    ">",
    ">=",
    "boolean",
    "defined",
    "divisibleby",
    "endingwith",
    "eq",
    "equalto",
    "escaped",
    "even",
    "false",
    "filter",
    "float",
    "ge",
    "greaterthan",
    "gt",
    "in",
    "int",
    "integer",
    "iterable",
    "le",
    "lessthan",
    "lower",
    "lt",
    "mapping",
    "ne",
    "none",
    "number",
    "odd",
    "safe",
    "sameas",
    "sequence",
    "startingwith",
    "string",
    "test",
    "true",
    "undefined",
    "upper",
];

/// Every function a template may call: `range()` of at most
/// [`MAX_RANGE_LEN`](super::MAX_RANGE_LEN) items and `dict(…)` (one map of
/// its arguments). `namespace()` (state carried across loop iterations) and
/// `debug()` (a dump of everything) are not available.
pub const FUNCTIONS: &[&str] = &["range", "dict", guard::BOUNDED_FN];

/// Every method a template may call: the loop's `cycle(…)`. Not
/// `loop.changed(…)`, which compares its arguments with the last ones on
/// every iteration, uncounted by fuel: with a large list that is minutes.
pub const METHODS: &[&str] = &["cycle"];

/// Registers the allow-list on an empty environment.
pub(super) fn register(env: &mut Environment<'_>) {
    for &(name, bound) in FILTERS {
        let builtin = builtin_filter(name);
        env.add_filter(
            name,
            move |state: &State, args: Rest<Value>| -> Result<Value, minijinja::Error> {
                check_kinds(name, &args)?;
                check_before_call(state, name, bound, &args)?;
                let result = builtin.call(state, &args)?;
                let size = match result.kind() {
                    ValueKind::String => result.as_str().map_or(0, str::len),
                    _ => result.len().unwrap_or(0) * SLOT,
                };
                charge(state, size, 1)?;
                Ok(result)
            },
        );
    }
    register_tests(env);
    env.add_function("range", bounded_range);
    env.add_function("dict", minijinja::functions::dict);
    env.add_function(guard::BOUNDED_FN, bounded_value);
}

const SLOT: usize = std::mem::size_of::<Value>();

/// Refuses arguments a filter would turn into values MiniJinja cannot handle:
/// `chain` of something that is not a list or map yields error values, and
/// comparing two of them (`|max`, `|sort`) panics inside MiniJinja.
fn check_kinds(name: &str, args: &[Value]) -> Result<(), minijinja::Error> {
    if name == "chain" && args.iter().any(|a| a.try_iter().is_err()) {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            "`chain` joins lists or maps only",
        ));
    }
    Ok(())
}

/// Refuses a call whose result could exceed the budget, before it is made.
fn check_before_call(
    state: &State,
    name: &str,
    bound: Bound,
    args: &[Value],
) -> Result<(), minijinja::Error> {
    if matches!(bound, Bound::Scalar) {
        return Ok(());
    }
    let mut items = 0;
    let mut sizes = Vec::with_capacity(args.len());
    for arg in args {
        sizes.push(measure(arg, 0, &mut items)?);
    }
    charge(state, 0, items)?;
    let total = sizes.iter().fold(0usize, |sum, s| sum.saturating_add(*s));
    let expected = match bound {
        Bound::Scaled(factor) => total.saturating_mul(factor),
        _ => estimate(name, args, &sizes, items),
    };
    if expected > MAX_OUTPUT_BYTES {
        return Err(budget_error(format!(
            "`{name}` would build more than {MAX_OUTPUT_BYTES} bytes"
        )));
    }
    Ok(())
}

/// An upper bound of the size of what `join`, `replace`, `indent`, `batch`
/// or `slice` builds from `args` (`args[0]` is the filtered value; `sizes`
/// their measured sizes, `items` the items measured in all of them). It
/// errs on the large side: any value stands for its printed, HTML-escaped
/// form, and any number among the arguments (keyword arguments included) for
/// a count.
fn estimate(filter: &str, args: &[Value], sizes: &[usize], items: usize) -> usize {
    // A value printed and escaped: quotes, `\u{1}` escapes and `&quot;`.
    let printed = |i: usize| {
        let size = sizes.get(i).copied().unwrap_or(0);
        match args.get(i).and_then(Value::as_str) {
            Some(s) => s.len().saturating_mul(6),
            None => size.saturating_mul(8),
        }
    };
    let widest_other = (1..args.len()).map(printed).max().unwrap_or(0);
    let count = largest_count(args.get(1..).unwrap_or_default());
    match filter {
        "join" => {
            let pieces = args
                .first()
                .and_then(|v| v.try_iter().ok())
                .map_or(0, Iterator::count);
            printed(0).saturating_add(pieces.saturating_mul(widest_other))
        }
        "replace" => {
            let text = args.first().and_then(Value::as_str);
            let from = args.get(1).and_then(Value::as_str);
            let matches = match (text, from) {
                (Some(text), Some(from)) if !from.is_empty() => text.matches(from).count(),
                _ => printed(0).saturating_add(1),
            };
            printed(0).saturating_add(matches.saturating_mul(widest_other))
        }
        "indent" => {
            let lines = match args.first().and_then(Value::as_str) {
                Some(text) => text.lines().count() + 1,
                None => printed(0).saturating_add(1),
            };
            let width = count.unwrap_or(4);
            printed(0).saturating_add(lines.saturating_mul(width))
        }
        // `batch(n)` reserves room for `n` items in every batch and fills
        // the last one up to `n`; `slice(n)` builds `n` lists.
        "batch" | "slice" => items
            .saturating_add(count.unwrap_or(0))
            .saturating_mul(2 * SLOT),
        other => unreachable!("filter `{other}` is listed as estimated without an estimate"),
    }
}

/// The largest number among `args` and the values of keyword arguments, as
/// a count: negative numbers count as nothing, numbers too large for a
/// `usize` (or fractional ones) as `usize::MAX`.
fn largest_count(args: &[Value]) -> Option<usize> {
    let as_count = |v: &Value| match v.kind() {
        ValueKind::Number => Some(match v.as_usize() {
            Some(n) => n,
            None if v.as_i64().is_some_and(|n| n < 0) => 0,
            None => usize::MAX,
        }),
        _ => None,
    };
    let mut largest: Option<usize> = None;
    for arg in args {
        let found = match arg.kind() {
            ValueKind::Map => arg
                .try_iter()
                .into_iter()
                .flatten()
                .filter_map(|key| arg.get_item(&key).ok())
                .filter_map(|v| as_count(&v))
                .max(),
            _ => as_count(arg),
        };
        largest = largest.max(found);
    }
    largest
}

fn builtin_filter(name: &str) -> Value {
    match name {
        "abs" => Value::from_function(filters::abs),
        "attr" => Value::from_function(filters::attr),
        "batch" => Value::from_function(filters::batch),
        "bool" => Value::from_function(filters::bool),
        "capitalize" => Value::from_function(filters::capitalize),
        "chain" => Value::from_function(filters::chain),
        "count" | "length" => Value::from_function(filters::length),
        "d" | "default" => Value::from_function(filters::default),
        "dictsort" => Value::from_function(filters::dictsort),
        "e" | "escape" => Value::from_function(filters::escape),
        "first" => Value::from_function(filters::first),
        "float" => Value::from_function(filters::float),
        "groupby" => Value::from_function(filters::groupby),
        "indent" => Value::from_function(filters::indent),
        "int" => Value::from_function(filters::int),
        "items" => Value::from_function(filters::items),
        "join" => Value::from_function(filters::join),
        "last" => Value::from_function(filters::last),
        "lines" => Value::from_function(filters::lines),
        "list" => Value::from_function(filters::list),
        "lower" => Value::from_function(filters::lower),
        "map" => Value::from_function(filters::map),
        "max" => Value::from_function(filters::max),
        "min" => Value::from_function(filters::min),
        "reject" => Value::from_function(filters::reject),
        "rejectattr" => Value::from_function(filters::rejectattr),
        "replace" => Value::from_function(filters::replace),
        "reverse" => Value::from_function(filters::reverse),
        "round" => Value::from_function(filters::round),
        "select" => Value::from_function(filters::select),
        "selectattr" => Value::from_function(filters::selectattr),
        "slice" => Value::from_function(filters::slice),
        "sort" => Value::from_function(filters::sort),
        "split" => Value::from_function(filters::split),
        "string" => Value::from_function(filters::string),
        "sum" => Value::from_function(filters::sum),
        "title" => Value::from_function(filters::title),
        "trim" => Value::from_function(filters::trim),
        "unique" => Value::from_function(filters::unique),
        "upper" => Value::from_function(filters::upper),
        "zip" => Value::from_function(filters::zip),
        other => unreachable!("filter `{other}` is listed without its implementation"),
    }
}

/// Registers every test of [`TESTS`], each measuring its arguments first: a
/// test costs time in the size of what it compares (`x is in(list)`), and
/// the measuring counts that against the render's working items, so tests
/// repeated in a loop or through `select` stay within the budget.
fn register_tests(env: &mut Environment<'_>) {
    for &name in TESTS {
        let builtin = builtin_test(name);
        env.add_test(
            name,
            move |state: &State, args: Rest<Value>| -> Result<bool, minijinja::Error> {
                let mut items = 0;
                for arg in args.iter() {
                    measure(arg, 0, &mut items)?;
                }
                charge(state, 0, items)?;
                Ok(builtin.call(state, &args)?.is_true())
            },
        );
    }
}

/// MiniJinja's `divisibleby` computes `a % b` unchecked: `divisibleby(0)`
/// panics (a division by zero), as does the smallest integer by -1.
fn is_divisibleby(value: &Value, divisor: &Value) -> bool {
    match (
        i128::try_from(value.clone()),
        i128::try_from(divisor.clone()),
    ) {
        (Ok(a), Ok(b)) => a.checked_rem(b) == Some(0),
        _ => match (f64::try_from(value.clone()), f64::try_from(divisor.clone())) {
            (Ok(a), Ok(b)) => a % b == 0.0,
            _ => false,
        },
    }
}

fn builtin_test(name: &str) -> Value {
    match name {
        "undefined" => Value::from_function(tests::is_undefined),
        "defined" => Value::from_function(tests::is_defined),
        "none" => Value::from_function(tests::is_none),
        "safe" | "escaped" => Value::from_function(tests::is_safe),
        "boolean" => Value::from_function(tests::is_boolean),
        "odd" => Value::from_function(tests::is_odd),
        "even" => Value::from_function(tests::is_even),
        "divisibleby" => Value::from_function(is_divisibleby),
        "number" => Value::from_function(tests::is_number),
        "integer" | "int" => Value::from_function(tests::is_integer),
        "float" => Value::from_function(tests::is_float),
        "string" => Value::from_function(tests::is_string),
        "sequence" => Value::from_function(tests::is_sequence),
        "iterable" => Value::from_function(tests::is_iterable),
        "mapping" => Value::from_function(tests::is_mapping),
        "startingwith" => Value::from_function(tests::is_startingwith),
        "endingwith" => Value::from_function(tests::is_endingwith),
        "lower" => Value::from_function(tests::is_lower),
        "upper" => Value::from_function(tests::is_upper),
        "sameas" => Value::from_function(tests::is_sameas),
        "eq" | "equalto" | "==" => Value::from_function(tests::is_eq),
        "ne" | "!=" => Value::from_function(tests::is_ne),
        "lt" | "lessthan" | "<" => Value::from_function(tests::is_lt),
        "le" | "<=" => Value::from_function(tests::is_le),
        "gt" | "greaterthan" | ">" => Value::from_function(tests::is_gt),
        "ge" | ">=" => Value::from_function(tests::is_ge),
        "in" => Value::from_function(tests::is_in),
        "true" => Value::from_function(tests::is_true),
        "false" => Value::from_function(tests::is_false),
        "filter" => Value::from_function(tests::is_filter),
        "test" => Value::from_function(tests::is_test),
        other => unreachable!("test `{other}` is listed without its implementation"),
    }
}

#[cfg(test)]
mod tests_of_the_list {
    use super::*;

    #[test]
    fn every_listed_name_is_registered_and_nothing_else() {
        // the environment holds exactly the allow-list.
        let env = super::super::budget::environment();
        let is = |kind: &str, name: &str| {
            env.render_str(&format!("{{{{ {name:?} is {kind} }}}}"), ())
                .unwrap()
        };
        for name in filter_names() {
            assert_eq!(is("filter", name), "True", "filter {name}");
        }
        for name in TESTS {
            assert_eq!(is("test", name), "True", "test {name}");
        }
        for absent in ["safe", "format", "pprint", "tojson", "urlencode"] {
            assert_eq!(is("filter", absent), "False", "filter {absent}");
        }
        let mut globals: Vec<&str> = env.globals().map(|(name, _)| name).collect();
        globals.sort_unstable();
        let mut expected = FUNCTIONS.to_vec();
        expected.sort_unstable();
        assert_eq!(globals, expected);
    }
}
