//! Contact history and the warnings of adding candidates end to end
//! through HTTP on the real `outreach-local`.

use outreach_tests::{Client, Local, hard_bounce};
use serde_json::{Value, json};

const START: &str = "2026-12-01T14:00:00Z"; // Tuesday

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

    async fn candidate(&self, name: &str, address: &str) -> String {
        let c = self
            .api
            .post(
                "/v1/candidates",
                json!({"first_name": name, "last_name": "L",
                       "emails": [{"address": address, "type": "work"}]}),
            )
            .await;
        c["id"].as_str().unwrap().into()
    }

    async fn campaign(&self, name: &str) -> String {
        let c = self
            .api
            .post(
                &format!("/v1/projects/{}/campaigns", self.project),
                json!({"name": name, "sender_account_id": self.account,
                       "when_to_send": {"mode": "when_started"},
                       "steps": [{"subject": "Hello {{ candidate.first_name }}", "body": "<p>Hi</p>"}]}),
            )
            .await;
        c["id"].as_str().unwrap().into()
    }

    async fn add(&self, campaign: &str, candidates: &[&str]) -> Value {
        let (status, v) = self
            .api
            .call(
                "POST",
                &format!("/v1/campaigns/{campaign}/enrollments"),
                Some(json!({"candidate_ids": candidates, "allow_duplicate": true})),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        v
    }

    async fn sent_to(&self, enrollment: &str) -> Vec<Value> {
        self.local
            .outbox()
            .await
            .into_iter()
            .filter(|m| m["enrollment_id"] == enrollment)
            .collect()
    }
}

/// The warnings of one candidate, as `(kind, campaign_id)`.
fn warnings_of(added: &Value, candidate: &str) -> Vec<(String, String)> {
    added["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["candidate_id"] == candidate)
        .map(|w| {
            (
                w["kind"].as_str().unwrap().to_owned(),
                w["campaign_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn enrollment_of(added: &Value, candidate: &str) -> String {
    added["enrollments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["candidate_id"] == candidate)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn reply_to_address(w: &World, enrollment: &str) -> String {
    let sent = w.sent_to(enrollment).await;
    let raw = w
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

#[tokio::test]
async fn adding_warns_of_recent_mail_a_reply_and_a_bounce_and_never_refuses() {
    // contacted_recently (90 days, on the service's clock),
    // replied_before (with the reply's class as it stands, R-9.9: after a
    // user's correction, the corrected one), bounced_before; a warning never
    // refuses.
    let w = World::new().await;
    let ada = w.candidate("Ada", "ada@x.example").await;
    let bob = w.candidate("Bob", "bob@x.example").await;
    let cy = w.candidate("Cy", "cy@x.example").await;
    let dee = w.candidate("Dee", "dee@x.example").await;
    let first = w.campaign("First").await;
    let added = w.add(&first, &[&ada, &bob, &cy]).await;
    assert_eq!(
        added["warnings"],
        json!([]),
        "a first contact warns of nothing"
    );
    w.api
        .post(&format!("/v1/campaigns/{first}/start"), json!({}))
        .await;
    w.local.advance("PT20M").await;
    let to = reply_to_address(&w, &enrollment_of(&added, &ada)).await;
    let reply = format!(
        "From: Ada <ada@x.example>\nTo: {to}\nSubject: Re: Hello\nMessage-ID: <r-1@mail.example>\nDate: Tue, 1 Dec 2026 15:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nThanks, I'm interested!\n"
    );
    assert_eq!(w.local.inbound(&reply).await["kind"], "reply");
    let bob_sent = w.sent_to(&enrollment_of(&added, &bob)).await;
    w.local
        .ses(hard_bounce(
            bob_sent[0]["message_id"].as_str().unwrap(),
            "bob@x.example",
            "fb-bob",
        ))
        .await;

    let second = w.campaign("Second").await;
    let added = w.add(&second, &[&ada, &bob, &cy, &dee]).await;
    assert_eq!(added["enrollments"].as_array().unwrap().len(), 4, "{added}");
    assert_eq!(added["refused"], json!([]));
    let kinds = |c: &str| -> Vec<(String, String)> { warnings_of(&added, c) };
    let contacted = ("contacted_recently".to_owned(), first.clone());
    assert_eq!(
        kinds(&ada),
        vec![contacted.clone(), ("replied_before".into(), first.clone())]
    );
    assert_eq!(
        kinds(&bob),
        vec![contacted.clone(), ("bounced_before".into(), first.clone())]
    );
    assert_eq!(kinds(&cy), vec![contacted.clone()]);
    assert!(kinds(&dee).is_empty());
    let replied = added["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["kind"] == "replied_before")
        .unwrap();
    assert_eq!(replied["class"], "interested", "{replied}");
    assert!(replied["at"].as_str().unwrap().starts_with("2026-12-01T"));

    // A user corrects the reply's class; the next warning says so.
    let replies = w.api.get("/v1/replies").await;
    let reply_id = replies["items"][0]["id"]
        .as_str()
        .expect("a reply")
        .to_owned();
    let (status, answer) = w
        .api
        .call(
            "PATCH",
            &format!("/v1/replies/{reply_id}"),
            Some(json!({"class": "referral"})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");

    // 91 days later the mail is no longer recent; the reply and the bounce
    // still warn.
    w.local.advance("P91D").await;
    let third = w.campaign("Third").await;
    let added = w.add(&third, &[&ada, &bob, &cy]).await;
    assert_eq!(
        warnings_of(&added, &ada),
        vec![("replied_before".to_owned(), first.clone())]
    );
    let corrected = added["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["kind"] == "replied_before")
        .unwrap();
    assert_eq!(corrected["class"], "referral", "{corrected}");
    assert_eq!(
        warnings_of(&added, &bob),
        vec![("bounced_before".to_owned(), first.clone())]
    );
    assert!(warnings_of(&added, &cy).is_empty());
}

#[tokio::test]
async fn the_history_lists_enrollments_and_messages_newest_first_hiding_a_colleagues_manual_address()
 {
    //
    let w = World::new().await;
    let bob = w.local.as_user("acme", "bob");
    let bob_account = bob
        .post(
            "/v1/email-accounts",
            json!({"address": "bob@recruit.example", "display_name": "Bob R"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ada = w.candidate("Ada", "ada@x.example").await;
    bob.post(
        &format!("/v1/candidates/{ada}/emails"),
        json!({"address": "ada.secret@home.example", "type": "personal"}),
    )
    .await;
    let campaign = w.campaign("First").await;
    w.add(&campaign, &[&ada]).await;
    w.api
        .post(&format!("/v1/campaigns/{campaign}/start"), json!({}))
        .await;
    w.local.advance("PT20M").await;
    w.local.advance("PT2H").await;
    let message = bob
        .post(
            &format!("/v1/candidates/{ada}/messages"),
            json!({"sender_account_id": bob_account, "subject": "Coffee?", "body": "<p>Hi</p>",
                   "address": "ada.secret@home.example"}),
        )
        .await;
    assert_eq!(message["status"], "sent", "{message}");

    let history = w.api.get(&format!("/v1/candidates/{ada}/history")).await;
    assert!(
        !history.to_string().contains("ada.secret"),
        "a colleague's manual address is never shown: {history}"
    );
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{history}");
    assert_eq!(history["cursor"], Value::Null);
    // Newest first: Bob's message, then Alice's campaign.
    assert_eq!(items[0]["kind"], "message");
    assert_eq!(items[0]["id"], message["id"]);
    assert!(items[0].get("campaign_id").is_none());
    assert_eq!(items[0]["sender"]["address"], "bob@recruit.example");
    assert_eq!(items[0]["sent"][0]["subject"], "Coffee?");
    assert_eq!(items[0]["sent"][0]["address"], Value::Null);
    assert_eq!(items[0]["answer"], false, "not an answer to a reply");
    assert_eq!(items[1]["kind"], "enrollment");
    assert_eq!(items[1]["campaign_id"], campaign.as_str());
    assert_eq!(items[1]["campaign_name"], "First");
    assert_eq!(items[1]["sender"]["address"], "alice@recruit.example");
    let sent = &items[1]["sent"][0];
    assert_eq!(sent["step_index"], 1);
    assert_eq!(sent["subject"], "Hello {{ candidate.first_name }}");
    assert_eq!(sent["address"], "ada@x.example");
    assert!(sent["sent_at"].as_str().unwrap() < items[0]["at"].as_str().unwrap());
    assert_eq!(items[1]["outcome"]["replied"], false);
    assert_eq!(items[1]["outcome"]["bounced"], false);

    // Its author sees the address.
    let own = bob.get(&format!("/v1/candidates/{ada}/history")).await;
    assert_eq!(
        own["items"][0]["sent"][0]["address"],
        "ada.secret@home.example"
    );
    // Pages.
    let page = w
        .api
        .get(&format!("/v1/candidates/{ada}/history?limit=1"))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["kind"], "message");
    let next = w
        .api
        .get(&format!(
            "/v1/candidates/{ada}/history?limit=1&cursor={}",
            page["cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(next["items"][0]["kind"], "enrollment");
    assert_eq!(next["cursor"], Value::Null);
    // Another organization's caller, or an unknown candidate: 404.
    let other = w.local.as_user("globex", "eve");
    let (status, _) = other
        .call("GET", &format!("/v1/candidates/{ada}/history"), None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = w
        .api
        .call("GET", "/v1/candidates/cand_nope/history", None)
        .await;
    assert_eq!(status, 404);
}
