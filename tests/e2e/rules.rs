//! Rules an outside review found broken (issue 16), each reproduced end to end
//! on the real `outreach-local` with the manual clock, as the review drove it.

use outreach_tests::{Client, Local, hard_bounce, ses_event};
use serde_json::{Value, json};

const START: &str = "2026-12-01T14:00:00Z";

/// Alice with a sender account and a project.
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

    /// `n` candidates with one work address each.
    async fn candidates(&self, n: usize) -> Vec<String> {
        let mut ids = Vec::new();
        for i in 0..n {
            let c = self
                .api
                .post(
                    "/v1/candidates",
                    json!({"first_name": "Ada", "last_name": format!("L{i}"),
                           "emails": [{"address": format!("c{i}@work.example"), "type": "work"}]}),
                )
                .await;
            ids.push(c["id"].as_str().unwrap().to_owned());
        }
        ids
    }

    /// A started two-step campaign with `candidates`.
    async fn started_campaign(&self, candidates: &[String]) -> String {
        let c = self
            .api
            .post(
                &format!("/v1/projects/{}/campaigns", self.project),
                json!({"name": "C", "sender_account_id": self.account,
                       "when_to_send": {"mode": "when_started"},
                       "steps": [{"subject": "Hello", "body": "<p>Hi</p>"},
                                 {"body": "<p>Again</p>", "delay_days": 2}]}),
            )
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        let added = self
            .api
            .post(
                &format!("/v1/campaigns/{id}/enrollments"),
                json!({"candidate_ids": candidates}),
            )
            .await;
        assert_eq!(added["refused"], json!([]), "{added}");
        self.api
            .post(&format!("/v1/campaigns/{id}/start"), json!({}))
            .await;
        id
    }

    async fn notifications(&self) -> Vec<Value> {
        let view = self
            .api
            .get(&format!("/v1/projects/{}/outreach", self.project))
            .await;
        view["notifications"].as_array().unwrap().clone()
    }
}

fn message_id(m: &Value) -> &str {
    m["message_id"].as_str().unwrap()
}

/// An SES bounce of `address` refused for authentication (5.7.26, DMARC).
fn auth_bounce(message_id: &str, address: &str) -> Value {
    ses_event(
        "Bounce",
        message_id,
        json!({
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": "5.7.26",
                                   "diagnosticCode": "smtp; 550 5.7.26 unauthenticated email is not accepted due to the sender's domain's DMARC policy"}],
            "timestamp": "2026-12-01T14:21:00.000Z",
            "feedbackId": "auth-1"
        }),
    )
}

#[tokio::test]
async fn the_reputation_guard_acts_while_a_campaign_is_paused_and_a_relink_never_resumes_it() {
    // Issue 16 item 5, R-2.5 with: 50 sends, a 5.7.26 bounce pauses the
    // campaign `sender_error`; three hard bounces (6 %) breach the window
    // while it is paused. The breach leaves its notification, the reason
    // becomes `sender_reputation`, and the relink resumes nothing.
    let w = World::new().await;
    let candidates = w.candidates(50).await;
    let c = w.started_campaign(&candidates).await;
    w.local.advance("PT20M").await;
    let sent = w.local.outbox().await;
    assert_eq!(sent.len(), 50);

    w.local
        .ses(auth_bounce(
            message_id(&sent[0]),
            sent[0]["to"].as_str().unwrap(),
        ))
        .await;
    let campaign = w.api.get(&format!("/v1/campaigns/{c}")).await;
    assert_eq!(campaign["status"], "paused");
    assert_eq!(campaign["pause_reason"], "sender_error");

    for (i, m) in sent.iter().skip(1).take(3).enumerate() {
        w.local
            .ses(hard_bounce(
                message_id(m),
                m["to"].as_str().unwrap(),
                &format!("rep-{i}"),
            ))
            .await;
    }
    let campaign = w.api.get(&format!("/v1/campaigns/{c}")).await;
    assert_eq!(campaign["pause_reason"], "sender_reputation", "{campaign}");
    let reputation: Vec<Value> = w
        .notifications()
        .await
        .into_iter()
        .filter(|n| n["kind"] == "sender_reputation" && n["account_id"] == json!(w.account))
        .collect();
    assert_eq!(
        reputation.len(),
        1,
        "one notification per project and account: {reputation:?}"
    );
    let message = reputation[0]["message"].as_str().unwrap();
    assert!(
        message.contains("hard bounces") && message.contains("“C”"),
        "{message}"
    );

    let (status, _) = w
        .api
        .call(
            "POST",
            &format!("/v1/email-accounts/{}/relink", w.account),
            Some(json!({})),
        )
        .await;
    assert!(status < 300, "relink answered {status}");
    let campaign = w.api.get(&format!("/v1/campaigns/{c}")).await;
    assert_eq!(
        campaign["status"], "paused",
        "a relink never resumes the guard's pause"
    );
    assert_eq!(campaign["pause_reason"], "sender_reputation");
    let open: Vec<Value> = w
        .notifications()
        .await
        .into_iter()
        .filter(|n| n["resolved_at"].is_null())
        .collect();
    assert!(
        !open.is_empty() && open.iter().all(|n| n["kind"] == "sender_reputation"),
        "the relink resolves the sender error, not the breach: {open:?}"
    );

    w.local.advance("P3D").await;
    assert_eq!(w.local.outbox().await.len(), 50, "nothing more left");
}

#[tokio::test]
async fn a_breach_while_a_user_paused_the_campaign_still_notifies() {
    // "a breach always writes its notification"; the user's own pause
    // stays the user's.
    let w = World::new().await;
    let candidates = w.candidates(50).await;
    let c = w.started_campaign(&candidates).await;
    w.local.advance("PT20M").await;
    let sent = w.local.outbox().await;
    w.api
        .post(&format!("/v1/campaigns/{c}/pause"), json!({}))
        .await;
    for (i, m) in sent.iter().take(3).enumerate() {
        w.local
            .ses(hard_bounce(
                message_id(m),
                m["to"].as_str().unwrap(),
                &format!("rep-{i}"),
            ))
            .await;
    }
    let campaign = w.api.get(&format!("/v1/campaigns/{c}")).await;
    assert_eq!(campaign["status"], "paused");
    assert_eq!(campaign["pause_reason"], "user");
    assert!(
        w.notifications()
            .await
            .iter()
            .any(|n| n["kind"] == "sender_reputation"),
        "the breach is told even though nothing was left to pause"
    );
}

impl World {
    /// A draft two-step campaign named `name` with `candidates`.
    async fn draft(&self, name: &str, candidates: &[String], allow_duplicate: bool) -> String {
        let c = self
            .api
            .post(
                &format!("/v1/projects/{}/campaigns", self.project),
                json!({"name": name, "sender_account_id": self.account,
                       "when_to_send": {"mode": "when_started"},
                       "steps": [{"subject": "Hello", "body": "<p>Hi</p>"},
                                 {"body": "<p>Again</p>", "delay_days": 3}]}),
            )
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        let added = self
            .api
            .post(
                &format!("/v1/campaigns/{id}/enrollments"),
                json!({"candidate_ids": candidates, "allow_duplicate": allow_duplicate}),
            )
            .await;
        assert_eq!(
            added["refused"],
            json!([]),
            "drafts do not refuse each other: {added}"
        );
        id
    }

    async fn only_enrollment(&self, campaign: &str) -> Value {
        let list = self
            .api
            .get(&format!("/v1/campaigns/{campaign}/enrollments"))
            .await;
        list["items"][0].clone()
    }

    async fn outreach_counts(&self, campaign: &str) -> Value {
        let view = self
            .api
            .get(&format!("/v1/projects/{}/outreach", self.project))
            .await;
        view["campaigns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == campaign)
            .unwrap()["counts"]
            .clone()
    }
}

#[tokio::test]
async fn two_drafts_with_the_same_candidate_send_step_one_once() {
    // Issue 16 item 8, R-5.6: the check runs again at start; the later start's
    // enrollment is `blocked` with reason `duplicate` naming the other campaign.
    let w = World::new().await;
    let x = w.candidates(1).await;
    let a = w.draft("A", &x, false).await;
    let b = w.draft("B", &x, false).await;
    w.api
        .post(&format!("/v1/campaigns/{a}/start"), json!({}))
        .await;
    w.local.advance("PT2H").await;
    w.api
        .post(&format!("/v1/campaigns/{b}/start"), json!({}))
        .await;
    w.local.advance("P1D").await;
    let sent = w.local.outbox().await;
    assert_eq!(sent.len(), 1, "step 1 once: {sent:?}");
    assert_eq!(sent[0]["campaign_id"], json!(a));
    let e = w.only_enrollment(&b).await;
    assert_eq!(e["status"], "blocked", "{e}");
    assert_eq!(e["blocked_reason"], json!(format!("duplicate:{a}")));
    assert_eq!(w.outreach_counts(&b).await["duplicates"], 1);
    assert_eq!(w.outreach_counts(&a).await["duplicates"], 0);
}

#[tokio::test]
async fn a_resume_checks_again_and_allow_duplicate_still_sends() {
    // at resume: A paused, B started meanwhile with the same candidate;
    // A's resume blocks A's enrollment. C, added with allow_duplicate, sends.
    let w = World::new().await;
    let x = w.candidates(1).await;
    let a = w.draft("A", &x, false).await;
    let b = w.draft("B", &x, false).await;
    w.api
        .post(&format!("/v1/campaigns/{a}/start"), json!({}))
        .await;
    w.api
        .post(&format!("/v1/campaigns/{a}/pause"), json!({}))
        .await;
    w.api
        .post(&format!("/v1/campaigns/{b}/start"), json!({}))
        .await;
    w.api
        .post(&format!("/v1/campaigns/{a}/resume"), json!({}))
        .await;
    w.local.advance("PT1H").await;
    let sent = w.local.outbox().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["campaign_id"], json!(b));
    let e = w.only_enrollment(&a).await;
    assert_eq!(e["blocked_reason"], json!(format!("duplicate:{b}")), "{e}");

    let c = w.draft("C", &x, true).await;
    w.api
        .post(&format!("/v1/campaigns/{c}/start"), json!({}))
        .await;
    w.local.advance("PT1H").await;
    assert_eq!(
        w.local.outbox().await.len(),
        2,
        "allow_duplicate lets the candidate through at start too"
    );
}

#[tokio::test]
async fn a_wrong_method_answers_405_problem_json() {
    // §13: every error is application/problem+json; issue 15's adversarial
    // pass found 405 answered with an empty body.
    let w = World::new().await;
    for (method, path) in [("DELETE", "/v1/me"), ("PUT", "/v1/candidates")] {
        let (status, headers, body) = w.api.call_with(method, path, &[], None).await;
        assert_eq!(status, 405, "{method} {path}");
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{method} {path}"
        );
        assert_eq!(body["status"], 405, "{body}");
    }
}
