//! One simulated run: a random organization on the embedded adapters behind
//! the fault-injecting ones, driven by seeded events, with the invariants
//! checked after every event.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use outreach_app::auth::{Hs256Authenticator, Identity};
use outreach_app::model::AccountStatus;
use outreach_app::ports::{Job, Store, WakeUp};
use outreach_app::usecases::campaigns::{CampaignEdit, NewCampaign};
use outreach_app::usecases::catalog::candidates::{NewCandidate, NewEmail};
use outreach_app::usecases::enrollments::{AddCandidates, Overrides};
use outreach_app::usecases::returns::inbound::Verdicts;
use outreach_app::{Config, Error, Ports, Service};
use outreach_contract::chance::Chance;
use outreach_contract::{LostAnswers, StaleIndexes};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::{
    CampaignStatus, RecipientSetting, StepSpec, TimezoneMode, WhenToSend,
};
use outreach_domain::candidate::EmailType;
use outreach_domain::enrollment::{AttemptState, EnrollmentStatus};
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, OrgId, UserId};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, SqliteStore};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::adapters::{Chaos, MailerFaults, SimIds, SimMailer, SimScheduler, SimStore};
use crate::handler::{Crash, Handler};
use crate::oracle::{Oracle, SentMessage, Violation};

/// Time zones of campaigns and candidates: DST north and south, half and
/// three-quarter hour offsets, none.
const ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "Australia/Sydney",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Asia/Tokyo",
];

/// First days of runs: the days before the 2026/2027 DST changes of the zones
/// above, and a few ordinary ones.
const START_DAYS: &[(i32, u32, u32)] = &[
    (2026, 3, 6),
    (2026, 3, 27),
    (2026, 4, 3),
    (2026, 9, 25),
    (2026, 10, 2),
    (2026, 10, 23),
    (2026, 10, 30),
    (2026, 12, 1),
    (2027, 1, 15),
    (2027, 6, 10),
];

const REPLY_DOMAIN: &str = "reply.outreach.localhost";
/// Wake-ups fired by one clock move before the run counts as a livelock.
const MAX_STEPS_PER_MOVE: usize = 3_000;

/// What one run found.
#[derive(Debug)]
pub struct RunResult {
    pub seed: u64,
    pub violations: Vec<Violation>,
    /// The run's events, up to the one after which the first violation showed.
    pub trace: Vec<String>,
    pub hand_offs: u64,
    pub events: usize,
    /// A hash of the whole trace, to tell replays apart.
    pub trace_hash: u64,
}

/// Something a handler does: a fired wake-up, an SNS delivery, a user's call.
#[derive(Debug, Clone)]
enum Task {
    Job(Job),
    Sweep,
    Ses(String),
    Inbound(Vec<u8>, bool),
    Unsubscribe(String),
    PauseCampaign(String),
    ResumeCampaign(String),
    StopCampaign(String),
    StartCampaign(String),
    Edit(String, Edit),
    Add(String, Vec<String>, bool),
    PauseEnrollment(String, String),
    ResumeEnrollment(String, String),
    RemoveEnrollment(String, String),
    Retry(String, String, String),
    Overrides(String, String, Option<String>),
    Relink(String),
    /// The owner sets or clears an account's daily limit.
    AccountLimit(String, Option<u32>),
    /// A single message from an account to a candidate.
    Single(String, String),
}

#[derive(Debug, Clone)]
enum Edit {
    Steps(Vec<StepSpec>),
    When(WhenToSend),
    SkipWeekends(bool),
    DailyLimit(u32),
    /// An edit that changes no timing: nothing is re-planned.
    Name(String),
    Timezone(String),
}

impl Task {
    /// Background handlers are the ones that crash and are delivered again.
    fn may_crash(&self) -> bool {
        matches!(
            self,
            Task::Job(_) | Task::Sweep | Task::Ses(_) | Task::Inbound(..)
        )
    }

    fn label(&self) -> String {
        match self {
            Task::Job(Job::SendStep {
                enrollment_id,
                step,
                plan_version,
                ..
            }) => format!("wake-up {enrollment_id} s{step} v{plan_version}"),
            Task::Job(Job::RetrySesEvent { first_seen, .. }) => {
                format!("wake-up retry SES event (first seen {first_seen})")
            }
            Task::Job(j) => format!("wake-up {j:?}"),
            Task::Sweep => "sweep".into(),
            Task::Ses(body) => format!("SES {}", summarize_ses(body)),
            Task::Inbound(raw, auth) => {
                let text = String::from_utf8_lossy(raw);
                let subject = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Subject: "))
                    .unwrap_or("?");
                let to = text
                    .lines()
                    .find_map(|l| l.strip_prefix("To: "))
                    .unwrap_or("?");
                format!("inbound to {to} \"{subject}\" (authenticated: {auth})")
            }
            Task::Unsubscribe(t) => format!("unsubscribe {t}"),
            Task::PauseCampaign(c) => format!("pause campaign {c}"),
            Task::ResumeCampaign(c) => format!("resume campaign {c}"),
            Task::StopCampaign(c) => format!("stop campaign {c}"),
            Task::StartCampaign(c) => format!("start campaign {c}"),
            Task::Edit(c, e) => format!("edit campaign {c}: {e:?}"),
            Task::Add(c, ids, dup) => format!("add {ids:?} to {c} (allow_duplicate: {dup})"),
            Task::PauseEnrollment(_, e) => format!("pause enrollment {e}"),
            Task::ResumeEnrollment(_, e) => format!("resume enrollment {e}"),
            Task::RemoveEnrollment(_, e) => format!("remove enrollment {e}"),
            Task::Retry(_, e, a) => format!("retry enrollment {e} to {a}"),
            Task::Overrides(_, e, a) => format!("overrides of {e} (address {a:?})"),
            Task::Relink(a) => format!("relink account {a}"),
            Task::AccountLimit(a, n) => format!("daily limit of account {a}: {n:?}"),
            Task::Single(c, a) => format!("single message to {c} from {a}"),
        }
    }
}

fn summarize_ses(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return "unparsable".into();
    };
    let inner: serde_json::Value = v["Message"]
        .as_str()
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_default();
    let kind = inner["eventType"]
        .as_str()
        .or(inner["notificationType"].as_str())
        .unwrap_or(v["Type"].as_str().unwrap_or("?"));
    let detail = match kind {
        "Bounce" => format!(
            " {} {}",
            inner["bounce"]["bounceType"].as_str().unwrap_or("?"),
            inner["bounce"]["bouncedRecipients"][0]["status"]
                .as_str()
                .unwrap_or("?")
        ),
        _ => String::new(),
    };
    let tagged = if inner["mail"]["tags"].is_object() {
        "tagged"
    } else {
        "untagged"
    };
    format!(
        "{kind}{detail} about {} ({tagged})",
        inner["mail"]["messageId"].as_str().unwrap_or("?")
    )
}

/// Runs one task as its handler would, returning a line for the trace.
async fn execute(service: Arc<Service>, who: Identity, task: Task, margin: Duration) -> String {
    fn show<T>(r: Result<T, Error>, ok: impl Fn(T) -> String) -> String {
        match r {
            Ok(v) => ok(v),
            Err(e) => format!("error: {e:?}"),
        }
    }
    let s = &service;
    match task {
        Task::Job(job) => show(s.sending().run_job(&job).await, |o| format!("{o:?}")),
        Task::Sweep => show(s.sending().sweep(margin).await, |r| format!("{r:?}")),
        Task::Ses(body) => show(
            s.returns().handle_ses_notification(body.as_bytes()).await,
            |o| format!("{o:?}"),
        ),
        Task::Inbound(raw, auth) => show(
            s.returns()
                .handle_inbound(
                    &raw,
                    Verdicts {
                        sender_authenticated: auth,
                    },
                )
                .await,
            |r| format!("{} {:?}", r.kind, r.enrollment_ids),
        ),
        Task::Unsubscribe(token) => show(s.returns().unsubscribe(&token).await, |b| {
            format!("known: {b}")
        }),
        Task::PauseCampaign(c) => show(s.campaigns().pause_campaign(&who, &c).await, |c| {
            format!("{:?}", c.status)
        }),
        Task::ResumeCampaign(c) => show(s.campaigns().resume_campaign(&who, &c).await, |c| {
            format!("{:?}", c.status)
        }),
        Task::StopCampaign(c) => show(s.campaigns().stop_campaign(&who, &c).await, |c| {
            format!("{:?}", c.status)
        }),
        Task::StartCampaign(c) => show(s.campaigns().start_campaign(&who, &c).await, |c| {
            format!("{:?}", c.status)
        }),
        Task::Edit(c, edit) => {
            let mut e = CampaignEdit::default();
            match edit {
                Edit::Steps(steps) => e.steps = Some(steps),
                Edit::When(w) => e.when_to_send = Some(w),
                Edit::SkipWeekends(b) => e.skip_weekends = Some(b),
                Edit::DailyLimit(n) => e.daily_limit = Some(n),
                Edit::Name(n) => e.name = Some(n),
                Edit::Timezone(z) => e.timezone = Some(z),
            }
            show(s.campaigns().edit_campaign(&who, &c, e).await, |c| {
                format!("{:?}", c.status)
            })
        }
        Task::Add(c, ids, allow_duplicate) => show(
            s.enrollments()
                .add_candidates(
                    &who,
                    &c,
                    AddCandidates {
                        candidate_ids: ids,
                        allow_duplicate,
                    },
                )
                .await,
            |a| {
                format!(
                    "added {:?}, refused {:?}",
                    a.enrollments
                        .iter()
                        .map(|e| e.id.to_string())
                        .collect::<Vec<_>>(),
                    a.refused
                        .iter()
                        .map(|r| (r.candidate_id.clone(), r.reason))
                        .collect::<Vec<_>>()
                )
            },
        ),
        Task::PauseEnrollment(c, e) => show(
            s.enrollments().pause_enrollment(&who, &c, &e).await,
            |(_, e)| format!("{:?}", e.status),
        ),
        Task::ResumeEnrollment(c, e) => show(
            s.enrollments().resume_enrollment(&who, &c, &e).await,
            |(_, e)| format!("{:?}", e.status),
        ),
        Task::RemoveEnrollment(c, e) => show(
            s.enrollments().remove_enrollment(&who, &c, &e).await,
            |(_, e)| format!("{:?}", e.status),
        ),
        Task::Retry(c, e, a) => show(
            s.enrollments().retry_enrollment(&who, &c, &e, &a).await,
            |(_, e)| format!("{:?}", e.status),
        ),
        Task::Overrides(c, e, address) => {
            let mut fields = std::collections::BTreeMap::new();
            fields.insert("company".to_owned(), "Analytical Engines".to_owned());
            let input = Overrides {
                address: address.map(Some),
                custom_fields: Some(fields),
            };
            show(
                s.enrollments().set_overrides(&who, &c, &e, input).await,
                |(_, e)| format!("{:?}", e.status),
            )
        }
        Task::Relink(a) => show(s.accounts().relink_account(&who, &a).await, |a| {
            format!("{:?}", a.status)
        }),
        Task::AccountLimit(a, n) => show(
            s.accounts().set_account_daily_limit(&who, &a, n).await,
            |a| format!("{:?}", a.daily_limit),
        ),
        Task::Single(c, a) => {
            let input = outreach_app::usecases::sending::messages::NewMessage {
                sender_account_id: Some(a),
                template_id: None,
                step_index: None,
                subject: Some("A word, {{ candidate.first_name }}".into()),
                body: Some("<p>Hi {{ candidate.first_name }}</p>".into()),
                address: None,
                in_reply_to: None,
            };
            show(s.sending().send_single(&who, &c, input).await, |(_, e)| {
                format!("{} {:?} next {:?}", e.id, e.status, e.next_planned_at())
            })
        }
    }
}

/// A notification or job delivered again later (at-least-once delivery).
#[derive(Debug, Clone)]
struct Redelivery {
    task: Task,
    /// Lambda gives up on an asynchronous event after six hours; SQS and
    /// EventBridge redeliver within that too.
    until: DateTime<Utc>,
}

/// How long a job may still be delivered again.
const MAX_EVENT_AGE: Duration = Duration::hours(6);

struct Camp {
    id: CampaignId,
}

pub struct World {
    seed: u64,
    rng: StdRng,
    service: Arc<Service>,
    store: Arc<SqliteStore>,
    db: Db,
    scheduler: Arc<LocalScheduler>,
    clock: Arc<LocalClock>,
    oracle: Arc<Oracle>,
    chaos: Arc<Chaos>,
    margin: Duration,
    who: Identity,
    accounts: Vec<AccountId>,
    candidates: Vec<(CandidateId, Vec<String>)>,
    campaigns: Vec<Camp>,
    /// Jobs and notifications to deliver again later.
    later: Vec<Redelivery>,
    /// Notifications already delivered once (duplicates are made of these).
    delivered: Vec<Task>,
    crash_rate: f64,
    last_sweep: DateTime<Utc>,
    /// The last sweep that ran to its end: only such a sweep must have acted
    /// on everything overdue (a crashed one runs again, R-8.1).
    last_complete_sweep: DateTime<Utc>,
    /// The complete sweep before it.
    before_last_complete_sweep: DateTime<Utc>,
    /// Due enrollments the last sweep left unchanged.
    held: HashSet<(String, DateTime<Utc>)>,
    /// Completion checks a complete sweep left pending (issue 19).
    checks_held: usize,
    /// User requests that answered a lost store answer, for the client to retry.
    lost_requests: Vec<Task>,
    /// Overdue enrollments without a wake-up: (due, first seen overdue).
    overdue: std::collections::HashMap<String, (DateTime<Utc>, DateTime<Utc>)>,
    trace: Vec<String>,
    /// Trace length when the first violation showed.
    cut: Option<usize>,
    stuck_reported: HashSet<String>,
    counter: u64,
    _dir: tempfile::TempDir,
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> Option<&'a T> {
    items.choose(rng)
}

/// Writes whose answer is lost at random (of every applied write), and
/// enrollments an index read misses at random (of every enrollment created,
/// for the next 1 to [`STALE_READS`] index reads), at a run's fault scale 1;
/// `SIM_LOST_ANSWERS` / `SIM_STALE_INDEXES` (per million) replace them, e.g.
/// 0 to replay a run without them.
const LOST_ANSWERS: f64 = 0.01;
const STALE_INDEXES: f64 = 0.1;
const STALE_READS: u32 = 3;

/// The service's store (issue 19): the observed embedded store behind the
/// contract suite's fault-injecting wrappers, an index that lags and answers
/// that get lost after the write applied, both seeded from the run's seed and
/// off whenever the run's faults are. Observed below the faults, so the oracle
/// sees every write that applied, answered or not.
fn faulty_store(
    observed: Arc<SimStore>,
    seed: u64,
    scale: f64,
    chaos: &Arc<Chaos>,
) -> Arc<dyn Store> {
    let per_million = |var: &str, p: f64| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or((p * scale * 1e6) as u32)
    };
    let gate = || {
        let chaos = chaos.clone();
        move || chaos.enabled.load(Ordering::Relaxed) && chaos.store_faults.load(Ordering::Relaxed)
    };
    let stale = Chance::new(
        seed ^ 0x57a1_e000,
        per_million("SIM_STALE_INDEXES", STALE_INDEXES),
    );
    let lost = Chance::new(
        seed ^ 0x1057_a000,
        per_million("SIM_LOST_ANSWERS", LOST_ANSWERS),
    );
    let stale = StaleIndexes::new(observed).at_random(stale.when(gate()), STALE_READS);
    Arc::new(LostAnswers::new(Arc::new(stale)).at_random(lost.when(gate())))
}

impl World {
    pub async fn new(seed: u64) -> World {
        let mut rng = StdRng::seed_from_u64(seed);
        let &(y, m, d) = pick(&mut rng, START_DAYS).expect("start days");
        let start = Utc
            .with_ymd_and_hms(y, m, d, 0, 0, 0)
            .single()
            .expect("valid start")
            + Duration::seconds(rng.random_range(0..4 * 24 * 3600));
        let db = Db::in_memory().expect("in-memory SQLite");
        let clock = Arc::new(LocalClock::manual(db.clone(), start));
        let ids = Arc::new(SimIds::new(seed));
        let store = Arc::new(SqliteStore::new(db.clone()));
        let scheduler = Arc::new(LocalScheduler::new(db.clone()));
        let mut config = Config::local(3000);
        config.initial_credits = if rng.random_bool(0.15) { 4 } else { 100 };
        let margin = config.sweep_margin;
        let oracle = Oracle::new(clock.clone(), config.hash_key.clone());
        let chaos = Chaos::new(seed ^ 0x5eed_c4a0_5000);
        // Calm runs, runs with some faults and stormy ones.
        let scale: f64 = *pick(&mut rng, &[0.0, 0.5, 1.0, 1.0, 2.0]).expect("scales");
        *chaos.mailer.lock().expect("faults") = MailerFaults {
            deferred: 0.04 * scale,
            unconfirmed: 0.03 * scale,
            sender_fault: 0.008 * scale,
            refused: 0.03 * scale,
        };
        let dir = tempfile::tempdir().expect("temp dir");
        // Local mode's mailer, its identities too: every sender sendable (no
        // fault is set on it), no DNS lookups.
        let outbox = Arc::new(
            OutboxMailer::new(
                db.clone(),
                dir.path().join("outbox"),
                clock.clone(),
                ids.clone(),
            )
            .expect("outbox"),
        );
        let sim_scheduler = Arc::new(SimScheduler {
            inner: scheduler.clone(),
            chaos: chaos.clone(),
        });
        let observed = Arc::new(SimStore {
            inner: store.clone(),
            oracle: oracle.clone(),
            chaos: chaos.clone(),
        });
        let service = Service::new(
            Ports {
                store: faulty_store(observed, seed, scale, &chaos),
                scheduler: sim_scheduler.clone(),
                queue: sim_scheduler,
                mailer: Arc::new(SimMailer {
                    outbox: outbox.clone(),
                    oracle: oracle.clone(),
                    chaos: chaos.clone(),
                }),
                clock: clock.clone(),
                ids,
                auth: Arc::new(Hs256Authenticator::new(b"sim")),
                identities: outbox,
            },
            config,
        );
        World {
            seed,
            rng,
            service,
            store,
            db,
            scheduler,
            clock,
            oracle,
            chaos,
            margin,
            who: Identity {
                org_id: OrgId::from("org-sim"),
                user_id: UserId::from("owner"),
                email: EmailAddress::parse("owner@recruit.example").ok(),
                admin: false,
            },
            accounts: Vec::new(),
            candidates: Vec::new(),
            campaigns: Vec::new(),
            later: Vec::new(),
            delivered: Vec::new(),
            crash_rate: 0.08 * scale,
            last_sweep: start,
            last_complete_sweep: start,
            before_last_complete_sweep: start,
            held: HashSet::new(),
            checks_held: 0,
            lost_requests: Vec::new(),
            overdue: std::collections::HashMap::new(),
            trace: Vec::new(),
            cut: None,
            stuck_reported: HashSet::new(),
            counter: 0,
            _dir: dir,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        use outreach_app::ports::Clock;
        self.clock.now()
    }

    fn log(&mut self, line: String) {
        let at = self.now().format("%Y-%m-%d %H:%M:%S");
        self.trace.push(format!("{at}  {line}"));
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// A run that found this much has said what it has to say.
    pub fn too_many(&self) -> bool {
        self.oracle.violation_count() > 20
    }

    /// Marks the trace where the first violation showed.
    fn mark(&mut self) {
        if self.cut.is_none() && self.oracle.violation_count() > 0 {
            self.cut = Some(self.trace.len());
        }
    }

    // --- the organization -------------------------------------------------

    pub async fn setup(&mut self) {
        let s = self.service.clone();
        let who = self.who.clone();
        let zone = *pick(&mut self.rng, ZONES).expect("zones");
        let _ = s
            .accounts()
            .update_me(&who, Some("Olivia Owner".into()), Some(zone.into()))
            .await;
        if let Ok(z) = outreach_domain::Zone::parse(zone) {
            self.oracle.set_owner_zone(z);
        }
        let n_accounts = self.rng.random_range(1..=2);
        for i in 0..n_accounts {
            let a = s
                .accounts()
                .link_account(
                    &who,
                    &format!("sender{i}@recruit{i}.example"),
                    Some(format!("Sam{i} Sender")),
                )
                .await
                .expect("link account");
            self.log(format!("account {} = {}", a.id, a.address));
            if self.rng.random_bool(0.3) {
                // a limit on everything that leaves from the account.
                let limit = Some(self.rng.random_range(1..=6));
                let task = Task::AccountLimit(a.id.to_string(), limit);
                self.run_tasks(vec![(task, Crash::None)]).await;
            }
            self.accounts.push(a.id);
        }
        let project = s
            .catalog()
            .create_project(&who, "Hiring")
            .await
            .expect("project");
        // 1 to 30, small organizations more often (they are cheaper and find as much).
        let u: f64 = self.rng.random();
        let n_candidates = 1 + (29.0 * u * u).round() as usize;
        let mut pool: Vec<String> = Vec::new();
        for i in 0..n_candidates {
            let n_addresses = self.rng.random_range(0..=4);
            let mut emails = Vec::new();
            for j in 0..n_addresses {
                let address = if !pool.is_empty() && self.rng.random_bool(0.08) {
                    pick(&mut self.rng, &pool).expect("pool").clone()
                } else {
                    let domain = pick(
                        &mut self.rng,
                        &[
                            "home.example",
                            "work.example",
                            "mail.example",
                            "Uni.Example",
                        ],
                    )
                    .expect("domains");
                    format!("k{i}.a{j}@{domain}")
                };
                pool.push(address.clone());
                let kind = *pick(
                    &mut self.rng,
                    &[EmailType::Work, EmailType::Personal, EmailType::Other],
                )
                .expect("types");
                emails.push(NewEmail { address, kind });
            }
            let addresses: Vec<String> = emails.iter().map(|e| e.address.clone()).collect();
            let timezone = self
                .rng
                .random_bool(0.3)
                .then(|| pick(&mut self.rng, ZONES).expect("zones").to_string());
            let company = self.rng.random_bool(0.8).then(|| format!("Company {i}"));
            match s
                .catalog()
                .create_candidate(
                    &who,
                    NewCandidate {
                        first_name: format!("Ada{i}"),
                        last_name: format!("Lovelace{i}"),
                        title: None,
                        company,
                        location: None,
                        timezone,
                        emails,
                    },
                )
                .await
            {
                Ok(c) => {
                    self.log(format!("candidate {} with {:?}", c.id, addresses));
                    self.candidates.push((c.id, addresses));
                }
                Err(e) => self.log(format!("candidate refused: {e:?}")),
            }
        }
        let n_campaigns = self.rng.random_range(1..=3);
        for i in 0..n_campaigns {
            let account = pick(&mut self.rng, &self.accounts)
                .expect("accounts")
                .clone();
            let steps = self.random_steps();
            let when = self.random_when();
            let recipient = RecipientSetting {
                prefer: *pick(
                    &mut self.rng,
                    &[
                        None,
                        None,
                        Some(EmailType::Work),
                        Some(EmailType::Personal),
                        Some(EmailType::Other),
                    ],
                )
                .expect("prefer"),
                strict: self.rng.random_bool(0.3),
            };
            let timezone = pick(&mut self.rng, ZONES).expect("zones").to_string();
            let skip_weekends = self.rng.random_bool(0.35);
            let daily_limit = self
                .rng
                .random_bool(0.25)
                .then(|| self.rng.random_range(2..=8));
            let timezone_mode = if self.rng.random_bool(0.15) {
                TimezoneMode::Recipient
            } else {
                TimezoneMode::Campaign
            };
            let c = s
                .campaigns()
                .create_campaign(
                    &who,
                    &project.id,
                    NewCampaign {
                        name: format!("Campaign {i}"),
                        sender_account_id: account.to_string(),
                        template_id: None,
                        steps: Some(steps.clone()),
                        timezone: Some(timezone.clone()),
                        when_to_send: when,
                        recipient: Some(recipient),
                        skip_weekends,
                        timezone_mode,
                        daily_limit,
                    },
                )
                .await
                .expect("create campaign");
            self.log(format!(
                "campaign {} from {account}: {} steps {:?}, {timezone}, {when:?}, {recipient:?}, skip_weekends {skip_weekends}, daily_limit {daily_limit:?}, {timezone_mode:?}",
                c.id,
                steps.len(),
                steps.iter().map(|s| s.delay_days).collect::<Vec<_>>()
            ));
            self.campaigns.push(Camp { id: c.id });
        }
        // From here on the store loses answers and its indexes lag (issue
        // 19): what set the organization up above expects its answers.
        self.chaos.store_faults.store(true, Ordering::Relaxed);
        for ci in 0..self.campaigns.len() {
            let ids: Vec<String> = self
                .candidates
                .iter()
                .filter(|_| self.rng.random_bool(0.6))
                .map(|(id, _)| id.to_string())
                .collect();
            let dup = self.rng.random_bool(0.5);
            let task = Task::Add(self.campaigns[ci].id.to_string(), ids, dup);
            self.run_tasks(vec![(task, Crash::None)]).await;
            if self.rng.random_bool(0.8) {
                let task = Task::StartCampaign(self.campaigns[ci].id.to_string());
                self.run_tasks(vec![(task, Crash::None)]).await;
            }
        }
        self.check_liveness().await;
    }

    fn random_steps(&mut self) -> Vec<StepSpec> {
        let n = self.rng.random_range(1..=4);
        let company_needed = self.rng.random_bool(0.2);
        (0..n)
            .map(|i| StepSpec {
                subject: if i == 0 {
                    Some("Hello {{ candidate.first_name }}".into())
                } else if self.rng.random_bool(0.5) {
                    None
                } else {
                    Some(format!("Step {} for {{{{ candidate.last_name }}}}", i + 1))
                },
                body: if company_needed && i == 0 {
                    "<p>Hi {{ candidate.first_name }}, we admire {{ candidate.company }}.</p>"
                        .into()
                } else {
                    format!(
                        "<p>Hi {{{{ candidate.first_name }}}}, note {} from {{{{ sender.first_name }}}}.</p>",
                        i + 1
                    )
                },
                text: None,
                delay_days: if i == 0 {
                    0
                } else {
                    self.rng.random_range(1..=4)
                },
            })
            .collect()
    }

    fn random_when(&mut self) -> WhenToSend {
        match self.rng.random_range(0..10) {
            0..4 => WhenToSend::WhenStarted,
            4..7 => WhenToSend::BestTime,
            _ => WhenToSend::SpecificTime {
                time: NaiveTime::from_hms_opt(
                    self.rng.random_range(0..24),
                    self.rng.random_range(0..60),
                    0,
                )
                .expect("valid time"),
            },
        }
    }

    // --- running handlers -------------------------------------------------

    /// Runs tasks as concurrent handlers (one thread, interleaved at the
    /// adapters' yield points in a seeded order) and waits for them; a handler
    /// scripted to crash parks and is aborted. Returns the crashed tasks.
    async fn run_tasks(&mut self, tasks: Vec<(Task, Crash)>) -> Vec<Task> {
        let mut crashed = self.run_tasks_once(tasks).await;
        // A client retries a request that answered a 500 (a store answer
        // lost, issue 19), a few times.
        for _ in 0..3 {
            let again = std::mem::take(&mut self.lost_requests);
            if again.is_empty() {
                break;
            }
            self.log("» the client retries after a 500".into());
            let again = again.into_iter().map(|t| (t, Crash::None)).collect();
            crashed.extend(self.run_tasks_once(again).await);
        }
        self.lost_requests.clear();
        crashed
    }

    async fn run_tasks_once(&mut self, tasks: Vec<(Task, Crash)>) -> Vec<Task> {
        let concurrent = tasks.len() > 1;
        self.chaos.concurrent.store(concurrent, Ordering::Relaxed);
        let mut running = Vec::new();
        for (task, crash) in tasks {
            let handler = Handler::new(task.label(), crash);
            let fut = execute(
                self.service.clone(),
                self.who.clone(),
                task.clone(),
                self.margin,
            );
            let join = tokio::spawn(handler.clone().scope(fut));
            running.push((handler, join, task));
        }
        let mut spins = 0usize;
        while !running
            .iter()
            .all(|(h, j, _)| j.is_finished() || h.is_parked())
        {
            spins += 1;
            if spins > 1_000_000 {
                self.oracle
                    .violate("liveness", "a handler never finished (1,000,000 yields)");
                break;
            }
            tokio::task::yield_now().await;
        }
        let mut crashed = Vec::new();
        let prefix = if concurrent { "‖ " } else { "" };
        for (handler, join, task) in running {
            let label = handler.label.clone();
            if !join.is_finished() {
                join.abort();
                let _ = join.await;
                self.log(format!("{prefix}{label} → crashed ({:?})", handler.crash));
                crashed.push(task);
                continue;
            }
            match join.await {
                Ok(outcome) if outcome.contains(outreach_contract::lost_answers::LOST) => {
                    // The store applied a write and its answer was lost
                    // (issue 19): the handler failed as if it had crashed
                    // there, and is retried like one.
                    self.log(format!("{prefix}{label} → lost a store answer: {outcome}"));
                    if task.may_crash() {
                        crashed.push(task);
                    } else {
                        self.lost_requests.push(task);
                    }
                }
                Ok(outcome) => {
                    if outcome.contains("Internal(") {
                        self.oracle.violate(
                            "internal",
                            format!("{label} answered an internal error: {outcome}"),
                        );
                    }
                    self.log(format!("{prefix}{label} → {outcome}"));
                }
                Err(e) => {
                    self.oracle
                        .violate("panic", format!("{label} panicked: {e}"));
                    self.log(format!("{prefix}{label} → PANIC {e}"));
                }
            }
        }
        self.chaos.concurrent.store(false, Ordering::Relaxed);
        crashed
    }

    fn faults_on(&self) -> bool {
        self.chaos.enabled.load(Ordering::Relaxed)
    }

    fn random_crash(&mut self) -> Crash {
        match self.rng.random_range(0..5) {
            0 => Crash::MailerBeforeSend,
            1 => Crash::MailerAfterSend,
            2 => Crash::BeforeSchedule,
            _ => Crash::AfterWrite(self.rng.random_range(1..=6)),
        }
    }

    /// Runs background tasks with the run's crash rate; crashed ones are
    /// delivered again later (Lambda and SNS retries), usually. Returns how
    /// many crashed.
    async fn run_background(&mut self, tasks: Vec<Task>) -> usize {
        let mut with_crash = Vec::new();
        for task in tasks {
            let crash = if self.faults_on()
                && task.may_crash()
                && self.rng.random_bool(self.crash_rate.min(1.0))
            {
                self.random_crash()
            } else {
                Crash::None
            };
            with_crash.push((task, crash));
        }
        let until = self.now() + MAX_EVENT_AGE;
        let crashed = self.run_tasks(with_crash).await;
        let count = crashed.len();
        for task in crashed {
            // A fan-out chunk's message stays queued while its handler runs
            // (SQS' visibility timeout; local mode removes a wake-up once its
            // job ran): one whose handler died is delivered again.
            let kept = matches!(task, Task::Job(Job::PlanChunk { .. }));
            if self.rng.random_bool(0.7) || kept {
                self.later.push(Redelivery { task, until });
            }
        }
        count
    }

    /// Fires a due wake-up the way the scheduler would, with duplicate and late
    /// firings and crashes.
    async fn fire(&mut self, wake_up: &WakeUp) {
        let job = wake_up.job.clone();
        let before = self.plan_version_of(&job);
        let roll: f64 = self.rng.random();
        let crashed = if self.faults_on() && roll < 0.06 {
            // Fired twice at once (at-least-once delivery).
            self.run_background(vec![Task::Job(job.clone()), Task::Job(job.clone())])
                .await
        } else {
            if self.faults_on() && roll < 0.11 {
                // Fired again later, after the plan may have moved.
                self.later.push(Redelivery {
                    task: Task::Job(job.clone()),
                    until: self.now() + MAX_EVENT_AGE,
                });
            }
            let outcome_at = self.trace.len();
            let crashed = self.run_background(vec![Task::Job(job.clone())]).await;
            self.check_stale(&job, before, outcome_at);
            crashed
        };
        if let Err(e) = self.scheduler.complete(wake_up) {
            self.oracle.violate("internal", format!("complete: {e}"));
        }
        if crashed > 0 && matches!(job, Job::PlanChunk { .. }) {
            // A fan-out chunk's message stays queued while its handler runs:
            // one whose handler died comes back after the visibility timeout.
            let again = WakeUp {
                name: format!("{}.again{}", wake_up.name, self.now().timestamp()),
                at: self.now() + Duration::minutes(1),
                job,
            };
            use outreach_app::ports::Scheduler;
            if let Err(e) = self.scheduler.schedule(&again).await {
                self.oracle.violate("internal", format!("schedule: {e}"));
            }
        }
    }

    fn plan_version_of(&self, job: &Job) -> Option<u32> {
        let Job::SendStep { enrollment_id, .. } = job else {
            return None;
        };
        self.oracle
            .enrollment(enrollment_id.as_str())
            .map(|e| e.plan_version)
    }

    /// a wake-up of an older plan does nothing.
    fn check_stale(&mut self, job: &Job, before: Option<u32>, line: usize) {
        let Job::SendStep {
            plan_version,
            enrollment_id,
            ..
        } = job
        else {
            return;
        };
        let Some(current) = before else { return };
        if *plan_version >= current {
            return;
        }
        let Some(outcome) = self.trace.get(line) else {
            return;
        };
        if !outcome.contains("→ Stale(") && !outcome.contains("crashed") {
            let detail = format!(
                "a wake-up of plan v{plan_version} of {enrollment_id} (current v{current}) acted: {outcome}"
            );
            self.oracle.violate("R-10.3", detail);
        }
    }

    /// The sweeper's next run that has work: when the earliest due enrollment
    /// is `margin` old, at most once a minute.
    fn next_sweep(&self, target: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let due = self
            .oracle
            .due(target - self.margin)
            .into_iter()
            .filter(|d| !self.held.contains(d))
            .map(|(_, at)| at)
            .min();
        let mut at = due.map(|d| (d + self.margin).max(self.last_sweep + Duration::minutes(1)));
        let checks = self.completion_checks();
        if checks > self.checks_held {
            // An enrollment ended (issue 19): the sweeper checks its
            // campaign's completion within a minute, as it runs every minute.
            let soon = (self.last_sweep + Duration::minutes(1)).max(self.now());
            at = Some(at.map_or(soon, |a| a.min(soon)));
        }
        if !self.held.is_empty() || checks > 0 {
            // What the sweeper could not move is looked at again hourly.
            let hourly = self.last_sweep + Duration::hours(1);
            at = Some(at.map_or(hourly, |a| a.min(hourly)));
        }
        at.filter(|a| *a <= target)
    }

    /// How many campaign completion checks are pending (issue 19); the
    /// embedded store answers without waiting.
    fn completion_checks(&self) -> usize {
        use std::task::{Context, Poll, Waker};
        let mut listed = self.store.list_completion_checks(0, 1000);
        match listed
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(Ok(found)) => found.len(),
            _ => 0,
        }
    }

    async fn sweep(&mut self) {
        self.last_sweep = self.now();
        if self.run_background(vec![Task::Sweep]).await > 0 {
            // A crashed sweep left work undone: the next one, a minute
            // later, looks at everything again.
            self.held.clear();
            self.checks_held = 0;
            return;
        }
        self.before_last_complete_sweep = self.last_complete_sweep;
        self.last_complete_sweep = self.last_sweep;
        self.checks_held = self.completion_checks();
        // Due enrollments the sweeper left as they were (a send held back):
        // sweeping them every minute would change nothing.
        self.held = self
            .oracle
            .due(self.now() - self.margin)
            .into_iter()
            .collect();
    }

    /// Moves the clock to `target`, firing every wake-up due on the way at its
    /// instant and running the sweeper when something is overdue.
    async fn advance_to(&mut self, target: DateTime<Utc>) {
        for _ in 0..MAX_STEPS_PER_MOVE {
            let wake_up = match self.scheduler.next_due(target) {
                Ok(w) => w,
                Err(e) => {
                    self.oracle.violate("internal", format!("next_due: {e}"));
                    None
                }
            };
            let sweep_at = self.next_sweep(target);
            match (wake_up, sweep_at) {
                (None, None) => break,
                (Some(w), s) if s.is_none_or(|s| w.at <= s) => {
                    self.clock.set(w.at);
                    self.fire(&w).await;
                }
                (_, Some(s)) => {
                    self.clock.set(s);
                    self.sweep().await;
                }
                (Some(_), None) => unreachable!("covered above"),
            }
            self.check_liveness().await;
            self.mark();
            // A run that found this much stops early, except while it drains:
            // the final checks need everything due to have run.
            if self.too_many() && self.chaos.enabled.load(Ordering::Relaxed) {
                return;
            }
        }
        if self.scheduler.next_due(target).ok().flatten().is_some() {
            self.oracle.violate(
                "liveness",
                format!("more than {MAX_STEPS_PER_MOVE} wake-ups and sweeps in one clock move to {target}"),
            );
        }
        self.clock.set(target);
    }

    // --- the events of a run ----------------------------------------------

    pub async fn events(&mut self) -> usize {
        let n = self.rng.random_range(10..=45);
        for _ in 0..n {
            self.event().await;
            self.check_liveness().await;
            self.mark();
            if self.too_many() {
                break;
            }
        }
        n
    }

    async fn event(&mut self) {
        if self.issue16_scenario().await {
            return;
        }
        match self.rng.random_range(0..100) {
            0..30 => {
                let next = self.scheduler.next_due(self.now() + Duration::days(30));
                let target = match next {
                    Ok(Some(w)) => w.at.max(self.now()),
                    _ => self.now() + Duration::hours(1),
                };
                self.log(format!("» clock to {target}"));
                self.advance_to(target).await;
            }
            30..42 => {
                let by = match self.rng.random_range(0..3) {
                    0 => Duration::minutes(self.rng.random_range(1..30)),
                    1 => Duration::minutes(self.rng.random_range(60..12 * 60)),
                    _ => Duration::minutes(self.rng.random_range(24 * 60..3 * 24 * 60)),
                };
                let target = self.now() + by;
                // Sometimes the mail service throttles everything meanwhile: the
                // steps due leave late, some a day or more.
                // A few hours of it: every due send is retried every few minutes.
                if self.faults_on() && self.rng.random_bool(0.25) {
                    let calm = (self.now() + Duration::minutes(self.rng.random_range(60..8 * 60)))
                        .min(target);
                    self.log(format!(
                        "» clock to {calm}, the mail service throttling everything"
                    ));
                    self.chaos.throttled.store(true, Ordering::Relaxed);
                    self.advance_to(calm).await;
                    self.chaos.throttled.store(false, Ordering::Relaxed);
                }
                self.log(format!("» clock to {target}"));
                self.advance_to(target).await;
            }
            42..52 => {
                if let Some(t) = self.ses_task() {
                    self.deliver(t).await;
                }
            }
            52..58 => {
                if let Some(t) = self.inbound_task() {
                    self.deliver(t).await;
                }
            }
            58..61 => {
                if let Some(t) = self.unsubscribe_task() {
                    self.deliver(t).await;
                }
            }
            61..73 => {
                if let Some(t) = self.user_task().await {
                    self.run_tasks(vec![(t, Crash::None)]).await;
                }
            }
            73..85 => self.concurrent_batch().await,
            85..91 => {
                let now = self.now();
                self.later.retain(|r| r.until >= now);
                if !self.later.is_empty() {
                    let i = self.rng.random_range(0..self.later.len());
                    let r = self.later.swap_remove(i);
                    self.log("» delivered again later".into());
                    self.run_background(vec![r.task]).await;
                }
            }
            91..96 => {
                if let Some(t) = pick(&mut self.rng, &self.delivered).cloned() {
                    self.log("» duplicate delivery".into());
                    self.run_background(vec![t]).await;
                }
            }
            _ => self.sweep().await,
        }
    }

    /// Delivers a notification once (and remembers it for duplicates).
    async fn deliver(&mut self, task: Task) {
        self.delivered.push(task.clone());
        let refusal = self.auth_refusal_of(&task);
        self.run_background(vec![task]).await;
        self.note_auth_refusal(refusal);
    }

    /// Several handlers at once: wake-ups (some early, some twice), users,
    /// notifications, the sweeper.
    async fn concurrent_batch(&mut self) {
        let n = self.rng.random_range(2..=4);
        let pending = self.pending_wake_ups();
        let mut tasks = Vec::new();
        for _ in 0..n {
            let task = match self.rng.random_range(0..10) {
                0..4 => pick(&mut self.rng, &pending).map(|w| Task::Job(w.job.clone())),
                4..7 => self.user_task().await,
                7 => self.ses_task(),
                8 => self.inbound_task().or_else(|| self.unsubscribe_task()),
                _ => Some(Task::Sweep),
            };
            if let Some(t) = task {
                if matches!(t, Task::Ses(_) | Task::Inbound(..) | Task::Unsubscribe(_)) {
                    self.delivered.push(t.clone());
                }
                tasks.push(t);
            }
        }
        if !tasks.is_empty() {
            self.log(format!("» {} handlers at once", tasks.len()));
            self.run_background(tasks).await;
        }
    }

    fn pending_wake_ups(&self) -> Vec<WakeUp> {
        let conn = self.db.lock();
        let Ok(mut stmt) = conn.prepare_cached("SELECT body FROM wakeups ORDER BY at, name") else {
            return Vec::new();
        };
        stmt.query_map([], |r| r.get::<_, String>(0))
            .map(|rows| {
                rows.filter_map(Result::ok)
                    .filter_map(|b| serde_json::from_str(&b).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn wake_up_names(&self) -> HashSet<String> {
        let conn = self.db.lock();
        let Ok(mut stmt) = conn.prepare_cached("SELECT name FROM wakeups") else {
            return HashSet::new();
        };
        stmt.query_map([], |r| r.get::<_, String>(0))
            .map(|rows| rows.filter_map(Result::ok).collect())
            .unwrap_or_default()
    }

    // --- notifications ----------------------------------------------------

    fn ses_task(&mut self) -> Option<Task> {
        let sent = self.oracle.sent();
        let n = self.next();
        let now = self.now().to_rfc3339();
        if sent.is_empty() || self.rng.random_bool(0.05) {
            // About a message this service never sent: retried, then ignored.
            let inner = json!({
                "eventType": "Delivery",
                "mail": {"timestamp": now, "messageId": format!("unknown-{n}"), "source": "x@y.example",
                         "destination": ["someone@else.example"]},
                "delivery": {"timestamp": now, "recipients": ["someone@else.example"]}
            });
            return Some(Task::Ses(sns(&inner, n, &now)));
        }
        let msg = pick(&mut self.rng, &sent)?.clone();
        let tagged = self.rng.random_bool(0.75);
        let publishing = tagged || self.rng.random_bool(0.5);
        let kind_roll = self.rng.random_range(0..100);
        let (kind, detail) = match kind_roll {
            0..40 => (
                "Delivery",
                json!({"timestamp": now, "recipients": [msg.to.as_str()], "smtpResponse": "250 ok"}),
            ),
            40..65 => (
                "Bounce",
                json!({"bounceType": "Permanent", "bounceSubType": "General", "timestamp": now,
                       "feedbackId": format!("fb-{n}"),
                       "bouncedRecipients": [{"emailAddress": msg.to.as_str(), "action": "failed",
                         "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}),
            ),
            65..85 => (
                "Bounce",
                json!({"bounceType": "Transient", "bounceSubType": "MailboxFull", "timestamp": now,
                       "feedbackId": format!("fb-{n}"),
                       "bouncedRecipients": [{"emailAddress": msg.to.as_str(), "action": "delayed",
                         "status": "4.2.2", "diagnosticCode": "smtp; 452 4.2.2 mailbox full"}]}),
            ),
            85..88 => (
                "Bounce",
                json!({"bounceType": "Permanent", "bounceSubType": "General", "timestamp": now,
                       "feedbackId": format!("fb-{n}"),
                       "bouncedRecipients": [{"emailAddress": msg.to.as_str(), "action": "failed",
                         "status": "5.7.26", "diagnosticCode": "smtp; 550 5.7.26 unauthenticated (DMARC)"}]}),
            ),
            _ => (
                "Complaint",
                json!({"timestamp": now, "feedbackId": format!("fb-{n}"), "complaintFeedbackType": "abuse",
                       "complainedRecipients": [{"emailAddress": msg.to.as_str()}]}),
            ),
        };
        Some(Task::Ses(sns(
            &ses_json(&msg, kind, detail, tagged, publishing),
            n,
            &now,
        )))
    }

    fn inbound_task(&mut self) -> Option<Task> {
        let sent = self.oracle.sent();
        let msg = pick(&mut self.rng, &sent)?.clone();
        let n = self.next();
        let now = self.now();
        let by_token = self.rng.random_bool(0.8);
        let to = match (&msg.reply_token, by_token) {
            (Some(t), true) => format!("reply+{t}@{REPLY_DOMAIN}"),
            _ => msg.from.to_string(),
        };
        let auto = self.rng.random_bool(0.35);
        let back: Option<NaiveDate> = (auto && self.rng.random_bool(0.6))
            .then(|| (now + Duration::days(self.rng.random_range(1..20))).date_naive());
        let mut raw = format!(
            "From: Candidate <{}>\r\nTo: {to}\r\nSubject: {}{}\r\nDate: {}\r\nMessage-ID: <in-{n}@candidate.example>\r\nIn-Reply-To: {}\r\nReferences: {}\r\n",
            msg.to,
            if auto { "Automatic reply: " } else { "Re: " },
            msg.subject,
            now.to_rfc2822(),
            msg.rfc822_message_id,
            msg.rfc822_message_id,
        );
        if auto {
            raw.push_str("Auto-Submitted: auto-replied\r\n");
        }
        raw.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
        match (auto, back) {
            (true, Some(d)) => raw.push_str(&format!(
                "I am out of the office and will be back on {}.\r\n",
                d.format("%Y-%m-%d")
            )),
            (true, None) => raw.push_str("I am out of the office with limited access.\r\n"),
            _ => raw.push_str("Thanks, that sounds interesting. Let's talk.\r\n"),
        }
        let authenticated = self.rng.random_bool(0.5);
        Some(Task::Inbound(raw.into_bytes(), authenticated))
    }

    fn unsubscribe_task(&mut self) -> Option<Task> {
        let sent = self.oracle.sent();
        if self.rng.random_bool(0.1) {
            return Some(Task::Unsubscribe("not-a-token".into()));
        }
        let msg = pick(&mut self.rng, &sent)?;
        msg.unsubscribe_token.clone().map(Task::Unsubscribe)
    }

    // --- users ------------------------------------------------------------

    fn enrollment_in(&self, status: &[EnrollmentStatus]) -> Vec<(usize, String)> {
        self.oracle
            .enrollments(status)
            .into_iter()
            .filter_map(|(c, e)| {
                let ci = self.campaigns.iter().position(|k| k.id.as_str() == c)?;
                Some((ci, e))
            })
            .collect()
    }

    async fn user_task(&mut self) -> Option<Task> {
        if self.campaigns.is_empty() {
            return None;
        }
        let ci = self.rng.random_range(0..self.campaigns.len());
        let cid = self.campaigns[ci].id.to_string();
        Some(match self.rng.random_range(0..17) {
            0 | 1 => Task::PauseCampaign(cid),
            2 | 3 => Task::ResumeCampaign(cid),
            4 => {
                if self.rng.random_bool(0.4) {
                    Task::StopCampaign(cid)
                } else {
                    Task::PauseCampaign(cid)
                }
            }
            5 => Task::StartCampaign(cid),
            6 => {
                let edit = match self.rng.random_range(0..6) {
                    0 => Edit::Steps(self.random_steps()),
                    1 => Edit::When(self.random_when()),
                    2 => Edit::SkipWeekends(self.rng.random_bool(0.5)),
                    3 => Edit::DailyLimit(self.rng.random_range(1..=6)),
                    4 => Edit::Name(format!("Renamed {}", self.next())),
                    _ => Edit::Timezone(pick(&mut self.rng, ZONES).expect("zones").to_string()),
                };
                Task::Edit(cid, edit)
            }
            7 => {
                let ids: Vec<String> = self
                    .candidates
                    .iter()
                    .filter(|_| self.rng.random_bool(0.15))
                    .map(|(id, _)| id.to_string())
                    .collect();
                Task::Add(cid, ids, self.rng.random_bool(0.5))
            }
            8..=10 => {
                let all = self.enrollment_in(&[]);
                let (c, e) = pick(&mut self.rng, &all)?.clone();
                let cid = self.campaigns[c].id.to_string();
                match self.rng.random_range(0..3) {
                    0 => Task::PauseEnrollment(cid, e),
                    1 => Task::ResumeEnrollment(cid, e),
                    _ => Task::RemoveEnrollment(cid, e),
                }
            }
            11 => {
                let bounced = self.enrollment_in(&[EnrollmentStatus::Bounced]);
                let (c, e) = pick(&mut self.rng, &bounced)?.clone();
                let n = self.next();
                Task::Retry(
                    self.campaigns[c].id.to_string(),
                    e,
                    format!("retry{n}@typed.example"),
                )
            }
            12 => {
                let blocked = self.enrollment_in(&[EnrollmentStatus::Blocked]);
                let (c, e) = pick(&mut self.rng, &blocked)?.clone();
                let n = self.next();
                let address = self
                    .rng
                    .random_bool(0.5)
                    .then(|| format!("override{n}@typed.example"));
                Task::Overrides(self.campaigns[c].id.to_string(), e, address)
            }
            13 => {
                let a = pick(&mut self.rng, &self.accounts)?.clone();
                Task::Relink(a.to_string())
            }
            14 => {
                let a = pick(&mut self.rng, &self.accounts)?.clone();
                let limit = self
                    .rng
                    .random_bool(0.8)
                    .then(|| self.rng.random_range(1..=6));
                Task::AccountLimit(a.to_string(), limit)
            }
            _ => {
                let a = pick(&mut self.rng, &self.accounts)?.clone();
                let (c, _) = pick(&mut self.rng, &self.candidates)?.clone();
                Task::Single(c.to_string(), a.to_string())
            }
        })
    }

    // --- invariants -------------------------------------------------------

    /// every enrollment that can still send has a wake-up for
    /// its current plan, or a due time the sweeper will act on.
    async fn check_liveness(&mut self) {
        let now = self.now();
        let names = self.wake_up_names();
        let mut overdue = std::collections::HashMap::new();
        for (e, campaign) in self.oracle.needing_progress() {
            let Some(step) = e.due_step() else { continue };
            let name = format!("{}.s{step}.v{}", e.id, e.plan_version);
            if names.contains(&name) {
                continue;
            }
            // A fan-out of its campaign is queued: it plans the enrollment
            // (a start whose answer was lost after its write left the whole
            // plan to it, issue 19); if it plans nothing, a later check sees it.
            let fan_out = format!("fan.{}.", e.campaign_id);
            if names.iter().any(|n| n.starts_with(&fan_out)) {
                continue;
            }
            let stuck = match crate::oracle::acted_on_at(&e) {
                // Nothing will ever look at it again.
                None => true,
                Some(d) if d >= now - self.margin - Duration::minutes(1) => false,
                // Overdue: the sweeper must have moved it by its next run.
                Some(d) => {
                    let since = self
                        .overdue
                        .get(e.id.as_str())
                        .filter(|(due, _)| *due == d)
                        .map_or(now, |(_, since)| *since);
                    overdue.insert(e.id.to_string(), (d, since));
                    // Two complete sweeps: the due index may lag one
                    // (issue 19: `StaleIndexes` misses a new enrollment for
                    // up to three index reads, a sweep makes two).
                    self.before_last_complete_sweep > since
                }
            };
            if stuck && self.stuck_reported.insert(e.id.to_string()) {
                self.oracle.violate(
                    "R-10.3",
                    format!(
                        "enrollment {} ({:?}, campaign {campaign:?}) has no wake-up for step {step} plan v{} and no due sweeper action (next_due_at {:?}, now {now})",
                        e.id, e.status, e.plan_version, e.next_due_at
                    ),
                );
            }
        }
        self.overdue = overdue;
    }

    /// After the drain: nothing that can send is left unsent, and every
    /// campaign's count of active enrollments is true.
    /// the statistics kept as events happened equal, campaign by
    /// campaign, a recount of the enrollments and reply records as they are
    /// at the end (every crash, lost answer and duplicate included).
    async fn check_stats(&mut self) {
        use std::collections::BTreeMap;
        let org = self.who.org_id.clone();
        let kept: BTreeMap<String, outreach_app::tally::Tally> = match self
            .store
            .stats_counters(&org, "0000-00-00T00:00", "9999-12-31T23:59")
            .await
        {
            Ok(found) => found.into_iter().map(|(c, t)| (c.to_string(), t)).collect(),
            Err(e) => {
                self.oracle
                    .violate("R-11.3", format!("the statistics cannot be read: {e}"));
                return;
            }
        };
        let mut campaigns: Vec<String> = self.oracle.activity().into_keys().collect();
        campaigns.extend(kept.keys().cloned());
        campaigns.sort();
        campaigns.dedup();
        for cid in campaigns {
            let campaign = CampaignId::from(cid.as_str());
            let mut enrollments = Vec::new();
            let mut replies = Vec::new();
            let mut page = outreach_app::ports::PageRequest {
                limit: 100,
                after: None,
            };
            loop {
                let Ok(found) = self
                    .store
                    .list_enrollments_consistent(&org, &campaign, &page)
                    .await
                else {
                    break;
                };
                enrollments.extend(found.items);
                match found.next {
                    Some(next) => page.after = Some(next),
                    None => break,
                }
            }
            let filter = outreach_app::reply::ReplyFilter {
                campaign_id: Some(campaign.clone()),
                ..Default::default()
            };
            let mut page = outreach_app::ports::PageRequest {
                limit: 100,
                after: None,
            };
            loop {
                let Ok(found) = self.store.list_replies(&org, &filter, &page).await else {
                    break;
                };
                replies.extend(found.items);
                match found.next {
                    Some(next) => page.after = Some(next),
                    None => break,
                }
            }
            let recounted = outreach_app::stats::recount(enrollments.iter(), replies.iter());
            let held = kept.get(&cid).cloned().unwrap_or_default();
            if held != recounted {
                let differ: Vec<String> = held
                    .keys()
                    .chain(recounted.keys())
                    .filter(|k| held.get(*k) != recounted.get(*k))
                    .take(6)
                    .map(|k| {
                        format!(
                            "{k}: kept {:?}, recount {:?}",
                            held.get(k),
                            recounted.get(k)
                        )
                    })
                    .collect();
                self.oracle.violate(
                    "R-11.3",
                    format!(
                        "campaign {cid}: the statistics differ from a recount: {}",
                        differ.join("; ")
                    ),
                );
            }
        }
    }

    async fn final_checks(&mut self) {
        for (e, campaign) in self.oracle.needing_progress() {
            let claims = e
                .steps
                .iter()
                .flat_map(|s| &s.attempts)
                .filter(|a| a.state == AttemptState::Claimed)
                .count();
            self.oracle.violate(
                "liveness",
                format!(
                    "after draining, enrollment {} ({:?}, campaign {campaign:?}) still has step {:?} to send (plan v{}, next_due_at {:?}, {claims} live claims)",
                    e.id, e.status, e.due_step(), e.plan_version, e.next_due_at
                ),
            );
        }
        let org = self.who.org_id.clone();
        for (cid, (total, active)) in self.oracle.activity() {
            let Ok(Some(c)) = self
                .store
                .get_campaign(&org, &CampaignId::from(cid.as_str()))
                .await
            else {
                continue;
            };
            let c = c.value;
            if c.active_enrollments != active {
                self.oracle.violate(
                    "R-5.2",
                    format!(
                        "campaign {} counts {} active enrollments, {active} are not ended",
                        c.id, c.active_enrollments
                    ),
                );
            }
            if c.status == CampaignStatus::Running && total > 0 && active == 0 {
                self.oracle.violate(
                    "R-5.2",
                    format!("campaign {} is running with every enrollment ended", c.id),
                );
            }
        }
    }

    /// Faults off, pending deliveries delivered, failed accounts re-linked,
    /// then a long time passes.
    pub async fn drain(&mut self) {
        self.chaos.enabled.store(false, Ordering::Relaxed);
        self.log("» drain: faults off".into());
        let later = std::mem::take(&mut self.later);
        let now = self.now();
        for r in later.into_iter().filter(|r| r.until >= now) {
            self.run_tasks(vec![(r.task, Crash::None)]).await;
        }
        for a in self.accounts.clone() {
            let status = self
                .store
                .get_account(&a)
                .await
                .ok()
                .flatten()
                .map(|v| v.value.status);
            if status == Some(AccountStatus::Error) {
                self.run_tasks(vec![(Task::Relink(a.to_string()), Crash::None)])
                    .await;
            }
        }
        // 150 days at a time, for as long as something is still planned ahead:
        // a daily limit spreads a large campaign over many days.
        for _ in 0..12 {
            let target = self.now() + Duration::days(150);
            self.log(format!("» clock to {target}"));
            self.advance_to(target).await;
            self.check_liveness().await;
            let now = self.now();
            let ahead = self
                .oracle
                .needing_progress()
                .iter()
                .any(|(e, _)| e.next_due_at.is_some_and(|d| d > now));
            if !ahead {
                break;
            }
        }
        self.final_checks().await;
        self.check_stats().await;
        self.oracle.check_auth_refusals();
        self.mark();
    }

    pub fn result(self, events: usize) -> RunResult {
        let trace_hash = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            self.trace.hash(&mut h);
            h.finish()
        };
        let violations = self.oracle.violations();
        if violations.is_empty() {
            return RunResult {
                seed: self.seed,
                violations,
                trace: Vec::new(),
                hand_offs: self.oracle.hand_offs(),
                events,
                trace_hash,
            };
        }
        let mut trace = self.trace;
        if let Some(cut) = self.cut
            && std::env::var_os("SIM_FULL_TRACE").is_none()
        {
            trace.truncate(cut);
        }
        // Readable names for the ids in the trace.
        let mut names: Vec<(String, String)> = Vec::new();
        for (i, a) in self.accounts.iter().enumerate() {
            names.push((a.to_string(), format!("A{i}")));
        }
        for (i, c) in self.campaigns.iter().enumerate() {
            names.push((c.id.to_string(), format!("C{i}")));
        }
        for (i, (k, _)) in self.candidates.iter().enumerate() {
            names.push((k.to_string(), format!("K{i}")));
        }
        for (c, e) in self.oracle.enrollments(&[]) {
            let ci = self
                .campaigns
                .iter()
                .position(|k| k.id.as_str() == c)
                .unwrap_or(usize::MAX);
            let short = format!("E[C{ci}]{}", &e[e.len().saturating_sub(6)..]);
            names.push((e, short));
        }
        let rename = |s: &str| {
            let mut s = s.to_owned();
            for (id, name) in &names {
                if s.contains(id.as_str()) {
                    s = s.replace(id.as_str(), name);
                }
            }
            s
        };
        let mut legend: Vec<String> = names.iter().map(|(id, n)| format!("{n} = {id}")).collect();
        legend.sort();
        let trace = legend
            .into_iter()
            .chain(trace.iter().map(|l| rename(l)))
            .collect();
        let violations = violations
            .into_iter()
            .map(|v| Violation {
                rule: v.rule,
                detail: rename(&v.detail),
            })
            .collect();
        RunResult {
            seed: self.seed,
            violations,
            trace,
            hand_offs: self.oracle.hand_offs(),
            events,
            trace_hash,
        }
    }
}

/// An SES event about `msg` in either SES format.
fn ses_json(
    msg: &SentMessage,
    kind: &str,
    detail: serde_json::Value,
    tagged: bool,
    publishing: bool,
) -> serde_json::Value {
    let mut mail = json!({
        "timestamp": msg.at.to_rfc3339(),
        "messageId": msg.message_id,
        "source": msg.from.as_str(),
        "destination": [msg.to.as_str()],
        "commonHeaders": {"messageId": msg.rfc822_message_id, "subject": msg.subject}
    });
    if tagged {
        mail["tags"] = json!({
            "org": [msg.org], "campaign": [msg.campaign], "enrollment": [msg.enrollment],
            "step": [msg.step.to_string()], "attempt": [msg.attempt.to_string()]
        });
    }
    let kind_key = if publishing {
        "eventType"
    } else {
        "notificationType"
    };
    let mut v = json!({ kind_key: kind, "mail": mail });
    v[kind.to_lowercase()] = detail;
    v
}

/// The SNS envelope of an SES event, as the SES events endpoint receives it.
fn sns(inner: &serde_json::Value, n: u64, now: &str) -> String {
    json!({
        "Type": "Notification",
        "MessageId": format!("sns-{n}"),
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:outreach-ses-events",
        "Message": inner.to_string(),
        "Timestamp": now,
    })
    .to_string()
}

// --- issue 16: reputation breaches while paused, overlapping drafts, 5.7.x refusals

/// A tagged SES bounce of `msg` with an SMTP status.
fn bounce_of(msg: &SentMessage, n: u64, now: &str, status: &str, diagnostic: &str) -> Task {
    let detail = json!({"bounceType": "Permanent", "bounceSubType": "General", "timestamp": now,
        "feedbackId": format!("fb-{n}"),
        "bouncedRecipients": [{"emailAddress": msg.to.as_str(), "action": "failed",
            "status": status, "diagnosticCode": diagnostic}]});
    Task::Ses(sns(&ses_json(msg, "Bounce", detail, true, true), n, now))
}

impl World {
    /// Rolls for one of issue 16's directed scenarios; `true` when one ran.
    async fn issue16_scenario(&mut self) -> bool {
        match self.rng.random_range(0..1000) {
            0..8 => self.breach_while_paused().await,
            8..38 => self.overlapping_drafts().await,
            _ => return false,
        }
        true
    }

    /// The project every campaign of the run lives in.
    async fn project(&self) -> Option<outreach_domain::ids::ProjectId> {
        let first = self.campaigns.first()?;
        let c = self
            .store
            .get_campaign(&self.who.org_id, &first.id)
            .await
            .ok()
            .flatten()?;
        Some(c.value.project_id)
    }

    /// `n` new candidates with one address each at `domain`; their ids.
    async fn fresh_candidates(&mut self, n: usize, domain: &str) -> Vec<String> {
        let s = self.service.clone();
        let batch = self.next();
        let mut ids = Vec::new();
        for i in 0..n {
            let address = format!("b{batch}.k{i}@{domain}");
            let made = s
                .catalog()
                .create_candidate(
                    &self.who,
                    NewCandidate {
                        first_name: format!("Bea{i}"),
                        last_name: format!("Batch{batch}"),
                        title: None,
                        company: Some(format!("Company {i}")),
                        location: None,
                        timezone: None,
                        emails: vec![NewEmail {
                            address: address.clone(),
                            kind: EmailType::Work,
                        }],
                    },
                )
                .await;
            match made {
                Ok(c) => {
                    self.log(format!("candidate {} with [{address:?}]", c.id));
                    self.candidates.push((c.id.clone(), vec![address]));
                    ids.push(c.id.to_string());
                }
                Err(e) => self.log(format!("candidate refused: {e:?}")),
            }
        }
        ids
    }

    /// A draft campaign from `account`; its id.
    async fn draft(&mut self, account: &AccountId, steps: Vec<StepSpec>) -> Option<String> {
        let project = self.project().await?;
        let n = self.next();
        let when = self.random_when();
        let made = self
            .service
            .campaigns()
            .create_campaign(
                &self.who,
                project.as_str(),
                NewCampaign {
                    name: format!("Scenario {n}"),
                    sender_account_id: account.to_string(),
                    template_id: None,
                    steps: Some(steps.clone()),
                    timezone: Some("UTC".into()),
                    when_to_send: when,
                    recipient: None,
                    skip_weekends: false,
                    timezone_mode: TimezoneMode::Campaign,
                    daily_limit: None,
                },
            )
            .await;
        match made {
            Ok(c) => {
                self.log(format!(
                    "campaign {} from {account}: {} steps, UTC, {when:?}",
                    c.id,
                    steps.len()
                ));
                self.campaigns.push(Camp { id: c.id.clone() });
                Some(c.id.to_string())
            }
            Err(e) => {
                self.log(format!("campaign refused: {e:?}"));
                None
            }
        }
    }

    /// the same new candidates in two draft campaigns, started one
    /// after the other (or at once), with pauses and resumes around the
    /// starts. The oracle judges every first step handed off.
    async fn overlapping_drafts(&mut self) {
        let k = self.rng.random_range(1..=3);
        self.log("» scenario: overlapping drafts".into());
        let ids = self.fresh_candidates(k, "drafts.example").await;
        let mut drafts = Vec::new();
        for _ in 0..2 {
            let account = pick(&mut self.rng, &self.accounts)
                .expect("accounts")
                .clone();
            let steps = self.random_steps();
            if let Some(c) = self.draft(&account, steps).await {
                drafts.push(c);
            }
        }
        let [a, b] = &drafts[..] else { return };
        for c in [a, b] {
            let dup = self.rng.random_bool(0.15);
            let add = Task::Add(c.clone(), ids.clone(), dup);
            self.run_tasks(vec![(add, Crash::None)]).await;
        }
        let start = |c: &String| (Task::StartCampaign(c.clone()), Crash::None);
        let pause = |c: &String| (Task::PauseCampaign(c.clone()), Crash::None);
        let resume = |c: &String| (Task::ResumeCampaign(c.clone()), Crash::None);
        let script: Vec<Vec<(Task, Crash)>> = match self.rng.random_range(0..5) {
            0 => vec![vec![start(a)], vec![start(b)]],
            1 => vec![vec![start(a), start(b)]],
            2 => vec![
                vec![start(a)],
                vec![pause(a)],
                vec![start(b)],
                vec![resume(a)],
            ],
            3 => vec![
                vec![start(a)],
                vec![start(b)],
                vec![pause(b)],
                vec![pause(a)],
                vec![resume(b), resume(a)],
            ],
            _ => vec![
                vec![start(a)],
                vec![pause(a)],
                vec![start(b)],
                vec![pause(b)],
                vec![resume(a)],
                vec![resume(b)],
            ],
        };
        for tasks in script {
            if self.rng.random_bool(0.3) {
                let target = self.now() + Duration::minutes(self.rng.random_range(1..40));
                self.log(format!("» clock to {target}"));
                self.advance_to(target).await;
            }
            self.run_tasks(tasks).await;
        }
    }

    /// issue 16: an account sends a bulk campaign, is paused for a
    /// sender error (a 5.7.x bounce) or not, then hard bounces take its window
    /// clearly over 4 %. The guard must leave its notification and hold every
    /// campaign of the account that was running or paused by the service.
    /// Faults are off meanwhile, so the breach is certain.
    async fn breach_while_paused(&mut self) {
        let Some(account) = pick(&mut self.rng, &self.accounts).cloned() else {
            return;
        };
        let paused_first = self.rng.random_bool(0.7);
        self.log(format!(
            "» scenario: a reputation breach of {account} (a sender error first: {paused_first})"
        ));
        let faults = self.chaos.enabled.swap(false, Ordering::Relaxed);
        self.breach(&account, paused_first).await;
        self.chaos.enabled.store(faults, Ordering::Relaxed);
    }

    async fn breach(&mut self, account: &AccountId, paused_first: bool) {
        const BULK: usize = 60;
        let org = self.who.org_id.clone();
        let Some(acc) = self.store.get_account(account).await.ok().flatten() else {
            return;
        };
        let address = acc.value.address.clone();
        if acc.value.status != AccountStatus::Connected {
            let relink = Task::Relink(account.to_string());
            self.run_tasks(vec![(relink, Crash::None)]).await;
        }
        let Some(project) = self.project().await else {
            return;
        };
        let ids = self.fresh_candidates(BULK, "bulk.example").await;
        // A second step keeps the campaign going through the breach, unless
        // it has one step and completes first (the notification is still due).
        let mut steps = vec![StepSpec {
            subject: Some("Hello {{ candidate.first_name }}".into()),
            body: "<p>Hi {{ candidate.first_name }}.</p>".into(),
            text: None,
            delay_days: 0,
        }];
        if self.rng.random_bool(0.7) {
            steps.push(StepSpec {
                subject: None,
                body: "<p>Again, {{ candidate.first_name }}.</p>".into(),
                text: None,
                delay_days: 4,
            });
        }
        let Some(cid) = self.draft(account, steps).await else {
            return;
        };
        self.run_tasks(vec![(Task::Add(cid.clone(), ids, false), Crash::None)])
            .await;
        self.run_tasks(vec![(Task::StartCampaign(cid.clone()), Crash::None)])
            .await;
        let target = self.now() + Duration::days(2);
        self.log(format!("» clock to {target}"));
        self.advance_to(target).await;
        let sent = self.oracle.sent();
        let fresh: Vec<SentMessage> = sent
            .iter()
            .filter(|m| m.campaign == cid && m.attempt == 1)
            .cloned()
            .collect();
        // The service counts at most what reached the outbox; fewer sends
        // only make the rate higher.
        let total = sent.iter().filter(|m| m.from == address).count();
        let hits = (total.min(200) as f64 * 0.04).floor() as usize + 2;
        if fresh.len() < 50 || fresh.len() <= hits {
            self.log(format!(
                "» scenario skipped: {} bulk sends for {hits} bounces",
                fresh.len()
            ));
            return;
        }
        let now = self.now().to_rfc3339();
        if paused_first {
            let n = self.next();
            let task = bounce_of(
                &fresh[0],
                n,
                &now,
                "5.7.26",
                "smtp; 550 5.7.26 unauthenticated (DMARC)",
            );
            let refusal = self.auth_refusal_of(&task);
            self.run_tasks(vec![(task, Crash::None)]).await;
            self.note_auth_refusal(refusal);
        }
        let campaigns = self
            .store
            .campaigns_using(account)
            .await
            .unwrap_or_default();
        let mut held = Vec::new();
        for (o, c) in &campaigns {
            if let Ok(Some(c)) = self.store.get_campaign(o, c).await {
                let c = c.value;
                let by_service = c.status == CampaignStatus::Paused
                    && c.pause_reason.is_some_and(|r| r.resumes_by_itself());
                if c.status == CampaignStatus::Running || by_service {
                    held.push((c.id, c.status, c.pause_reason));
                }
            }
        }
        for m in &fresh[1..=hits] {
            let n = self.next();
            let task = bounce_of(m, n, &now, "5.1.1", "smtp; 550 5.1.1 user unknown");
            self.run_tasks(vec![(task, Crash::None)]).await;
        }
        let notified = self
            .store
            .list_notifications(&org, project.as_str())
            .await
            .unwrap_or_default()
            .iter()
            .any(|n| n.kind == "sender_reputation" && n.resolved_at.is_none());
        if !notified {
            self.oracle.violate(
                "R-2.5",
                format!("{hits} hard bounces of {total} sends of {account}: no open sender_reputation notification"),
            );
        }
        for (id, status, reason) in held {
            let now = self.store.get_campaign(&org, &id).await.ok().flatten();
            let reputation = now.as_ref().is_some_and(|c| {
                c.value.status == CampaignStatus::Paused
                    && c.value.pause_reason
                        == Some(outreach_domain::campaign::PauseReason::SenderReputation)
            });
            if !reputation {
                self.oracle.violate(
                    "R-2.5",
                    format!(
                        "campaign {id} ({status:?}, {reason:?}) of {account} is {:?} after a breach, not paused for sender_reputation",
                        now.map(|c| (c.value.status, c.value.pause_reason))
                    ),
                );
            }
        }
    }

    /// A 5.7.x bounce about a step's latest attempt that reached the mail
    /// service: (enrollment, step, attempt), for R-2.3's re-send check.
    fn auth_refusal_of(&self, task: &Task) -> Option<(String, u32, u32)> {
        let Task::Ses(body) = task else { return None };
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        let inner: serde_json::Value = serde_json::from_str(v["Message"].as_str()?).ok()?;
        let status = inner["bounce"]["bouncedRecipients"][0]["status"].as_str()?;
        if !status.starts_with("5.7.") {
            return None;
        }
        let id = inner["mail"]["messageId"].as_str()?;
        let m = self
            .oracle
            .sent()
            .into_iter()
            .find(|m| m.message_id == id)?;
        self.oracle
            .refusal_counts(&m.enrollment, m.step, m.attempt)
            .then_some((m.enrollment, m.step, m.attempt))
    }

    /// Records a refusal the service applied (its handler did not crash).
    fn note_auth_refusal(&self, refusal: Option<(String, u32, u32)>) {
        let applied = self
            .trace
            .last()
            .is_some_and(|l| l.contains("SenderFault") && !l.contains("crashed"));
        if let Some((e, step, attempt)) = refusal
            && applied
        {
            self.oracle.note_auth_refusal(&e, step, attempt);
        }
    }
}
