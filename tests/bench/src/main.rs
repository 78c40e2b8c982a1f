//! `cargo run --release -p outreach-bench`: prints the service's figures, one
//! per line as `name value unit`. Timings are measured here, never asserted in
//! tests (BENCHMARKS.md has one run's figures and what limits each).
//!
//! Sizes can be lowered for a quick run: `OUTREACH_BENCH_SCALE=0.1`.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use outreach_domain::Zone;
use outreach_domain::campaign::WhenToSend;
use outreach_domain::plan::{PlanRequest, plan};
use outreach_embedded::local::{LocalApp, LocalOptions};
use serde_json::{Value, json};

fn figure(name: &str, value: f64, unit: &str) {
    println!("{name} {value:.3} {unit}");
}

fn scale(n: usize) -> usize {
    let s: f64 = std::env::var("OUTREACH_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    ((n as f64) * s).max(10.0) as usize
}

/// Step plans per second on one core (the domain planner alone).
fn planner() {
    let zones = [
        "America/New_York",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "UTC",
    ]
    .map(|z| Zone::parse(z).unwrap());
    let modes = [
        WhenToSend::WhenStarted,
        WhenToSend::BestTime,
        WhenToSend::SpecificTime {
            time: chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
        },
    ];
    let delays = [0, 2, 3];
    let start: DateTime<Utc> = "2026-12-01T14:00:00Z".parse().unwrap();
    let ids: Vec<String> = (0..1000).map(|i| format!("enr_{i:08}")).collect();
    let n = scale(1_000_000);
    let t = Instant::now();
    let mut steps = 0usize;
    for i in 0..n {
        let p = plan(&PlanRequest {
            enrollment: &ids[i % ids.len()],
            start: start + chrono::Duration::minutes((i % 10_000) as i64),
            zone: zones[i % zones.len()],
            when: modes[i % modes.len()],
            skip_weekends: i % 2 == 0,
            delays: &delays,
            from_step: 0,
        });
        steps += p.len();
    }
    let secs = t.elapsed().as_secs_f64();
    figure(
        "planner_step_plans_per_second",
        steps as f64 / secs,
        "plans/s",
    );
}

struct Local {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Local {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("request");
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }
}

async fn serve(
    data: &Path,
    credits: i64,
) -> (Local, std::sync::Arc<outreach_embedded::LocalRuntime>) {
    let app = LocalApp::open(&LocalOptions {
        data: data.to_path_buf(),
        port: 0,
        manual_clock: Some("2026-12-01T14:00:00Z".parse().unwrap()),
        initial_credits: credits,
    })
    .expect("local mode opens");
    tokio::spawn(app.runtime.clone().run_manual_clock());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app.router;
    tokio::spawn(async move { axum::serve(listener, router).await });
    let secret = outreach_embedded::local::token_secret(data).unwrap();
    let token = outreach_app::auth::issue_hs256(
        &secret,
        "bench",
        "alice",
        None,
        false,
        Utc::now().timestamp() as u64,
        86_400,
    )
    .unwrap();
    (
        Local {
            base,
            http: reqwest::Client::new(),
            token,
        },
        app.runtime,
    )
}

/// A campaign of `n` candidates × `steps` steps, added but not started.
async fn campaign(l: &Local, n: usize, steps: usize) -> String {
    use reqwest::Method;
    let account = l
        .call(
            Method::POST,
            "/v1/email-accounts",
            Some(json!({"address": "alice@bench.example"})),
        )
        .await;
    let project = l
        .call(Method::POST, "/v1/projects", Some(json!({"name": "Bench"})))
        .await;
    let step_specs: Vec<Value> = (0..steps)
        .map(|i| if i == 0 { json!({"subject": "Hello {{ candidate.first_name }}", "body": "<p>Hi {{ candidate.first_name }}, a role at {{ candidate.company | default(\"our team\") }}.</p>"}) } else { json!({"body": "<p>Following up.</p>", "delay_days": 2}) })
        .collect();
    let c = l
        .call(
            Method::POST,
            &format!("/v1/projects/{}/campaigns", project["id"].as_str().unwrap()),
            Some(json!({"name": "Big", "sender_account_id": account["id"], "when_to_send": {"mode": "when_started"}, "timezone": "UTC", "steps": step_specs})),
        )
        .await;
    let cid = c["id"].as_str().unwrap().to_owned();
    let mut batch = Vec::new();
    for i in 0..n {
        let cand = l
            .call(Method::POST, "/v1/candidates", Some(json!({"first_name": format!("C{i}"), "last_name": "X", "emails": [{"address": format!("c{i}@x.example"), "type": "work"}]})))
            .await;
        batch.push(cand["id"].as_str().unwrap().to_owned());
        if batch.len() == 1000 || i + 1 == n {
            l.call(
                Method::POST,
                &format!("/v1/campaigns/{cid}/enrollments"),
                Some(json!({"candidate_ids": batch})),
            )
            .await;
            batch.clear();
        }
    }
    cid
}

fn rss_peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Start of a large campaign: the answer, then every wake-up; then the whole
/// campaign sent with the clock moved to its end, against writing the same
/// bytes to files in a bare loop.
async fn local_end_to_end() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let n = scale(10_000);
    let (l, runtime) = serve(dir.path(), n as i64 + 10).await;
    let cid = campaign(&l, n, 3).await;
    let t = Instant::now();
    l.call(Method::POST, &format!("/v1/campaigns/{cid}/start"), None)
        .await;
    figure("start_answer_seconds", t.elapsed().as_secs_f64(), "s");
    // All first-step wake-ups exist once every enrollment is planned.
    let deadline = Instant::now() + Duration::from_secs(600);
    while runtime.pending_wake_ups() < n {
        assert!(Instant::now() < deadline, "the fan-out did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    figure("start_all_wake_ups_seconds", t.elapsed().as_secs_f64(), "s");
    let t = Instant::now();
    l.call(
        Method::POST,
        "/dev/clock",
        Some(json!({"to": "2026-12-10T00:00:00Z"})),
    )
    .await;
    let secs = t.elapsed().as_secs_f64();
    let sent = l.call(Method::GET, "/dev/outbox", None).await["items"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    let rate = sent as f64 / secs;
    figure("local_steps_sent", sent as f64, "steps");
    figure("local_steps_per_second", rate, "steps/s");
    // The same .eml bytes written to files in a bare loop.
    let outbox = dir.path().join("outbox");
    let files: Vec<Vec<u8>> = std::fs::read_dir(&outbox)
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .collect();
    let bare = tempfile::tempdir().unwrap();
    let t = Instant::now();
    for (i, bytes) in files.iter().enumerate() {
        let tmp = bare.path().join(format!("{i}.eml.tmp"));
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, bare.path().join(format!("{i}.eml"))).unwrap();
    }
    let bare_rate = files.len() as f64 / t.elapsed().as_secs_f64();
    figure("bare_eml_writes_per_second", bare_rate, "files/s");
    figure("local_vs_bare_write_ratio", rate / bare_rate * 100.0, "%");
}

/// Peak resident memory of local mode holding 100,000 enrollments.
async fn memory() {
    let dir = tempfile::tempdir().unwrap();
    let n = scale(100_000);
    let (l, _runtime) = serve(dir.path(), n as i64 + 10).await;
    let _ = campaign(&l, n, 3).await;
    figure(
        "local_peak_rss_with_enrollments",
        rss_peak_mb(),
        &format!("MB ({n} enrollments)"),
    );
}

fn bootstrap_sizes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/lambda");
    let Ok(entries) = std::fs::read_dir(&root) else {
        println!(
            "lambda_bootstrap_sizes unavailable (run tests/lambda-build first: it builds target/lambda/*/bootstrap)"
        );
        return;
    };
    let mut found = false;
    for e in entries.flatten() {
        let bootstrap = e.path().join("bootstrap");
        if let Ok(meta) = std::fs::metadata(&bootstrap) {
            found = true;
            figure(
                &format!("lambda_bootstrap_{}", e.file_name().to_string_lossy()),
                meta.len() as f64 / 1_048_576.0,
                "MB",
            );
        }
    }
    if !found {
        println!("lambda_bootstrap_sizes unavailable (no bootstrap under target/lambda)");
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let t = Instant::now();
    planner();
    local_end_to_end().await;
    memory().await;
    bootstrap_sizes();
    println!(
        "aws_calls_per_sent_step see `tests/aws-contract` (counted against the emulator; BENCHMARKS.md)"
    );
    figure("bench_wall_seconds", t.elapsed().as_secs_f64(), "s");
}
