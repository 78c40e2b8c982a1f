//! `outreach-bench load`: the local API under load (issue 20).
//!
//! Starts the release `outreach-local` (built here) on a data folder filled
//! through its API — 10,000 candidates imported 100 a request, each import
//! also adding its 100 candidates to one of 100 campaigns (the import's
//! `campaign_id`), the first campaign started — and drives it with `oha`
//! (installed under `<target>/tools` when missing) at 64 connections for a
//! bounded time per route, printing `api_load_<route>_requests_per_second`,
//! `_p50_ms` and `_p99_ms`. Loopback only; the server is killed at the end.
//!
//! The routes: `GET /v1/me` (the floor: authentication and JSON, no store
//! work), the 50-item enrollments page of the started campaign, one of its
//! enrollments, one candidate, a 50-item candidates page, and adding a
//! candidate to a draft campaign. oha cannot count in a body, so each add
//! sends a body drawn at random from one line per candidate of the other
//! campaigns (`oha -Z`): a candidate's first draw writes a new enrollment
//! (`allow_duplicate`, as they are enrolled elsewhere), a later draw of the
//! same candidate is answered 201 with the refusal `already_enrolled` — both
//! valid answers of the route; the enrollments written are printed too.
//!
//! `OUTREACH_LOAD_SECONDS` (default 10) sets each route's run;
//! `OUTREACH_LOAD_SERVER` runs another `outreach-local` binary than the one
//! built here. oha and the
//! server share the machine's cores: on a small machine the load generator
//! takes a good part of them, which the figures include.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::{Local, cargo, figure, target_dir};

/// oha's version, the newest at the time, which builds with the workspace's rustc.
const OHA_VERSION: &str = "1.16.0";
const CONNECTIONS: usize = 64;
const CANDIDATES: usize = 10_000;
const CAMPAIGNS: usize = 100;

/// The enrollments page's target at 64 connections (issue 20).
const PAGE_TARGET_RPS: f64 = 2_000.0;
const PAGE_TARGET_P99_MS: f64 = 50.0;

/// The running server; killed when dropped.
struct Server {
    child: Child,
    local: Local,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the fill left for the routes to name.
struct Fixture {
    page_campaign: String,
    enrollment: String,
    candidate: String,
    add_campaign: String,
    /// Candidates of every campaign but `add_campaign`.
    others: Vec<String>,
}

pub async fn api_load() {
    let seconds: u64 = std::env::var("OUTREACH_LOAD_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let (Some(server_bin), Some(oha)) = (local_binary(), oha()) else {
        return;
    };
    let server = start(&server_bin).await;
    let t = Instant::now();
    let f = fill(&server.local).await;
    figure(
        "api_load_fill_seconds",
        t.elapsed().as_secs_f64(),
        &format!("s ({CANDIDATES} candidates imported into {CAMPAIGNS} campaigns)"),
    );
    let lines = server.dir.path().join("add-bodies.jsonl");
    let bodies: Vec<String> = f
        .others
        .iter()
        .map(|c| json!({"candidate_ids": [c], "allow_duplicate": true}).to_string())
        .collect();
    std::fs::write(&lines, bodies.join("\n")).expect("the bodies file");
    let l = &server.local;
    let routes: [(&str, String, Option<&Path>); 6] = [
        ("me", "/v1/me".into(), None),
        (
            "enrollments_page",
            format!("/v1/campaigns/{}/enrollments?limit=50", f.page_campaign),
            None,
        ),
        (
            "enrollment",
            format!(
                "/v1/campaigns/{}/enrollments/{}",
                f.page_campaign, f.enrollment
            ),
            None,
        ),
        ("candidate", format!("/v1/candidates/{}", f.candidate), None),
        ("candidates_page", "/v1/candidates?limit=50".into(), None),
        (
            "add_candidates",
            format!("/v1/campaigns/{}/enrollments", f.add_campaign),
            Some(lines.as_path()),
        ),
    ];
    for (name, path, body) in &routes {
        let Some((rps, p50, p99)) = drive(&oha, l, path, *body, seconds) else {
            println!("api_load_{name} unavailable: oha failed");
            continue;
        };
        figure(
            &format!("api_load_{name}_requests_per_second"),
            rps,
            "req/s",
        );
        figure(&format!("api_load_{name}_p50_ms"), p50, "ms");
        figure(&format!("api_load_{name}_p99_ms"), p99, "ms");
        if *name == "enrollments_page" {
            let met = rps >= PAGE_TARGET_RPS && p99 <= PAGE_TARGET_P99_MS;
            println!(
                "api_load_enrollments_page_target req/s>={PAGE_TARGET_RPS} p99<={PAGE_TARGET_P99_MS}ms {}",
                if met { "met" } else { "missed" }
            );
        }
    }
    let added = count_enrollments(l, &f.add_campaign).await - CANDIDATES / CAMPAIGNS;
    figure(
        "api_load_add_candidates_enrollments_written",
        added as f64,
        "enrollments",
    );
}

/// The release `outreach-local`, built now (nothing to do when it is fresh),
/// or the one `OUTREACH_LOAD_SERVER` names (to compare two builds).
fn local_binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("OUTREACH_LOAD_SERVER") {
        return Some(PathBuf::from(bin));
    }
    let status = cargo()
        .args(["build", "--release", "--locked", "-p", "outreach-local"])
        .stdout(Stdio::null())
        .status()
        .expect("cargo runs");
    if !status.success() {
        println!("api_load unavailable: outreach-local did not build");
        return None;
    }
    Some(target_dir().join("release/outreach-local"))
}

/// oha under `<target>/tools`, installed when missing (its own build
/// directory, not the workspace's target). The API is on loopback, but oha
/// 1.16 does not build without a TLS feature (`--no-default-features` alone
/// fails to compile), so it gets the system's (native-tls), not rustls' C
/// crypto library, the quicker build.
fn oha() -> Option<PathBuf> {
    let root = target_dir().join("tools");
    let bin = root.join("bin/oha");
    let installed = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(OHA_VERSION));
    if !installed {
        let status = cargo()
            .args(["install", "--locked", "oha", "--version", OHA_VERSION])
            .args([
                "--no-default-features",
                "--features",
                "native-tls",
                "--root",
            ])
            .arg(&root)
            .env_remove("CARGO_TARGET_DIR")
            .status()
            .expect("cargo runs");
        if !status.success() {
            println!("api_load unavailable: oha {OHA_VERSION} did not install");
            return None;
        }
    }
    Some(bin)
}

/// `outreach-local` on a free loopback port and a new data folder, with a
/// manual clock (nothing is sent while the load runs), and a token for it.
async fn start(bin: &Path) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--data"])
        .arg(&data)
        .args(["--clock", "manual", "--now", "2026-12-01T14:00:00Z"])
        .args(["--initial-credits", &(2 * CANDIDATES).to_string()])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("outreach-local starts");
    let token = Command::new(bin)
        .args(["token", "--org", "bench", "--user", "alice", "--data"])
        .arg(&data)
        .output()
        .expect("outreach-local token runs");
    let server = Server {
        child,
        local: Local {
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            token: String::from_utf8(token.stdout).unwrap().trim().to_owned(),
        },
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let l = &server.local;
        let up = l
            .http
            .get(format!("{}/v1/me", l.base))
            .bearer_auth(&l.token)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            return server;
        }
        assert!(Instant::now() < deadline, "outreach-local did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An account, a project, 100 three-step campaigns and 10,000 candidates,
/// imported 100 at a time into each campaign; the first campaign started.
async fn fill(l: &Local) -> Fixture {
    let account = l
        .call(
            Method::POST,
            "/v1/email-accounts",
            Some(json!({"address": "alice@bench.example"})),
        )
        .await;
    let project = l
        .call(Method::POST, "/v1/projects", Some(json!({"name": "Load"})))
        .await;
    let project = project["id"].as_str().unwrap();
    let steps = json!([
        {"subject": "Hello {{ candidate.first_name }}", "body": "<p>Hi {{ candidate.first_name }}.</p>"},
        {"body": "<p>Following up.</p>", "delay_days": 2},
        {"body": "<p>Last note.</p>", "delay_days": 3},
    ]);
    let per = CANDIDATES / CAMPAIGNS;
    let mut campaigns = Vec::new();
    let mut enrolled: Vec<Vec<(String, String)>> = Vec::new();
    for k in 0..CAMPAIGNS {
        let c = l
            .call(
                Method::POST,
                &format!("/v1/projects/{project}/campaigns"),
                Some(json!({"name": format!("Load {k}"), "sender_account_id": account["id"], "when_to_send": {"mode": "when_started"}, "timezone": "UTC", "steps": steps})),
            )
            .await;
        let cid = c["id"].as_str().unwrap().to_owned();
        enrolled.push(import(l, &cid, k * per, per).await);
        campaigns.push(cid);
    }
    l.call(
        Method::POST,
        &format!("/v1/campaigns/{}/start", campaigns[0]),
        None,
    )
    .await;
    // The started campaign's 100 enrollments are planned in the background.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let others = enrolled[..CAMPAIGNS - 1]
        .iter()
        .flatten()
        .map(|(_, candidate)| candidate.clone())
        .collect();
    Fixture {
        page_campaign: campaigns[0].clone(),
        enrollment: enrolled[0][0].0.clone(),
        candidate: enrolled[1][0].1.clone(),
        add_campaign: campaigns[CAMPAIGNS - 1].clone(),
        others,
    }
}

/// Imports candidates `first..first + n` into the campaign: their
/// (enrollment, candidate) ids.
async fn import(l: &Local, campaign: &str, first: usize, n: usize) -> Vec<(String, String)> {
    let mut csv = String::from("First Name,Last Name,Company,Email\n");
    for i in first..first + n {
        csv.push_str(&format!("C{i},Load,Acme {},c{i}@load.example\n", i % 97));
    }
    let boundary = "outreach-load-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"campaign_id\"\r\n\r\n{campaign}\r\n--{boundary}--\r\n"
    );
    let resp = l
        .http
        .post(format!("{}/v1/candidates/import", l.base))
        .bearer_auth(&l.token)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("the import");
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "import: {status} {v}");
    let added: Vec<(String, String)> = v["campaign"]["enrollments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let id = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (id("id"), id("candidate_id"))
        })
        .collect();
    assert_eq!(added.len(), n, "every imported candidate enrolled: {v}");
    added
}

/// oha at 64 connections for `seconds` against one route: requests per
/// second, p50 and p99 in milliseconds; every answer must be a success.
fn drive(
    oha: &Path,
    l: &Local,
    path: &str,
    body_lines: Option<&Path>,
    seconds: u64,
) -> Option<(f64, f64, f64)> {
    let mut cmd = Command::new(oha);
    cmd.args(["--no-tui", "--output-format", "json", "-w"])
        .args(["-c", &CONNECTIONS.to_string(), "-z", &format!("{seconds}s")])
        .args(["-H", &format!("Authorization: Bearer {}", l.token)]);
    if let Some(lines) = body_lines {
        cmd.args(["-m", "POST", "-T", "application/json", "-Z"])
            .arg(lines);
    }
    let out = cmd
        .arg(format!("{}{path}", l.base))
        .stderr(Stdio::inherit())
        .output()
        .expect("oha runs");
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let codes = &v["statusCodeDistribution"];
    let failed: u64 = codes
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(code, _)| !code.starts_with('2'))
        .map(|(_, n)| n.as_u64().unwrap_or(0))
        .sum();
    if failed > 0
        || !v["errorDistribution"]
            .as_object()
            .is_some_and(|e| e.is_empty())
    {
        println!(
            "api_load {path}: answers {codes}, errors {}",
            v["errorDistribution"]
        );
    }
    let m = &v["metrics"];
    Some((
        m["requests_per_sec"].as_f64()?,
        m["latency_ms"]["p50"].as_f64()?,
        m["latency_ms"]["p99"].as_f64()?,
    ))
}

/// The campaign's enrollments, counted page by page.
async fn count_enrollments(l: &Local, campaign: &str) -> usize {
    let mut n = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/campaigns/{campaign}/enrollments?limit=100");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = l.call(Method::GET, &path, None).await;
        n += page["items"].as_array().map_or(0, Vec::len);
        match page["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return n,
        }
    }
}
