//! End to end through HTTP only: the real `outreach-local` binary with a manual
//! clock, the core flow of SPEC Appendix A.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Timelike, Utc};
use outreach_tests::{Client, Local};
use serde_json::{Value, json};

const START: &str = "2026-12-01T14:00:00Z"; // a Tuesday

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

struct Setup {
    api: Client,
    campaign: String,
    enrollments: Vec<Value>,
}

/// An account, `n` candidates, a 3-step template and a campaign with them in it.
async fn setup(local: &Local, org: &str, n: usize, when: Value) -> Setup {
    let api = local.as_user(org, "alice");
    let me = api
        .call(
            "PUT",
            "/v1/me",
            Some(json!({"display_name": "Alice Recruiter", "timezone": "UTC"})),
        )
        .await;
    assert_eq!(me.0, 200, "{}", me.1);
    let account = api
        .post(
            "/v1/email-accounts",
            json!({"address": "alice@recruit.example", "display_name": "Alice Recruiter"}),
        )
        .await;
    assert_eq!(
        account["status"], "connected",
        "local mode needs no proof (R-2.1)"
    );
    let mut ids = Vec::new();
    for i in 0..n {
        let c = api
            .post(
                "/v1/candidates",
                json!({"first_name": format!("Ada{i}"), "last_name": "Lovelace", "company": "Engines",
                       "emails": [{"address": format!("ada{i}@home.example"), "type": "personal"},
                                  {"address": format!("ada{i}@work.example"), "type": "work"}]}),
            )
            .await;
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    let template = api
        .post(
            "/v1/templates",
            json!({"name": "Intro", "steps": [
                {"subject": "Hello {{ candidate.first_name }}", "body": "<p>Hi {{ candidate.first_name }}, about {{ candidate.company }}.</p>", "delay_days": 0},
                {"body": "<p>Following up.</p>", "delay_days": 2},
                {"subject": "Last note", "body": "<p>Last one from {{ sender.first_name }}.</p>", "delay_days": 3}
            ]}),
        )
        .await;
    let project = api
        .post("/v1/projects", json!({"name": "Backend hiring"}))
        .await;
    let campaign = api
        .post(
            &format!("/v1/projects/{}/campaigns", project["id"].as_str().unwrap()),
            json!({"name": "Backend", "sender_account_id": account["id"], "template_id": template["id"],
                   "when_to_send": when, "recipient": {"prefer": "work", "strict": false}}),
        )
        .await;
    assert_eq!(campaign["status"], "draft");
    let campaign = campaign["id"].as_str().unwrap().to_owned();
    let added = api
        .post(
            &format!("/v1/campaigns/{campaign}/enrollments"),
            json!({"candidate_ids": ids}),
        )
        .await;
    assert_eq!(added["refused"], json!([]));
    let enrollments = added["enrollments"].as_array().unwrap().clone();
    assert_eq!(enrollments.len(), n);
    Setup {
        api,
        campaign,
        enrollments,
    }
}

async fn enrollment(s: &Setup, id: &Value) -> Value {
    s.api
        .get(&format!(
            "/v1/campaigns/{}/enrollments/{}",
            s.campaign,
            id.as_str().unwrap()
        ))
        .await
}

#[tokio::test]
async fn a_three_step_campaign_goes_out_at_its_planned_instants() {
    let local = Local::spawn(START).await;
    let s = setup(&local, "acme", 2, json!({"mode": "when_started"})).await;
    let started = s
        .api
        .post(&format!("/v1/campaigns/{}/start", s.campaign), json!({}))
        .await;
    assert_eq!(started["status"], "running");

    // R-6.1: during the grace period the enrollment is Not Started, its first step pending.
    let e = enrollment(&s, &s.enrollments[0]["id"]).await;
    assert_eq!(e["status"], "not_started");
    assert_eq!(e["status_label"], "Not Started");
    assert_eq!(e["steps"][0]["status"], "pending");
    assert_eq!(
        e["steps"][0]["scheduled_at"], "2026-12-01T14:20:00Z",
        "R-6.2: S + 20 min"
    );
    assert_eq!(e["address"], "ada0@work.example", "R-7.2: prefer work");

    local.advance("PT19M").await;
    assert!(
        local.outbox().await.is_empty(),
        "R-6.1: nothing leaves before S + 20 min"
    );
    local.advance("PT1M").await;
    let sent = local.outbox().await;
    assert_eq!(sent.len(), 2);
    for m in &sent {
        assert_eq!(m["sent_at"], "2026-12-01T14:20:00Z");
        assert_eq!(m["step_index"], 1);
        assert!(m["to"].as_str().unwrap().ends_with("@work.example"));
    }
    let e = enrollment(&s, &s.enrollments[0]["id"]).await;
    assert_eq!(e["status"], "in_progress");
    assert_eq!(e["steps"][0]["status"], "sent");
    assert_eq!(e["steps"][1]["status"], "scheduled");
    // R-6.2: step 2 on the date of step 1 + 2 days, at step 1's time of day ± 20 min.
    let step2 = at(e["steps"][1]["scheduled_at"].as_str().unwrap());
    let base = at("2026-12-03T14:20:00Z");
    assert!((step2 - base).num_minutes().abs() <= 20, "{step2}");
    assert_eq!(step2.second(), 0, "whole minutes");

    local.advance_to("2026-12-10T00:00:00Z").await;
    let sent = local.outbox().await;
    assert_eq!(sent.len(), 6);
    for enr in &s.enrollments {
        let e = enrollment(&s, &enr["id"]).await;
        assert_eq!(e["status"], "finished");
        assert_eq!(e["status_label"], "Finished");
        for step in e["steps"].as_array().unwrap() {
            let msg = sent
                .iter()
                .find(|m| m["enrollment_id"] == enr["id"] && m["step_index"] == step["index"])
                .expect("every step sent");
            assert_eq!(step["status"], "sent");
            // Sent exactly at the planned instant (the manual clock runs wake-ups in order).
            assert_eq!(msg["sent_at"], step["scheduled_at"]);
            assert_eq!(msg["message_id"], step["message_id"]);
        }
        let s3 = at(e["steps"][2]["scheduled_at"].as_str().unwrap());
        let s2 = at(e["steps"][1]["scheduled_at"].as_str().unwrap());
        assert_eq!(
            (s3.date_naive() - s2.date_naive()).num_days(),
            3,
            "R-6.2: step 3 = date of step 2 + 3 days"
        );
        assert!(s3 > s2);
    }
    let c = s.api.get(&format!("/v1/campaigns/{}", s.campaign)).await;
    assert_eq!(c["status"], "completed", "R-5.2: every enrollment ended");

    // R-8.3: the messages parse back with their headers.
    let e = enrollment(&s, &s.enrollments[0]["id"]).await;
    let by_step = |i: usize| {
        sent.iter()
            .find(|m| m["enrollment_id"] == s.enrollments[0]["id"] && m["step_index"] == i)
            .unwrap()
    };
    let first = local.raw_message(by_step(1)["id"].as_str().unwrap()).await;
    let second = local.raw_message(by_step(2)["id"].as_str().unwrap()).await;
    let third = local.raw_message(by_step(3)["id"].as_str().unwrap()).await;
    let parser = mail_parser::MessageParser::default();
    let m1 = parser.parse(&first).expect("step 1 parses");
    let m2 = parser.parse(&second).expect("step 2 parses");
    let m3 = parser.parse(&third).expect("step 3 parses");
    assert_eq!(m1.subject(), Some("Hello Ada0"));
    let from = m1.from().unwrap().first().unwrap();
    assert_eq!(from.address(), Some("alice@recruit.example"));
    assert_eq!(from.name(), Some("Alice Recruiter"));
    assert_eq!(
        m1.to().unwrap().first().unwrap().address(),
        Some("ada0@work.example")
    );
    let reply_to = m1
        .reply_to()
        .unwrap()
        .first()
        .unwrap()
        .address()
        .unwrap()
        .to_owned();
    assert!(
        reply_to.starts_with("reply+") && reply_to.ends_with("@reply.outreach.localhost"),
        "{reply_to}"
    );
    let unsub = m1.header_raw("List-Unsubscribe").unwrap().trim().to_owned();
    assert!(
        unsub.starts_with(&format!("<{}/v1/unsubscribe/", local.base)) && unsub.ends_with('>'),
        "{unsub}"
    );
    assert_eq!(
        m1.header_raw("List-Unsubscribe-Post").unwrap().trim(),
        "List-Unsubscribe=One-Click"
    );
    let id1 = m1.message_id().unwrap().to_owned();
    assert_eq!(
        format!("<{id1}>"),
        e["steps"][0]["rfc822_message_id"].as_str().unwrap()
    );
    // Later steps thread under the first, "Re: " unless they have their own subject.
    assert_eq!(m2.subject(), Some("Re: Hello Ada0"));
    assert_eq!(m2.in_reply_to().as_text(), Some(id1.as_str()));
    assert_eq!(m3.subject(), Some("Last note"));
    let refs = m3.references().as_text_list().unwrap_or_default();
    assert!(refs.iter().any(|r| r.as_ref() == id1), "{refs:?}");
    assert!(m3.body_html(0).unwrap().contains("Last one from Alice"));
    assert!(m1.body_text(0).unwrap().contains("Hi Ada0, about Engines."));
}

#[tokio::test]
async fn pausing_during_grace_holds_the_step_and_resume_replans_with_fresh_grace() {
    let local = Local::spawn(START).await;
    let s = setup(&local, "acme", 1, json!({"mode": "when_started"})).await;
    s.api
        .post(&format!("/v1/campaigns/{}/start", s.campaign), json!({}))
        .await;
    local.advance("PT5M").await;
    let paused = s
        .api
        .post(&format!("/v1/campaigns/{}/pause", s.campaign), json!({}))
        .await;
    assert_eq!(paused["status"], "paused");
    assert_eq!(paused["pause_reason"], "user");
    // R-10.1: nothing leaves while paused, even past the planned instant.
    local.advance("PT40M").await;
    assert!(local.outbox().await.is_empty());
    let e = enrollment(&s, &s.enrollments[0]["id"]).await;
    assert_eq!(
        e["status"], "not_started",
        "R-5.3: a campaign pause shows on the campaign"
    );
    // Resume at 14:45: the overdue step is planned as if the enrollment started now (R-10.1, R-6.1).
    let resumed = s
        .api
        .post(&format!("/v1/campaigns/{}/resume", s.campaign), json!({}))
        .await;
    assert_eq!(resumed["status"], "running");
    let e = enrollment(&s, &s.enrollments[0]["id"]).await;
    assert_eq!(e["steps"][0]["scheduled_at"], "2026-12-01T15:05:00Z");
    assert_eq!(e["steps"][0]["status"], "pending");
    local.advance("PT19M").await;
    assert!(
        local.outbox().await.is_empty(),
        "a fresh grace period after resume"
    );
    local.advance("PT1M").await;
    let sent = local.outbox().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["sent_at"], "2026-12-01T15:05:00Z");

    // Pausing one enrollment holds its later steps; resuming a step still ahead keeps its time.
    let eid = s.enrollments[0]["id"].as_str().unwrap();
    let before = enrollment(&s, &s.enrollments[0]["id"]).await["steps"][1]["scheduled_at"].clone();
    let p = s
        .api
        .post(
            &format!("/v1/campaigns/{}/enrollments/{eid}/pause", s.campaign),
            json!({}),
        )
        .await;
    assert_eq!(p["status"], "paused");
    assert_eq!(p["status_label"], "Paused");
    let r = s
        .api
        .post(
            &format!("/v1/campaigns/{}/enrollments/{eid}/resume", s.campaign),
            json!({}),
        )
        .await;
    assert_eq!(r["status"], "in_progress");
    assert_eq!(
        r["steps"][1]["scheduled_at"], before,
        "R-10.1: a step still ahead keeps its time"
    );
    // Remove is final (R-10.2).
    let removed = s
        .api
        .post(
            &format!("/v1/campaigns/{}/enrollments/{eid}/remove", s.campaign),
            json!({}),
        )
        .await;
    assert_eq!(removed["status"], "removed");
    local.advance("P10D").await;
    assert_eq!(local.outbox().await.len(), 1);
    let (status, problem) = s
        .api
        .call(
            "POST",
            &format!("/v1/campaigns/{}/start", s.campaign),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["status"], 409);
}

/// Steps sent per (enrollment, step) in the outbox; panics on a duplicate (R-8.1).
fn sent_once(outbox: &[Value]) -> HashSet<(String, u64)> {
    let mut seen = HashSet::new();
    for m in outbox {
        let key = (
            m["enrollment_id"].as_str().unwrap().to_owned(),
            m["step_index"].as_u64().unwrap(),
        );
        assert!(seen.insert(key.clone()), "step sent twice: {key:?}");
    }
    seen
}

#[tokio::test]
async fn kill_dash_nine_and_restart_sends_nothing_twice() {
    let mut local = Local::spawn(START).await;
    let s = setup(&local, "acme", 20, json!({"mode": "best_time"})).await;
    s.api
        .post(&format!("/v1/campaigns/{}/start", s.campaign), json!({}))
        .await;
    // R-6.4 midday bucket: 14:00 → step 1 at 16:00.
    local.advance_to("2026-12-01T16:00:00Z").await;
    assert_eq!(local.outbox().await.len(), 20);

    // A kill between two moves of the clock: the restart continues where it was.
    local.restart_after_kill().await;
    let clock = local.anonymous().get("/dev/clock").await;
    assert_eq!(
        clock["now"], "2026-12-01T16:00:00Z",
        "the manual clock survives a restart"
    );
    local.advance_to("2026-12-04T00:00:00Z").await;
    let after_first = sent_once(&local.outbox().await);
    assert_eq!(after_first.len(), 40);

    // A kill in the middle of a move: whatever was handed off is never handed off again.
    let base = local.base.clone();
    let mover = tokio::spawn(async move {
        let _ = reqwest::Client::new()
            .post(format!("{base}/dev/clock"))
            .json(&json!({"to": "2026-12-12T00:00:00Z"}))
            .send()
            .await;
    });
    tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    local.kill();
    let _ = mover.await;
    local.restart_after_kill().await;
    local.advance_to("2026-12-20T00:00:00Z").await;
    let outbox = local.outbox().await;
    let sent = sent_once(&outbox);
    // Every step is either in the outbox or recorded as handed off unconfirmed (R-8.1).
    let api = local.as_user("acme", "alice");
    for enr in &s.enrollments {
        let e = api
            .get(&format!(
                "/v1/campaigns/{}/enrollments/{}",
                s.campaign,
                enr["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(e["status"], "finished", "{e}");
        for step in e["steps"].as_array().unwrap() {
            let key = (
                enr["id"].as_str().unwrap().to_owned(),
                step["index"].as_u64().unwrap(),
            );
            let unconfirmed = step["attempts"][0]["unconfirmed"] == true;
            assert!(
                sent.contains(&key) || unconfirmed,
                "step {key:?} neither sent nor unconfirmed: {e}"
            );
            assert_eq!(
                step["attempts"].as_array().unwrap().len(),
                1,
                "one attempt per step"
            );
        }
    }
    // Best time, midday bucket: later steps between 07:00 and 09:00 (R-6.4).
    for m in outbox.iter().filter(|m| m["step_index"] != 1) {
        let t = at(m["sent_at"].as_str().unwrap());
        assert!(
            (7..9).contains(&t.hour()) || (t.hour() == 9 && t.minute() == 0),
            "{t}"
        );
    }
    let _ = Duration::zero();
}

#[tokio::test]
async fn bad_input_gets_problem_json() {
    let local = Local::spawn(START).await;
    let api = local.as_user("acme", "alice");
    let (status, p) = local.anonymous().call("GET", "/v1/me", None).await;
    assert_eq!(status, 401, "{p}");
    let (status, p) = api
        .call("PUT", "/v1/me", Some(json!({"timezone": "Mars/Base"})))
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "timezone");
    let (status, _) = api.call("GET", "/v1/campaigns/cmp_nope", None).await;
    assert_eq!(status, 404);
    let (status, p) = api.call("POST", "/v1/candidates", Some(json!({"first_name": "A", "last_name": "B", "emails": [{"address": "nope", "type": "work"}]}))).await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "emails[0].address");
    // R-1.1: another organization's id answers exactly like an unknown one.
    let c = api
        .post(
            "/v1/candidates",
            json!({"first_name": "A", "last_name": "B", "emails": []}),
        )
        .await;
    let other = local.as_user("globex", "bob");
    let (status, p) = other
        .call(
            "GET",
            &format!("/v1/candidates/{}", c["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert!(!p.to_string().contains(c["id"].as_str().unwrap()));
}

// --- local mode protects itself (SPEC §14, issue 15) ---

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Every folder 0700 and every file 0600 under `dir`, `dir` included.
#[cfg(unix)]
fn assert_private(dir: &std::path::Path) {
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            assert_private(&path);
        } else {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_is_private_and_an_old_one_keeps_its_hash_key() {
    // SPEC §14: 0700 folders, 0600 files; a random keyed-hash key per folder
    let mut local = Local::spawn(START).await;
    let s = setup(&local, "acme", 1, json!({"mode": "when_started"})).await;
    s.api
        .post(&format!("/v1/campaigns/{}/start", s.campaign), json!({}))
        .await;
    local.advance("PT20M").await;
    assert_eq!(local.outbox().await.len(), 1, "an .eml file to check");
    for file in ["outreach.db", "jwt-secret", "hash-key"] {
        assert!(local.data.join(file).exists(), "{file}");
    }
    assert!(local.data.join("outbox").read_dir().unwrap().count() > 0);
    assert_private(&local.data);
    let key = std::fs::read_to_string(local.data.join("hash-key")).unwrap();
    let legacy: String = b"outreach-local"
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(key.len(), 64, "32 random bytes in hex: {key}");
    assert_ne!(key, legacy);

    // A folder of an earlier version: world-readable, data but no key file.
    local.kill();
    std::fs::remove_file(local.data.join("hash-key")).unwrap();
    let open = |path: &std::path::Path, m: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).unwrap();
    };
    open(&local.data, 0o755);
    open(&local.data.join("outbox"), 0o755);
    for entry in std::fs::read_dir(&local.data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            open(&path, 0o644);
        }
    }
    local.restart_after_kill().await;
    assert_private(&local.data);
    assert_eq!(
        std::fs::read_to_string(local.data.join("hash-key")).unwrap(),
        legacy,
        "a folder with data keeps the key its suppressions were hashed with"
    );
    // The decision is kept: the next start reads the same key.
    local.restart_after_kill().await;
    assert_eq!(
        std::fs::read_to_string(local.data.join("hash-key")).unwrap(),
        legacy
    );
}

/// A request to `path` with extra headers; status and body.
async fn raw(
    local: &Local,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = local
        .http
        .request(method, format!("{}{path}", local.base))
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("request reaches outreach-local");
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = r.text().await.unwrap_or_default();
    (
        status,
        content_type,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn only_requests_addressed_to_a_loopback_name_are_answered() {
    // SPEC §14: DNS rebinding; a page at attacker.example resolving to 127.0.0.1
    let local = Local::spawn(START).await;
    let json_type = ("content-type", "application/json");
    let sign_in = r#"{"org": "acme", "user": "alice"}"#;
    let (status, content_type, p) = raw(
        &local,
        "POST",
        "/dev/token",
        &[("host", "attacker.example"), json_type],
        sign_in,
    )
    .await;
    assert_eq!(status, 421, "{p}");
    assert_eq!(content_type, "application/problem+json");
    assert!(p.get("token").is_none(), "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("attacker.example"),
        "{p}"
    );
    let port = local.port.to_string();
    for host in [
        format!("attacker.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
    ] {
        let (status, _, p) = raw(&local, "GET", "/v1/openapi.json", &[("host", &host)], "").await;
        assert_eq!(status, 421, "{host}: {p}");
        let (status, _, p) = raw(&local, "GET", "/", &[("host", &host)], "").await;
        assert_eq!(status, 421, "the console too, {host}: {p}");
    }
    // Loopback names, with the port or without, are answered.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "localhost".to_owned(),
    ] {
        let (status, _, p) = raw(
            &local,
            "POST",
            "/dev/token",
            &[("host", &host), json_type],
            sign_in,
        )
        .await;
        assert_eq!(status, 200, "{host}: {p}");
        assert!(p["token"].is_string());
    }
}

#[tokio::test]
async fn dev_routes_refuse_cross_site_simple_requests() {
    // SPEC §14: a page cannot forge bounces, move the clock or sign in
    let local = Local::spawn(START).await;
    let s = setup(&local, "acme", 1, json!({"mode": "when_started"})).await;
    s.api
        .post(&format!("/v1/campaigns/{}/start", s.campaign), json!({}))
        .await;
    local.advance("PT20M").await;
    let sent = local.outbox().await;
    let before = enrollment(&s, &s.enrollments[0]["id"]).await;
    let bounce = outreach_tests::hard_bounce(
        sent[0]["message_id"].as_str().unwrap(),
        sent[0]["to"].as_str().unwrap(),
        "fb-forged",
    )
    .to_string();
    // A cross-site form or fetch without a preflight can send only simple types.
    for content_type in [
        "text/plain",
        "text/plain; charset=UTF-8",
        "application/x-www-form-urlencoded",
    ] {
        let (status, ct, p) = raw(
            &local,
            "POST",
            "/dev/ses-events",
            &[("content-type", content_type)],
            &bounce,
        )
        .await;
        assert_eq!(status, 415, "{content_type}: {p}");
        assert_eq!(ct, "application/problem+json");
    }
    let (status, _, p) = raw(
        &local,
        "POST",
        "/dev/inbound",
        &[("content-type", "text/plain")],
        "From: x@y.example\r\n\r\nhi",
    )
    .await;
    assert_eq!(status, 415, "{p}");
    // A foreign Origin is refused even with a JSON body.
    for (path, body) in [
        ("/dev/ses-events", bounce.as_str()),
        ("/dev/clock", r#"{"advance": "P1D"}"#),
        ("/dev/token", r#"{"org": "acme", "user": "alice"}"#),
    ] {
        let (status, _, p) = raw(
            &local,
            "POST",
            path,
            &[
                ("content-type", "application/json"),
                ("origin", "https://attacker.example"),
            ],
            body,
        )
        .await;
        assert_eq!(status, 403, "{path}: {p}");
    }
    // Nothing of it happened: the clock did not move and the candidate did not bounce.
    let clock = local.anonymous().get("/dev/clock").await;
    assert_eq!(clock["now"], "2026-12-01T14:20:00Z");
    let after = enrollment(&s, &s.enrollments[0]["id"]).await;
    assert_eq!(after, before, "the forged bounce changed nothing");
    // The console's own origin is welcome.
    let own = format!("http://127.0.0.1:{}", local.port);
    let (status, _, p) = raw(
        &local,
        "POST",
        "/dev/clock",
        &[("content-type", "application/json"), ("origin", &own)],
        r#"{"advance": "PT1M"}"#,
    )
    .await;
    assert_eq!(status, 200, "{p}");
}
