//! The product API (SPEC §13, R-1–) end to end through HTTP on the
//! real `outreach-local`.

use std::collections::BTreeMap;

use outreach_tests::{Client, Local};
use serde_json::{Value, json};

const START: &str = "2026-12-01T14:00:00Z"; // Tuesday

async fn account(api: &Client, address: &str) -> String {
    api.post(
        "/v1/email-accounts",
        json!({"address": address, "display_name": "Sender"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn candidate(api: &Client, emails: Value) -> String {
    api.post(
        "/v1/candidates",
        json!({"first_name": "Ada", "last_name": "L", "emails": emails}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn project(api: &Client) -> String {
    api.post("/v1/projects", json!({"name": "P"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn campaign(api: &Client, project: &str, account: &str, extra: Value) -> String {
    let mut body = json!({"name": "C", "sender_account_id": account, "when_to_send": {"mode": "when_started"},
                          "steps": [{"subject": "Hello {{ candidate.first_name }}", "body": "<p>Hi</p>"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    api.post(&format!("/v1/projects/{project}/campaigns"), body)
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every address that appears anywhere in a JSON value.
fn mentions(v: &Value, needle: &str) -> bool {
    v.to_string().contains(needle)
}

#[tokio::test]
async fn a_manual_email_is_seen_and_used_by_its_author_alone() {
    //
    let local = Local::spawn(START).await;
    let alice = local.as_user("acme", "alice");
    let bob = local.as_user("acme", "bob");
    let acc = account(&alice, "alice@acme.example").await;
    let cand = candidate(
        &alice,
        json!([{"address": "ada@home.example", "type": "personal"}]),
    )
    .await;
    let c = alice
        .post(
            &format!("/v1/candidates/{cand}/emails"),
            json!({"address": "ada.secret@work.example", "type": "work"}),
        )
        .await;
    assert!(mentions(&c, "ada.secret@work.example"));
    let p = project(&alice).await;
    let cid = campaign(
        &alice,
        &p,
        &acc,
        json!({"recipient": {"prefer": "work", "strict": true}}),
    )
    .await;
    let added = alice
        .post(
            &format!("/v1/campaigns/{cid}/enrollments"),
            json!({"candidate_ids": [cand]}),
        )
        .await;
    let eid = added["enrollments"][0]["id"].as_str().unwrap().to_owned();
    alice
        .post(&format!("/v1/campaigns/{cid}/start"), json!({}))
        .await;
    local.advance("PT20M").await;
    let sent = local.outbox().await;
    assert_eq!(
        sent[0]["to"], "ada.secret@work.example",
        "the author's campaign uses it (strict work)"
    );
    // Bob, same organization: nowhere.
    for path in [
        format!("/v1/candidates/{cand}"),
        "/v1/candidates".to_owned(),
        format!("/v1/campaigns/{cid}/enrollments"),
        format!("/v1/campaigns/{cid}/enrollments/{eid}"),
        format!("/v1/projects/{p}/outreach"),
    ] {
        let v = bob.get(&path).await;
        assert!(
            !mentions(&v, "ada.secret"),
            "{path} leaks the manual address: {v}"
        );
    }
    let (_, preview) = bob
        .call("POST", &format!("/v1/campaigns/{cid}/preview"), None)
        .await;
    assert!(!mentions(&preview, "ada.secret"));
    // Bob cannot pin it or send to it either.
    let (status, _) = bob
        .call(
            "PUT",
            &format!("/v1/projects/{p}/pins/{cand}"),
            Some(json!({"address": "ada.secret@work.example"})),
        )
        .await;
    assert_eq!(status, 422);
    // A single message Alice sends to it is listed to Bob without it.
    let m = alice
        .post(
            &format!("/v1/candidates/{cand}/messages"),
            json!({"sender_account_id": acc, "subject": "Hi", "body": "<p>x</p>", "address": "ada.secret@work.example"}),
        )
        .await;
    assert_eq!(m["address"], "ada.secret@work.example");
    let mine = alice.get(&format!("/v1/candidates/{cand}/messages")).await;
    assert_eq!(mine["items"][0]["address"], "ada.secret@work.example");
    let theirs = bob.get(&format!("/v1/candidates/{cand}/messages")).await;
    assert_eq!(theirs["items"].as_array().map(Vec::len), Some(1));
    assert!(
        !mentions(&theirs, "ada.secret"),
        "messages leak the manual address: {theirs}"
    );
}

#[tokio::test]
async fn a_delegate_sends_from_the_hiring_managers_account_until_revoked() {
    //
    let local = Local::spawn(START).await;
    let hm = local.as_user("bigco", "hiring-manager");
    let rec = local.as_user("acme", "recruiter");
    let other = local.as_user("acme", "someone-else");
    let acc = account(&hm, "hm@bigco.example").await;
    let granted = hm
        .post(
            &format!("/v1/email-accounts/{acc}/delegates"),
            json!({"user_id": "recruiter", "org_id": "acme"}),
        )
        .await;
    assert_eq!(granted["id"], acc);
    let listed = rec.get("/v1/email-accounts").await;
    let mine: Vec<&Value> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["id"] == acc)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["delegated"], true);
    assert!(
        !mentions(&other.get("/v1/email-accounts").await, "hm@bigco.example"),
        "nobody else sees it"
    );
    let (status, _) = other
        .call("GET", &format!("/v1/email-accounts/{acc}"), None)
        .await;
    assert_eq!(status, 404);
    let p = project(&rec).await;
    let two_steps = json!({"steps": [{"subject": "Hi", "body": "<p>Hi</p>"}, {"body": "<p>Again</p>", "delay_days": 2}]});
    let cid = campaign(&rec, &p, &acc, two_steps).await;
    let cand = candidate(
        &rec,
        json!([{"address": "ada@home.example", "type": "personal"}]),
    )
    .await;
    rec.post(
        &format!("/v1/campaigns/{cid}/enrollments"),
        json!({"candidate_ids": [cand]}),
    )
    .await;
    rec.post(&format!("/v1/campaigns/{cid}/start"), json!({}))
        .await;
    local.advance("PT20M").await;
    assert_eq!(local.outbox().await[0]["from"], "hm@bigco.example");
    let (status, _) = hm
        .call(
            "DELETE",
            &format!("/v1/email-accounts/{acc}/delegates/recruiter?org_id=acme"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let c = rec.get(&format!("/v1/campaigns/{cid}")).await;
    assert_eq!(c["status"], "paused");
    assert_eq!(c["pause_reason"], "sender_revoked");
    assert!(!mentions(
        &rec.get("/v1/email-accounts").await,
        "hm@bigco.example"
    ));
    local.advance("P5D").await;
    assert_eq!(
        local.outbox().await.len(),
        1,
        "nothing more from a revoked account"
    );
}

#[tokio::test]
async fn the_101st_reveal_answers_402_and_nothing_is_spent_twice() {
    //
    let local = Local::spawn(START).await;
    let api = local.as_user("acme", "alice");
    let mut ids = Vec::new();
    for i in 0..101 {
        ids.push(
            candidate(
                &api,
                json!([{"address": format!("c{i}@x.example"), "type": "work"}]),
            )
            .await,
        );
    }
    for id in &ids[..100] {
        assert_eq!(
            api.post(&format!("/v1/candidates/{id}/reveal"), json!({}))
                .await["credits_spent"],
            1
        );
    }
    assert_eq!(
        api.post(&format!("/v1/candidates/{}/reveal", ids[0]), json!({}))
            .await["credits_spent"],
        0
    );
    let (status, p) = api
        .call("POST", &format!("/v1/candidates/{}/reveal", ids[100]), None)
        .await;
    assert_eq!(status, 402);
    assert_eq!(p["status"], 402);
    let credits = api.get("/v1/credits?limit=50").await;
    assert_eq!(credits["balance"], 0);
    assert_eq!(credits["ledger"].as_array().unwrap().len(), 50);
    let next = api
        .get(&format!(
            "/v1/credits?limit=100&cursor={}",
            credits["cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        next["ledger"].as_array().unwrap().len(),
        51,
        "1 grant + 100 reveals in all"
    );
    // Adding an unrevealed candidate with no credit left is refused for that candidate.
    let acc = account(&api, "alice@acme.example").await;
    let p = project(&api).await;
    let cid = campaign(&api, &p, &acc, json!({})).await;
    let added = api
        .post(
            &format!("/v1/campaigns/{cid}/enrollments"),
            json!({"candidate_ids": [ids[100], ids[1], "cand_nope"]}),
        )
        .await;
    let reasons: BTreeMap<String, String> = added["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["candidate_id"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(reasons[&ids[100]], "no_credits");
    assert_eq!(reasons["cand_nope"], "not_found");
    assert_eq!(added["enrollments"].as_array().unwrap().len(), 1);
    // An operator grants more (admin scope only).
    let (status, _) = api
        .call(
            "POST",
            "/v1/admin/credits",
            Some(json!({"org_id": "acme", "amount": 5})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_idempotency_key_replay_creates_nothing_new() {
    // §13
    let local = Local::spawn(START).await;
    let api = local.as_user("acme", "alice");
    let body = json!({"first_name": "Ada", "last_name": "L", "emails": []});
    let (s1, _, first) = api
        .call_with(
            "POST",
            "/v1/candidates",
            &[("Idempotency-Key", "k-1")],
            Some(body.clone()),
        )
        .await;
    let (s2, h2, second) = api
        .call_with(
            "POST",
            "/v1/candidates",
            &[("Idempotency-Key", "k-1")],
            Some(body),
        )
        .await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first, second);
    assert_eq!(h2["idempotent-replayed"], "true");
    assert_eq!(
        api.get("/v1/candidates").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (s3, _, p) = api
        .call_with(
            "POST",
            "/v1/candidates",
            &[("Idempotency-Key", "k-1")],
            Some(json!({"first_name": "Other", "last_name": "X"})),
        )
        .await;
    assert_eq!(s3, 422, "{p}");
    // Keys belong to their user.
    let bob = local.as_user("acme", "bob");
    let (s4, _, _) = bob
        .call_with(
            "POST",
            "/v1/candidates",
            &[("Idempotency-Key", "k-1")],
            Some(json!({"first_name": "B", "last_name": "B"})),
        )
        .await;
    assert_eq!(s4, 201);
}

#[tokio::test]
async fn a_daily_limit_of_50_sends_120_enrollments_as_50_50_20() {
    //
    let local = Local::spawn(START).await;
    let api = local.as_user("acme", "alice");
    let acc = account(&api, "alice@acme.example").await;
    let p = project(&api).await;
    let cid = campaign(&api, &p, &acc, json!({"daily_limit": 50})).await;
    let mut ids = Vec::new();
    for i in 0..120 {
        ids.push(
            candidate(
                &api,
                json!([{"address": format!("c{i}@x.example"), "type": "work"}]),
            )
            .await,
        );
    }
    let granted = api
        .post(
            &format!("/v1/campaigns/{cid}/enrollments"),
            json!({"candidate_ids": ids}),
        )
        .await;
    assert_eq!(
        granted["refused"].as_array().unwrap().len(),
        20,
        "100 credits: 20 refused no_credits"
    );
    // Admin grants 20 more and the rest join.
    let admin = {
        let out = std::process::Command::new(outreach_tests::binary())
            .args(["token", "--org", "acme", "--user", "ops", "--admin"])
            .arg("--data")
            .arg(&local.data)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let r = reqwest::Client::new()
        .post(format!("{}/v1/admin/credits", local.base))
        .bearer_auth(&admin)
        .json(&json!({"org_id": "acme", "amount": 20}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let rest: Vec<Value> = granted["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["candidate_id"].clone())
        .collect();
    let added = api
        .post(
            &format!("/v1/campaigns/{cid}/enrollments"),
            json!({"candidate_ids": rest}),
        )
        .await;
    assert_eq!(added["refused"], json!([]));
    api.post(&format!("/v1/campaigns/{cid}/start"), json!({}))
        .await;
    local.advance_to("2026-12-05T00:00:00Z").await;
    let mut per_day: BTreeMap<String, usize> = BTreeMap::new();
    for m in local.outbox().await {
        *per_day
            .entry(m["sent_at"].as_str().unwrap()[..10].to_owned())
            .or_default() += 1;
    }
    assert_eq!(
        per_day.values().copied().collect::<Vec<_>>(),
        vec![50, 50, 20],
        "{per_day:?}"
    );
    assert_eq!(
        per_day.keys().cloned().collect::<Vec<_>>(),
        vec!["2026-12-01", "2026-12-02", "2026-12-03"]
    );
}

#[tokio::test]
async fn recipient_time_mode_sends_at_each_candidates_local_best_time() {
    //
    let local = Local::spawn("2026-12-01T20:00:00Z").await;
    let api = local.as_user("acme", "alice");
    let acc = account(&api, "alice@acme.example").await;
    let p = project(&api).await;
    let cid = campaign(&api, &p, &acc, json!({"when_to_send": {"mode": "best_time"}, "timezone": "UTC", "timezone_mode": "recipient"})).await;
    let tokyo = api
        .post("/v1/candidates", json!({"first_name": "T", "last_name": "K", "timezone": "Asia/Tokyo", "emails": [{"address": "t@x.example", "type": "work"}]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ny = api
        .post("/v1/candidates", json!({"first_name": "N", "last_name": "Y", "timezone": "America/New_York", "emails": [{"address": "n@x.example", "type": "work"}]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unknown = candidate(&api, json!([{"address": "u@x.example", "type": "work"}])).await;
    api.post(
        &format!("/v1/campaigns/{cid}/enrollments"),
        json!({"candidate_ids": [tokyo, ny, unknown]}),
    )
    .await;
    // The review before start says when (issue 22): the plan a start now
    // makes, and the candidate's own zone to read it in.
    let preview = api
        .post(&format!("/v1/campaigns/{cid}/preview"), json!({}))
        .await;
    let item = |c: &str| {
        preview["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["candidate_id"] == c)
            .unwrap()
            .clone()
    };
    assert_eq!(item(&tokyo)["candidate_timezone"], "Asia/Tokyo");
    assert_eq!(item(&unknown)["candidate_timezone"], Value::Null);
    let planned = item(&tokyo)["steps"][0]["planned_at"]
        .as_str()
        .unwrap()
        .to_owned();
    // 07:00–07:20 in Tokyo, the best time of that morning.
    assert!(
        planned.as_str() >= "2026-12-01T22:00:00Z" && planned.as_str() <= "2026-12-01T22:20:00Z",
        "{planned}"
    );
    assert_eq!(item(&ny)["steps"][0]["planned_at"], "2026-12-01T21:00:00Z");
    api.post(&format!("/v1/campaigns/{cid}/start"), json!({}))
        .await;
    // The list gives each candidate's zone, to read the plan in their local time.
    let listed = api.get(&format!("/v1/campaigns/{cid}/enrollments")).await;
    assert!(
        listed["items"].as_array().unwrap().iter().any(
            |e| e["candidate_id"] == tokyo.as_str() && e["candidate_timezone"] == "Asia/Tokyo"
        ),
        "{listed}"
    );
    local.advance("P2D").await;
    let sent = local.outbox().await;
    let at = |to: &str| {
        sent.iter().find(|m| m["to"] == to).unwrap()["sent_at"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // 20:00Z is 05:00 in Tokyo (before 06:00: 07:00–07:20 the same morning) and
    // 15:00 in New York (midday bucket: 16:00); UTC 20:00 is evening (07:00–07:20 next morning).
    let tokyo_at = at("t@x.example");
    assert_eq!(tokyo_at, planned, "the preview's time is the start's plan");
    assert!(
        tokyo_at.as_str() >= "2026-12-01T22:00:00Z" && tokyo_at.as_str() <= "2026-12-01T22:20:00Z",
        "{tokyo_at}"
    );
    assert_eq!(at("n@x.example"), "2026-12-01T21:00:00Z");
    let u = at("u@x.example");
    assert!(
        u.as_str() >= "2026-12-02T07:00:00Z" && u.as_str() <= "2026-12-02T07:20:00Z",
        "{u}"
    );
}

#[tokio::test]
async fn no_double_outreach_across_campaigns_unless_allowed_and_atomic() {
    //
    let local = Local::spawn(START).await;
    let api = local.as_user("acme", "alice");
    let acc = account(&api, "alice@acme.example").await;
    let p = project(&api).await;
    let a = campaign(&api, &p, &acc, json!({})).await;
    let b = campaign(&api, &p, &acc, json!({})).await;
    let cand = candidate(&api, json!([{"address": "ada@x.example", "type": "work"}])).await;
    api.post(
        &format!("/v1/campaigns/{a}/enrollments"),
        json!({"candidate_ids": [cand]}),
    )
    .await;
    api.post(&format!("/v1/campaigns/{a}/start"), json!({}))
        .await;
    let refused = api
        .post(
            &format!("/v1/campaigns/{b}/enrollments"),
            json!({"candidate_ids": [cand]}),
        )
        .await;
    assert_eq!(refused["refused"][0]["reason"], "duplicate");
    assert_eq!(refused["refused"][0]["campaign_id"], a.as_str());
    let allowed = api
        .post(
            &format!("/v1/campaigns/{b}/enrollments"),
            json!({"candidate_ids": [cand], "allow_duplicate": true}),
        )
        .await;
    assert_eq!(allowed["enrollments"].as_array().unwrap().len(), 1);
    // Two concurrent adds of one candidate to two running campaigns: exactly one passes.
    let c1 = campaign(&api, &p, &acc, json!({})).await;
    let c2 = campaign(&api, &p, &acc, json!({})).await;
    let seed = candidate(&api, json!([{"address": "seed@x.example", "type": "work"}])).await;
    for c in [&c1, &c2] {
        api.post(
            &format!("/v1/campaigns/{c}/enrollments"),
            json!({"candidate_ids": [seed], "allow_duplicate": true}),
        )
        .await;
        api.post(&format!("/v1/campaigns/{c}/start"), json!({}))
            .await;
    }
    let racer = candidate(&api, json!([{"address": "race@x.example", "type": "work"}])).await;
    let (p1, p2) = (
        format!("/v1/campaigns/{c1}/enrollments"),
        format!("/v1/campaigns/{c2}/enrollments"),
    );
    let (r1, r2) = tokio::join!(
        api.post(&p1, json!({"candidate_ids": [racer]})),
        api.post(&p2, json!({"candidate_ids": [racer]})),
    );
    let passed = [&r1, &r2]
        .iter()
        .filter(|r| r["enrollments"].as_array().unwrap().len() == 1)
        .count();
    assert_eq!(passed, 1, "{r1} {r2}");
}

#[tokio::test]
async fn a_pin_applies_to_new_campaigns_of_the_project_only() {
    //
    let local = Local::spawn(START).await;
    let api = local.as_user("acme", "alice");
    let acc = account(&api, "alice@acme.example").await;
    let p = project(&api).await;
    let cand = candidate(&api, json!([{"address": "ada@home.example", "type": "personal"}, {"address": "ada@work.example", "type": "work"}])).await;
    let existing = campaign(&api, &p, &acc, json!({})).await;
    api.post(
        &format!("/v1/campaigns/{existing}/enrollments"),
        json!({"candidate_ids": [cand]}),
    )
    .await;
    api.call(
        "PUT",
        &format!("/v1/projects/{p}/pins/{cand}"),
        Some(json!({"address": "ada@work.example"})),
    )
    .await;
    let fresh = campaign(
        &api,
        &p,
        &acc,
        json!({"recipient": {"prefer": "personal", "strict": false}}),
    )
    .await;
    api.post(
        &format!("/v1/campaigns/{fresh}/enrollments"),
        json!({"candidate_ids": [cand], "allow_duplicate": true}),
    )
    .await;
    for c in [&existing, &fresh] {
        api.post(&format!("/v1/campaigns/{c}/start"), json!({}))
            .await;
    }
    local.advance("PT20M").await;
    let sent = local.outbox().await;
    let to = |c: &str| sent.iter().find(|m| m["campaign_id"] == c).unwrap()["to"].clone();
    assert_eq!(
        to(&fresh),
        "ada@work.example",
        "the pin beats the preference"
    );
    assert_eq!(
        to(&existing),
        "ada@home.example",
        "a pin does not change existing enrollments"
    );
}

#[tokio::test]
async fn missing_fields_block_until_an_override_and_edits_follow_the_rules() {
    //
    let local = Local::spawn(START).await;
    let api = local.as_user("acme", "alice");
    let acc = account(&api, "alice@acme.example").await;
    let p = project(&api).await;
    let cid = campaign(
        &api,
        &p,
        &acc,
        json!({"steps": [{"subject": "About {{ role }}", "body": "<p>{{ candidate.company | default(\"your team\") }}</p>"}]}),
    )
    .await;
    let cand = candidate(&api, json!([{"address": "ada@x.example", "type": "work"}])).await;
    let added = api
        .post(
            &format!("/v1/campaigns/{cid}/enrollments"),
            json!({"candidate_ids": [cand]}),
        )
        .await;
    let eid = added["enrollments"][0]["id"].as_str().unwrap().to_owned();
    let preview = api
        .post(&format!("/v1/campaigns/{cid}/preview"), json!({}))
        .await;
    assert_eq!(preview["missing_fields"][0]["field"], "role");
    let started = api
        .post(&format!("/v1/campaigns/{cid}/start"), json!({}))
        .await;
    assert_eq!(started["missing_fields"][0]["candidate_id"], cand.as_str());
    // Edits during the grace period are allowed.
    let (status, _) = api
        .call(
            "PATCH",
            &format!("/v1/campaigns/{cid}"),
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(status, 200);
    local.advance("PT20M").await;
    let e = api
        .get(&format!("/v1/campaigns/{cid}/enrollments/{eid}"))
        .await;
    assert_eq!(e["status"], "blocked");
    assert_eq!(e["status_label"], "Needs attention");
    assert!(local.outbox().await.is_empty(), "never half-rendered");
    let (status, _) = api
        .call(
            "PATCH",
            &format!("/v1/campaigns/{cid}"),
            Some(json!({"name": "Too late"})),
        )
        .await;
    assert_eq!(status, 409, "running past the grace period");
    let e = api
        .call(
            "PATCH",
            &format!("/v1/campaigns/{cid}/enrollments/{eid}"),
            Some(json!({"custom_fields": {"role": "Staff Engineer"}})),
        )
        .await;
    assert_eq!(e.0, 200, "{}", e.1);
    local.advance("PT21M").await;
    let sent = local.outbox().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["subject"], "About Staff Engineer");
}

#[tokio::test]
async fn single_messages_go_at_once_and_replies_are_recorded_on_them() {
    //
    let local = Local::spawn(START).await;
    let api = local.as_user("acme", "alice");
    let acc = account(&api, "alice@acme.example").await;
    let cand = candidate(&api, json!([{"address": "ada@x.example", "type": "work"}])).await;
    let body = json!({"sender_account_id": acc, "subject": "Quick question", "body": "<p>Hi {{ candidate.first_name }}</p>"});
    let (s1, _, m) = api
        .call_with(
            "POST",
            &format!("/v1/candidates/{cand}/messages"),
            &[("Idempotency-Key", "m-1")],
            Some(body.clone()),
        )
        .await;
    let (s2, _, again) = api
        .call_with(
            "POST",
            &format!("/v1/candidates/{cand}/messages"),
            &[("Idempotency-Key", "m-1")],
            Some(body),
        )
        .await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(m, again);
    assert_eq!(m["status"], "sent");
    assert_eq!(m["address"], "ada@x.example");
    let sent = local.outbox().await;
    assert_eq!(
        sent.len(),
        1,
        "a repeated Idempotency-Key never sends twice"
    );
    assert_eq!(sent[0]["sent_at"], START, "no grace period");
    assert_eq!(sent[0]["message_id"], m["message_id"]);
    let raw = String::from_utf8(local.raw_message(sent[0]["id"].as_str().unwrap()).await).unwrap();
    assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    let reply_to = raw
        .lines()
        .find(|l| l.starts_with("Reply-To:"))
        .unwrap()
        .trim_start_matches("Reply-To:")
        .trim()
        .trim_matches(['<', '>'])
        .to_owned();
    let r = local
        .inbound(&format!("From: Ada <ada@x.example>\nTo: {reply_to}\nSubject: Re: Quick question\nDate: Tue, 1 Dec 2026 14:30:00 +0000\nMessage-ID: <x1@x.example>\n\nYes!\n"))
        .await;
    assert_eq!(r["kind"], "reply");
    let list = api.get(&format!("/v1/candidates/{cand}/messages")).await;
    assert_eq!(list["items"][0]["replied"], true);
    let (status, _) = api.call("POST", &format!("/v1/candidates/{cand}/messages"), Some(json!({"sender_account_id": acc, "body": "<p>x</p>", "subject": "Hi", "address": "nope"}))).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn erasure_removes_personal_data_and_ends_enrollments() {
    //
    let local = Local::spawn(START).await;
    let api = local.as_user("acme", "alice");
    let acc = account(&api, "alice@acme.example").await;
    let p = project(&api).await;
    // Two steps: the first goes out, the second is still to come.
    let two_steps = json!({"steps": [
        {"subject": "Hello {{ candidate.first_name }}", "body": "<p>Hi</p>"},
        {"subject": "Again", "body": "<p>Hi again</p>", "delay_days": 3}
    ]});
    let cid = campaign(&api, &p, &acc, two_steps).await;
    let cand = candidate(&api, json!([{"address": "ada@x.example", "type": "work"}])).await;
    let added = api
        .post(
            &format!("/v1/campaigns/{cid}/enrollments"),
            json!({"candidate_ids": [cand]}),
        )
        .await;
    let eid = added["enrollments"][0]["id"].as_str().unwrap().to_owned();
    // The list names its candidates, so a page needs no call per candidate.
    let listed = api.get(&format!("/v1/campaigns/{cid}/enrollments")).await;
    assert_eq!(listed["items"][0]["candidate_name"], "Ada L");
    // A step goes out, so the enrollment holds the address it went to.
    api.post(&format!("/v1/campaigns/{cid}/start"), json!({}))
        .await;
    local.advance("PT20M").await;
    let e = api
        .get(&format!("/v1/campaigns/{cid}/enrollments/{eid}"))
        .await;
    assert!(mentions(&e, "ada@x.example"), "sent: {e}");
    let (status, _) = api
        .call("DELETE", &format!("/v1/candidates/{cand}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = api
        .call("GET", &format!("/v1/candidates/{cand}"), None)
        .await;
    assert_eq!(status, 404);
    let e = api
        .get(&format!("/v1/campaigns/{cid}/enrollments/{eid}"))
        .await;
    assert_eq!(e["status"], "removed");
    assert!(e["candidate_name"].is_null(), "erased: no name: {e}");
    assert!(!mentions(&api.get("/v1/candidates").await, "ada@x.example"));
    // Nor does the campaign show the address its step went to.
    assert!(!mentions(&e, "ada@x.example"), "erased: no address: {e}");
    let listed = api.get(&format!("/v1/campaigns/{cid}/enrollments")).await;
    assert!(!mentions(&listed, "ada@x.example"), "{listed}");
}

#[tokio::test]
async fn templates_accounts_and_conventions() {
    // §13
    let local = Local::spawn(START).await;
    let api = local.as_user("acme", "alice");
    let (status, p) = api
        .call(
            "POST",
            "/v1/templates",
            Some(json!({"name": "T", "steps": [{"subject": "Hi\r\nBcc: x@y.z", "body": "b"}]})),
        )
        .await;
    assert_eq!(status, 422, "R-4.4: CR/LF in a subject");
    assert_eq!(p["errors"][0]["field"], "steps[0].subject");
    let (status, p) = api.call("POST", "/v1/templates", Some(json!({"name": "T", "steps": [{"subject": "Hi", "body": "b"}, {"body": "c", "delay_days": 0}]}))).await;
    assert_eq!(status, 422, "{p}");
    let (status, _) = api
        .call(
            "POST",
            "/v1/templates",
            Some(json!({"name": "T", "steps": [{"subject": "Hi", "body": "b"}], "extra": 1})),
        )
        .await;
    assert_eq!(status, 422, "unknown fields are refused");
    let t = api
        .post(
            "/v1/templates",
            json!({"name": "T", "steps": [{"subject": "Hi", "body": "b"}]}),
        )
        .await;
    let tid = t["id"].as_str().unwrap();
    let (status, _) = api
        .call(
            "PUT",
            &format!("/v1/templates/{tid}"),
            Some(json!({"name": "T2", "steps": [{"subject": "Hey", "body": "b"}]})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(api.get(&format!("/v1/templates/{tid}")).await["name"], "T2");
    let (status, _) = api
        .call("DELETE", &format!("/v1/templates/{tid}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = api.call("GET", &format!("/v1/templates/{tid}"), None).await;
    assert_eq!(status, 404);
    // removing an account pauses its campaigns; linking it again revives the same id and resumes.
    let acc = account(&api, "alice@acme.example").await;
    let p = project(&api).await;
    let cid = campaign(&api, &p, &acc, json!({})).await;
    let cand = candidate(&api, json!([{"address": "ada@x.example", "type": "work"}])).await;
    api.post(
        &format!("/v1/campaigns/{cid}/enrollments"),
        json!({"candidate_ids": [cand]}),
    )
    .await;
    api.post(&format!("/v1/campaigns/{cid}/start"), json!({}))
        .await;
    let (status, _) = api
        .call("DELETE", &format!("/v1/email-accounts/{acc}"), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        api.get(&format!("/v1/campaigns/{cid}")).await["pause_reason"],
        "sender_removed"
    );
    assert_eq!(
        account(&api, "Alice@ACME.example").await,
        acc,
        "the same account id comes back"
    );
    assert_eq!(
        api.get(&format!("/v1/campaigns/{cid}")).await["status"],
        "running"
    );
    // Body and list limits answer 413.
    let big = "x".repeat(1_100_000);
    let (status, _) = api
        .call("POST", "/v1/projects", Some(json!({"name": big})))
        .await;
    assert_eq!(status, 413);
    let huge_step =
        json!({"name": "Huge", "steps": [{"subject": "Hi", "body": "x".repeat(100 * 1024 + 1)}]});
    let (status, _) = api.call("POST", "/v1/templates", Some(huge_step)).await;
    assert_eq!(status, 413, "a step body over 100 KB (R-4.1, §13)");
    let ids: Vec<String> = (0..1001).map(|i| format!("c{i}")).collect();
    let (status, _) = api
        .call(
            "POST",
            &format!("/v1/campaigns/{cid}/enrollments"),
            Some(json!({"candidate_ids": ids})),
        )
        .await;
    assert_eq!(status, 413);
    // The public routes that read a raw body (a form, an SNS notification)
    // answer too large in problem+json as well, not in axum's plain text.
    for route in [
        "/v1/unsubscribe/abc",
        "/v1/email-accounts/not-me/abc",
        "/v1/webhooks/inbound",
        "/v1/webhooks/ses-events",
    ] {
        let form = "application/x-www-form-urlencoded";
        let (status, p) = local.post_raw(route, form, vec![b'a'; 1_100_000]).await;
        assert_eq!((status, &p["status"]), (413, &json!(413)), "{route}: {p}");
    }
    let (status, p) = api.call("GET", "/v1/nothing-here", None).await;
    assert_eq!(status, 404);
    assert_eq!(p["status"], 404);
}

/// `n` steps of `body`, a day apart after the first.
fn steps_of(n: usize, body: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"subject": format!("Step {}", i + 1), "body": body, "delay_days": u32::from(i > 0)}))
        .collect()
}

#[tokio::test]
async fn sequences_beyond_twenty_steps_or_300_kb_as_stored_answer_413() {
    // §13 (issue 19 item 4): at most 20 steps and 300 KB of step
    // content in all, measured as stored, refused at the edge (413), never
    // accepted and then failed by the store.
    let local = Local::spawn(START).await;
    let api = local.as_user("acme", "alice");
    let acc = account(&api, "alice@acme.example").await;
    let p = project(&api).await;
    let too_large = |(status, problem): (u16, Value), what: &str| {
        assert_eq!(status, 413, "{what}: {problem}");
        assert_eq!(problem["type"], "https://outreach.dev/problems/too-large");
    };
    let template = |steps: Vec<Value>| Some(json!({"name": "T", "steps": steps}));
    too_large(
        api.call("POST", "/v1/templates", template(steps_of(21, "<p>Hi</p>")))
            .await,
        "21 steps",
    );
    let campaign_of = |steps: Vec<Value>| {
        Some(json!({"name": "C", "sender_account_id": acc,
                    "when_to_send": {"mode": "when_started"}, "steps": steps}))
    };
    let campaigns = format!("/v1/projects/{p}/campaigns");
    too_large(
        api.call("POST", &campaigns, campaign_of(steps_of(21, "<p>Hi</p>")))
            .await,
        "a campaign of 21 steps",
    );
    // Four bodies of 90 KB: each within 100 KB, 360 KB in all.
    let ninety = "x".repeat(90 * 1024);
    too_large(
        api.call("POST", "/v1/templates", template(steps_of(4, &ninety)))
            .await,
        "360 KB of bodies",
    );
    // Three bodies of 60 KB of quotes: 180 KB as typed, 360 KB as stored.
    let quotes = "\"".repeat(60 * 1024);
    too_large(
        api.call("POST", "/v1/templates", template(steps_of(3, &quotes)))
            .await,
        "quotes escaped as stored",
    );
    too_large(
        api.call("POST", &campaigns, campaign_of(steps_of(3, &quotes)))
            .await,
        "a campaign's quotes escaped as stored",
    );
    // Within the limits: twenty steps, and three full bodies.
    let (status, t) = api
        .call("POST", "/v1/templates", template(steps_of(20, "<p>Hi</p>")))
        .await;
    assert_eq!(status, 201, "{t}");
    let full = "x".repeat(100_000);
    let (status, t) = api
        .call("POST", "/v1/templates", template(steps_of(3, &full)))
        .await;
    assert_eq!(status, 201, "three 100 KB bodies fit: {t}");
    let tid = t["id"].as_str().unwrap();
    let read = api.get(&format!("/v1/templates/{tid}")).await;
    assert_eq!(
        read["steps"][2]["body"].as_str().map(str::len),
        Some(100_000)
    );
    // Replacing a template's steps is held to the same limits.
    too_large(
        api.call(
            "PUT",
            &format!("/v1/templates/{tid}"),
            template(steps_of(3, &quotes)),
        )
        .await,
        "a replaced template",
    );
}

#[tokio::test]
async fn custom_fields_beyond_128_kb_as_stored_answer_413_and_accepted_ones_still_send() {
    // §13 (issue 19 item 4): custom fields are measured as stored
    // (a control character takes six bytes), so an accepted enrollment
    // always fits its item and every later write of it succeeds.
    let local = Local::spawn(START).await;
    let api = local.as_user("acme", "alice");
    let acc = account(&api, "alice@acme.example").await;
    let p = project(&api).await;
    let cid = campaign(
        &api,
        &p,
        &acc,
        json!({"steps": [{"subject": "About {{ f0 }}", "body": "<p>{{ f49 }}</p>"}]}),
    )
    .await;
    let cand = candidate(&api, json!([{"address": "ada@x.example", "type": "work"}])).await;
    let added = api
        .post(
            &format!("/v1/campaigns/{cid}/enrollments"),
            json!({"candidate_ids": [cand]}),
        )
        .await;
    let eid = added["enrollments"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/campaigns/{cid}/enrollments/{eid}");
    let fields = |n: usize, value: &str| -> Value {
        (0..n)
            .map(|i| (format!("f{i}"), Value::from(value)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    // 30 values of 2,000 control characters: 60 KB as typed, 360 KB as stored.
    let (status, problem) = api
        .call(
            "PATCH",
            &path,
            Some(json!({"custom_fields": fields(30, &"\u{1}".repeat(2000))})),
        )
        .await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(problem["type"], "https://outreach.dev/problems/too-large");
    // The most the per-field rules allow in plain text fits, and sends.
    let (status, e) = api
        .call(
            "PATCH",
            &path,
            Some(json!({"custom_fields": fields(50, &"x".repeat(2000))})),
        )
        .await;
    assert_eq!(status, 200, "{e}");
    api.post(&format!("/v1/campaigns/{cid}/start"), json!({}))
        .await;
    local.advance("PT21M").await;
    let sent = local.outbox().await;
    assert_eq!(sent.len(), 1, "the enrollment's writes all fit");
    assert_eq!(
        api.get(&path).await["status"],
        "finished",
        "every write of the enrollment landed"
    );
}

#[tokio::test]
async fn a_campaign_without_candidates_cannot_start() {
    // `start` answers 409 while the campaign has no enrollment, and
    // leaves it a draft; with a candidate it starts.
    let local = Local::spawn(START).await;
    let api = local.as_user("acme", "alice");
    let acc = account(&api, "alice@acme.example").await;
    let p = project(&api).await;
    let c = campaign(&api, &p, &acc, json!({})).await;
    let (status, body) = api
        .call("POST", &format!("/v1/campaigns/{c}/start"), Some(json!({})))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(mentions(&body, "no candidates"), "{body}");
    assert_eq!(
        api.get(&format!("/v1/campaigns/{c}")).await["status"],
        "draft"
    );
    let cand = candidate(&api, json!([{"address": "ada@x.example", "type": "work"}])).await;
    api.post(
        &format!("/v1/campaigns/{c}/enrollments"),
        json!({"candidate_ids": [cand]}),
    )
    .await;
    let (status, body) = api
        .call("POST", &format!("/v1/campaigns/{c}/start"), Some(json!({})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "running", "{body}");
}
