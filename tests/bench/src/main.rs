//! `cargo run --release -p outreach-bench`: prints the service's figures, one
//! per line as `name value unit`. Timings are measured here, never asserted in
//! tests (BENCHMARKS.md has one run's figures and what limits each).
//!
//! Sizes can be lowered for a quick run: `OUTREACH_BENCH_SCALE=0.1`; groups of
//! figures can be picked: `outreach-bench local aws` (planner, local, memory,
//! aws, bootstraps, load).

mod capacity;
mod import;
mod load;
mod start;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use outreach_domain::campaign::WhenToSend;
use outreach_domain::candidate::{Candidate, CandidateEmail, EmailType};
use outreach_domain::enrollment::{Enrollment, NewEnrollment};
use outreach_domain::ids::{CampaignId, CandidateId, EnrollmentId, OrgId};
use outreach_domain::plan::{PlanRequest, plan};
use outreach_domain::{EmailAddress, Zone};
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
    // Candidates created 8 requests at a time, added 1,000 per request (§13).
    for first in (0..n).step_by(1000) {
        let mut tasks = tokio::task::JoinSet::new();
        let mut batch = Vec::new();
        for lane in 0..8 {
            let (http, base, token) = (l.http.clone(), l.base.clone(), l.token.clone());
            let last = (first + 1000).min(n);
            tasks.spawn(async move {
                let mut ids = Vec::new();
                for i in (first + lane..last).step_by(8) {
                    let body = json!({"first_name": format!("C{i}"), "last_name": "X", "emails": [{"address": format!("c{i}@x.example"), "type": "work"}]});
                    let v: Value = http
                        .post(format!("{base}/v1/candidates"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .expect("request")
                        .json()
                        .await
                        .expect("a candidate");
                    ids.push(v["id"].as_str().expect("an id").to_owned());
                }
                ids
            });
        }
        while let Some(ids) = tasks.join_next().await {
            batch.extend(ids.expect("the task ends"));
        }
        l.call(
            Method::POST,
            &format!("/v1/campaigns/{cid}/enrollments"),
            Some(json!({"candidate_ids": batch})),
        )
        .await;
    }
    cid
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

/// The workspace's target directory (honours `CARGO_TARGET_DIR`).
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace().join(dir)
            }
        }
        None => workspace().join("target"),
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(workspace());
    c
}

/// Peak resident memory of local mode holding 100,000 enrollments of a
/// started three-step campaign, every one planned with its wake-up. Measured
/// in a process of its own (this binary with `--memory`), which runs local mode
/// (`LocalApp`, as `outreach-local` does) and the HTTP client that fills it.
fn memory() -> std::process::Child {
    Command::new(std::env::current_exe().expect("this binary"))
        .arg("--memory")
        .spawn()
        .expect("the memory run starts")
}

async fn memory_run() {
    let dir = tempfile::tempdir().unwrap();
    let n = scale(100_000);
    let (l, runtime) = serve(dir.path(), n as i64 + 10).await;
    let t = Instant::now();
    // The campaign through the API; the 100,000 candidates and their
    // enrollments written straight through the store port (the use cases take
    // about 6 ms a candidate here — reveal, the record, checks — which
    // would make filling the longest part of the bench). The start and its
    // fan-out then run through the API as for any campaign.
    let cid = campaign(&l, 0, 3).await;
    let service = runtime.service();
    let store = service.store();
    let org = OrgId::from("bench");
    let campaign_id = CampaignId::from(cid.as_str());
    let now = service.now();
    for i in 0..n {
        let candidate = Candidate {
            id: CandidateId::new(format!("cand_bench{i:08}")),
            org_id: org.clone(),
            first_name: format!("C{i}"),
            last_name: "X".into(),
            title: None,
            company: None,
            location: None,
            timezone: None,
            emails: vec![CandidateEmail {
                address: EmailAddress::parse(&format!("c{i}@x.example")).expect("an address"),
                kind: EmailType::Work,
                manual_by: None,
                bounced: false,
            }],
            opted_out: false,
            erased: false,
        };
        store
            .put_candidate(&candidate, None)
            .await
            .expect("a candidate");
        let enrollment = Enrollment::new(NewEnrollment {
            id: EnrollmentId::new(format!("enr_bench{i:08}")),
            org_id: org.clone(),
            campaign_id: campaign_id.clone(),
            candidate_id: candidate.id.clone(),
            step_count: 3,
            pinned_address: None,
            reply_token: format!("reply{i:08}"),
            unsubscribe_token: format!("unsub{i:08}"),
            now,
        });
        store
            .insert_enrollment(&enrollment)
            .await
            .expect("an enrollment");
    }
    figure(
        "local_fill_seconds",
        t.elapsed().as_secs_f64(),
        &format!("s ({n} candidates and enrollments written)"),
    );
    l.call(
        reqwest::Method::POST,
        &format!("/v1/campaigns/{cid}/start"),
        None,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(600);
    while runtime.pending_wake_ups() < n {
        assert!(Instant::now() < deadline, "the fan-out did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mb = |field: &str| {
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    figure(
        "local_peak_rss",
        mb("VmHWM:"),
        &format!("MB ({n} enrollments of a started 3-step campaign, all planned)"),
    );
    figure("local_rss_at_end", mb("VmRSS:"), "MB");
}

/// One operation's calls and request bytes, per unit of what was counted.
#[derive(Default, Clone)]
struct Calls {
    /// Calls, bytes sent and items touched, per operation.
    by_operation: BTreeMap<String, (f64, f64, f64)>,
    total: f64,
}

/// The read and write units of one sent step (the capacity model's).
type Units = (f64, f64);

/// AWS calls counted against the emulator by `shared/aws/tests/calls.rs`
/// (moto, installed by `tests/moto install`), which prints `BENCH` lines: one
/// sent step, and the start of 200 candidates with every planning chunk run,
/// scaled to 1,000 (the calls are per enrollment plus a few per chunk; moto
/// holds gigabytes and slows down past a few hundred planned enrollments).
/// Answers the calls of a sent step, of a start and of the rare path, and
/// the capacity model's units of a sent step (read, write).
fn aws_calls() -> Option<(Calls, Calls, Calls, Calls, Option<Units>)> {
    if !workspace().join(".venv/bin/moto_server_serial").exists() {
        let status = Command::new(workspace().join("tests/moto"))
            .arg("install")
            .status()
            .expect("tests/moto runs");
        assert!(status.success(), "tests/moto install failed");
    }
    let output = cargo()
        .args([
            "test",
            "--quiet",
            "--locked",
            "-p",
            "outreach-aws",
            "--test",
            "calls",
        ])
        .args(["--", "--nocapture", "--test-threads", "1"])
        .env("OUTREACH_CALLS_START", scale(200).to_string())
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo test runs");
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        println!("aws_calls unavailable: the calls test failed:\n{text}");
        return None;
    }
    let units = capacity::report(&text);
    let mut step = Calls::default();
    let mut start = Calls::default();
    // Issue 20: a step whose planned address is no longer R-7's choice.
    let mut rare = Calls::default();
    // Issue 20's common path: a daily limit set (and statistics counted).
    let mut limited = Calls::default();
    let mut per_step = 1.0;
    let mut per_start = 1.0;
    let mut per_rare = 1.0;
    let mut per_limited = 1.0;
    // The test harness's progress dots may precede a line (`--quiet`).
    for line in text
        .lines()
        .filter_map(|l| l.trim_start_matches('.').strip_prefix("BENCH "))
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (what, op, a, b, items) = match f[..] {
            [what, op, a, b] => (what, op, a, b, a),
            [what, op, a, b, items] => (what, op, a, b, items),
            _ => continue,
        };
        let number = |v: &str| v.parse::<f64>().unwrap_or(0.0);
        let (a, b, items) = (number(a), number(b), number(items));
        let (calls, per) = match what {
            "per_sent_step" => (&mut step, &mut per_step),
            "per_start" => (&mut start, &mut per_start),
            "per_sent_step_to_another_address" => (&mut rare, &mut per_rare),
            "per_sent_step_under_daily_limits" => (&mut limited, &mut per_limited),
            _ => continue,
        };
        if op == "total" {
            calls.total = a;
            *per = b;
        } else {
            calls.by_operation.insert(op.to_owned(), (a, b, items));
        }
    }
    Some((step, start, rare, limited, units))
}

/// Cost of 1,000 sent steps at us-east-1 list prices (on-demand, arm64), from
/// the calls of one step. Assumptions, stated in BENCHMARKS.md: a DynamoDB
/// read of an item under 4 KB is one read unit (a batch read one an item); a
/// write is one unit per KB of the request body, two in a transaction (at
/// least two an item); each step is one send-step and one
/// ses-events invocation (the delivery notification) of 256 MB lasting 20 ms
/// of compute plus 10 ms per AWS call made; one Scheduler invocation and one
/// SNS publish per step.
fn cost_per_thousand_steps(step: &Calls, units: Option<Units>) {
    const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    const LAMBDA_GB_SECOND_ARM: f64 = 0.000_013_333_4;
    const DYNAMO_WRU: f64 = 0.625 / 1e6;
    const DYNAMO_RRU: f64 = 0.125 / 1e6;
    const SCHEDULER_INVOCATION: f64 = 1.00 / 1e6;
    const SNS_PUBLISH: f64 = 0.50 / 1e6;
    const SES_MESSAGE: f64 = 0.10 / 1e3;
    let (mut rru, mut wru) = (0.0, 0.0);
    for (op, (n, bytes, items)) in &step.by_operation {
        let kb = (bytes / n.max(1.0) / 1024.0).ceil().max(1.0);
        match op.split('.').next_back().unwrap_or("") {
            "GetItem" | "Query" | "Scan" => rru += n,
            // One unit an item read (each under 4 KB).
            "BatchGetItem" => rru += items,
            "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" => wru += n * kb,
            // Two units a KB written, at least two an item.
            "TransactWriteItems" => wru += 2.0 * (n * kb).max(*items),
            _ => {}
        }
    }
    let invocations = 2.0;
    let seconds = 0.020 * invocations + 0.010 * step.total;
    let lambda = invocations * LAMBDA_REQUEST + seconds * 0.25 * LAMBDA_GB_SECOND_ARM;
    let others = SCHEDULER_INVOCATION + SNS_PUBLISH;
    let dynamo = rru * DYNAMO_RRU + wru * DYNAMO_WRU;
    println!(
        "cost_per_1000_sent_steps_request_model {:.4} USD (request bodies only, no index writes: dynamodb {:.4}, {rru} RRU, {wru} WRU)",
        (lambda + dynamo + others) * 1000.0,
        dynamo * 1000.0,
    );
    // Issue 20: the capacity model's units, every item a request writes and
    // every index entry it adds, moves or changes, with the delivery's
    // transaction (capacity.rs), at the same prices.
    match units {
        Some((rcu, wcu)) => {
            let dynamo = rcu * DYNAMO_RRU + wcu * DYNAMO_WRU;
            let total = (lambda + dynamo + others) * 1000.0;
            let met = if total <= 0.012 { "met" } else { "missed" };
            println!(
                "cost_per_1000_sent_steps {total:.4} USD target<=0.012 {met} (every index write counted: dynamodb {:.4} for {rcu} RCU and {wcu} WCU, lambda {:.4}, scheduler {:.4}, sns {:.4})",
                dynamo * 1000.0,
                lambda * 1000.0,
                SCHEDULER_INVOCATION * 1000.0,
                SNS_PUBLISH * 1000.0
            );
        }
        None => println!("cost_per_1000_sent_steps unavailable: no capacity model"),
    }
    figure(
        "ses_cost_per_1000_sent_steps",
        SES_MESSAGE * 1000.0,
        "USD (apart)",
    );
}

fn aws_figures() {
    let Some((step, start, rare, limited, units)) = aws_calls() else {
        return;
    };
    figure("aws_calls_per_sent_step", step.total, "calls");
    for (op, (n, ..)) in &step.by_operation {
        println!("aws_calls_per_sent_step.{op} {n}");
    }
    figure(
        "aws_calls_per_sent_step_under_daily_limits",
        limited.total,
        "calls (issue 20's common path: a daily limit set, statistics counted; target <= 5)",
    );
    for (op, (n, ..)) in &limited.by_operation {
        println!("aws_calls_per_sent_step_under_daily_limits.{op} {n}");
    }
    figure(
        "aws_calls_per_sent_step_to_another_address",
        rare.total,
        "calls",
    );
    figure(
        "aws_calls_per_start_of_1000",
        start.total * 1000.0 / scale(200) as f64,
        "calls",
    );
    for (op, (n, ..)) in &start.by_operation {
        println!(
            "aws_calls_per_start_of_1000.{op} {:.0}",
            n * 1000.0 / scale(200) as f64
        );
    }
    cost_per_thousand_steps(&step, units);
}

/// The most a function's bootstrap may weigh (issue 20); `tests/lambda-build`
/// fails above it.
const BOOTSTRAP_LIMIT_BYTES: u64 = 10_000_000;

/// The arm64 release bootstraps `tests/lambda-build` leaves in
/// `<target>/lambda/<function>/bootstrap`, each in bytes next to the limit:
/// `lambda_bootstrap_api 9876543 B target<=10000000 met`.
fn bootstrap_sizes() {
    let root = target_dir().join("lambda");
    let mut sizes: Vec<(String, u64)> = std::fs::read_dir(&root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let meta = std::fs::metadata(e.path().join("bootstrap")).ok()?;
            Some((e.file_name().to_string_lossy().into_owned(), meta.len()))
        })
        .collect();
    sizes.sort();
    if sizes.is_empty() {
        println!(
            "lambda_bootstrap_sizes unavailable: no {}/*/bootstrap (tests/lambda-build builds them)",
            root.display()
        );
    }
    for (name, bytes) in sizes {
        let verdict = if bytes <= BOOTSTRAP_LIMIT_BYTES {
            "met"
        } else {
            "missed"
        };
        println!("lambda_bootstrap_{name} {bytes} B target<={BOOTSTRAP_LIMIT_BYTES} {verdict}");
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--memory") {
        memory_run().await;
        return;
    }
    // `outreach-bench planner local` runs only those groups of figures (for
    // working on one of them); no argument runs every group.
    let only: Vec<String> = std::env::args().skip(1).collect();
    const GROUPS: [&str; 7] = [
        "planner",
        "local",
        "import",
        "memory",
        "aws",
        "bootstraps",
        "load",
    ];
    if let Some(unknown) = only.iter().find(|g| !GROUPS.contains(&g.as_str())) {
        eprintln!(
            "unknown group {unknown}; the groups are {}",
            GROUPS.join(", ")
        );
        std::process::exit(2);
    }
    let run = |group: &str| only.is_empty() || only.iter().any(|g| g == group);
    let t = Instant::now();
    if run("planner") {
        planner();
    }
    if run("local") {
        local_end_to_end().await;
    }
    if run("import") {
        import::import_figures().await;
    }
    // The memory run and the AWS call count (on moto) use a core each.
    let memory_run = run("memory").then(memory);
    if run("aws") {
        aws_figures();
        start::aws_start_figures();
    }
    if let Some(mut child) = memory_run {
        let status = child.wait().expect("the memory run ends");
        assert!(status.success(), "the memory run failed");
    }
    if run("bootstraps") {
        bootstrap_sizes();
    }
    if run("load") {
        load::api_load().await;
    }
    if only.is_empty() {
        figure("bench_wall_seconds", t.elapsed().as_secs_f64(), "s");
    }
}
