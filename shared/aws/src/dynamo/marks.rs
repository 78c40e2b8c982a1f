//! A write's own success, told apart from a lost race (issue 19).
//!
//! When a conditional write applied but its answer was lost (a timeout or a
//! 500), the SDK sends it again, and the retry fails its own condition: read
//! plainly, the write that won would report `Conflict` — a claim would find
//! itself "already claimed" and send nothing, a `first_time` marker
//! would refuse the first delivery as a replay. So every conditional
//! write carries a fresh random mark in the `w` attribute, is conditional on
//! the item not bearing that mark already (a retry of an applied write then
//! always fails), and asks for the item as it was
//! (`ReturnValuesOnConditionCheckFailure = ALL_OLD`) when its condition fails:
//! an item bearing the write's own mark is the write's own success.
//!
//! A transaction is made idempotent by DynamoDB itself: its `ClientRequestToken`,
//! which the SDK fills in once per call (before the retry loop) and sends with
//! every retry, makes a repeated `TransactWriteItems` answer success without
//! writing again for ten minutes — whatever happened to the items meanwhile,
//! and for its unconditional parts too (a counter's `ADD`), which no mark can
//! protect. Its conditional items are marked as well: a cancellation whose
//! reasons show an item bearing the transaction's mark means that the
//! transaction applied (it is atomic), which keeps the answer right where the
//! token is not honoured (the emulator the tests run on ignores it).
//!
//! What a mark cannot tell: a write that applied, was then overwritten by
//! another writer, and only then retried finds the other writer's mark and
//! reports `Conflict`; the caller re-reads and sees the newer state.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use rand::Rng;

use super::item::{Item, s};

/// The attribute holding the mark of the last marked write of an item.
pub(crate) const MARK: &str = "w";
/// The condition every marked write adds: the item does not bear its mark.
const UNMARKED: &str = "(attribute_not_exists(#w) OR #w <> :w)";
/// The update clause that sets the mark.
const SET_MARK: &str = "#w = :w";
pub(crate) const MARK_PLACEHOLDER: &str = ":w";

/// One write's mark: 128 random bits.
pub(crate) struct Mark(String);

impl Mark {
    pub(crate) fn new() -> Mark {
        Mark(format!("{:032x}", rand::rng().random::<u128>()))
    }

    pub(crate) fn value(&self) -> aws_sdk_dynamodb::types::AttributeValue {
        s(&self.0)
    }

    /// Whether `item`, as a failed condition found it, bears this mark.
    pub(crate) fn is_on(&self, item: Option<&Item>) -> bool {
        item.and_then(|i| i.get(MARK))
            .and_then(|v| v.as_s().ok())
            .is_some_and(|v| *v == self.0)
    }

    /// `item` with this mark.
    pub(crate) fn stamp(&self, mut item: Item) -> Item {
        item.insert(MARK.to_owned(), self.value());
        item
    }

    /// Whether a cancelled transaction shows an item bearing this mark.
    pub(crate) fn is_in(&self, err: &TransactWriteItemsError) -> bool {
        match err {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => cancelled
                .cancellation_reasons()
                .iter()
                .any(|r| self.is_on(r.item())),
            _ => false,
        }
    }

    /// Marks the conditional item of a transaction (an unconditional one
    /// cannot fail, so it cannot tell anything).
    pub(crate) fn stamp_transaction_item(&self, write: &mut TransactWriteItem) {
        let all_old = Some(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(put) = write.put.as_mut()
            && let Some(condition) = put.condition_expression.take()
        {
            put.item.insert(MARK.to_owned(), self.value());
            put.condition_expression = Some(guarded(Some(&condition)));
            self.add_placeholders(
                &mut put.expression_attribute_names,
                &mut put.expression_attribute_values,
            );
            put.return_values_on_condition_check_failure = all_old;
        } else if let Some(update) = write.update.as_mut()
            && let Some(condition) = update.condition_expression.take()
        {
            update.update_expression = setting_mark(&update.update_expression);
            update.condition_expression = Some(guarded(Some(&condition)));
            self.add_placeholders(
                &mut update.expression_attribute_names,
                &mut update.expression_attribute_values,
            );
            update.return_values_on_condition_check_failure = all_old;
        }
    }

    fn add_placeholders(
        &self,
        names: &mut Option<std::collections::HashMap<String, String>>,
        values: &mut Option<Item>,
    ) {
        names
            .get_or_insert_default()
            .insert("#w".to_owned(), MARK.to_owned());
        values
            .get_or_insert_default()
            .insert(MARK_PLACEHOLDER.to_owned(), self.value());
    }
}

/// `condition` (if any), and the item does not bear the write's mark yet.
pub(crate) fn guarded(condition: Option<&str>) -> String {
    match condition {
        Some(c) if c.ends_with(UNMARKED) => c.to_owned(),
        // DynamoDB refuses redundant parentheses.
        Some(c) if one_group(c) => format!("{c} AND {UNMARKED}"),
        Some(c) => format!("({c}) AND {UNMARKED}"),
        None => UNMARKED.to_owned(),
    }
}

/// Whether `condition` is one parenthesized group, `( … )`.
fn one_group(condition: &str) -> bool {
    let mut depth = 0usize;
    for (i, c) in condition.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 && i + 1 < condition.len() {
                    return false;
                }
            }
            _ if depth == 0 => return false,
            _ => {}
        }
    }
    condition.starts_with('(')
}

/// An update expression that also sets the mark: into its `SET` clause, or a
/// `SET` clause of its own before its other clauses.
pub(crate) fn setting_mark(expression: &str) -> String {
    if expression.contains(SET_MARK) {
        return expression.to_owned();
    }
    match expression.strip_prefix("SET ") {
        Some(rest) => format!("SET {SET_MARK}, {rest}"),
        None => {
            debug_assert!(
                !expression.contains("SET "),
                "SET must come first: {expression}"
            );
            format!("SET {SET_MARK} {expression}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_update_sets_the_mark_once() {
        assert_eq!(setting_mark("SET #doc = :doc"), "SET #w = :w, #doc = :doc");
        assert_eq!(
            setting_mark("ADD #active :delta, #v :one"),
            "SET #w = :w ADD #active :delta, #v :one"
        );
        let once = setting_mark("ADD #count :one");
        assert_eq!(setting_mark(&once), once);
    }

    #[test]
    fn a_marked_condition_also_requires_the_mark_absent() {
        let c = guarded(Some("#v = :v OR attribute_not_exists(#pk)"));
        assert_eq!(
            c,
            "(#v = :v OR attribute_not_exists(#pk)) AND (attribute_not_exists(#w) OR #w <> :w)"
        );
        assert_eq!(guarded(Some(&c)), c);
        assert_eq!(
            guarded(Some("(a OR b)")),
            "(a OR b) AND (attribute_not_exists(#w) OR #w <> :w)"
        );
        assert_eq!(
            guarded(Some("(a OR b) AND (c)")),
            "((a OR b) AND (c)) AND (attribute_not_exists(#w) OR #w <> :w)"
        );
        assert_eq!(guarded(None), "(attribute_not_exists(#w) OR #w <> :w)");
    }

    #[test]
    fn only_the_writes_own_mark_is_its_success() {
        let mark = Mark::new();
        let mine = mark.stamp(Item::new());
        let theirs = Mark::new().stamp(Item::new());
        assert!(mark.is_on(Some(&mine)));
        assert!(!mark.is_on(Some(&theirs)));
        assert!(!mark.is_on(Some(&Item::new())));
        assert!(!mark.is_on(None));
    }
}
