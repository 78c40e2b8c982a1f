//! The service: the ports wired together and the configuration every use case
//! shares. The use cases live in `usecases/`, one folder per process; each
//! process is a view of the service (`service.sending()`,
//! `service.campaigns()`, …) whose methods are that process' steps.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::Duration;
use outreach_domain::ids::OrgId;

use crate::auth::Authenticator;
use crate::error::Error;
use crate::ports::{
    Clock, IdSource, Identities, Mailer, NoRawMail, Queue, RawMail, Scheduler, Store,
};

#[derive(Debug, Clone)]
pub struct Config {
    /// Base of public links such as the one-click unsubscribe URL.
    pub public_base_url: String,
    /// Domain of per-enrollment Reply-To addresses.
    pub reply_domain: String,
    /// Credits of an organization when first seen.
    pub initial_credits: i64,
    /// Whether a newly linked account must prove control first (AWS) or is
    /// connected at once (local mode, R-2.1).
    pub accounts_need_proof: bool,
    /// How long a send claim holds; longer than any handler's timeout.
    pub claim_lease: Duration,
    /// How long a due enrollment may wait for its wake-up before the sweeper acts.
    pub sweep_margin: Duration,
    /// How long the sweeper leaves an enrollment it put on the send queue
    /// before it looks at it again: the queued message is its wake-up meanwhile (§15).
    pub requeue_hold: Duration,
    /// Delay before retrying a send the mail service deferred.
    pub defer_delay: Duration,
    /// Delay before a hard-bounced step goes to the next address (R-9.2: "within a few minutes").
    pub resend_delay: Duration,
    /// Delay before a soft-bounced step is retried.
    pub soft_retry_delay: Duration,
    /// Key of the keyed hashes that stand for suppressed addresses.
    pub hash_key: Vec<u8>,
    /// Whether start and resume plan the first fan-out chunk in the request
    /// (local mode: a small campaign is planned when start answers) or leave
    /// every chunk to the queue (AWS: the request makes a bounded number of
    /// calls whatever the campaign's size, §15).
    pub plan_first_chunk_in_request: bool,
    /// The most data rows an import with `campaign_id` takes in one request
    /// (R-3.7; 413 beyond): local mode all 10,000, AWS 1,000 (§13's cap of one
    /// add-candidates call), so that adding them fits the API's 29-second
    /// timeout.
    pub import_enroll_max_rows: usize,
    /// The most store calls (about one a valid row and one a distinct
    /// address) an import makes within its request; a larger one is queued
    /// as a job and answered 202 (R-3.7, §15; README, "Import"). `None`:
    /// every import answers when done (local mode).
    pub import_sync_max_calls: Option<usize>,
}

impl Config {
    pub fn local(port: u16) -> Self {
        Config {
            public_base_url: format!("http://127.0.0.1:{port}"),
            reply_domain: "reply.outreach.localhost".into(),
            initial_credits: 100,
            accounts_need_proof: false,
            claim_lease: Duration::minutes(5),
            sweep_margin: Duration::minutes(2),
            requeue_hold: Duration::minutes(15),
            defer_delay: Duration::minutes(5),
            resend_delay: Duration::minutes(2),
            soft_retry_delay: Duration::hours(24),
            hash_key: b"outreach-local".to_vec(),
            plan_first_chunk_in_request: true,
            import_enroll_max_rows: 10_000,
            import_sync_max_calls: None,
        }
    }
}

/// The ports a service runs on.
#[derive(Clone)]
pub struct Ports {
    pub store: Arc<dyn Store>,
    pub scheduler: Arc<dyn Scheduler>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdSource>,
    pub auth: Arc<dyn Authenticator>,
    pub identities: Arc<dyn Identities>,
    pub queue: Arc<dyn Queue>,
}

pub struct Service {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) scheduler: Arc<dyn Scheduler>,
    pub(crate) mailer: Arc<dyn Mailer>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: Arc<dyn IdSource>,
    pub(crate) auth: Arc<dyn Authenticator>,
    pub(crate) identities: Arc<dyn Identities>,
    pub(crate) queue: Arc<dyn Queue>,
    /// Raw inbound mail: local mode's data folder; none in AWS.
    pub(crate) raw_mail: Arc<dyn RawMail>,
    pub(crate) config: Config,
    known_orgs: Mutex<HashSet<OrgId>>,
}

impl Service {
    pub fn new(ports: Ports, config: Config) -> Arc<Self> {
        Self::keeping_raw_mail(ports, config, Arc::new(NoRawMail))
    }

    /// [`Service::new`] with a place for raw inbound mail (local mode, R-11.2).
    pub fn keeping_raw_mail(ports: Ports, config: Config, raw_mail: Arc<dyn RawMail>) -> Arc<Self> {
        Arc::new(Service {
            store: ports.store,
            scheduler: ports.scheduler,
            mailer: ports.mailer,
            clock: ports.clock,
            ids: ports.ids,
            auth: ports.auth,
            identities: ports.identities,
            queue: ports.queue,
            raw_mail,
            config,
            known_orgs: Mutex::new(HashSet::new()),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store, for tools that fill or inspect it directly (the bench).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Gives an organization its initial credits the first time it is seen.
    pub(crate) async fn ensure_org(&self, org: &OrgId) -> Result<(), Error> {
        if self.known_orgs.lock().expect("lock").contains(org) {
            return Ok(());
        }
        self.store
            .ensure_org(org, self.config.initial_credits, self.clock.now())
            .await?;
        self.known_orgs.lock().expect("lock").insert(org.clone());
        Ok(())
    }

    pub(crate) fn new_id(&self, prefix: &str) -> String {
        self.ids.new_id(prefix)
    }
}

/// Clamp a requested page size to 1..=100 (default 50).
pub(crate) fn page_limit(limit: Option<u32>) -> u32 {
    limit.unwrap_or(50).clamp(1, 100)
}
