//! `outreach-sim --runs N --seed S [--threads T] [--run INDEX]`: runs the
//! deterministic simulation and ends with `N runs, V violations` (exit 1 when
//! V > 0). `--run INDEX` replays one run of the seed and prints its trace.

use std::process::ExitCode;
use std::time::Instant;

fn usage() -> ExitCode {
    eprintln!("usage: outreach-sim [--runs N] [--seed S] [--threads T] [--run INDEX]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut runs: u64 = 100;
    let mut seed: u64 = 1;
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut only: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().and_then(|v| v.parse::<u64>().ok());
        match (flag.as_str(), value) {
            ("--runs", Some(v)) => runs = v,
            ("--seed", Some(v)) => seed = v,
            ("--threads", Some(v)) => threads = v as usize,
            ("--run", Some(v)) => only = Some(v),
            _ => return usage(),
        }
    }
    let started = Instant::now();
    if let Some(index) = only {
        let r = outreach_sim::run_one(outreach_sim::run_seed(seed, index));
        print!("{}", outreach_sim::describe(seed, index, &r));
        println!(
            "{} events, {} hand-offs in {:.2?}",
            r.events,
            r.hand_offs,
            started.elapsed()
        );
        println!("1 runs, {} violations", r.violations.len());
        return if r.violations.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let summary = outreach_sim::simulate(runs, seed, threads);
    print!("{}", outreach_sim::report(seed, &summary, usize::MAX));
    println!(
        "seed {seed}: {} events, {} hand-offs, {} failed runs, {:.1?} on {threads} threads",
        summary.events,
        summary.hand_offs,
        summary.failed.len(),
        started.elapsed()
    );
    println!("{} runs, {} violations", summary.runs, summary.violations);
    if summary.violations == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
