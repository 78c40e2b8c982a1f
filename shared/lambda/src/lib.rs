//! The Lambda side of Outreach (SPEC §15): what the functions under
//! `functions/` share. [`App`] is the service built once per execution
//! environment from the variables the SAM template sets ([`settings`]) on the
//! AWS adapters, and each trigger's event becomes a service call in
//! [`triggers`]; a function's `main` only picks its trigger.
//!
//! | function | trigger | handler |
//! |---|---|---|
//! | `api` | API Gateway HTTP API (payload 2.0), JWT authorizer | [`App::router`] |
//! | `api-mail` | API Gateway HTTP API: accounts, messages, history, replies, import, stats | [`App::mail_router`] |
//! | `webhooks` | API Gateway HTTP API: `POST /v1/webhooks/*`, public (SNS HTTPS deliveries) | [`App::webhooks_router`] |
//! | `send-step` | SQS send queue (EventBridge Scheduler one-shot schedules, the sweeper, single messages) | [`App::on_send_step`] |
//! | `ses-events` | SNS: SES bounce, complaint, delivery | [`App::on_ses_events`] |
//! | `inbound` | SNS: SES receipt rule, raw message in S3 | [`App::on_inbound`] |
//! | `identity-check` | EventBridge schedules (hourly, every 5 minutes) | [`App::on_maintenance`] |
//! | `planner` | SQS planner queue | [`App::on_queue`] |

pub mod auth;
pub mod pacing;
pub mod queue;
pub mod settings;
pub mod telemetry;
pub mod triggers;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use outreach_app::ports::{Clock, IdSource, Mailer};
use outreach_app::sns::{CertificateSource, SnsVerifier, SubscriptionConfirmer};
use outreach_app::{Config, Ports, Service};
use outreach_aws::{
    AwsClients, DynamoStore, EventBridgeScheduler, HttpsCertificates, S3RawMessages,
    ScheduleTarget, ServiceClients, SesIdentities, SesMailer, SnsSubscriptions,
};

pub use lambda_http;
pub use lambda_runtime;
pub use settings::{Settings, SettingsError};
pub use telemetry::init_tracing;
pub use triggers::HandlerError;

/// How long EventBridge Scheduler keeps retrying a delivery to the send queue
/// it could not make, and how often; after that the job lands in the
/// scheduler's dead-letter queue (and the sweeper still finds the enrollment, R-8.1).
const SCHEDULE_MAX_EVENT_AGE_SECONDS: i32 = 3600;
const SCHEDULE_MAX_RETRIES: i32 = 10;

/// The service of one execution environment, and what its triggers need
/// besides it.
pub struct App {
    pub service: Arc<Service>,
    /// Stored inbound mail: only the inbound function reads it
    /// ([`App::inbound_from_env`]); the others build no S3 client (issue 20).
    raw_messages: Option<S3RawMessages>,
    /// The SNS HTTPS webhooks' verifier, when the deployment names topics
    /// (§15); only the webhooks function attaches one ([`App::webhooks_from_env`]).
    webhooks: Option<Arc<SnsVerifier>>,
    /// The pace of this instance's sends (send-step, §15).
    pacer: Option<Arc<pacing::Pacer>>,
}

impl App {
    /// Built from the environment the template sets, on the default AWS
    /// configuration (the function's role in Lambda), for a function that
    /// links no account: without DMARC lookups, so that its bootstrap
    /// links neither the DNS resolver nor the public suffix list (issue 20).
    pub async fn from_env() -> Result<App, SettingsError> {
        let settings = Settings::from_env()?;
        let sdk = outreach_aws::config::load_config().await;
        App::start_as(settings, &sdk, None, plain_identities).await
    }

    /// The `api-mail` function's [`App::from_env`]: linking an account looks
    /// up its domain's DMARC policy. Only that function serves the
    /// accounts' routes, so only its bootstrap links the lookup (issue 20).
    pub async fn api_mail_from_env() -> Result<App, SettingsError> {
        let settings = Settings::from_env()?;
        let sdk = outreach_aws::config::load_config().await;
        App::start(settings, &sdk, None).await
    }

    /// The inbound function's [`App::from_env`]: with the S3 client that
    /// reads the mail the receipt rule stored.
    pub async fn inbound_from_env() -> Result<App, SettingsError> {
        let settings = Settings::from_env()?;
        let sdk = outreach_aws::config::load_config().await;
        let mut app = App::start_as(settings, &sdk, None, plain_identities).await?;
        app.raw_messages = Some(S3RawMessages::new(outreach_aws::config::s3_client(
            &sdk,
            &[],
        )));
        Ok(app)
    }

    /// The webhooks function's [`App::from_env`]: with the SNS HTTPS webhooks
    /// (§15), certificates fetched from SNS over HTTPS and subscriptions
    /// confirmed through the SNS API. The other functions never build them,
    /// so their bootstraps link neither (issue 20).
    pub async fn webhooks_from_env() -> Result<App, SettingsError> {
        let settings = Settings::from_env()?;
        let sdk = outreach_aws::config::load_config().await;
        let app = App::start_as(settings.clone(), &sdk, None, plain_identities).await?;
        Ok(app.with_sns_webhooks(
            &settings,
            Arc::new(HttpsCertificates::new()),
            Arc::new(SnsSubscriptions::new(&sdk)),
        ))
    }

    /// The send function's [`App::from_env`]: its sends are paced to the
    /// account's SES maximum send rate, read now, divided by the send queue's
    /// concurrency (§15). A rate SES does not tell counts as the sandbox's one
    /// message a second.
    pub async fn send_step_from_env() -> Result<App, SettingsError> {
        let settings = Settings::from_env()?;
        let sdk = outreach_aws::config::load_config().await;
        let sesv2 = ServiceClients::new(&sdk, &[]).sesv2;
        let rate = match outreach_aws::ses::max_send_rate(&sesv2).await {
            Ok(rate) => rate,
            Err(why) => {
                tracing::error!(error = %why, fallback = pacing::FALLBACK_SEND_RATE, "could not read the SES maximum send rate");
                pacing::FALLBACK_SEND_RATE
            }
        };
        let pacer =
            pacing::Pacer::for_account(rate, settings.send_concurrency, Arc::new(SystemClock));
        tracing::info!(
            max_send_rate = rate,
            concurrency = settings.send_concurrency,
            interval_ms = pacer.interval().num_milliseconds(),
            "pacing the sends"
        );
        App::start_as(settings, &sdk, Some(Arc::new(pacer)), plain_identities).await
    }

    /// What [`App::from_env`] does once the settings and the AWS configuration
    /// are known: reads the hash key from its secret (§15), then builds the
    /// service on the adapters, with DMARC lookups (the API function's); its
    /// sends wait for `pacer`'s slots when there is one.
    pub async fn start(
        settings: Settings,
        sdk: &aws_config::SdkConfig,
        pacer: Option<Arc<pacing::Pacer>>,
    ) -> Result<App, SettingsError> {
        App::start_as(settings, sdk, pacer, dmarc_identities).await
    }

    /// [`App::start`] with the identities `identities` builds: a function
    /// item, so that each function links only the identities it builds.
    async fn start_as(
        settings: Settings,
        sdk: &aws_config::SdkConfig,
        pacer: Option<Arc<pacing::Pacer>>,
        identities: impl FnOnce(&Settings, &ServiceClients) -> SesIdentities,
    ) -> Result<App, SettingsError> {
        let settings = read_hash_key(settings, sdk).await?;
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let clients = ServiceClients::new(sdk, &[]);
        let mailer = ses_mailer(&settings, &clients);
        let identities = identities(&settings, &clients);
        Ok(App::compose(
            &settings,
            clients,
            sqs,
            Arc::new(SystemClock),
            mailer,
            pacer,
            identities,
        ))
    }

    /// Attaches the SNS HTTPS webhooks (§15) for the settings' topics, with
    /// certificates from `certificates` (in AWS: fetched from SNS over HTTPS)
    /// and subscription confirmations made by `confirmer` (`ConfirmSubscription`);
    /// without topics the webhooks stay off (404).
    pub fn with_sns_webhooks(
        mut self,
        settings: &Settings,
        certificates: Arc<dyn CertificateSource>,
        confirmer: Arc<dyn SubscriptionConfirmer>,
    ) -> App {
        self.webhooks = (!settings.sns_topic_arns.is_empty()).then(|| {
            Arc::new(
                SnsVerifier::new(certificates, settings.sns_topic_arns.iter().cloned())
                    .with_confirmer(confirmer),
            )
        });
        self
    }

    /// The service on the AWS adapters, sending through SES unpaced.
    pub fn new(
        settings: &Settings,
        clients: AwsClients,
        sqs: aws_sdk_sqs::Client,
        clock: Arc<dyn Clock>,
    ) -> App {
        let mailer = ses_mailer(settings, &clients.service());
        App::with_mailer(settings, clients, sqs, clock, mailer, None)
    }

    /// The service on the AWS adapters with `mailer` as its mail service (SES;
    /// a stand-in in tests), each send waiting for `pacer`'s slot when there
    /// is one (send-step, §15).
    pub fn with_mailer(
        settings: &Settings,
        clients: AwsClients,
        sqs: aws_sdk_sqs::Client,
        clock: Arc<dyn Clock>,
        mailer: Arc<dyn Mailer>,
        pacer: Option<Arc<pacing::Pacer>>,
    ) -> App {
        let service = clients.service();
        let identities = dmarc_identities(settings, &service);
        let mut app = App::compose(settings, service, sqs, clock, mailer, pacer, identities);
        app.raw_messages = Some(S3RawMessages::new(clients.s3));
        app
    }

    fn compose(
        settings: &Settings,
        clients: ServiceClients,
        sqs: aws_sdk_sqs::Client,
        clock: Arc<dyn Clock>,
        mailer: Arc<dyn Mailer>,
        pacer: Option<Arc<pacing::Pacer>>,
        identities: SesIdentities,
    ) -> App {
        let mailer: Arc<dyn Mailer> = match &pacer {
            Some(pacer) => Arc::new(pacing::PacedMailer::new(mailer, pacer.clone())),
            None => mailer,
        };
        let scheduler = EventBridgeScheduler::new(
            clients.scheduler.clone(),
            &settings.schedule_group,
            ScheduleTarget {
                arn: settings.send_queue_arn.clone(),
                role_arn: settings.scheduler_role_arn.clone(),
                dead_letter_arn: settings.scheduler_dlq_arn.clone(),
                max_event_age_seconds: SCHEDULE_MAX_EVENT_AGE_SECONDS,
                max_retries: SCHEDULE_MAX_RETRIES,
            },
            clock.clone(),
        );
        let ports = Ports {
            store: Arc::new(DynamoStore::new(clients.dynamodb.clone(), &settings.table)),
            scheduler: Arc::new(scheduler),
            mailer,
            clock: clock.clone(),
            ids: Arc::new(RandomIds),
            auth: Arc::new(auth::AuthorizerClaims::new(settings.claims.clone())),
            identities: Arc::new(identities),
            queue: Arc::new(queue::SqsQueue::new(
                sqs,
                &settings.planner_queue_url,
                &settings.send_queue_url,
                clock,
            )),
        };
        App {
            service: Service::new(ports, service_config(settings)),
            raw_messages: None,
            webhooks: None,
            pacer,
        }
    }
}

/// SES identities with the DMARC lookup (R-2.1: linking an account, the
/// `api-mail` function) on the settings' name server, else the system's.
fn dmarc_identities(settings: &Settings, clients: &ServiceClients) -> SesIdentities {
    let sesv2 = clients.sesv2.clone();
    match settings.dns_resolver {
        Some(resolver) => SesIdentities::with_resolver(sesv2, resolver),
        None => SesIdentities::new(sesv2),
    }
}

/// SES identities without DMARC lookups, for every function that links no
/// account (issue 20: no DNS resolver, no public suffix list).
fn plain_identities(_: &Settings, clients: &ServiceClients) -> SesIdentities {
    SesIdentities::without_dmarc(clients.sesv2.clone())
}

/// SES v2 with the configuration set that publishes the events.
fn ses_mailer(settings: &Settings, clients: &ServiceClients) -> Arc<dyn Mailer> {
    Arc::new(SesMailer::new(
        clients.sesv2.clone(),
        &clients.region,
        settings.configuration_set.clone(),
    ))
}

/// The settings with the hash key read from its secret, when they name one.
async fn read_hash_key(
    settings: Settings,
    sdk: &aws_config::SdkConfig,
) -> Result<Settings, SettingsError> {
    let Some(arn) = settings.hash_key_secret_arn.clone() else {
        return Ok(settings);
    };
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let secret = outreach_aws::secrets::secret_string(&client, &arn)
        .await
        .map_err(|why| SettingsError::Secret {
            arn: arn.clone(),
            why,
        })?;
    settings.with_hash_key_secret(secret)
}

/// The most store calls an import makes within the API's request:
/// at 16 in flight and 5–10 ms a call about 2–4 seconds, leaving the
/// 29-second timeout room for slow calls and retries (README, "Import").
pub const IMPORT_SYNC_MAX_CALLS: usize = 6_000;

/// The deployment's parameters; the timing rules (claim lease, sweep margin,
/// retry delays) are the service's own and the same as in local mode.
pub fn service_config(settings: &Settings) -> Config {
    Config {
        public_base_url: settings.public_base_url.clone(),
        reply_domain: settings.reply_domain.clone(),
        initial_credits: settings.initial_credits,
        // in AWS every link proves control of the address.
        accounts_need_proof: true,
        hash_key: settings.hash_key.clone(),
        // §15: every chunk of a start's or resume's fan-out goes to the
        // planner queue; the request's calls do not grow with the campaign.
        plan_first_chunk_in_request: false,
        // adding an import's candidates to a campaign stays within the
        // API's timeout (README, "Import").
        import_enroll_max_rows: 1_000,
        // §15: an import beyond some 6,000 store calls (2,000 rows of
        // two addresses) runs as a job on the planner queue (README, "Import").
        import_sync_max_calls: Some(IMPORT_SYNC_MAX_CALLS),
        ..Config::local(0)
    }
}

/// The system time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Ids that sort by creation (milliseconds first) and stay apart across
/// concurrent execution environments (80 random bits); 256-bit tokens.
pub struct RandomIds;

impl IdSource for RandomIds {
    fn new_id(&self, prefix: &str) -> String {
        let millis = Utc::now().timestamp_millis().max(0);
        let random = rand::random::<u128>() >> 48;
        format!("{prefix}_{millis:012x}{random:020x}")
    }

    fn token(&self) -> String {
        // Lower-case base32: survives case-folding of the Reply-To.
        outreach_domain::token::encode(&rand::random::<[u8; 32]>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_creation_and_tokens_are_long() {
        let first = RandomIds.new_id("cmp");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = RandomIds.new_id("cmp");
        assert!(
            first.starts_with("cmp_") && first < second,
            "{first} {second}"
        );
        assert_ne!(RandomIds.token(), RandomIds.token());
        let token = RandomIds.token();
        assert_eq!(token.len(), 52);
        assert_eq!(token, token.to_ascii_lowercase());
    }
}
