//! Deterministic fault simulation of Outreach's application layer (issue 9).
//!
//! Each run builds a random organization from its seed and drives the real
//! [`outreach_app::Service`] on the embedded adapters, behind adapters that
//! inject faults: duplicate, early and late wake-ups, crashes between claim and
//! hand-off and between hand-off and record, throttling, lost answers, sender
//! faults, refused recipients, duplicate / reordered / unknown SES events,
//! replies, automatic replies, unsubscribes and users pausing, resuming,
//! stopping, removing and editing while handlers run. The [`oracle`] checks the
//! rules after every event; a run is deterministic for its seed (one thread, a
//! manual clock, seeded ids, and every interleaving decided by a seeded RNG).
//!
//! Diagnosis: `SIM_FULL_TRACE=1` prints a failed run's whole trace (not only up
//! to its first violation); `SIM_WATCH=<end of an enrollment id>` prints every
//! write of that enrollment with the handler that made it; `SIM_TIMING=1`
//! prints the time each phase of a run took.

pub mod adapters;
pub mod handler;
pub mod oracle;
pub mod world;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

pub use oracle::Violation;
pub use world::RunResult;

/// The seed of run `index` of a simulation seeded `seed` (SplitMix64).
pub fn run_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed
        .wrapping_add(index.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One run, on its own single-threaded runtime.
pub fn run_one(run_seed: u64) -> RunResult {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    rt.block_on(async move {
        let timing = std::env::var_os("SIM_TIMING").is_some();
        let t0 = std::time::Instant::now();
        let mut world = world::World::new(run_seed).await;
        let t1 = t0.elapsed();
        world.setup().await;
        let t2 = t0.elapsed();
        let events = world.events().await;
        let t3 = t0.elapsed();
        if !world.too_many() {
            world.drain().await;
        }
        let t4 = t0.elapsed();
        if timing {
            eprintln!("new {t1:.1?} setup {t2:.1?} events {t3:.1?} drain {t4:.1?}");
        }
        world.result(events)
    })
}

/// Totals of a simulation.
#[derive(Debug, Default)]
pub struct Summary {
    pub runs: u64,
    pub violations: u64,
    pub hand_offs: u64,
    pub events: u64,
    /// Runs with violations, by run index.
    pub failed: Vec<(u64, RunResult)>,
}

/// Runs `runs` runs of the simulation seeded `seed` on `threads` threads. The
/// totals do not depend on the number of threads.
pub fn simulate(runs: u64, seed: u64, threads: usize) -> Summary {
    let next = AtomicU64::new(0);
    let summary = Mutex::new(Summary {
        runs,
        ..Summary::default()
    });
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= runs {
                        break;
                    }
                    let result = run_one(run_seed(seed, index));
                    let mut s = summary.lock().unwrap_or_else(|p| p.into_inner());
                    s.hand_offs += result.hand_offs;
                    s.events += result.events as u64;
                    if !result.violations.is_empty() {
                        s.violations += result.violations.len() as u64;
                        s.failed.push((index, result));
                    }
                }
            });
        }
    });
    let mut summary = summary.into_inner().unwrap_or_else(|p| p.into_inner());
    summary.failed.sort_by_key(|(i, _)| *i);
    summary
}

/// Per rule: (violations, failed runs, first failed run), in rule order.
pub fn by_rule(summary: &Summary) -> std::collections::BTreeMap<&'static str, (u64, u64, u64)> {
    let mut out: std::collections::BTreeMap<&'static str, (u64, u64, u64)> = Default::default();
    for (index, r) in &summary.failed {
        let mut rules: Vec<&'static str> = r.violations.iter().map(|v| v.rule).collect();
        for rule in &rules {
            out.entry(rule).or_insert((0, 0, *index)).0 += 1;
        }
        rules.sort_unstable();
        rules.dedup();
        for rule in rules {
            out.entry(rule).or_default().1 += 1;
        }
    }
    out
}

/// The report of a simulation: the first `traces` failed runs in full (seed,
/// run index, violations, trace), the others by index, and a line per rule.
pub fn report(seed: u64, summary: &Summary, traces: usize) -> String {
    let mut out = String::new();
    for (index, r) in summary.failed.iter().take(traces) {
        out.push_str(&describe(seed, *index, r));
    }
    if summary.failed.len() > traces {
        let rest: Vec<String> = summary.failed[traces..]
            .iter()
            .map(|(i, r)| format!("{i} ({})", r.violations.first().map_or("", |v| v.rule)))
            .collect();
        out.push_str(&format!(
            "== {} more failed runs (replay any with `outreach-sim --seed {seed} --run INDEX`): {}\n",
            rest.len(),
            rest.join(", ")
        ));
    }
    for (rule, (violations, runs, first)) in by_rule(summary) {
        out.push_str(&format!(
            "[{rule}] {violations} violations in {runs} runs (first: run {first})\n"
        ));
    }
    out
}

/// A failed run as the report prints it: seed, run index, violations, trace.
pub fn describe(seed: u64, index: u64, r: &RunResult) -> String {
    let mut out = format!(
        "== run {index} of seed {seed} (run seed {:#018x}): {} violation(s)\n",
        r.seed,
        r.violations.len()
    );
    for v in &r.violations {
        out.push_str(&format!("  [{}] {}\n", v.rule, v.detail));
    }
    out.push_str(&format!(
        "  trace up to the first violation ({} lines; replay with `outreach-sim --seed {seed} --run {index}`):\n",
        r.trace.len()
    ));
    for line in &r.trace {
        out.push_str(&format!("    {line}\n"));
    }
    out
}
