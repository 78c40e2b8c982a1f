//! The simulation as part of the test suite: 2,000 runs of a fixed seed
//! (`SIM_TEST_RUNS`, `SIM_TEST_SEED` to change them) must find no violation,
//! and a run must be the same every time it is replayed.

use outreach_sim::{report, run_one, run_seed, simulate};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn two_thousand_runs_break_no_invariant() {
    let runs = env("SIM_TEST_RUNS", 2_000);
    let seed = env("SIM_TEST_SEED", 20_260_101);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = std::time::Instant::now();
    let summary = simulate(runs, seed, threads);
    println!(
        "{runs} runs, {} violations ({} events, {} hand-offs) in {:.1?} on {threads} threads",
        summary.violations,
        summary.events,
        summary.hand_offs,
        started.elapsed()
    );
    assert_eq!(
        summary.violations,
        0,
        "the simulation found violations:\n{}",
        report(seed, &summary, 3)
    );
}

#[test]
fn a_run_replays_identically() {
    let seed = run_seed(7, 3);
    let a = run_one(seed);
    let b = run_one(seed);
    assert!(a.events > 0);
    assert_eq!(a.events, b.events);
    assert_eq!(a.hand_offs, b.hand_offs);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.trace, b.trace);
    let details = |r: &outreach_sim::RunResult| {
        r.violations
            .iter()
            .map(|v| format!("{} {}", v.rule, v.detail))
            .collect::<Vec<_>>()
    };
    assert_eq!(details(&a), details(&b));
}
