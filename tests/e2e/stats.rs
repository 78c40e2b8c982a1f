//! Issue 21, end to end on the real `outreach-local` with the manual clock:
//! the statistics of — kept as events happen, each counted at its own
//! time over a half-open range, grouped by campaign, step, sender, template
//! and user, with rates and the median time to first reply, as JSON and CSV.

use chrono::{DateTime, Utc};
use outreach_tests::{Client, Local, hard_bounce, ses_event};
use serde_json::{Value, json};

const START: &str = "2026-12-01T14:00:00Z";

struct World {
    local: Local,
    alice: Client,
    bob: Client,
    accounts: [String; 2],
    project: String,
    template: String,
}

impl World {
    async fn new() -> World {
        let local = Local::spawn(START).await;
        let alice = local.as_user("acme", "alice");
        let bob = local.as_user("acme", "bob");
        let mut accounts = Vec::new();
        for (who, name) in [(&alice, "alice"), (&bob, "bob")] {
            who.call(
                "PUT",
                "/v1/me",
                Some(json!({"display_name": name, "timezone": "UTC"})),
            )
            .await;
            let a = who
                .post(
                    "/v1/email-accounts",
                    json!({"address": format!("{name}@recruit.example"), "display_name": name}),
                )
                .await;
            accounts.push(a["id"].as_str().unwrap().to_owned());
        }
        let project = alice.post("/v1/projects", json!({"name": "P"})).await;
        let template = alice
            .post(
                "/v1/templates",
                json!({"name": "T", "steps": [{"subject": "Hello", "body": "<p>Hi</p>"}]}),
            )
            .await;
        World {
            local,
            alice,
            bob,
            accounts: [accounts[0].clone(), accounts[1].clone()],
            project: project["id"].as_str().unwrap().into(),
            template: template["id"].as_str().unwrap().into(),
        }
    }

    async fn candidate(&self, address: &str) -> String {
        let c = self
            .alice
            .post(
                "/v1/candidates",
                json!({"first_name": "Ada", "last_name": "L",
                       "emails": [{"address": address, "type": "work"}]}),
            )
            .await;
        c["id"].as_str().unwrap().into()
    }

    /// A started one-step campaign of `owner` (0: Alice from the template,
    /// 1: Bob inline) with `candidates`; returns (campaign, enrollments).
    async fn campaign(&self, owner: usize, candidates: &[String]) -> (String, Vec<String>) {
        let who = [&self.alice, &self.bob][owner];
        let mut body = json!({"name": format!("C{owner}"), "sender_account_id": self.accounts[owner],
                              "when_to_send": {"mode": "when_started"}});
        if owner == 0 {
            body["template_id"] = json!(self.template);
        } else {
            body["steps"] = json!([{"subject": "Hello", "body": "<p>Hi</p>"}]);
        }
        let c = who
            .post(&format!("/v1/projects/{}/campaigns", self.project), body)
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        let added = who
            .post(
                &format!("/v1/campaigns/{id}/enrollments"),
                json!({"candidate_ids": candidates}),
            )
            .await;
        assert_eq!(added["refused"], json!([]), "{added}");
        who.post(&format!("/v1/campaigns/{id}/start"), json!({}))
            .await;
        let enrollments = added["enrollments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        (id, enrollments)
    }

    /// The message sent on an enrollment and its Reply-To address.
    async fn sent(&self, enrollment: &str) -> (Value, String) {
        let m = self
            .local
            .outbox()
            .await
            .into_iter()
            .find(|m| m["enrollment_id"] == enrollment)
            .expect("a message was sent");
        let raw = self
            .local
            .raw_message(m["message_id"].as_str().unwrap())
            .await;
        let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let reply_to = msg.header_raw("Reply-To").unwrap().trim();
        let reply_to = reply_to.trim_matches(['<', '>']).to_owned();
        (m, reply_to)
    }

    async fn stats(&self, query: &str) -> Vec<Value> {
        let v = self.alice.get(&format!("/v1/stats?{query}")).await;
        v["items"].as_array().unwrap().clone()
    }
}

fn reply(n: u32, to: &str, from: &str, body: &str) -> String {
    format!(
        "From: Ada <{from}>\nTo: {to}\nSubject: Re: Hello\nMessage-ID: <s{n}@mail.example>\nDate: Tue, 1 Dec 2026 15:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{body}\n\nOn Tue, 1 Dec 2026 at 14:00, Alice <alice@recruit.example> wrote:\n> Hi\n"
    )
}

fn auto_reply(to: &str, from: &str) -> String {
    format!(
        "From: Bea <{from}>\nTo: {to}\nSubject: Out of office: Hello\nAuto-Submitted: auto-replied\nMessage-ID: <auto@mail.example>\nDate: Tue, 1 Dec 2026 15:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n\nI am out of the office with limited access to email.\n"
    )
}

fn line<'a>(items: &'a [Value], key: &str) -> &'a Value {
    items
        .iter()
        .find(|l| l["key"] == key)
        .unwrap_or_else(|| panic!("no line {key}: {items:?}"))
}

const DAY: &str = "from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z";

#[tokio::test]
async fn statistics_count_each_event_at_its_own_time_and_agree_with_the_campaigns() {
    let w = World::new().await;
    let mut cands = Vec::new();
    for a in ["ada@a.example", "bea@b.example", "cy@c.example"] {
        cands.push(w.candidate(a).await);
    }
    let dee = w.candidate("dee@d.example").await;
    let (c0, e0) = w.campaign(0, &cands).await;
    let (c1, e1) = w.campaign(1, std::slice::from_ref(&dee)).await;
    w.local.advance("PT20M").await;
    // At 14:20: delivered (ada), hard-bounced (bea).
    let (ada, _) = w.sent(&e0[0]).await;
    let (bea, _) = w.sent(&e0[1]).await;
    let delivery = ses_event(
        "Delivery",
        ada["message_id"].as_str().unwrap(),
        json!({"timestamp": "2026-12-01T14:20:00.000Z", "recipients": ["ada@a.example"]}),
    );
    w.local.ses(delivery).await;
    w.local
        .ses(hard_bounce(
            bea["message_id"].as_str().unwrap(),
            "bea@b.example",
            "fb-1",
        ))
        .await;
    // At 14:40: cy replies twice (the second is kept, not counted); dee's
    // mailbox answers automatically.
    w.local.advance_to("2026-12-01T14:40:00Z").await;
    let (cy, cy_reply_to) = w.sent(&e0[2]).await;
    for (n, text) in [
        (1, "I'm interested, can we talk Thursday?"),
        (2, "Also: Friday works."),
    ] {
        let r = w
            .local
            .inbound(&reply(n, &cy_reply_to, "cy@c.example", text))
            .await;
        assert_eq!(r["kind"], "reply", "{r}");
    }
    let (_, dee_reply_to) = w.sent(&e1[0]).await;
    let r = w
        .local
        .inbound(&auto_reply(&dee_reply_to, "dee@d.example"))
        .await;
    assert_eq!(r["kind"], "auto_reply", "{r}");

    let items = w.stats(&format!("group_by=campaign&{DAY}")).await;
    assert_eq!(items.len(), 2, "{items:?}");
    let l0 = line(&items, &c0);
    assert_eq!(l0["sent"], 3);
    assert_eq!(l0["delivered"], 1);
    assert_eq!(l0["bounced"], 1);
    assert_eq!(l0["replied"], 1, "the first reply only");
    assert_eq!(l0["replied_by_class"], json!({"interested": 1}));
    assert_eq!(l0["auto_replies"], 0);
    let third = 1.0 / 3.0;
    assert!(
        (l0["reply_rate"].as_f64().unwrap() - third).abs() < 1e-9,
        "{l0}"
    );
    assert!(
        (l0["bounce_rate"].as_f64().unwrap() - third).abs() < 1e-9,
        "{l0}"
    );
    let sent_at: DateTime<Utc> = cy["sent_at"].as_str().unwrap().parse().unwrap();
    let replied_at: DateTime<Utc> = "2026-12-01T14:40:00Z".parse().unwrap();
    let delay = (replied_at - sent_at).num_seconds() as f64;
    assert_eq!(l0["median_time_to_reply_s"], json!(delay), "{l0}");
    let l1 = line(&items, &c1);
    assert_eq!(l1["sent"], 1);
    assert_eq!(l1["auto_replies"], 1);
    assert_eq!(l1["replied"], 0);
    assert_eq!(l1["median_time_to_reply_s"], Value::Null);

    // Half-open ranges, each event at its own time: the replies at 14:40
    // lie in [14:30, 14:45), the sends do not; [14:45, 15:00) is empty.
    let late = w
        .stats("group_by=campaign&from=2026-12-01T14:30:00Z&to=2026-12-01T14:45:00Z")
        .await;
    let l = line(&late, &c0);
    assert_eq!(
        (l["sent"].clone(), l["replied"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(l["reply_rate"], Value::Null, "nothing sent in the range");
    let empty = w
        .stats("group_by=campaign&from=2026-12-01T14:45:00Z&to=2026-12-01T15:00:00Z")
        .await;
    assert!(empty.is_empty(), "{empty:?}");

    // Grouped by user (the campaign's owner), sender, template and step.
    let by_user = w.stats(&format!("group_by=user&{DAY}")).await;
    assert_eq!(by_user.len(), 2, "{by_user:?}");
    assert!(by_user.iter().any(|l| l["sent"] == 3) && by_user.iter().any(|l| l["sent"] == 1));
    let by_sender = w.stats(&format!("group_by=sender&{DAY}")).await;
    assert_eq!(line(&by_sender, &w.accounts[0])["sent"], 3);
    assert_eq!(line(&by_sender, &w.accounts[1])["sent"], 1);
    let by_template = w.stats(&format!("group_by=template&{DAY}")).await;
    assert_eq!(line(&by_template, &w.template)["replied"], 1);
    assert_eq!(line(&by_template, "inline")["auto_replies"], 1);
    let by_step = w.stats(&format!("group_by=step&{DAY}")).await;
    assert_eq!(line(&by_step, &format!("{c0}:1"))["sent"], 3);

    // A user's correction of the class moves the count.
    let replies = w.alice.get("/v1/replies?class=interested").await;
    let id = replies["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = w
        .alice
        .call(
            "PATCH",
            &format!("/v1/replies/{id}"),
            Some(json!({"class": "referral"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let items = w.stats(&format!("group_by=campaign&{DAY}")).await;
    assert_eq!(
        line(&items, &c0)["replied_by_class"],
        json!({"referral": 1})
    );

    // The same answer as CSV.
    let (status, headers, csv) = w
        .alice
        .call_with(
            "GET",
            &format!("/v1/stats?group_by=campaign&{DAY}"),
            &[("accept", "text/csv")],
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/csv"),
        "{headers:?}"
    );
    let csv = csv.as_str().unwrap().to_owned();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "key,sent,delivered,bounced,replied,replied_interested,replied_not_interested,replied_opt_out,replied_referral,replied_other,auto_replies,unsubscribed,complaints,reply_rate,bounce_rate,median_time_to_reply_s"
    );
    let row = lines.find(|l| l.starts_with(&c0)).expect("a row per key");
    assert!(
        row.starts_with(&format!("{c0},3,1,1,1,0,0,0,1,0,0,0,0,")),
        "{row}"
    );
}

#[tokio::test]
async fn a_bad_range_or_grouping_is_refused_at_its_field() {
    let w = World::new().await;
    for (query, field) in [
        ("group_by=project", "group_by"),
        ("from=2026-12-01T14:10:00Z&to=2026-12-01T15:00:00Z", "from"),
        ("from=2026-12-01T14:00:00Z&to=2026-12-01T15:00:01Z", "to"),
        ("from=2026-12-01T15:00:00Z&to=2026-12-01T14:00:00Z", "to"),
        ("from=2025-01-01T00:00:00Z&to=2026-12-01T00:00:00Z", "to"),
        ("from=yesterday", "from"),
    ] {
        let (status, body) = w
            .alice
            .call("GET", &format!("/v1/stats?{query}"), None)
            .await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }
    // A range in a zone whose offset is not whole hours is whole buckets.
    let (status, body) = w
        .alice
        .call(
            "GET",
            "/v1/stats?from=2026-12-01T00:00:00%2B05:45&to=2026-12-02T00:00:00%2B05:45",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"], json!([]));
}

#[tokio::test]
async fn only_a_reply_that_stopped_the_sequence_counts_and_every_complaint_does() {
    // Outside review: a reply to an enrollment that ended unsubscribed before it arrived
    // stopped nothing and is not a first reply (R-11.3 agrees with the
    // enrollments); a complaint after the candidate replied still counts.
    let w = World::new().await;
    let ada = w.candidate("ada@a.example").await;
    let bea = w.candidate("bea@b.example").await;
    let (c0, e0) = w.campaign(0, &[ada, bea]).await;
    w.local.advance("PT20M").await;
    let (ada_sent, ada_reply_to) = w.sent(&e0[0]).await;
    let (bea_sent, bea_reply_to) = w.sent(&e0[1]).await;
    // Ada clicks the unsubscribe link: her enrollment ends `unsubscribed`.
    let message_id = ada_sent["message_id"].as_str().unwrap();
    let raw = w.local.raw_message(message_id).await;
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let url = msg.header_raw("List-Unsubscribe").unwrap().trim();
    let url = url.trim_matches(['<', '>']);
    let path = url.strip_prefix(&w.local.base).unwrap().to_owned();
    let (status, body) = w
        .local
        .post_raw(
            &path,
            "application/x-www-form-urlencoded",
            b"List-Unsubscribe=One-Click".to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let r = w
        .local
        .inbound(&reply(1, &ada_reply_to, "ada@a.example", "Interested!"))
        .await;
    assert_eq!(r["kind"], "reply", "{r}");
    let r = w
        .local
        .inbound(&reply(2, &bea_reply_to, "bea@b.example", "Interested!"))
        .await;
    assert_eq!(r["kind"], "reply", "{r}");
    w.local
        .ses(ses_event(
            "Complaint",
            bea_sent["message_id"].as_str().unwrap(),
            json!({"complainedRecipients": [{"emailAddress": "bea@b.example"}],
                   "feedbackId": "fb-bea", "complaintFeedbackType": "abuse",
                   "timestamp": "2026-12-01T15:00:00.000Z"}),
        ))
        .await;
    let items = w.stats(&format!("group_by=campaign&{DAY}")).await;
    let l = line(&items, &c0);
    assert_eq!(l["sent"], 2, "{l}");
    assert_eq!(l["replied"], 1, "only bea's reply stopped a sequence: {l}");
    assert_eq!(l["complaints"], 1, "a complaint after a reply counts: {l}");
    assert_eq!(l["unsubscribed"], 1, "ada's link: {l}");
    // Both replies are in the inbox.
    assert_eq!(
        w.alice.get("/v1/replies").await["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Every bad field at once; CSV whatever the case of the media type.
    let (status, body) = w
        .alice
        .call("GET", "/v1/stats?group_by=x&from=bad&to=bad", None)
        .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["group_by", "from", "to"], "{body}");
    let (status, headers, _) = w
        .alice
        .call_with(
            "GET",
            &format!("/v1/stats?{DAY}"),
            &[("accept", "TEXT/CSV")],
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let (_, headers, _) = w
        .alice
        .call_with(
            "GET",
            &format!("/v1/stats?{DAY}"),
            &[("accept", "application/json, text/csv;q=0.1")],
            None,
        )
        .await;
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn a_csv_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text() {
    // issue 21 (review t48): a user id may be `+2+3`; as the
    // key of `group_by=user` it was written as is, which a spreadsheet runs
    // as a formula. It gets a leading `'` (OWASP CSV injection).
    let local = Local::spawn(START).await;
    let odd = local.as_user("acme", "+2+3");
    odd.call(
        "PUT",
        "/v1/me",
        Some(json!({"display_name": "Odd", "timezone": "UTC"})),
    )
    .await;
    let account = odd
        .post(
            "/v1/email-accounts",
            json!({"address": "odd@recruit.example", "display_name": "Odd"}),
        )
        .await;
    let project = odd.post("/v1/projects", json!({"name": "P"})).await;
    let cand = odd
        .post(
            "/v1/candidates",
            json!({"first_name": "Ada", "last_name": "L",
                   "emails": [{"address": "ada@x.example", "type": "work"}]}),
        )
        .await;
    let c = odd
        .post(
            &format!("/v1/projects/{}/campaigns", project["id"].as_str().unwrap()),
            json!({"name": "C", "sender_account_id": account["id"],
                   "when_to_send": {"mode": "when_started"},
                   "steps": [{"subject": "Hello", "body": "<p>Hi</p>"}]}),
        )
        .await;
    let id = c["id"].as_str().unwrap();
    odd.post(
        &format!("/v1/campaigns/{id}/enrollments"),
        json!({"candidate_ids": [cand["id"]]}),
    )
    .await;
    odd.post(&format!("/v1/campaigns/{id}/start"), json!({}))
        .await;
    local.advance("PT20M").await;
    let (status, _, body) = local
        .as_user("acme", "alice")
        .call_with(
            "GET",
            &format!("/v1/stats?group_by=user&{DAY}"),
            &[("accept", "text/csv")],
            None,
        )
        .await;
    assert_eq!(status, 200);
    let csv = body.as_str().expect("a CSV body").to_owned();
    let line = csv
        .lines()
        .find(|l| l.contains("+2+3"))
        .unwrap_or_else(|| panic!("the user's line: {csv}"));
    assert!(line.starts_with("'+2+3,1,"), "{csv}");
}
