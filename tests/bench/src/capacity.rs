//! The table's capacity model (issue 19): from the `CAPACITY` lines of the
//! calls test (`shared/aws/tests/calls/capacity.rs`: every item one sent
//! step reads or writes, with its size in units and the index entries it
//! changes), the read and write units a send puts on each kind of partition,
//! and how many sends a second one campaign, one organization and the whole
//! service sustain before any partition reaches DynamoDB's per-partition
//! limits (1,000 write units/s, 3,000 read units/s). BENCHMARKS.md explains
//! each bound.

use std::collections::BTreeMap;

/// DynamoDB's throughput limit of one partition.
const PARTITION_WCU: f64 = 1000.0;
const PARTITION_RCU: f64 = 3000.0;

/// Targets (issue 19): SES' own rate is what a customer raises, not the table.
const TARGETS: [(Scope, f64); 3] = [
    (Scope::Campaign, 500.0),
    (Scope::Organization, 1000.0),
    (Scope::Service, 10_000.0),
];

/// Whose sends share a partition of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    /// One enrollment's, message's or recipient's: no shared load.
    Own,
    /// Every send of one campaign (its head, its counters, its one sender
    /// account's items).
    Campaign,
    /// Every send of one organization.
    Organization,
    /// Every send of the service.
    Service,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::Campaign => "campaign",
            Scope::Organization => "organization",
            Scope::Service => "service",
        }
    }
}

/// The kind of partition a key is, whose sends share it, and over how many
/// partitions of the kind those sends spread.
fn classify(index: &str, pk: &str, shards: &BTreeMap<String, f64>) -> (&'static str, Scope, f64) {
    let shard = |name: &str| shards.get(name).copied().unwrap_or(1.0);
    match (index, pk) {
        ("GSI3", p) if p.starts_with("DUE#") => {
            ("due index shard (GSI3)", Scope::Service, shard("due"))
        }
        ("GSI3", p) if p.starts_with("CHECK#") => (
            "completion check shard (GSI3)",
            Scope::Service,
            shard("due"),
        ),
        (_, p) if p.starts_with("TALLY#") => {
            ("campaign counter shard", Scope::Campaign, shard("tally"))
        }
        (_, p) if p.starts_with("STATS#") => (
            "organization's statistics buckets (R-11.3)",
            Scope::Organization,
            shard("tally"),
        ),
        (_, p) if p.starts_with("CAMPAIGN#") => ("campaign head", Scope::Campaign, 1.0),
        (_, p) if p.starts_with("ACCOUNT#") => ("sender account", Scope::Campaign, 1.0),
        (_, p) if p.starts_with("DAILY#") => ("sender account's day count", Scope::Campaign, 1.0),
        (_, p) if p.starts_with("COUNTER#reputation:account:") => {
            ("sender account's reputation counter", Scope::Campaign, 1.0)
        }
        // Sub-counters, a send counting in the one of its enrollment.
        (_, p) if p.starts_with("COUNTER#reputation:org:") => (
            "organization's reputation counter",
            Scope::Organization,
            shard("reputation_org"),
        ),
        (_, p) if p.starts_with("ORG#") => ("organization", Scope::Organization, 1.0),
        _ => ("enrollment, message, recipient (own)", Scope::Own, 1.0),
    }
}

#[derive(Default)]
struct Load {
    scope: Option<Scope>,
    spread: f64,
    rcu: f64,
    wcu: f64,
}

/// The model from the calls test's output; prints its figures.
/// Prints the model and answers the units of one sent step, (read, write),
/// every index write and the delivery's transaction counted.
pub fn report(calls_output: &str) -> Option<(f64, f64)> {
    let mut shards = BTreeMap::new();
    let mut loads: BTreeMap<&'static str, Load> = BTreeMap::new();
    let (mut table_wcu, mut index_wcu, mut rcu) = (0.0, 0.0, 0.0);
    for line in calls_output.lines() {
        // The test harness's progress dots may precede a line (`--quiet`).
        let line = line.trim_start_matches('.');
        let f: Vec<&str> = line.split_whitespace().collect();
        match f[..] {
            ["CAPACITY_SHARDS", name, n] => {
                shards.insert(name.to_owned(), n.parse().unwrap_or(1.0));
            }
            ["CAPACITY", kind, units, index, pk] => {
                let units: f64 = units.parse().unwrap_or(0.0);
                let (class, scope, spread) = classify(index, pk, &shards);
                let load = loads.entry(class).or_default();
                load.scope = Some(scope);
                load.spread = spread;
                match (kind, index) {
                    ("rcu", _) => {
                        load.rcu += units;
                        rcu += units;
                    }
                    (_, "table") => {
                        load.wcu += units;
                        table_wcu += units;
                    }
                    _ => {
                        load.wcu += units;
                        index_wcu += units;
                    }
                }
            }
            _ => {}
        }
    }
    if loads.is_empty() {
        println!("capacity_model unavailable: the calls test printed no CAPACITY lines");
        return None;
    }
    // The delivery notification of each send moves the same counter shard
    // once more (delivered, R-11.1) in its own transaction: 2 units.
    // So does its statistics bucket (delivered, R-11.3).
    for class in [
        "campaign counter shard",
        "organization's statistics buckets (R-11.3)",
    ] {
        if let Some(shard) = loads.get_mut(class) {
            shard.wcu += 2.0;
            table_wcu += 2.0;
        }
    }
    super::figure(
        "dynamodb_read_units_per_sent_step",
        rcu,
        "RCU (strongly consistent)",
    );
    super::figure(
        "capacity_write_units_per_sent_step_with_indexes",
        table_wcu + index_wcu,
        "WCU",
    );
    super::figure("capacity_index_write_units_per_sent_step", index_wcu, "WCU");
    let mut bounds: BTreeMap<Scope, (f64, &'static str)> = BTreeMap::new();
    for (class, load) in &loads {
        let scope = load.scope.unwrap_or(Scope::Own);
        let (r, w) = (load.rcu / load.spread, load.wcu / load.spread);
        println!(
            "capacity_per_send_per_partition {:>12} rcu {r:6.3} wcu {w:6.3}  {class} (x{})",
            scope.name(),
            load.spread
        );
        if scope == Scope::Own {
            continue;
        }
        let sustained = (PARTITION_WCU / w.max(1e-9)).min(PARTITION_RCU / r.max(1e-9));
        // A partition shared by a wider scope bounds every narrower one too.
        for s in [Scope::Campaign, Scope::Organization, Scope::Service] {
            if scope >= s {
                let bound = bounds.entry(s).or_insert((f64::INFINITY, ""));
                if sustained < bound.0 {
                    *bound = (sustained, class);
                }
            }
        }
    }
    for (scope, target) in TARGETS {
        let (value, by) = bounds
            .get(&scope)
            .copied()
            .unwrap_or((f64::INFINITY, "nothing"));
        let met = if value >= target { "met" } else { "NOT met" };
        println!(
            "capacity_{}_sends_per_second {value:.0} sends/s (bound: {by}; target {target:.0}: {met})",
            scope.name()
        );
    }
    Some((rcu, table_wcu + index_wcu))
}
