//! The start of a large campaign in AWS (SPEC §15, issue 18), measured on the
//! emulator by `shared/aws/tests/start_calls.rs`, which prints `BENCH` lines:
//! the start request's AWS calls at 200, 2,000 and 10,000 candidates (the
//! same count at every size: none is per enrollment), its answer time at
//! 10,000 with 10 ms added before each AWS call (the SDK's HTTP connector
//! waits), and the first fan-out chunk's calls and time under that latency.

use std::collections::BTreeMap;
use std::process::Stdio;

use super::{cargo, figure, scale};

/// The figures, or a line saying why they are unavailable.
pub fn aws_start_figures() {
    let big = scale(10_000);
    let sizes = format!("{},{},{big}", scale(200), scale(2_000));
    let output = cargo()
        .args([
            "test",
            "--quiet",
            "--locked",
            "-p",
            "outreach-aws",
            "--test",
            "start_calls",
        ])
        .args(["--", "--nocapture", "--test-threads", "1"])
        .env("OUTREACH_START_SIZES", &sizes)
        .env("OUTREACH_START_TIMED", big.to_string())
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo test runs");
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        println!("aws_start unavailable: the start_calls test failed:\n{text}");
        return;
    }
    // `BENCH <what> <size> <value>`
    let mut lines: BTreeMap<(String, usize), f64> = BTreeMap::new();
    for line in text
        .lines()
        .filter_map(|l| l.trim_start_matches('.').strip_prefix("BENCH "))
    {
        if let [what, size, value] = line.split_whitespace().collect::<Vec<_>>()[..]
            && let (Ok(size), Ok(value)) = (size.parse(), value.parse())
        {
            lines.insert((what.to_owned(), size), value);
        }
    }
    for ((what, size), value) in &lines {
        match what.as_str() {
            "start_request_calls" => figure(
                &format!("aws_calls_per_start_request_at_{size}"),
                *value,
                "calls",
            ),
            "start_answer_seconds_latency" => figure(
                &format!("aws_start_answer_seconds_at_{size}_10ms_per_call"),
                *value,
                "s",
            ),
            "chunk_seconds_latency" => figure(
                "aws_chunk_seconds_10ms_per_call",
                *value,
                &format!("s ({size} enrollments; moto answers one call at a time)"),
            ),
            "chunk_calls" => figure(
                "aws_calls_per_planned_enrollment",
                value / *size as f64,
                &format!("calls ({value} for a chunk of {size})"),
            ),
            op if op.starts_with("chunk_calls.") => println!(
                "aws_calls_per_planned_enrollment.{} {:.3}",
                &op["chunk_calls.".len()..],
                value / *size as f64
            ),
            _ => {}
        }
    }
}
