//! What comes back (R-9, R-2.3), end to end through HTTP on the real
//! `outreach-local`: SES events at `/dev/ses-events`, mail at `/dev/inbound`,
//! faults at `/dev/faults`.

use outreach_tests::{Client, Local, hard_bounce, ses_event};
use serde_json::{Value, json};

const START: &str = "2026-12-01T14:00:00Z";

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
                json!({"address": "alice@recruit.example", "display_name": "Alice R"}),
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

    async fn candidate(&self, emails: &[(&str, &str)]) -> String {
        let emails: Vec<Value> = emails
            .iter()
            .map(|(a, t)| json!({"address": a, "type": t}))
            .collect();
        let c = self
            .api
            .post(
                "/v1/candidates",
                json!({"first_name": "Ada", "last_name": "L", "emails": emails}),
            )
            .await;
        c["id"].as_str().unwrap().into()
    }

    /// A started 3-step campaign with `candidates`; returns (campaign, enrollment ids).
    async fn campaign(&self, candidates: &[&str], recipient: Value) -> (String, Vec<String>) {
        let c = self
            .api
            .post(
                &format!("/v1/projects/{}/campaigns", self.project),
                json!({"name": "C", "sender_account_id": self.account, "when_to_send": {"mode": "when_started"},
                       "recipient": recipient, "steps": [
                    {"subject": "Hello", "body": "<p>Hi</p>"},
                    {"body": "<p>Again</p>", "delay_days": 2},
                    {"body": "<p>Last</p>", "delay_days": 2}]}),
            )
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        let added = self
            .api
            .post(
                &format!("/v1/campaigns/{id}/enrollments"),
                json!({"candidate_ids": candidates, "allow_duplicate": true}),
            )
            .await;
        assert_eq!(added["refused"], json!([]), "{added}");
        self.api
            .post(&format!("/v1/campaigns/{id}/start"), json!({}))
            .await;
        let ids = added["enrollments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        (id, ids)
    }

    async fn enrollment(&self, campaign: &str, id: &str) -> Value {
        self.api
            .get(&format!("/v1/campaigns/{campaign}/enrollments/{id}"))
            .await
    }

    /// Outbox messages of one enrollment, in send order.
    async fn sent(&self, enrollment: &str) -> Vec<Value> {
        self.local
            .outbox()
            .await
            .into_iter()
            .filter(|m| m["enrollment_id"] == enrollment)
            .collect()
    }

    async fn refunds(&self) -> usize {
        let credits = self.api.get("/v1/credits?limit=100").await;
        credits["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "refund")
            .count()
    }
}

fn id(m: &Value) -> &str {
    m["message_id"].as_str().unwrap()
}

#[tokio::test]
async fn hard_bounces_cascade_work_work_personal_then_end_bounced_with_one_refund() {
    // R-9.2, R-7.2, R-3.5, R-9.3, R-9.8
    let w = World::new().await;
    let cand = w
        .candidate(&[
            ("ada@home.example", "personal"),
            ("ada@work1.example", "work"),
            ("ada@work2.example", "work"),
        ])
        .await;
    let work = json!({"prefer": "work", "strict": false});
    let (ca, ea) = w.campaign(&[&cand], work.clone()).await;
    // A second campaign of another project reaches the same candidate (no double-outreach check yet).
    let other = w.api.post("/v1/projects", json!({"name": "Q"})).await;
    let cb = w
        .api
        .post(
            &format!("/v1/projects/{}/campaigns", other["id"].as_str().unwrap()),
            json!({"name": "B", "sender_account_id": w.account, "when_to_send": {"mode": "when_started"},
                   "recipient": work, "steps": [{"subject": "Hi from B", "body": "<p>B</p>"}]}),
        )
        .await;
    let cb = cb["id"].as_str().unwrap().to_owned();
    let added = w
        .api
        .post(
            &format!("/v1/campaigns/{cb}/enrollments"),
            json!({"candidate_ids": [cand], "allow_duplicate": true}),
        )
        .await;
    let eb = added["enrollments"][0]["id"].as_str().unwrap().to_owned();
    w.api
        .post(&format!("/v1/campaigns/{cb}/start"), json!({}))
        .await;
    let balance_before = w.api.get("/v1/credits").await["balance"].as_i64().unwrap();

    w.local.advance("PT20M").await;
    let a1 = w.sent(&ea[0]).await;
    let b1 = w.sent(&eb).await;
    assert_eq!(a1[0]["to"], "ada@work1.example");
    assert_eq!(b1[0]["to"], "ada@work1.example");
    w.local
        .ses(hard_bounce(id(&a1[0]), "ada@work1.example", "fb-a1"))
        .await;
    w.local
        .ses(hard_bounce(id(&b1[0]), "ada@work1.example", "fb-b1"))
        .await;
    let e = w.enrollment(&ca, &ea[0]).await;
    assert_eq!(e["steps"][0]["attempts"][0]["status"], "bounced");
    let c = w.api.get(&format!("/v1/candidates/{cand}")).await;
    let status_of = |c: &Value, a: &str| {
        c["emails"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["address"] == a)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status_of(&c, "ada@work1.example"), "bounced", "R-3.5");

    // Re-sent within a few minutes to the next work address, as attempt 2.
    w.local.advance("PT2M").await;
    let a2 = w.sent(&ea[0]).await;
    assert_eq!(a2.len(), 2);
    assert_eq!(a2[1]["to"], "ada@work2.example");
    assert_eq!(a2[1]["step_index"], 1);
    let b2 = w.sent(&eb).await;
    assert_eq!(b2[1]["to"], "ada@work2.example");
    w.local
        .ses(hard_bounce(id(&a2[1]), "ada@work2.example", "fb-a2"))
        .await;
    w.local
        .ses(hard_bounce(id(&b2[1]), "ada@work2.example", "fb-b2"))
        .await;
    w.local.advance("PT2M").await;
    let a3 = w.sent(&ea[0]).await;
    assert_eq!(
        a3[2]["to"], "ada@home.example",
        "falls back to personal (R-7.2)"
    );
    let b3 = w.sent(&eb).await;
    // The last address bounces: the notification arrives three times, and from both campaigns.
    for _ in 0..3 {
        w.local
            .ses(hard_bounce(id(&a3[2]), "ada@home.example", "fb-a3"))
            .await;
    }
    w.local
        .ses(hard_bounce(id(&b3[2]), "ada@home.example", "fb-b3"))
        .await;
    w.local.advance("PT5M").await;
    let e = w.enrollment(&ca, &ea[0]).await;
    assert_eq!(e["status"], "bounced");
    assert_eq!(e["status_label"], "Bounced (Ended)");
    assert_eq!(e["steps"][0]["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(e["steps"][1]["status"], "cancelled");
    assert_eq!(w.enrollment(&cb, &eb).await["status"], "bounced");
    assert_eq!(w.refunds().await, 1, "R-9.3: exactly one refund");
    assert_eq!(
        w.api.get("/v1/credits").await["balance"].as_i64().unwrap(),
        balance_before + 1
    );
    // Nothing more is sent to this candidate.
    w.local.advance("P10D").await;
    assert_eq!(w.sent(&ea[0]).await.len(), 3);
}

#[tokio::test]
async fn strict_preference_ends_bounced_without_touching_other_types_or_refunding() {
    // R-7.2 strict, R-9.2, R-9.3
    let w = World::new().await;
    let cand = w
        .candidate(&[
            ("ada@home.example", "personal"),
            ("ada@work.example", "work"),
        ])
        .await;
    let (c, e) = w
        .campaign(&[&cand], json!({"prefer": "work", "strict": true}))
        .await;
    w.local.advance("PT20M").await;
    let sent = w.sent(&e[0]).await;
    assert_eq!(sent[0]["to"], "ada@work.example");
    w.local
        .ses(hard_bounce(id(&sent[0]), "ada@work.example", "fb-strict"))
        .await;
    w.local.advance("P7D").await;
    assert_eq!(
        w.sent(&e[0]).await.len(),
        1,
        "the personal address is never mailed"
    );
    assert_eq!(w.enrollment(&c, &e[0]).await["status"], "bounced");
    assert_eq!(w.refunds().await, 0, "a profile address is left: no refund");
}

#[tokio::test]
async fn delivery_and_soft_bounces_then_a_second_soft_bounce_counts_as_hard() {
    // R-9.1, R-9.4
    let w = World::new().await;
    let cand = w
        .candidate(&[
            ("ada@work.example", "work"),
            ("ada@home.example", "personal"),
        ])
        .await;
    let (c, e) = w
        .campaign(&[&cand], json!({"prefer": "work", "strict": false}))
        .await;
    w.local.advance("PT20M").await;
    let sent = w.sent(&e[0]).await;
    let delivery = ses_event(
        "Delivery",
        id(&sent[0]),
        json!({"timestamp": "2026-12-01T14:20:05.000Z", "recipients": ["ada@work.example"], "smtpResponse": "250 ok"}),
    );
    w.local.ses(delivery.clone()).await;
    w.local.ses(delivery).await;
    assert_eq!(
        w.enrollment(&c, &e[0]).await["steps"][0]["status"],
        "delivered"
    );
    // Step 2 soft-bounces: retried once, to the same address, 24 hours later.
    w.local.advance_to("2026-12-03T15:00:00Z").await;
    let sent = w.sent(&e[0]).await;
    assert_eq!(sent.len(), 2);
    let soft = |mid: &str, fb: &str| {
        ses_event(
            "Bounce",
            mid,
            json!({"bounceType": "Transient", "bounceSubType": "MailboxFull",
            "bouncedRecipients": [{"emailAddress": "ada@work.example", "status": "4.2.2"}], "feedbackId": fb}),
        )
    };
    w.local.ses(soft(id(&sent[1]), "soft-1")).await;
    w.local.advance("PT23H").await;
    assert_eq!(w.sent(&e[0]).await.len(), 2, "not before 24 hours");
    w.local.advance("PT2H").await;
    let sent = w.sent(&e[0]).await;
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2]["to"], "ada@work.example");
    assert_eq!(sent[2]["step_index"], 2);
    // The second soft bounce of the same step is hard: next address.
    w.local.ses(soft(id(&sent[2]), "soft-2")).await;
    w.local.advance("PT5M").await;
    let sent = w.sent(&e[0]).await;
    assert_eq!(sent[3]["to"], "ada@home.example");
    let c = w.api.get(&format!("/v1/candidates/{cand}")).await;
    assert_eq!(c["emails"][0]["status"], "bounced");
}

fn reply(to: &str, from: &str, subject: &str, extra: &str) -> String {
    format!(
        "From: Ada <{from}>\nTo: {to}\nSubject: {subject}\nMessage-ID: <r-{}@mail.example>\nDate: Tue, 1 Dec 2026 15:00:00 +0000\n{extra}MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nThanks, I'm interested!\n",
        subject.len() + from.len()
    )
}

async fn reply_to_address(w: &World, enrollment: &str) -> String {
    let sent = w.sent(enrollment).await;
    let raw = w.local.raw_message(id(&sent[0])).await;
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    msg.header_raw("Reply-To")
        .unwrap()
        .trim()
        .trim_matches(['<', '>'])
        .to_owned()
}

#[tokio::test]
async fn a_reply_with_a_new_subject_and_no_threading_stops_the_sequence() {
    // R-9.6: matched by the Reply-To token alone; later steps cancelled.
    let w = World::new().await;
    let cand = w.candidate(&[("ada@work.example", "work")]).await;
    let (c, e) = w.campaign(&[&cand], json!(null)).await;
    w.local.advance("PT20M").await;
    let to = reply_to_address(&w, &e[0]).await;
    let r = w
        .local
        .inbound(&reply(
            &to,
            "ada@work.example",
            "Totally different subject",
            "",
        ))
        .await;
    assert_eq!(r["kind"], "reply");
    assert_eq!(r["enrollment_ids"], json!([e[0]]));
    let enr = w.enrollment(&c, &e[0]).await;
    assert_eq!(enr["status"], "replied");
    assert_eq!(enr["status_label"], "Replied (Ended)");
    assert_eq!(enr["steps"][1]["status"], "cancelled");
    w.local.advance("P10D").await;
    assert_eq!(w.sent(&e[0]).await.len(), 1);
}

#[tokio::test]
async fn a_reply_from_an_unknown_address_to_the_reply_to_stops_it_and_is_forwarded_once() {
    // R-9.6: the token matches whatever the sender's address; forwarded to the
    // owners' notification addresses, once per inbound message.
    let w = World::new().await;
    let cand = w.candidate(&[("ada@work.example", "work")]).await;
    let (c, e) = w.campaign(&[&cand], json!(null)).await;
    w.local.advance("PT20M").await;
    let to = reply_to_address(&w, &e[0]).await;
    let raw = reply(&to, "assistant@elsewhere.example", "Re: Hello", "");
    let r = w.local.inbound(&raw).await;
    assert_eq!(r["kind"], "reply");
    w.local.inbound(&raw).await;
    assert_eq!(w.enrollment(&c, &e[0]).await["status"], "replied");
    let forwards: Vec<Value> = w
        .local
        .outbox()
        .await
        .into_iter()
        .filter(|m| m["to"] == "alice@acme.example")
        .collect();
    assert_eq!(
        forwards.len(),
        1,
        "forwarded once to the owner's notification address"
    );
    let fwd = w.local.raw_message(id(&forwards[0])).await;
    let msg = mail_parser::MessageParser::default().parse(&fwd).unwrap();
    assert_eq!(
        msg.header_raw("Auto-Submitted").unwrap().trim(),
        "auto-forwarded"
    );
    assert!(
        msg.from()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap()
            .ends_with("@reply.outreach.localhost")
    );
    assert_eq!(
        msg.reply_to().unwrap().first().unwrap().address(),
        Some("assistant@elsewhere.example")
    );
    assert!(String::from_utf8_lossy(&fwd).contains("message/rfc822"));
    // The forward itself coming back never loops.
    let again = w
        .local
        .inbound(&String::from_utf8_lossy(&fwd).replace("\r\n", "\n"))
        .await;
    assert_eq!(again["kind"], "unmatched");
}

#[tokio::test]
async fn out_of_office_does_not_stop_and_holds_the_next_step_until_the_return_date() {
    // R-9.7
    let w = World::new().await;
    let cand = w.candidate(&[("ada@work.example", "work")]).await;
    let (c, e) = w.campaign(&[&cand], json!(null)).await;
    w.local.advance("PT20M").await;
    let to = reply_to_address(&w, &e[0]).await;
    let before = w.enrollment(&c, &e[0]).await["steps"][1]["scheduled_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let ooo = format!(
        "From: Ada <ada@work.example>\nTo: {to}\nSubject: Abwesenheitsnotiz: Hello\nAuto-Submitted: auto-replied\nDate: Tue, 1 Dec 2026 14:21:00 +0100\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nIch bin bis zum 07.12.2026 nicht im Büro.\n"
    );
    let r = w.local.inbound(&ooo).await;
    assert_eq!(r["kind"], "auto_reply");
    let enr = w.enrollment(&c, &e[0]).await;
    assert_eq!(
        enr["status"], "in_progress",
        "an automatic reply never ends the enrollment"
    );
    let held = enr["steps"][1]["scheduled_at"].as_str().unwrap();
    assert!(held > before.as_str(), "{held} vs {before}");
    assert!(
        held.starts_with("2026-12-08"),
        "back the day after 'bis zum 07.12.': {held}"
    );
    assert_eq!(&held[10..], &before[10..], "time of day kept");
    w.local.advance_to("2026-12-08T00:00:00Z").await;
    assert_eq!(w.sent(&e[0]).await.len(), 1, "held");
    w.local.advance_to("2026-12-09T00:00:00Z").await;
    assert_eq!(w.sent(&e[0]).await.len(), 2);
}

#[tokio::test]
async fn a_dsn_sent_to_the_reply_to_is_a_bounce_not_a_reply() {
    // R-9.7
    let w = World::new().await;
    let cand = w
        .candidate(&[
            ("ada@work.example", "work"),
            ("ada@home.example", "personal"),
        ])
        .await;
    let (c, e) = w.campaign(&[&cand], json!(null)).await;
    w.local.advance("PT20M").await;
    let to = reply_to_address(&w, &e[0]).await;
    let sent = w.sent(&e[0]).await;
    let raw = w.local.raw_message(id(&sent[0])).await;
    let original_id = mail_parser::MessageParser::default()
        .parse(&raw)
        .unwrap()
        .message_id()
        .unwrap()
        .to_owned();
    let dsn = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.work.example>\nTo: {to}\nSubject: Undelivered Mail Returned to Sender\nDate: Tue, 1 Dec 2026 14:21:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nThis is the mail system. Your message could not be delivered.\n\n--b1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.work.example\n\nFinal-Recipient: rfc822; ada@work.example\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n\n--b1\nContent-Type: text/rfc822-headers\n\nMessage-ID: <{original_id}>\nTo: ada@work.example\nSubject: Hello\n\n--b1--\n"
    );
    let r = w.local.inbound(&dsn).await;
    assert_eq!(r["kind"], "bounce");
    let enr = w.enrollment(&c, &e[0]).await;
    assert_ne!(enr["status"], "replied");
    assert_eq!(enr["steps"][0]["attempts"][0]["status"], "bounced");
    w.local.advance("PT3M").await;
    assert_eq!(w.sent(&e[0]).await[1]["to"], "ada@home.example");
}

#[tokio::test]
async fn unsubscribe_one_click_ends_every_enrollment_and_refuses_new_ones() {
    // R-9.5, RFC 8058
    let w = World::new().await;
    let cand = w.candidate(&[("ada@work.example", "work")]).await;
    let (c, e) = w.campaign(&[&cand], json!(null)).await;
    let (c2, e2) = w.campaign(&[&cand], json!(null)).await;
    w.local.advance("PT20M").await;
    let sent = w.sent(&e[0]).await;
    let raw = w.local.raw_message(id(&sent[0])).await;
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let url = msg
        .header_raw("List-Unsubscribe")
        .unwrap()
        .trim()
        .trim_matches(['<', '>'])
        .to_owned();
    let path = url.strip_prefix(&w.local.base).unwrap().to_owned();
    let page = w.local.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    let (status, body) = w
        .local
        .post_raw(
            &path,
            "application/x-www-form-urlencoded",
            b"List-Unsubscribe=One-Click".to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(w.enrollment(&c, &e[0]).await["status"], "unsubscribed");
    assert_eq!(
        w.enrollment(&c2, &e2[0]).await["status"],
        "unsubscribed",
        "every running enrollment of the candidate"
    );
    let (_, e3) = {
        let c3 = w
            .api
            .post(
                &format!("/v1/projects/{}/campaigns", w.project),
                json!({"name": "C3", "sender_account_id": w.account, "when_to_send": {"mode": "when_started"},
                       "steps": [{"subject": "Hello", "body": "<p>Hi</p>"}]}),
            )
            .await;
        let added = w
            .api
            .post(
                &format!("/v1/campaigns/{}/enrollments", c3["id"].as_str().unwrap()),
                json!({"candidate_ids": [cand]}),
            )
            .await;
        (c3, added)
    };
    assert_eq!(e3["refused"][0]["reason"], "suppressed");
    // A complaint at the other address works the same (multipart body accepted too).
    let (status, _) = w
        .local
        .post_raw(&path, "multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--x--\r\n".to_vec())
        .await;
    assert_eq!(status, 200);
    let (status, _) = w
        .local
        .post_raw(
            "/v1/unsubscribe/notarealtokenatall0000",
            "application/x-www-form-urlencoded",
            b"List-Unsubscribe=One-Click".to_vec(),
        )
        .await;
    assert_eq!(status, 404);
    w.local.advance("P10D").await;
    assert_eq!(w.sent(&e[0]).await.len(), 1);
}

#[tokio::test]
async fn a_sender_fault_pauses_notifies_and_resumes_after_relink_without_double_sends() {
    // R-2.3
    let w = World::new().await;
    let cand = w.candidate(&[("ada@work.example", "work")]).await;
    let (c, e) = w.campaign(&[&cand], json!(null)).await;
    let (status, _) = w
        .local
        .post_raw(
            "/dev/faults",
            "application/json",
            json!({"sender": "alice@recruit.example", "error": "not_verified"})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(status, 200);
    w.local.advance("PT20M").await;
    assert!(w.sent(&e[0]).await.is_empty());
    let campaign = w.api.get(&format!("/v1/campaigns/{c}")).await;
    assert_eq!(campaign["status"], "paused");
    assert_eq!(campaign["pause_reason"], "sender_error");
    let view = w
        .api
        .get(&format!("/v1/projects/{}/outreach", w.project))
        .await;
    let n = &view["notifications"][0];
    assert_eq!(n["kind"], "sender_error");
    assert!(
        n["message"]
            .as_str()
            .unwrap()
            .contains("alice@recruit.example"),
        "{n}"
    );
    assert_eq!(
        w.api
            .get(&format!("/v1/email-accounts/{}", w.account))
            .await["status"],
        "error"
    );
    // Fixed and re-linked: the notification resolves and the campaign resumes by itself.
    w.local
        .post_raw(
            "/dev/faults",
            "application/json",
            json!({"sender": "alice@recruit.example", "error": "none"})
                .to_string()
                .into_bytes(),
        )
        .await;
    let relinked = w
        .api
        .post(
            &format!("/v1/email-accounts/{}/relink", w.account),
            json!({}),
        )
        .await;
    assert_eq!(relinked["status"], "connected");
    assert_eq!(
        w.api.get(&format!("/v1/campaigns/{c}")).await["status"],
        "running"
    );
    let view = w
        .api
        .get(&format!("/v1/projects/{}/outreach", w.project))
        .await;
    assert_eq!(view["notifications"], json!([]));
    w.local.advance("PT20M").await;
    w.local.advance("P10D").await;
    let sent = w.sent(&e[0]).await;
    assert_eq!(sent.len(), 3, "each step once");
    // A campaign the user paused stays paused through a relink.
    w.api
        .post(
            &format!("/v1/email-accounts/{}/relink", w.account),
            json!({}),
        )
        .await;
    let view = w
        .api
        .get(&format!("/v1/projects/{}/outreach", w.project))
        .await;
    assert_eq!(view["campaigns"][0]["counts"]["steps"][0]["sent"], 1);
}

async fn fault(w: &World, sender: &str, error: &str) {
    let (status, body) = w
        .local
        .post_raw(
            "/dev/faults",
            "application/json",
            json!({"sender": sender, "error": error})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_hourly_identity_check_pauses_campaigns_of_an_identity_that_lost_verification() {
    // R-2.3: SES raises no event for it, so the service checks at least hourly.
    let w = World::new().await;
    let cand = w.candidate(&[("ada@work.example", "work")]).await;
    let c = w
        .api
        .post(
            &format!("/v1/projects/{}/campaigns", w.project),
            json!({"name": "Later", "sender_account_id": w.account, "when_to_send": {"mode": "specific_time", "time": "23:00"},
                   "steps": [{"subject": "Hello", "body": "<p>Hi</p>"}]}),
        )
        .await;
    let cid = c["id"].as_str().unwrap();
    w.api
        .post(
            &format!("/v1/campaigns/{cid}/enrollments"),
            json!({"candidate_ids": [cand]}),
        )
        .await;
    w.api
        .post(&format!("/v1/campaigns/{cid}/start"), json!({}))
        .await;
    fault(&w, "alice@recruit.example", "not_verified").await;
    w.local.advance("PT59M").await;
    assert_eq!(
        w.api.get(&format!("/v1/campaigns/{cid}")).await["status"],
        "running"
    );
    w.local.advance("PT2M").await;
    let campaign = w.api.get(&format!("/v1/campaigns/{cid}")).await;
    assert_eq!(campaign["status"], "paused");
    assert_eq!(campaign["pause_reason"], "sender_error");
    let view = w
        .api
        .get(&format!("/v1/projects/{}/outreach", w.project))
        .await;
    assert!(
        view["notifications"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no longer verified")
    );
    assert!(w.local.outbox().await.is_empty());
}

#[tokio::test]
async fn the_reputation_guard_pauses_above_four_percent_hard_bounces() {
    // R-2.5: over the last 200 sends of an account, at least 50 sent.
    let w = World::new().await;
    let mut candidates = Vec::new();
    for i in 0..50 {
        candidates.push(
            w.candidate(&[(&format!("c{i}@work.example"), "work")])
                .await,
        );
    }
    let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
    let (c, _) = w.campaign(&refs, json!(null)).await;
    w.local.advance("PT20M").await;
    let sent = w.local.outbox().await;
    assert_eq!(sent.len(), 50);
    for (i, m) in sent.iter().take(2).enumerate() {
        w.local
            .ses(hard_bounce(
                id(m),
                m["to"].as_str().unwrap(),
                &format!("rep-{i}"),
            ))
            .await;
    }
    assert_eq!(
        w.api.get(&format!("/v1/campaigns/{c}")).await["status"],
        "running",
        "2 of 50 is 4 %: not above"
    );
    w.local
        .ses(hard_bounce(
            id(&sent[2]),
            sent[2]["to"].as_str().unwrap(),
            "rep-2",
        ))
        .await;
    let campaign = w.api.get(&format!("/v1/campaigns/{c}")).await;
    assert_eq!(campaign["status"], "paused");
    assert_eq!(campaign["pause_reason"], "sender_reputation");
    let view = w
        .api
        .get(&format!("/v1/projects/{}/outreach", w.project))
        .await;
    let kinds: Vec<&str> = view["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"sender_reputation"), "{view}");
    // The guard does not resume by itself; a user does.
    let resumed = w
        .api
        .post(&format!("/v1/campaigns/{c}/resume"), json!({}))
        .await;
    assert_eq!(resumed["status"], "running");
}

#[tokio::test]
async fn throttling_defers_and_replans_and_never_bounces() {
    // R-2.5, R-8.4: account-wide refusals are back-pressure, not bounces.
    let w = World::new().await;
    let cand = w.candidate(&[("ada@work.example", "work")]).await;
    let (c, e) = w.campaign(&[&cand], json!(null)).await;
    fault(&w, "alice@recruit.example", "throttled").await;
    w.local.advance("PT22M").await;
    assert!(w.sent(&e[0]).await.is_empty());
    let enr = w.enrollment(&c, &e[0]).await;
    assert_eq!(enr["steps"][0]["status"], "scheduled");
    assert!(
        enr["steps"][0]["attempts"].as_array().unwrap().is_empty(),
        "nothing handed off, nothing bounced"
    );
    fault(&w, "alice@recruit.example", "none").await;
    w.local.advance("PT5M").await;
    let sent = w.sent(&e[0]).await;
    assert_eq!(sent.len(), 1);
    let cand_view = w.api.get(&format!("/v1/candidates/{cand}")).await;
    assert_eq!(cand_view["emails"][0]["status"], "valid");
}

#[tokio::test]
async fn events_about_unknown_messages_are_retried_for_fifteen_minutes_and_reordered_ones_change_nothing()
 {
    // R-9.8
    let w = World::new().await;
    let r = w
        .local
        .ses(hard_bounce("never-sent-id", "x@y.example", "fb-unknown"))
        .await;
    assert_eq!(r["outcome"], "RetryLater");
    // An event of a message that is no campaign step (its `kind` tag says so,
    // e.g. a forwarded reply) is ignored at once, not retried.
    let mut forward = ses_event(
        "Delivery",
        "forward-id",
        json!({"recipients": ["alice@acme.example"], "timestamp": "2026-12-01T14:20:05.000Z"}),
    );
    let mut message: Value = serde_json::from_str(forward["Message"].as_str().unwrap()).unwrap();
    message["mail"]["tags"] = json!({"kind": ["forward"]});
    forward["Message"] = Value::String(message.to_string());
    let r = w.local.ses(forward).await;
    assert!(r["outcome"].to_string().contains("forward message"), "{r}");
    w.local.advance("PT16M").await;
    // The retries ran and gave up: no error, no effect.
    let cand = w
        .candidate(&[
            ("ada@work.example", "work"),
            ("ada@home.example", "personal"),
        ])
        .await;
    let (c, e) = w.campaign(&[&cand], json!(null)).await;
    w.local.advance("PT20M").await;
    let sent = w.sent(&e[0]).await;
    // A bounce, then a delivery of the same message arriving late: still bounced.
    w.local
        .ses(hard_bounce(id(&sent[0]), "ada@work.example", "fb-x"))
        .await;
    w.local
        .ses(ses_event(
            "Delivery",
            id(&sent[0]),
            json!({"recipients": ["ada@work.example"], "timestamp": "2026-12-01T14:20:05.000Z"}),
        ))
        .await;
    let enr = w.enrollment(&c, &e[0]).await;
    assert_eq!(enr["steps"][0]["attempts"][0]["status"], "bounced");
    // Malformed notifications get a clear error, not a crash.
    let (status, body) = w
        .local
        .post_raw("/dev/ses-events", "application/json", b"{not json".to_vec())
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = w
        .local
        .post_raw("/dev/inbound", "message/rfc822", Vec::new())
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn a_user_retries_a_bounced_enrollment_with_a_typed_address() {
    // R-9.2: "pick another address ... and retry", resuming from the bounced step.
    let w = World::new().await;
    let cand = w.candidate(&[("ada@work.example", "work")]).await;
    let (c, e) = w.campaign(&[&cand], json!(null)).await;
    w.local.advance("PT20M").await;
    let sent = w.sent(&e[0]).await;
    w.local
        .ses(hard_bounce(id(&sent[0]), "ada@work.example", "fb-r"))
        .await;
    w.local.advance("PT5M").await;
    assert_eq!(w.enrollment(&c, &e[0]).await["status"], "bounced");
    let (status, p) = w
        .api
        .call(
            "POST",
            &format!("/v1/campaigns/{c}/enrollments/{}/retry", e[0]),
            Some(json!({"address": "ada@work.example"})),
        )
        .await;
    assert_eq!(status, 422, "a bounced address is refused: {p}");
    let r = w
        .api
        .post(
            &format!("/v1/campaigns/{c}/enrollments/{}/retry", e[0]),
            json!({"address": "ada.lovelace@new.example"}),
        )
        .await;
    assert_eq!(r["status"], "not_started");
    w.local.advance("PT1M").await;
    let sent = w.sent(&e[0]).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["to"], "ada.lovelace@new.example");
    assert_eq!(sent[1]["step_index"], 1);
    let enr = w.enrollment(&c, &e[0]).await;
    assert_eq!(enr["status"], "in_progress");
    assert_eq!(enr["steps"][0]["attempts"].as_array().unwrap().len(), 2);
    w.local.advance("P10D").await;
    let sent = w.sent(&e[0]).await;
    assert_eq!(sent.len(), 4, "the later steps follow to the new address");
    assert!(
        sent.iter()
            .skip(1)
            .all(|m| m["to"] == "ada.lovelace@new.example")
    );
}

#[tokio::test]
async fn out_of_office_replies_in_five_languages_never_stop_and_their_return_dates_hold_the_next_step()
 {
    // R-9.7: English, German, French, Spanish, Dutch.
    let w = World::new().await;
    let replies = [
        (
            "Out of Office: Hello",
            "I am out of the office and will be back on December 9, 2026.",
        ),
        (
            "Abwesenheitsnotiz: Hello",
            "Ich bin ab dem 9. Dezember 2026 wieder im Büro.",
        ),
        (
            "Réponse automatique : Hello",
            "Je suis absente. De retour le 9 décembre 2026.",
        ),
        (
            "Respuesta automática: Hello",
            "Estoy fuera de la oficina. Regresaré el 9 de diciembre de 2026.",
        ),
        (
            "Automatisch antwoord: Hello",
            "Ik ben afwezig en terug op 9 december 2026.",
        ),
    ];
    let mut cands = Vec::new();
    for i in 0..replies.len() {
        cands.push(
            w.candidate(&[(&format!("p{i}@work.example"), "work")])
                .await,
        );
    }
    let refs: Vec<&str> = cands.iter().map(String::as_str).collect();
    let (c, e) = w.campaign(&refs, json!(null)).await;
    w.local.advance("PT20M").await;
    for (i, (subject, body)) in replies.iter().enumerate() {
        let to = reply_to_address(&w, &e[i]).await;
        let raw = format!(
            "From: P <p{i}@work.example>\nTo: {to}\nSubject: {subject}\nAuto-Submitted: auto-replied\nDate: Tue, 1 Dec 2026 14:21:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
        );
        let r = w.local.inbound(&raw).await;
        assert_eq!(r["kind"], "auto_reply", "{subject}");
        let enr = w.enrollment(&c, &e[i]).await;
        assert_eq!(enr["status"], "in_progress", "{subject}");
        let held = enr["steps"][1]["scheduled_at"].as_str().unwrap();
        assert!(held.starts_with("2026-12-09"), "{subject}: {held}");
    }
    w.local.advance_to("2026-12-09T00:00:00Z").await;
    for id in &e {
        assert_eq!(w.sent(id).await.len(), 1, "held until the return date");
    }
    w.local.advance_to("2026-12-10T00:00:00Z").await;
    for id in &e {
        assert_eq!(w.sent(id).await.len(), 2);
    }
}

#[tokio::test]
async fn a_bounce_of_the_last_step_of_a_finished_enrollment_cascades_and_a_complaint_suppresses() {
    // R-5.3 (finished still takes what comes back), R-9.2, R-9.5
    let w = World::new().await;
    let cand = w
        .candidate(&[
            ("ada@work.example", "work"),
            ("ada@home.example", "personal"),
        ])
        .await;
    let c = w
        .api
        .post(
            &format!("/v1/projects/{}/campaigns", w.project),
            json!({"name": "One", "sender_account_id": w.account, "when_to_send": {"mode": "when_started"},
                   "steps": [{"subject": "Hello", "body": "<p>Hi</p>"}]}),
        )
        .await;
    let cid = c["id"].as_str().unwrap().to_owned();
    let added = w
        .api
        .post(
            &format!("/v1/campaigns/{cid}/enrollments"),
            json!({"candidate_ids": [cand]}),
        )
        .await;
    let eid = added["enrollments"][0]["id"].as_str().unwrap().to_owned();
    w.api
        .post(&format!("/v1/campaigns/{cid}/start"), json!({}))
        .await;
    w.local.advance("PT20M").await;
    assert_eq!(w.enrollment(&cid, &eid).await["status"], "finished");
    assert_eq!(
        w.api.get(&format!("/v1/campaigns/{cid}")).await["status"],
        "completed"
    );
    let sent = w.sent(&eid).await;
    w.local
        .ses(hard_bounce(id(&sent[0]), "ada@work.example", "fb-last"))
        .await;
    w.local.advance("PT3M").await;
    let sent = w.sent(&eid).await;
    assert_eq!(
        sent.len(),
        2,
        "the last step is re-sent to the next address"
    );
    assert_eq!(sent[1]["to"], "ada@home.example");
    // A complaint about it: suppressed, opted out, no more mail to this person.
    let complaint = ses_event(
        "Complaint",
        id(&sent[1]),
        json!({"complainedRecipients": [{"emailAddress": "ada@home.example"}], "feedbackId": "fb-complaint",
               "complaintFeedbackType": "abuse", "timestamp": "2026-12-01T15:00:00.000Z"}),
    );
    w.local.ses(complaint.clone()).await;
    w.local.ses(complaint).await;
    assert_eq!(w.enrollment(&cid, &eid).await["status"], "unsubscribed");
    let candidate = w.api.get(&format!("/v1/candidates/{cand}")).await;
    let home = candidate["emails"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == "ada@home.example")
        .unwrap();
    assert_eq!(home["status"], "suppressed");
    let (status, _) = w
        .api
        .call(
            "POST",
            &format!("/v1/candidates/{cand}/messages"),
            Some(json!({"sender_account_id": w.account, "subject": "Hi", "body": "<p>x</p>"})),
        )
        .await;
    assert_eq!(status, 422, "R-9.5: single messages to them answer 422");
}

/// A delivery-status report about `recipient`, addressed to `to`, returning
/// the original `original_id`.
fn dsn(to: &str, recipient: &str, status: &str, original_id: &str) -> String {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.work.example>\nTo: {to}\nSubject: Undelivered Mail Returned to Sender\nDate: Tue, 1 Dec 2026 14:21:00 +0000\nMessage-ID: <dsn-{status}@mx.work.example>\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nThis is the mail system. Your message could not be delivered.\n\n--b1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.work.example\n\nFinal-Recipient: rfc822; {recipient}\nAction: failed\nStatus: {status}\nDiagnostic-Code: smtp; 550 {status} refused\n\n--b1\nContent-Type: text/rfc822-headers\n\nMessage-ID: <{original_id}>\nTo: {recipient}\nSubject: Hello\n\n--b1--\n"
    )
}

async fn message_id_header(w: &World, enrollment: &str) -> String {
    let sent = w.sent(enrollment).await;
    let raw = w.local.raw_message(id(&sent[0])).await;
    mail_parser::MessageParser::default()
        .parse(&raw)
        .unwrap()
        .message_id()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_forged_dsn_at_the_reply_domain_counts_only_within_its_enrollment() {
    // R-9.7 (issue 15 finding 3): anyone can write a DSN to a Reply-To. It never
    // pauses the sender, never bounces the address for the organization, never
    // refunds: it only bounces that enrollment's step.
    let w = World::new().await;
    let cand = w.candidate(&[("ada@work.example", "work")]).await;
    let (c, e) = w.campaign(&[&cand], json!(null)).await;
    w.local.advance("PT20M").await;
    let to = reply_to_address(&w, &e[0]).await;
    let original = message_id_header(&w, &e[0]).await;

    // 5.7.1 at the reply domain: recorded only.
    let r = w
        .local
        .inbound(&dsn(&to, "ada@work.example", "5.7.1", &original))
        .await;
    assert_eq!(r["kind"], "bounce");
    assert_eq!(
        w.api
            .get(&format!("/v1/email-accounts/{}", w.account))
            .await["status"],
        "connected",
        "a reply-domain DSN never puts the sender account in error"
    );
    assert_eq!(
        w.api.get(&format!("/v1/campaigns/{c}")).await["status"],
        "running"
    );
    let enr = w.enrollment(&c, &e[0]).await;
    assert_eq!(enr["status"], "in_progress");
    assert_ne!(enr["steps"][0]["attempts"][0]["status"], "bounced");

    // A report about an address the message did not go to changes nothing.
    w.local
        .inbound(&dsn(&to, "someone@else.example", "5.1.1", &original))
        .await;
    assert_ne!(
        w.enrollment(&c, &e[0]).await["steps"][0]["attempts"][0]["status"],
        "bounced"
    );

    // 5.1.1: that step bounces within the enrollment, which has no other
    // address and ends `bounced` — but the address is not bounced for the
    // organization and no credit comes back.
    w.local
        .inbound(&dsn(&to, "ada@work.example", "5.1.1", &original))
        .await;
    assert_eq!(
        w.enrollment(&c, &e[0]).await["steps"][0]["attempts"][0]["status"],
        "bounced"
    );
    w.local.advance("PT5M").await;
    assert_eq!(w.enrollment(&c, &e[0]).await["status"], "bounced");
    assert_eq!(w.refunds().await, 0, "a forged bounce never refunds");
    let candidate = w.api.get(&format!("/v1/candidates/{cand}")).await;
    assert_ne!(candidate["emails"][0]["status"], "bounced", "{candidate}");
    // Another campaign still mails the address.
    let (_, e2) = w.campaign(&[&cand], json!(null)).await;
    w.local.advance("PT20M").await;
    let sent = w.sent(&e2[0]).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["to"], "ada@work.example");
}

#[tokio::test]
async fn a_message_nested_twenty_thousand_deep_is_unmatched_too_complex() {
    // R-9.6 (issue 15 finding 4): it used to overflow the stack and abort the process.
    let w = World::new().await;
    let mut raw = String::from(
        "From: x@y.example\r\nTo: hello@reply.outreach.localhost\r\nSubject: deep\r\n",
    );
    for _ in 0..20_000 {
        raw.push_str("Content-Type: message/rfc822\r\n\r\n");
    }
    raw.push_str("Subject: bottom\r\n\r\nhi\r\n");
    let (status, body) = w
        .local
        .post_raw("/dev/inbound", "message/rfc822", raw.into_bytes())
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["kind"], "unmatched");
    assert_eq!(body["reason"], "too_complex");
    // Still serving.
    assert_eq!(w.api.get("/v1/me").await["display_name"], "Alice");
}

#[tokio::test]
async fn a_reply_without_token_or_threading_id_ends_nothing_and_reaches_no_organization() {
    // R-9.6 (issue 15 finding 5): two organizations mailed the same address; a
    // message From it with neither a token nor a threading id is unmatched.
    let w = World::new().await;
    let cand = w.candidate(&[("ada@shared.example", "work")]).await;
    let (c, e) = w.campaign(&[&cand], json!(null)).await;

    let globex = w.local.as_user("globex", "bob");
    globex
        .call(
            "PUT",
            "/v1/me",
            Some(json!({"display_name": "Bob", "timezone": "UTC"})),
        )
        .await;
    let account = globex
        .post(
            "/v1/email-accounts",
            json!({"address": "bob@globex-mail.example", "display_name": "Bob"}),
        )
        .await;
    let project = globex.post("/v1/projects", json!({"name": "G"})).await;
    let gcand = globex
        .post(
            "/v1/candidates",
            json!({"first_name": "Ada", "last_name": "L", "emails": [{"address": "ada@shared.example", "type": "work"}]}),
        )
        .await;
    let gc = globex
        .post(
            &format!("/v1/projects/{}/campaigns", project["id"].as_str().unwrap()),
            json!({"name": "G", "sender_account_id": account["id"], "when_to_send": {"mode": "when_started"},
                   "steps": [{"subject": "Hello", "body": "<p>Hi</p>"}, {"body": "<p>Again</p>", "delay_days": 2}]}),
        )
        .await;
    let gcid = gc["id"].as_str().unwrap().to_owned();
    let added = globex
        .post(
            &format!("/v1/campaigns/{gcid}/enrollments"),
            json!({"candidate_ids": [gcand["id"]]}),
        )
        .await;
    let ge = added["enrollments"][0]["id"].as_str().unwrap().to_owned();
    globex
        .post(&format!("/v1/campaigns/{gcid}/start"), json!({}))
        .await;
    w.local.advance("PT20M").await;
    assert_eq!(w.sent(&e[0]).await.len(), 1);
    assert_eq!(w.sent(&ge).await.len(), 1);

    let raw = reply(
        "hello@reply.outreach.localhost",
        "ada@shared.example",
        "Re: Hello",
        "",
    );
    let r = w.local.inbound(&raw).await;
    assert_eq!(r["kind"], "unmatched", "{r}");
    assert_eq!(r["enrollment_ids"], json!([]));
    assert_eq!(w.enrollment(&c, &e[0]).await["status"], "in_progress");
    let genr = globex
        .get(&format!("/v1/campaigns/{gcid}/enrollments/{ge}"))
        .await;
    assert_eq!(genr["status"], "in_progress");
    let forwards = w
        .local
        .outbox()
        .await
        .into_iter()
        .filter(|m| m["to"] == "alice@acme.example" || m["to"] == "bob@globex.example")
        .count();
    assert_eq!(forwards, 0, "forwarded to no one");

    // With acme's token the same sender ends acme's enrollment only.
    let to = reply_to_address(&w, &e[0]).await;
    let r = w
        .local
        .inbound(&reply(&to, "ada@shared.example", "Re: Hello", ""))
        .await;
    assert_eq!(r["enrollment_ids"], json!([e[0]]));
    assert_eq!(w.enrollment(&c, &e[0]).await["status"], "replied");
    let genr = globex
        .get(&format!("/v1/campaigns/{gcid}/enrollments/{ge}"))
        .await;
    assert_eq!(genr["status"], "in_progress");
}

#[tokio::test]
async fn tokens_match_whatever_case_a_mail_system_gives_them() {
    // R-9.6: a lower-cased (or upper-cased) Reply-To still matches; so does
    // the unsubscribe link.
    let w = World::new().await;
    let cand = w.candidate(&[("ada@work.example", "work")]).await;
    let (c, e) = w.campaign(&[&cand], json!(null)).await;
    let (c2, e2) = w.campaign(&[&cand], json!(null)).await;
    w.local.advance("PT20M").await;
    let to = reply_to_address(&w, &e[0]).await;
    let r = w
        .local
        .inbound(&reply(
            &to.to_lowercase(),
            "assistant@elsewhere.example",
            "New subject",
            "",
        ))
        .await;
    assert_eq!(r["enrollment_ids"], json!([e[0]]), "{to}");
    assert_eq!(w.enrollment(&c, &e[0]).await["status"], "replied");

    let to2 = reply_to_address(&w, &e2[0]).await;
    let (local, domain) = to2.split_once('@').unwrap();
    let upper = format!("{}@{domain}", local.to_uppercase());
    let r = w
        .local
        .inbound(&reply(&upper, "assistant@elsewhere.example", "Other", ""))
        .await;
    assert_eq!(r["enrollment_ids"], json!([e2[0]]), "{upper}");

    // The unsubscribe link, upper-cased.
    let (_, e3) = w.campaign(&[&cand], json!(null)).await;
    w.local.advance("PT20M").await;
    let sent = w.sent(&e3[0]).await;
    let raw = w.local.raw_message(id(&sent[0])).await;
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let url = msg
        .header_raw("List-Unsubscribe")
        .unwrap()
        .trim()
        .trim_matches(['<', '>'])
        .to_owned();
    let path = url.strip_prefix(&w.local.base).unwrap();
    let (prefix, token) = path.rsplit_once('/').unwrap();
    let (status, body) = w
        .local
        .post_raw(
            &format!("{prefix}/{}", token.to_uppercase()),
            "application/x-www-form-urlencoded",
            b"List-Unsubscribe=One-Click".to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let _ = c2;
}
