//! Replies (R-9.9, R-11.2) in the one table, and the suppression entries a
//! reply's class caused (lifted on a correction).
//!
//! | record | PK | SK | access patterns |
//! |---|---|---|---|
//! | reply | `REPLY#o#id` | `REPLY` | get (consistent), conditional create (a duplicate delivery is one reply) and versioned update |
//! | reply list entry | `REPLIES#o#{scope}#{class}#{read}` | `{received_ms:015}#{id}` | the inbox, newest first, one list per filter combination |
//! | candidate's reply entry | `REPLIES#o#k:{candidate}#*#*` | `{received_ms:015}#{id}` | a candidate's replies, which erasure blanks (R-3.6) |
//!
//! A reply is listed in every list whose filters it meets: `scope` is `*`,
//! `p:{project}` (not for a single message's reply) or `c:{campaign}`;
//! `class` is `*` or its class (an automatic reply only `*`); `read` is `*`,
//! and `unread` while unread, else `read` (`unread=false` lists only read
//! replies; a reply marked read before the `read` lists existed, issue 21,
//! is on them once it next changes). So a filter of `GET /v1/replies` (project or
//! campaign, class, unread) is one `Query` of one partition, newest first
//! (`ScanIndexForward=false`), `Limit` one more than the page — never a
//! `Scan`, never a `FilterExpression` — and the page's replies are then read
//! by key with one consistent `BatchGetItem`. At most 3 × 2 × 2 = 12 entries a
//! reply, written in the reply's own transaction (create, and an update that
//! changes its class or read flag deletes the entries it left and puts the
//! new ones), so the lists are read consistently from the base table.
//! Filtering by project and campaign together reads the campaign's list (a
//! campaign has one project) and answers nothing when the project differs.
//! One more entry per reply, in the list `k:{candidate}` (class and read
//! `*` only), finds a candidate's replies with one consistent `Query` of one
//! partition when the candidate is erased (R-3.6).
//! Replies are rare next to sends (one for tens of messages): 14 item
//! writes a reply, 1 to 19 a user's change, inside the 100-item transaction.

use std::collections::HashSet;

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use outreach_app::ports::{Page, PageRequest, StoreError, Versioned};
use outreach_app::reply::{Reply, ReplyFilter, reply_sort_key};
use outreach_domain::ids::{CandidateId, OrgId};

use outreach_app::stats;
use outreach_app::tally;

use super::DynamoStore;
use super::access::{CREATE, Query, Range, SAME_VERSION};
use super::item::{
    DynamoError, ID, ItemBuilder, VERSION, n, s, sdk_error, text, tx_delete, tx_put, versioned,
};
use super::keys::{self, Key, esc};
use super::stats::stats_writes;

pub fn reply(org: &str, id: &str) -> Key {
    Key {
        pk: format!("REPLY#{}#{}", esc(org), esc(id)),
        sk: "REPLY".into(),
    }
}

/// The partition of one list: `scope`, `class` and `read` as the module says.
pub fn reply_list_pk(org: &str, scope: &str, class: &str, read: &str) -> String {
    format!(
        "REPLIES#{}#{}#{}#{}",
        esc(org),
        esc(scope),
        esc(class),
        read
    )
}

fn scope_project(project: &str) -> String {
    format!("p:{project}")
}

fn scope_campaign(campaign: &str) -> String {
    format!("c:{campaign}")
}

fn scope_candidate(candidate: &str) -> String {
    format!("k:{candidate}")
}

/// The list entries of a reply as it is.
fn entries(r: &Reply) -> HashSet<Key> {
    let org = r.org_id.as_str();
    let mut scopes = vec!["*".to_owned(), scope_campaign(r.campaign_id.as_str())];
    if !r.single {
        scopes.push(scope_project(&r.project_id));
    }
    let mut classes = vec!["*"];
    if let Some(c) = r.class {
        classes.push(c.as_str());
    }
    let reads = ["*", if r.unread() { "unread" } else { "read" }];
    let sk = reply_sort_key(r);
    let mut out = HashSet::from([Key {
        pk: reply_list_pk(org, &scope_candidate(r.candidate_id.as_str()), "*", "*"),
        sk: sk.clone(),
    }]);
    for scope in &scopes {
        for class in &classes {
            for read in &reads {
                out.insert(Key {
                    pk: reply_list_pk(org, scope, class, read),
                    sk: sk.clone(),
                });
            }
        }
    }
    out
}

fn entry_item(key: &Key, r: &Reply) -> super::item::Item {
    ItemBuilder::new(key).text(ID, r.id.clone()).build()
}

fn reply_item(r: &Reply, version: u64) -> Result<super::item::Item, StoreError> {
    Ok(ItemBuilder::new(&reply(r.org_id.as_str(), &r.id))
        .doc(r)?
        .attr(VERSION, n(version))
        .build())
}

/// R-11.3: how writing `after` over `before` (none for a new reply) moves
/// its campaign's statistics, as `ADD`s for the reply's own transaction.
fn reply_stats(
    table: &str,
    before: Option<&Reply>,
    after: &Reply,
) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, StoreError> {
    let before = before.map(stats::counted_reply).unwrap_or_default();
    let delta = tally::change(&before, &stats::counted_reply(after));
    let enrollment = after.enrollment_id.as_str();
    stats_writes(table, &after.org_id, &after.campaign_id, enrollment, &delta)
}

pub(super) async fn create_reply(store: &DynamoStore, r: &Reply) -> Result<bool, StoreError> {
    let mut writes = vec![tx_put(
        &store.table,
        reply_item(r, 1)?,
        Some(CREATE),
        vec![],
    )?];
    for key in entries(r) {
        writes.push(tx_put(&store.table, entry_item(&key, r), None, vec![])?);
    }
    writes.extend(reply_stats(&store.table, None, r)?);
    match store.transact(writes).await {
        Ok(()) => Ok(true),
        Err(e) if e.condition_failed_at(0) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn get_reply(
    store: &DynamoStore,
    org: &OrgId,
    id: &str,
) -> Result<Option<Versioned<Reply>>, StoreError> {
    store.get_versioned(&reply(org.as_str(), id)).await
}

pub(super) async fn update_reply(
    store: &DynamoStore,
    r: &Reply,
    expected: u64,
) -> Result<u64, StoreError> {
    let Some(old) = get_reply(store, &r.org_id, &r.id).await? else {
        return Err(StoreError::Conflict);
    };
    if old.version != expected {
        return Err(StoreError::Conflict);
    }
    let (before, after) = (entries(&old.value), entries(r));
    let mut writes = vec![tx_put(
        &store.table,
        reply_item(r, expected + 1)?,
        Some(SAME_VERSION),
        vec![(":v", n(expected))],
    )?];
    for key in before.difference(&after) {
        writes.push(tx_delete(&store.table, key)?);
    }
    for key in after.difference(&before) {
        writes.push(tx_put(&store.table, entry_item(key, r), None, vec![])?);
    }
    writes.extend(reply_stats(&store.table, Some(&old.value), r)?);
    store.transact(writes).await.map_err(StoreError::from)?;
    Ok(expected + 1)
}

pub(super) async fn list_replies(
    store: &DynamoStore,
    org: &OrgId,
    filter: &ReplyFilter,
    page: &PageRequest,
) -> Result<Page<Reply>, StoreError> {
    let scope = match (&filter.campaign_id, &filter.project_id) {
        (Some(c), _) => scope_campaign(c.as_str()),
        (None, Some(p)) => scope_project(p),
        (None, None) => "*".into(),
    };
    let class = filter.class.map_or("*", |c| c.as_str());
    let read = match filter.unread {
        Some(true) => "unread",
        Some(false) => "read",
        None => "*",
    };
    let pk = reply_list_pk(org.as_str(), &scope, class, read);
    let after = page.after.as_ref().map(|sk| {
        (
            Key {
                pk: pk.clone(),
                sk: sk.clone(),
            },
            None,
        )
    });
    let limit = page.limit.max(1) as usize;
    let query = Query::table(pk, Range::All).after(after).newest_first();
    let mut found = store.query(&query, Some(limit + 1)).await?;
    let more = found.len() > limit;
    found.truncate(limit);
    let ids = found
        .iter()
        .map(|i| text(i, ID).map(str::to_owned))
        .collect::<Result<Vec<_>, _>>()?;
    let wanted: Vec<Key> = ids.iter().map(|id| reply(org.as_str(), id)).collect();
    let mut by_id = std::collections::HashMap::new();
    for item in store.get_many(&wanted).await? {
        let r: Versioned<Reply> = versioned(&item)?;
        by_id.insert(r.value.id.clone(), r.value);
    }
    let items: Vec<Reply> = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    if !items.iter().all(|r| filter.admits(r)) {
        // The campaign is not the project's: nothing of it is on that list.
        return Ok(Page {
            items: Vec::new(),
            next: None,
        });
    }
    let next = if more {
        items.last().map(reply_sort_key)
    } else {
        None
    };
    Ok(Page { items, next })
}

/// R-3.6: the candidate's replies, from their own list (module docs).
pub(super) async fn replies_of_candidate(
    store: &DynamoStore,
    org: &OrgId,
    candidate: &CandidateId,
) -> Result<Vec<String>, StoreError> {
    let pk = reply_list_pk(org.as_str(), &scope_candidate(candidate.as_str()), "*", "*");
    store
        .sorted_ids(&Query::table(pk, Range::All), |id| id)
        .await
}

pub(super) async fn lift_suppression(
    store: &DynamoStore,
    org: &OrgId,
    key: &str,
    reason: &str,
) -> Result<bool, StoreError> {
    let answer = store
        .client
        .delete_item()
        .table_name(&store.table)
        .set_key(Some(super::item::key_item(&keys::suppression(
            org.as_str(),
            key,
        ))))
        .condition_expression("#reason = :r")
        .expression_attribute_names("#reason", "reason")
        .expression_attribute_values(":r", s(reason))
        .send()
        .await;
    match answer {
        Ok(_) => Ok(true),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(DeleteItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(StoreError::from(sdk_error(e))),
    }
}

/// R-9.9: a person's own stop (a reason not starting with `reply:`) takes
/// over a suppression entry a reply's class caused, so that correcting that
/// class leaves it in place. Nothing when the entry is the person's already.
pub(super) async fn take_over_suppression(
    store: &DynamoStore,
    org: &OrgId,
    key: &str,
    reason: &str,
) -> Result<(), StoreError> {
    match store
        .update_returning(
            &keys::suppression(org.as_str(), key),
            "SET #reason = :r",
            Some("begins_with(#reason, :p)"),
            vec![(":r", s(reason)), (":p", s("reply:"))],
            &[("#reason", "reason")],
        )
        .await
    {
        Ok(_) | Err(DynamoError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
