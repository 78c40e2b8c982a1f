//! Issue 19 item 7: the Outreach view reads counts kept as events
//! happen, so what it asks of the store does not grow with the enrollments,
//! and its counts agree with the enrollments themselves.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use outreach_app::auth::{Hs256Authenticator, Identity};
use outreach_app::ports::{IdSource, PageRequest, Store};
use outreach_app::usecases::campaigns::NewCampaign;
use outreach_app::usecases::catalog::candidates::{NewCandidate, NewEmail};
use outreach_app::usecases::enrollments::AddCandidates;
use outreach_app::{Config, Ports, Service, tally};
use outreach_contract::LostAnswers;
use outreach_domain::campaign::{StepSpec, WhenToSend};
use outreach_domain::candidate::EmailType;
use outreach_domain::ids::{OrgId, UserId};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

struct World {
    service: Arc<Service>,
    store: Arc<LostAnswers>,
    who: Identity,
    project: String,
    campaign: String,
    added: usize,
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::in_memory().unwrap();
        let clock = Arc::new(LocalClock::manual(db.clone(), at("2026-12-01T14:00:00Z")));
        let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
        let store = Arc::new(LostAnswers::new(Arc::new(SqliteStore::new(db.clone()))));
        let scheduler = Arc::new(LocalScheduler::new(db.clone()));
        let outbox = Arc::new(
            OutboxMailer::new(db, dir.keep().join("outbox"), clock.clone(), ids.clone()).unwrap(),
        );
        let mut config = Config::local(3000);
        config.initial_credits = 10_000;
        let service = Service::new(
            Ports {
                store: store.clone(),
                scheduler: scheduler.clone(),
                mailer: outbox.clone(),
                clock,
                ids,
                auth: Arc::new(Hs256Authenticator::new(b"test")),
                identities: outbox,
                queue: scheduler,
            },
            config,
        );
        let who = Identity {
            org_id: OrgId::from("acme"),
            user_id: UserId::from("alice"),
            email: None,
            admin: false,
        };
        let account = service
            .accounts()
            .link_account(&who, "alice@acme.example", None)
            .await
            .unwrap();
        let project = service.catalog().create_project(&who, "P").await.unwrap();
        let step = StepSpec {
            subject: Some("Hi".into()),
            body: "<p>Hi</p>".into(),
            text: None,
            delay_days: 0,
        };
        let campaign = service
            .campaigns()
            .create_campaign(
                &who,
                &project.id,
                NewCampaign {
                    name: "Counted".into(),
                    sender_account_id: account.id.to_string(),
                    template_id: None,
                    steps: Some(vec![
                        step.clone(),
                        StepSpec {
                            delay_days: 2,
                            ..step
                        },
                    ]),
                    timezone: Some("UTC".into()),
                    when_to_send: WhenToSend::WhenStarted,
                    recipient: None,
                    skip_weekends: false,
                    timezone_mode: Default::default(),
                    daily_limit: None,
                },
            )
            .await
            .unwrap();
        World {
            service,
            store,
            who,
            project: project.id,
            campaign: campaign.id.to_string(),
            added: 0,
        }
    }

    async fn add(&mut self, n: usize) {
        let mut candidate_ids = Vec::new();
        for _ in 0..n {
            let i = self.added;
            self.added += 1;
            let c = self
                .service
                .catalog()
                .create_candidate(
                    &self.who,
                    NewCandidate {
                        first_name: format!("C{i}"),
                        last_name: "X".into(),
                        title: None,
                        company: None,
                        location: None,
                        timezone: None,
                        emails: vec![NewEmail {
                            address: format!("c{i}@home.example"),
                            kind: EmailType::Personal,
                        }],
                    },
                )
                .await
                .unwrap();
            candidate_ids.push(c.id.to_string());
        }
        self.service
            .enrollments()
            .add_candidates(
                &self.who,
                &self.campaign,
                AddCandidates {
                    candidate_ids,
                    allow_duplicate: false,
                },
            )
            .await
            .unwrap();
    }

    /// The view's counts by status, and the store calls it made.
    async fn view(&self) -> (HashMap<String, u64>, HashMap<&'static str, usize>) {
        let before = self.store.calls();
        let view = self
            .service
            .campaigns()
            .outreach_view(&self.who, &self.project)
            .await
            .unwrap();
        let mut made = self.store.calls();
        for (method, n) in before {
            *made.entry(method).or_default() -= n;
        }
        made.retain(|_, n| *n > 0);
        let (_, counts) = &view.campaigns[0];
        let by_status = counts
            .by_status
            .iter()
            .map(|(s, n)| ((*s).to_owned(), *n))
            .collect();
        (by_status, made)
    }

    /// The campaign's counts recounted from every enrollment.
    async fn recount(&self) -> tally::Tally {
        let mut all = Vec::new();
        let mut page = PageRequest {
            limit: 500,
            after: None,
        };
        loop {
            let p = self
                .store
                .list_enrollments(&self.who.org_id, &self.campaign.as_str().into(), &page)
                .await
                .unwrap();
            all.extend(p.items);
            match p.next {
                Some(n) => page.after = Some(n),
                None => return tally::recount(all.iter()),
            }
        }
    }
}

#[tokio::test]
async fn the_outreach_view_reads_counts_not_enrollments() {
    let mut w = World::new().await;
    w.add(3).await;
    let (small, small_calls) = w.view().await;
    assert_eq!(small["not_started"], 3);
    w.add(520).await;
    w.service
        .campaigns()
        .start_campaign(&w.who, &w.campaign)
        .await
        .unwrap();
    let (large, large_calls) = w.view().await;
    assert_eq!(
        large_calls, small_calls,
        "the view's store calls do not grow with the enrollments"
    );
    assert!(!large_calls.contains_key("list_enrollments"));
    let total: u64 = large.values().sum();
    assert_eq!(total, 523);
    let recounted = w.recount().await;
    for (status, n) in &large {
        let name = format!("status:{status}");
        assert_eq!(
            *n as i64,
            recounted.get(&name).copied().unwrap_or(0),
            "{status} agrees with a recount"
        );
    }
}
