//! Issue 16 items 6, 7 and 10, end to end on the real `outreach-local` with
//! the manual clock: replies matched by the candidate's other address (R-9.6
//! rule 4), forwarding to every owner of every enrollment a reply ended, in
//! 7bit/8bit, never from an owner's address, and the re-send of a step
//! a 5.7.x bounce refused once the account is connected again.

use mail_parser::MimeHeaders;
use outreach_tests::{Client, Local, ses_event};
use serde_json::{Value, json};

const START: &str = "2026-12-01T14:00:00Z";

/// Alice (acme) with her sender account, shared with her colleague Bob, and a project.
struct World {
    local: Local,
    alice: Client,
    bob: Client,
    account: String,
    project: String,
}

impl World {
    async fn new() -> World {
        let local = Local::spawn(START).await;
        let alice = local.as_user("acme", "alice");
        let bob = local.as_user("acme", "bob");
        for (who, name) in [(&alice, "Alice"), (&bob, "Bob")] {
            who.call(
                "PUT",
                "/v1/me",
                Some(json!({"display_name": name, "timezone": "UTC"})),
            )
            .await;
        }
        let account = alice
            .post(
                "/v1/email-accounts",
                json!({"address": "alice@recruit.example", "display_name": "Alice R"}),
            )
            .await;
        let account = account["id"].as_str().unwrap().to_owned();
        alice
            .post(
                &format!("/v1/email-accounts/{account}/delegates"),
                json!({"user_id": "bob", "org_id": "acme"}),
            )
            .await;
        let project = alice.post("/v1/projects", json!({"name": "P"})).await;
        World {
            local,
            alice,
            bob,
            account,
            project: project["id"].as_str().unwrap().into(),
        }
    }

    async fn candidate(&self, emails: &[(&str, &str)]) -> String {
        let emails: Vec<Value> = emails
            .iter()
            .map(|(a, t)| json!({"address": a, "type": t}))
            .collect();
        let c = self
            .alice
            .post(
                "/v1/candidates",
                json!({"first_name": "Ada", "last_name": "L", "emails": emails}),
            )
            .await;
        c["id"].as_str().unwrap().into()
    }

    /// A started three-step campaign of `owner` from Alice's account; returns
    /// (campaign, enrollment of `candidate`).
    async fn campaign(&self, owner: &Client, candidate: &str) -> (String, String) {
        let (id, e) = self.draft(owner, candidate).await;
        owner
            .post(&format!("/v1/campaigns/{id}/start"), json!({}))
            .await;
        (id, e)
    }

    /// The same campaign, not started: a draft with `candidate` in it.
    async fn draft(&self, owner: &Client, candidate: &str) -> (String, String) {
        let c = owner
            .post(
                &format!("/v1/projects/{}/campaigns", self.project),
                json!({"name": "C", "sender_account_id": self.account,
                       "when_to_send": {"mode": "when_started"},
                       "recipient": {"prefer": "work", "strict": false},
                       "steps": [{"subject": "Hello", "body": "<p>Hi</p>"},
                                 {"body": "<p>Again</p>", "delay_days": 2},
                                 {"body": "<p>Last</p>", "delay_days": 2}]}),
            )
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        let added = owner
            .post(
                &format!("/v1/campaigns/{id}/enrollments"),
                json!({"candidate_ids": [candidate], "allow_duplicate": true}),
            )
            .await;
        assert_eq!(added["refused"], json!([]), "{added}");
        let e = added["enrollments"][0]["id"].as_str().unwrap().to_owned();
        (id, e)
    }

    async fn status(&self, campaign: &str, enrollment: &str) -> Value {
        let e = self
            .alice
            .get(&format!(
                "/v1/campaigns/{campaign}/enrollments/{enrollment}"
            ))
            .await;
        e["status"].clone()
    }

    async fn sent(&self, enrollment: &str) -> Vec<Value> {
        self.local
            .outbox()
            .await
            .into_iter()
            .filter(|m| m["enrollment_id"] == enrollment)
            .collect()
    }

    /// Outbox messages that are not campaign steps (forwards), to `to`.
    async fn forwards_to(&self, to: &str) -> Vec<Value> {
        self.local
            .outbox()
            .await
            .into_iter()
            .filter(|m| m["enrollment_id"].is_null() && m["to"] == to)
            .collect()
    }

    async fn reply_to_address(&self, enrollment: &str) -> String {
        let sent = self.sent(enrollment).await;
        let raw = self
            .local
            .raw_message(sent[0]["message_id"].as_str().unwrap())
            .await;
        let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
        msg.header_raw("Reply-To")
            .unwrap()
            .trim()
            .trim_matches(['<', '>'])
            .to_owned()
    }
}

/// A hard bounce for the sender account's fault (5.7.26, DMARC) of the
/// message `sent` to ada@work.example.
fn auth_bounce(sent: &Value) -> Value {
    ses_event(
        "Bounce",
        sent["message_id"].as_str().unwrap(),
        json!({"bounceType": "Permanent", "bounceSubType": "General",
               "bouncedRecipients": [{"emailAddress": "ada@work.example", "action": "failed",
                   "status": "5.7.26", "diagnosticCode": "smtp; 550 5.7.26 unauthenticated (DMARC)"}],
               "timestamp": "2026-12-01T14:21:00.000Z", "feedbackId": "fb-auth"}),
    )
}

fn reply(n: u32, to: &str, from: &str, body: &str) -> String {
    format!(
        "From: Someone <{from}>\nTo: {to}\nSubject: Re: Hello\nMessage-ID: <r{n}@mail.example>\nDate: Tue, 1 Dec 2026 15:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}\n"
    )
}

#[tokio::test]
async fn a_reply_from_the_candidates_other_address_ends_every_enrollment_from_that_account() {
    // rule 4, issue 16 item 6: the candidate writes from an address no
    // campaign ever sent to. The token names the organization and the sender
    // account; the rule ends every running enrollment of that candidate sent
    // from that account, not only the one the token names.
    let w = World::new().await;
    let cand = w
        .candidate(&[
            ("ada@work.example", "work"),
            ("ada@home.example", "personal"),
        ])
        .await;
    let (c1, e1) = w.campaign(&w.alice, &cand).await;
    let (c2, e2) = w.campaign(&w.alice, &cand).await;
    w.local.advance("PT20M").await;
    assert_eq!(w.sent(&e1).await[0]["to"], "ada@work.example");
    assert_eq!(w.sent(&e2).await[0]["to"], "ada@work.example");
    let to = w.reply_to_address(&e1).await;
    let r = w
        .local
        .inbound(&reply(1, &to, "ada@home.example", "Yes, let's talk."))
        .await;
    assert_eq!(r["kind"], "reply", "{r}");
    let mut ids: Vec<String> = r["enrollment_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut want = vec![e1.clone(), e2.clone()];
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(w.status(&c1, &e1).await, "replied");
    assert_eq!(w.status(&c2, &e2).await, "replied");
    w.local.advance("P10D").await;
    assert_eq!(w.sent(&e2).await.len(), 1, "no later step after the reply");
}

#[tokio::test]
async fn a_reply_by_the_candidates_address_leaves_a_draft_campaigns_enrollment_alone() {
    // the address rules end only running enrollments; a draft's has
    // sent nothing, and the campaign may still start and mail the candidate.
    let w = World::new().await;
    let cand = w
        .candidate(&[
            ("ada@work.example", "work"),
            ("ada@home.example", "personal"),
        ])
        .await;
    let (c1, e1) = w.campaign(&w.alice, &cand).await;
    let (c2, e2) = w.draft(&w.alice, &cand).await;
    w.local.advance("PT20M").await;
    let to = w.reply_to_address(&e1).await;
    let r = w
        .local
        .inbound(&reply(1, &to, "ada@home.example", "Yes, let's talk."))
        .await;
    assert_eq!(r["enrollment_ids"], json!([e1]), "{r}");
    assert_eq!(w.status(&c1, &e1).await, "replied");
    assert_ne!(w.status(&c2, &e2).await, "replied");
    w.alice
        .post(&format!("/v1/campaigns/{c2}/start"), json!({}))
        .await;
    w.local.advance("PT20M").await;
    assert_eq!(
        w.sent(&e2).await.len(),
        1,
        "the draft, started, still mails"
    );
}

#[tokio::test]
async fn a_reply_is_forwarded_once_to_every_owner_of_every_enrollment_it_ended_in_eight_bit() {
    // issue 16 item 7: Alice's and Bob's campaigns (both from Alice's
    // account) mailed Ada; her reply to Alice's campaign ends both, and goes
    // once to Alice and once to Bob, the original attached unchanged as
    // message/rfc822 in 8bit (RFC 2046 forbids base64 there).
    let w = World::new().await;
    let cand = w.candidate(&[("ada@work.example", "work")]).await;
    let (c1, e1) = w.campaign(&w.alice, &cand).await;
    let (c2, e2) = w.campaign(&w.bob, &cand).await;
    w.local.advance("PT20M").await;
    let to = w.reply_to_address(&e1).await;
    let raw = reply(2, &to, "ada@work.example", "Grüße — gern, reden wir.");
    let r = w.local.inbound(&raw).await;
    assert_eq!(r["kind"], "reply", "{r}");
    assert_eq!(w.status(&c1, &e1).await, "replied");
    assert_eq!(w.status(&c2, &e2).await, "replied");
    w.local.inbound(&raw).await;
    let to_alice = w.forwards_to("alice@acme.example").await;
    let to_bob = w.forwards_to("bob@acme.example").await;
    assert_eq!(to_alice.len(), 1, "once to the account's owner");
    assert_eq!(to_bob.len(), 1, "once to the other campaign's owner");

    let fwd = w
        .local
        .raw_message(to_bob[0]["message_id"].as_str().unwrap())
        .await;
    let msg = mail_parser::MessageParser::default().parse(&fwd).unwrap();
    let part = msg
        .attachments()
        .find(|p| {
            p.content_type()
                .is_some_and(|ct| ct.ctype() == "message" && ct.subtype() == Some("rfc822"))
        })
        .expect("the original is attached as message/rfc822");
    let cte = part
        .content_transfer_encoding()
        .expect("a transfer encoding")
        .to_ascii_lowercase();
    assert_eq!(cte, "8bit", "{}", String::from_utf8_lossy(&fwd));
    let original = raw.replace('\n', "\r\n");
    assert!(
        fwd.windows(original.len())
            .any(|w| w == original.as_bytes()),
        "the original travels unchanged:\n{}",
        String::from_utf8_lossy(&fwd)
    );
    assert!(
        fwd.split(|b| *b == b'\n').all(|line| line.len() <= 998),
        "lines fit SMTP"
    );

    // An ASCII original goes as 7bit.
    let cand2 = w.candidate(&[("bo@work.example", "work")]).await;
    let (_, e3) = w.campaign(&w.alice, &cand2).await;
    w.local.advance("PT20M").await;
    let to = w.reply_to_address(&e3).await;
    w.local
        .inbound(&reply(3, &to, "bo@work.example", "Sounds good."))
        .await;
    let to_alice = w.forwards_to("alice@acme.example").await;
    assert_eq!(to_alice.len(), 2);
    let fwd = w
        .local
        .raw_message(to_alice[1]["message_id"].as_str().unwrap())
        .await;
    let msg = mail_parser::MessageParser::default().parse(&fwd).unwrap();
    let part = msg
        .attachments()
        .find(|p| p.content_type().is_some_and(|ct| ct.ctype() == "message"))
        .expect("attached");
    assert_eq!(
        part.content_transfer_encoding()
            .map(str::to_ascii_lowercase),
        Some("7bit".to_owned())
    );
}

#[tokio::test]
async fn mail_from_an_owners_address_is_forwarded_to_no_one() {
    // issue 16 item 7: no loops — mail that comes from any owner's
    // address (a notification address, the sender account's own) is not
    // forwarded, not even to the other owner.
    let w = World::new().await;
    let cand = w.candidate(&[("ada@work.example", "work")]).await;
    let (_, e1) = w.campaign(&w.alice, &cand).await;
    // Bob's campaign from Alice's account: Alice and Bob both own what its
    // token names, and one of them writing never reaches the other.
    let (_, e2) = w.campaign(&w.bob, &cand).await;
    w.local.advance("PT20M").await;
    assert_eq!(w.sent(&e1).await.len(), 1);
    let to = w.reply_to_address(&e2).await;
    for (n, from) in [
        (4, "bob@acme.example"),
        (5, "alice@acme.example"),
        (6, "alice@recruit.example"),
    ] {
        w.local
            .inbound(&reply(n, &to, from, "Forwarding this."))
            .await;
    }
    assert_eq!(w.forwards_to("alice@acme.example").await.len(), 0);
    assert_eq!(w.forwards_to("bob@acme.example").await.len(), 0);
}

#[tokio::test]
async fn a_step_refused_for_authentication_is_sent_again_to_the_same_address_after_the_relink() {
    // issue 16 item 10: a 5.7.x bounce is the sender account's
    // fault; the address stays valid and the refused step goes again to it as
    // attempt 2 once the account is connected again.
    let w = World::new().await;
    let cand = w.candidate(&[("ada@work.example", "work")]).await;
    let (c, e) = w.campaign(&w.alice, &cand).await;
    w.local.advance("PT20M").await;
    let sent = w.sent(&e).await;
    assert_eq!(sent.len(), 1);
    let bounce = auth_bounce(&sent[0]);
    w.local.ses(bounce.clone()).await;
    w.local.ses(bounce).await;
    let campaign = w.alice.get(&format!("/v1/campaigns/{c}")).await;
    assert_eq!(campaign["pause_reason"], "sender_error");
    let enr = w
        .alice
        .get(&format!("/v1/campaigns/{c}/enrollments/{e}"))
        .await;
    assert_eq!(enr["steps"][0]["attempts"][0]["status"], "failed", "{enr}");
    let ada = w.alice.get(&format!("/v1/candidates/{cand}")).await;
    assert_ne!(
        ada["emails"][0]["status"], "bounced",
        "the address stays valid"
    );
    w.local.advance("PT30M").await;
    assert_eq!(
        w.sent(&e).await.len(),
        1,
        "nothing while the account is in error"
    );

    let relinked = w
        .alice
        .post(
            &format!("/v1/email-accounts/{}/relink", w.account),
            json!({}),
        )
        .await;
    assert_eq!(relinked["status"], "connected");
    assert_eq!(
        w.alice.get(&format!("/v1/campaigns/{c}")).await["status"],
        "running"
    );
    w.local.advance("PT30M").await;
    let sent = w.sent(&e).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1]["to"], "ada@work.example");
    assert_eq!(sent[1]["step_index"], 1);
    let enr = w
        .alice
        .get(&format!("/v1/campaigns/{c}/enrollments/{e}"))
        .await;
    let attempts = enr["steps"][0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{enr}");
    assert_eq!(attempts[1]["number"], 2);
    assert_eq!(attempts[1]["address"], "ada@work.example");
    // The sequence goes on after it, each step once.
    w.local.advance("P10D").await;
    let steps: Vec<u64> = w
        .sent(&e)
        .await
        .iter()
        .map(|m| m["step_index"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, vec![1, 1, 2, 3]);
}

#[tokio::test]
async fn removing_an_account_in_error_pauses_its_campaigns_as_sender_removed() {
    // R-2.2 (issue 22 review): a campaign already paused `sender_error` takes
    // the reason `sender_removed` once its account is removed, and linking
    // the same address again resumes it.
    let w = World::new().await;
    let cand = w.candidate(&[("ada@work.example", "work")]).await;
    let (c, e) = w.campaign(&w.alice, &cand).await;
    w.local.advance("PT20M").await;
    let sent = w.sent(&e).await;
    let bounce = auth_bounce(&sent[0]);
    w.local.ses(bounce).await;
    let reason = |v: Value| v["pause_reason"].clone();
    let path = format!("/v1/campaigns/{c}");
    assert_eq!(reason(w.alice.get(&path).await), "sender_error");
    let (status, _) = w
        .alice
        .call("DELETE", &format!("/v1/email-accounts/{}", w.account), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(reason(w.alice.get(&path).await), "sender_removed");
    let again = w
        .alice
        .post(
            "/v1/email-accounts",
            json!({"address": "alice@recruit.example", "display_name": "Alice R"}),
        )
        .await;
    assert_eq!(
        again["id"],
        w.account.as_str(),
        "the same account comes back"
    );
    assert_eq!(w.alice.get(&path).await["status"], "running");
}
