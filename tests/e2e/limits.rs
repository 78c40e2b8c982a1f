//! Daily limits and spacing, end to end through HTTP on
//! the real `outreach-local` with its manual clock: issue 16's four scenarios.

use std::collections::BTreeMap;

use outreach_tests::{Client, Local};
use serde_json::{Value, json};

const START: &str = "2026-12-01T14:00:00Z";
const SENDER: &str = "alice@recruit.example";

struct World {
    local: Local,
    api: Client,
    account: String,
    project: String,
}

impl World {
    async fn new() -> World {
        let local = Local::spawn(START).await;
        let api = local.as_user("acme", "alice");
        api.call(
            "PUT",
            "/v1/me",
            Some(json!({"display_name": "Alice", "timezone": "UTC"})),
        )
        .await;
        let account = api
            .post(
                "/v1/email-accounts",
                json!({"address": SENDER, "display_name": "Alice R"}),
            )
            .await;
        let project = api.post("/v1/projects", json!({"name": "P"})).await;
        World {
            api,
            account: account["id"].as_str().unwrap().into(),
            project: project["id"].as_str().unwrap().into(),
            local,
        }
    }

    async fn candidate(&self, address: &str) -> String {
        let c = self
            .api
            .post(
                "/v1/candidates",
                json!({"first_name": "Ada", "last_name": "L",
                       "emails": [{"address": address, "type": "work"}]}),
            )
            .await;
        c["id"].as_str().unwrap().into()
    }

    /// A when-started campaign with `steps` (delays in days; step 1's is 0)
    /// and `extra` settings; not started.
    async fn campaign(&self, delays: &[u32], extra: Value) -> String {
        let steps: Vec<Value> = delays
            .iter()
            .enumerate()
            .map(|(i, d)| json!({"subject": format!("Step {}", i + 1), "body": "<p>Hi</p>", "delay_days": d}))
            .collect();
        let mut body = json!({"name": "C", "sender_account_id": self.account,
                              "when_to_send": {"mode": "when_started"}, "steps": steps});
        for (k, v) in extra.as_object().into_iter().flatten() {
            body[k] = v.clone();
        }
        let c = self
            .api
            .post(&format!("/v1/projects/{}/campaigns", self.project), body)
            .await;
        c["id"].as_str().unwrap().to_owned()
    }

    /// Adds candidates to a campaign; their enrollment ids.
    async fn enroll(&self, campaign: &str, candidates: &[&str]) -> Vec<String> {
        let added = self
            .api
            .post(
                &format!("/v1/campaigns/{campaign}/enrollments"),
                json!({"candidate_ids": candidates, "allow_duplicate": true}),
            )
            .await;
        assert_eq!(added["refused"], json!([]), "{added}");
        added["enrollments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn start(&self, campaign: &str) {
        self.api
            .post(&format!("/v1/campaigns/{campaign}/start"), json!({}))
            .await;
    }

    async fn enrollment(&self, campaign: &str, id: &str) -> Value {
        self.api
            .get(&format!("/v1/campaigns/{campaign}/enrollments/{id}"))
            .await
    }

    /// The send instants of one enrollment's messages, in send order.
    async fn sent(&self, enrollment: &str) -> Vec<String> {
        self.local
            .outbox()
            .await
            .into_iter()
            .filter(|m| m["enrollment_id"] == enrollment)
            .map(|m| m["sent_at"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Messages that left from Alice's account, per UTC date.
    async fn per_day(&self) -> BTreeMap<String, usize> {
        let mut days = BTreeMap::new();
        for m in self.local.outbox().await {
            assert_eq!(m["from"], SENDER);
            *days
                .entry(m["sent_at"].as_str().unwrap()[..10].to_owned())
                .or_default() += 1;
        }
        days
    }

    async fn set_fault(&self, error: &str) {
        let (status, _) = self
            .local
            .post_raw(
                "/dev/faults",
                "application/json",
                json!({"sender": SENDER, "error": error})
                    .to_string()
                    .into_bytes(),
            )
            .await;
        assert_eq!(status, 200);
    }
}

fn date(at: &str) -> &str {
    &at[..10]
}

#[tokio::test]
async fn only_the_owner_sets_the_accounts_daily_limit() {
    // `PATCH /v1/email-accounts/{id}`, owner only (R-2.4: 403 to a
    // delegate who sees it, 404 to anyone else); null clears it.
    let w = World::new().await;
    let path = format!("/v1/email-accounts/{}", w.account);
    let (status, a) = w
        .api
        .call("PATCH", &path, Some(json!({"daily_limit": 40})))
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["daily_limit"], 40);
    assert_eq!(w.api.get(&path).await["daily_limit"], 40);
    for bad in [json!(0), json!(100_001), json!(-1), json!("ten")] {
        let (status, p) = w
            .api
            .call("PATCH", &path, Some(json!({"daily_limit": bad})))
            .await;
        assert_eq!(status, 422, "{bad}: {p}");
        assert_eq!(p["status"], 422, "problem+json: {p}");
    }
    w.api
        .post(&format!("{path}/delegates"), json!({"user_id": "bob"}))
        .await;
    let bob = w.local.as_user("acme", "bob");
    let (status, p) = bob
        .call("PATCH", &path, Some(json!({"daily_limit": 1000})))
        .await;
    assert_eq!(status, 403, "a delegate sees the account: {p}");
    let carol = w.local.as_user("acme", "carol");
    let (status, _) = carol
        .call("PATCH", &path, Some(json!({"daily_limit": 1000})))
        .await;
    assert_eq!(status, 404, "a colleague without rights does not see it");
    let mallory = w.local.as_user("other", "mallory");
    let (status, _) = mallory
        .call("PATCH", &path, Some(json!({"daily_limit": 1000})))
        .await;
    assert_eq!(status, 404);
    assert_eq!(w.api.get(&path).await["daily_limit"], 40, "unchanged");
    let (status, a) = w
        .api
        .call("PATCH", &path, Some(json!({"daily_limit": null})))
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["daily_limit"], Value::Null);
}

#[tokio::test]
async fn the_accounts_limit_counts_single_messages_and_campaigns_without_a_limit() {
    // issue 16 item 1: limit 1, a single message at 14:00 and a campaign
    // without a limit from the same sender; the campaign with a limit of its
    // own no longer sends a third message that day.
    let w = World::new().await;
    let (status, a) = w
        .api
        .call(
            "PATCH",
            &format!("/v1/email-accounts/{}", w.account),
            Some(json!({"daily_limit": 1})),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let ada = w.candidate("ada@work.example").await;
    let first = w
        .api
        .post(
            &format!("/v1/candidates/{ada}/messages"),
            json!({"sender_account_id": w.account, "subject": "Hi", "body": "<p>Hi</p>"}),
        )
        .await;
    assert_eq!(first["status"], "sent", "{first}");
    // A second single message that day is accepted and scheduled for the next.
    let (status, second) = w
        .api
        .call(
            "POST",
            &format!("/v1/candidates/{ada}/messages"),
            Some(json!({"sender_account_id": w.account, "subject": "Again", "body": "<p>Hi</p>"})),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["status"], "scheduled", "{second}");
    let at = second["scheduled_at"].as_str().unwrap();
    assert_eq!(date(at), "2026-12-02", "{second}");
    let unlimited = w.campaign(&[0], json!({})).await;
    let limited = w.campaign(&[0], json!({"daily_limit": 5})).await;
    let bea = w.candidate("bea@work.example").await;
    let cy = w.candidate("cy@work.example").await;
    let e_unlimited = w.enroll(&unlimited, &[&bea]).await;
    let e_limited = w.enroll(&limited, &[&cy]).await;
    w.start(&unlimited).await;
    w.start(&limited).await;
    w.local.advance_to("2026-12-02T00:00:00Z").await;
    assert_eq!(
        w.per_day().await,
        BTreeMap::from([("2026-12-01".to_owned(), 1)]),
        "one message on Dec 1, whatever sent it"
    );
    w.local.advance_to("2026-12-06T00:00:00Z").await;
    let days = w.per_day().await;
    assert!(days.values().all(|n| *n == 1), "{days:?}");
    assert_eq!(days.values().sum::<usize>(), 4, "nothing dropped: {days:?}");
    // In order of their moves: the second single message first.
    let unlimited_at = &w.sent(&e_unlimited[0]).await[0];
    let limited_at = &w.sent(&e_limited[0]).await[0];
    let second_at = &w.sent(second["id"].as_str().unwrap()).await[0];
    assert_eq!(date(second_at), "2026-12-02");
    assert!(date(unlimited_at) > "2026-12-02" && date(limited_at) > "2026-12-02");
}

#[tokio::test]
async fn a_message_moved_by_the_limit_keeps_its_place_on_its_new_day() {
    // issue 16 item 2: C2, moved from Dec 1 to Dec 2, must not lose
    // Dec 2's slot to C3, added on Dec 2 at 09:00.
    let w = World::new().await;
    let campaign = w.campaign(&[0], json!({"daily_limit": 1})).await;
    let c1 = w.candidate("c1@work.example").await;
    let c2 = w.candidate("c2@work.example").await;
    let first = w.enroll(&campaign, &[&c1, &c2]).await;
    w.start(&campaign).await;
    w.local.advance_to("2026-12-02T09:00:00Z").await;
    let sent: Vec<usize> = [w.sent(&first[0]).await, w.sent(&first[1]).await]
        .iter()
        .map(Vec::len)
        .collect();
    assert_eq!(sent.iter().sum::<usize>(), 1, "one on Dec 1: {sent:?}");
    let moved = if sent[0] == 0 { &first[0] } else { &first[1] };
    let c3 = w.candidate("c3@work.example").await;
    let later = w.enroll(&campaign, &[&c3]).await;
    w.local.advance_to("2026-12-05T00:00:00Z").await;
    let moved_at = w.sent(moved).await;
    let later_at = w.sent(&later[0]).await;
    assert_eq!(moved_at.len(), 1);
    assert_eq!(
        date(&moved_at[0]),
        "2026-12-02",
        "the moved message goes before C3, first planned for Dec 2"
    );
    assert_eq!(date(&later_at[0]), "2026-12-03", "{later_at:?}");
    let days = w.per_day().await;
    assert!(days.values().all(|n| *n == 1), "{days:?}");
}

#[tokio::test]
async fn a_deferred_step_re_spaces_the_steps_after_it() {
    // issue 16 item 3: step 1 throttled for a day leaves Dec 2 ~14:00;
    // step 2 (delay_days 1) must not leave the same day.
    let w = World::new().await;
    let campaign = w.campaign(&[0, 1, 2], json!({})).await;
    let ada = w.candidate("ada@work.example").await;
    let e = w.enroll(&campaign, &[&ada]).await;
    w.start(&campaign).await;
    w.set_fault("throttled").await;
    w.local.advance_to("2026-12-02T13:58:00Z").await;
    assert!(w.sent(&e[0]).await.is_empty(), "deferred all day");
    w.set_fault("none").await;
    w.local.advance_to("2026-12-08T00:00:00Z").await;
    let sent = w.sent(&e[0]).await;
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(date(&sent[0]), "2026-12-02");
    assert_eq!(date(&sent[1]), "2026-12-03", "spaced from the actual send");
    assert_eq!(date(&sent[2]), "2026-12-05");
}

#[tokio::test]
async fn renaming_a_paused_campaign_keeps_the_out_of_office_hold() {
    // issue 16 item 4: an out-of-office hold to Dec 10 survives an edit
    // while paused; an edit of the timing re-plans, never before the hold.
    let w = World::new().await;
    let campaign = w.campaign(&[0, 2, 2], json!({})).await;
    let ada = w.candidate("ada@work.example").await;
    let e = w.enroll(&campaign, &[&ada]).await;
    w.start(&campaign).await;
    w.local.advance("PT20M").await;
    let outbox = w.local.outbox().await;
    let raw = w.local.raw_message(outbox[0]["id"].as_str().unwrap()).await;
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let to = msg
        .header_raw("Reply-To")
        .unwrap()
        .trim()
        .trim_matches(['<', '>'])
        .to_owned();
    let ooo = format!(
        "From: Ada <ada@work.example>\nTo: {to}\nSubject: Abwesenheitsnotiz: Step 1\nAuto-Submitted: auto-replied\nDate: Tue, 1 Dec 2026 14:21:00 +0100\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nIch bin bis zum 09.12.2026 nicht im Büro.\n"
    );
    assert_eq!(w.local.inbound(&ooo).await["kind"], "auto_reply");
    let step2 = |v: &Value| v["steps"][1]["scheduled_at"].as_str().unwrap().to_owned();
    let held = step2(&w.enrollment(&campaign, &e[0]).await);
    assert_eq!(date(&held), "2026-12-10", "held to the return date");
    w.api
        .post(&format!("/v1/campaigns/{campaign}/pause"), json!({}))
        .await;
    let (status, body) = w
        .api
        .call(
            "PATCH",
            &format!("/v1/campaigns/{campaign}"),
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        step2(&w.enrollment(&campaign, &e[0]).await),
        held,
        "a rename re-plans nothing"
    );
    // A timing edit re-plans, but never earlier than the hold.
    let (status, body) = w
        .api
        .call(
            "PATCH",
            &format!("/v1/campaigns/{campaign}"),
            Some(json!({"when_to_send": {"mode": "specific_time", "time": "09:00"}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let replanned = step2(&w.enrollment(&campaign, &e[0]).await);
    assert!(replanned >= held, "{replanned} before the hold {held}");
    w.api
        .post(&format!("/v1/campaigns/{campaign}/resume"), json!({}))
        .await;
    w.local.advance_to("2026-12-10T00:00:00Z").await;
    assert_eq!(w.sent(&e[0]).await.len(), 1, "nothing before Dec 10");
    w.local.advance_to("2026-12-20T00:00:00Z").await;
    let sent = w.sent(&e[0]).await;
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(date(&sent[1]), "2026-12-10");
    assert_eq!(date(&sent[2]), "2026-12-12", "spaced from the held step");
}
