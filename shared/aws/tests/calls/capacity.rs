//! What each recorded DynamoDB request costs in capacity units, item by item
//! and partition by partition, with the index writes it causes (issue 19):
//! `CAPACITY <rcu|wcu> <units> <table|index> <partition key>`
//! lines for the bench's capacity model (`tests/bench/src/capacity.rs`).
//!
//! Item sizes are those of the items as stored (read back with a Scan of the
//! test's own table, before and after the counted calls); a write costs the
//! larger of the item before and after, 1 unit a KB (2 in a transaction); a
//! strongly consistent read 1 unit per 4 KB (2 in a transaction); an index
//! entry is written when its keys or projected attributes change (a moved key
//! is a delete and a put), 1 unit a KB of the entry.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeyType, Projection, ProjectionType};
use outreach_aws::dynamo::keys;

type Item = HashMap<String, AttributeValue>;

/// Every item of the table by (PK, SK).
pub async fn snapshot(client: &Client, table: &str) -> HashMap<(String, String), Item> {
    let mut out = HashMap::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("the test table can be scanned");
        for item in page.items.unwrap_or_default() {
            out.insert(key_of(&item), item);
        }
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return out,
        }
    }
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn key_of(item: &Item) -> (String, String) {
    (
        text(item, keys::PK).unwrap_or_default(),
        text(item, keys::SK).unwrap_or_default(),
    )
}

/// An attribute value's stored size (DynamoDB's rules, roughly).
fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len() / 2 + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| k.len() + value_size(v) + 1)
                .sum::<usize>()
        }
        AttributeValue::L(l) => 3 + l.iter().map(|v| value_size(v) + 1).sum::<usize>(),
        AttributeValue::Ss(s) => s.iter().map(String::len).sum(),
        AttributeValue::Ns(n) => n.iter().map(|x| x.len() / 2 + 1).sum(),
        _ => 0,
    }
}

fn size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn units(bytes: usize, per: usize) -> usize {
    bytes.div_ceil(per).max(1)
}

/// An index: its name, key attributes and what it projects besides keys
/// (`None`: every attribute).
pub struct Index {
    name: String,
    pk: String,
    sk: String,
    projected: Option<Vec<String>>,
}

/// The table's indexes as DynamoDB describes them.
pub async fn indexes(client: &Client, table: &str) -> Vec<Index> {
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("the test table is described");
    let mut out = Vec::new();
    for gsi in described
        .table
        .and_then(|t| t.global_secondary_indexes)
        .unwrap_or_default()
    {
        let key = |kind: KeyType| {
            gsi.key_schema()
                .iter()
                .find(|k| *k.key_type() == kind)
                .map(|k| k.attribute_name().to_owned())
                .unwrap_or_default()
        };
        let projection = gsi
            .projection
            .clone()
            .unwrap_or_else(|| Projection::builder().build());
        let projected = match projection.projection_type {
            Some(ProjectionType::All) => None,
            _ => Some(projection.non_key_attributes.unwrap_or_default()),
        };
        out.push(Index {
            name: gsi.index_name.clone().unwrap_or_default(),
            pk: key(KeyType::Hash),
            sk: key(KeyType::Range),
            projected,
        });
    }
    out
}

/// An item's entry in an index: its partition, what identifies its content,
/// and its projected size.
fn entry(item: &Item, index: &Index) -> Option<(String, String, usize)> {
    let (ipk, isk) = (text(item, &index.pk)?, text(item, &index.sk)?);
    let (tpk, tsk) = key_of(item);
    let mut bytes = 100 + ipk.len() + isk.len() + index.pk.len() + index.sk.len();
    bytes += tpk.len() + tsk.len() + 4;
    let mut shown = String::new();
    let mut names: Vec<&String> = match &index.projected {
        Some(names) => names.iter().collect(),
        None => item.keys().collect(),
    };
    names.sort();
    for name in names {
        if let Some(v) = item.get(name) {
            bytes += name.len() + value_size(v);
            shown.push_str(&format!("{name}={v:?};"));
        }
    }
    Some((ipk, format!("{isk}|{shown}"), bytes))
}

/// The index writes of replacing `before` with `after`.
fn index_writes(
    indexes: &[Index],
    before: Option<&Item>,
    after: Option<&Item>,
) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    for index in indexes {
        let old = before.and_then(|i| entry(i, index));
        let new = after.and_then(|i| entry(i, index));
        match (old, new) {
            (Some(o), Some(n)) if o.0 == n.0 && o.1 == n.1 => {}
            (o, n) => {
                for (partition, _, bytes) in o.into_iter().chain(n) {
                    out.push((index.name.clone(), partition, units(bytes, 1024)));
                }
            }
        }
    }
    out
}

/// One item's cost in a request: `rcu` or `wcu`, units, `table` or the
/// index, partition key.
#[derive(Debug, Clone)]
pub struct Line {
    pub kind: &'static str,
    pub units: usize,
    pub at: String,
    pub pk: String,
}

fn attr_item(v: &serde_json::Value) -> Item {
    // The request's JSON, back into attribute values (strings and numbers
    // are all the items of this table hold at their top level: documents
    // are JSON text).
    v.as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| {
                    let value = if let Some(s) = v["S"].as_str() {
                        AttributeValue::S(s.to_owned())
                    } else if let Some(n) = v["N"].as_str() {
                        AttributeValue::N(n.to_owned())
                    } else {
                        return None;
                    };
                    Some((k.clone(), value))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn json_key(v: &serde_json::Value) -> (String, String) {
    (
        v["PK"]["S"].as_str().unwrap_or("?").to_owned(),
        v["SK"]["S"].as_str().unwrap_or("?").to_owned(),
    )
}

/// Prints the `CAPACITY` lines of `calls`, replayed over `before` (the table
/// before them) towards `after` (the table after them).
pub fn print_lines(
    calls: &[super::support::Call],
    indexes: &[Index],
    before: &HashMap<(String, String), Item>,
    after: &HashMap<(String, String), Item>,
) -> Vec<Line> {
    let mut state = before.clone();
    let mut lines = Vec::new();
    println!("CAPACITY_SHARDS due {}", keys::DUE_SHARDS);
    println!("CAPACITY_SHARDS tally {}", keys::TALLY_SHARDS);
    // An organization's send count is this many sub-counters.
    println!(
        "CAPACITY_SHARDS reputation_org {}",
        outreach_app::usecases::returns::reputation::ORG_SHARDS
    );
    for call in calls
        .iter()
        .filter(|c| c.service.eq_ignore_ascii_case("dynamodb"))
    {
        let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap_or_default();
        let op = call.operation.as_str();
        let read = |lines: &mut Vec<Line>,
                    state: &HashMap<(String, String), Item>,
                    key: &(String, String),
                    factor: usize| {
            let bytes = state.get(key).or_else(|| after.get(key)).map_or(1, size);
            lines.push(Line {
                kind: "rcu",
                units: units(bytes, 4096) * factor,
                at: "table".into(),
                pk: key.0.clone(),
            });
        };
        match op {
            "GetItem" => read(&mut lines, &state, &json_key(&body["Key"]), 1),
            "BatchGetItem" => {
                for table in body["RequestItems"]
                    .as_object()
                    .into_iter()
                    .flat_map(|t| t.values())
                {
                    for k in table["Keys"].as_array().into_iter().flatten() {
                        read(&mut lines, &state, &json_key(k), 1);
                    }
                }
            }
            "Query" => println!(
                "CAPACITY {op} rcu 1 {} {}",
                body["IndexName"].as_str().unwrap_or("table"),
                body["ExpressionAttributeValues"][":qpk"]["S"]
                    .as_str()
                    .unwrap_or("?")
            ),
            "PutItem" | "UpdateItem" | "DeleteItem" => {
                write_one(op, &body, 1, indexes, &mut state, after, &mut lines);
            }
            "TransactWriteItems" => {
                for w in body["TransactItems"].as_array().into_iter().flatten() {
                    if let Some(check) = w.get("ConditionCheck") {
                        read(&mut lines, &state, &json_key(&check["Key"]), 2);
                        continue;
                    }
                    let (kind, inner) = w
                        .as_object()
                        .and_then(|o| o.iter().next())
                        .map(|(k, v)| (k.as_str(), v))
                        .unwrap_or(("?", w));
                    let op = match kind {
                        "Put" => "PutItem",
                        "Update" => "UpdateItem",
                        _ => "DeleteItem",
                    };
                    write_one(op, inner, 2, indexes, &mut state, after, &mut lines);
                }
            }
            _ => {}
        }
    }
    for l in &lines {
        println!("CAPACITY {} {} {} {}", l.kind, l.units, l.at, l.pk);
    }
    lines
}

/// One item's write: its units at the table and at every index it changes.
fn write_one(
    op: &str,
    body: &serde_json::Value,
    factor: usize,
    indexes: &[Index],
    state: &mut HashMap<(String, String), Item>,
    after: &HashMap<(String, String), Item>,
    lines: &mut Vec<Line>,
) {
    let key = if body["Item"].is_null() {
        json_key(&body["Key"])
    } else {
        json_key(&body["Item"])
    };
    let old = state.get(&key).cloned();
    let new = match op {
        "PutItem" => Some(attr_item(&body["Item"])),
        "DeleteItem" => None,
        // An update keeps the keys it does not set; the item as it ends up.
        _ => after.get(&key).cloned().or(old.clone()),
    };
    let bytes = old
        .as_ref()
        .map_or(0, size)
        .max(new.as_ref().map_or(0, size));
    lines.push(Line {
        kind: "wcu",
        units: units(bytes, 1024) * factor,
        at: "table".into(),
        pk: key.0.clone(),
    });
    for (index, partition, u) in index_writes(indexes, old.as_ref(), new.as_ref()) {
        lines.push(Line {
            kind: "wcu",
            units: u,
            at: index,
            pk: partition,
        });
    }
    match new {
        Some(item) => state.insert(key, item),
        None => state.remove(&key),
    };
}
