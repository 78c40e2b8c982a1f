//! The Lambda side of Outreach (SPEC §15): what the functions under
//! `functions/` share. [`App`] is the service built once per execution
//! environment from the variables the SAM template sets ([`settings`]) on the
//! AWS adapters, and each trigger's event becomes a service call in
//! [`triggers`]; a function's `main` only picks its trigger.
//!
//! | function | trigger | handler |
//! |---|---|---|
//! | `api` | API Gateway HTTP API (payload 2.0), JWT authorizer; no SES client | [`App::router`] |
//! | `api-mail` | API Gateway HTTP API: messages, history, replies, import, stats; no SES client | [`App::mail_router`] |
//! | `api-accounts` | API Gateway HTTP API: sender accounts and their confirmation pages | [`App::accounts_router`] |
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
use outreach_app::ports::{
    Clock, IdSource, Identities, IdentityError, Mailer, MailerError, OutboundMail, SentMail,
};
use outreach_app::sns::{CertificateSource, SnsVerifier, SubscriptionConfirmer};
use outreach_app::{Config, Ports, Service};
use outreach_aws::{
    AwsClients, DynamoStore, EventBridgeScheduler, HttpsCertificates, S3RawMessages,
    ScheduleTarget, SesIdentities, SesMailer, SnsSubscriptions,
};
use outreach_domain::EmailAddress;

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
        App::start_as(settings, &sdk, None, plain_mail).await
    }

    /// The `api` function's [`App::from_env`]: its routes never send mail
    /// nor touch an identity (sends go to the send queue, accounts are
    /// `api-accounts`'), so it builds no SES client at all ([`NoMailService`])
    /// and its bootstrap links none of SES v2 (issue 20).
    pub async fn api_from_env() -> Result<App, SettingsError> {
        let settings = Settings::from_env()?;
        let sdk = outreach_aws::config::load_config().await;
        App::start_as(settings, &sdk, None, |_, _| {
            (Arc::new(NoMailService), Arc::new(NoMailService))
        })
        .await
    }

    /// The `api-mail` function's [`App::from_env`]: like `api`'s, without a
    /// mail service ([`App::api_from_env`]): its single messages and answers
    /// go to the send queue.
    pub async fn api_mail_from_env() -> Result<App, SettingsError> {
        App::api_from_env().await
    }

    /// The `api-accounts` function's [`App::from_env`]: linking an account
    /// looks up its domain's DMARC policy and mails the proof. Only
    /// that function serves the accounts' routes, so only its bootstrap links
    /// the lookup and, of the API functions, SES (issue 20).
    pub async fn api_accounts_from_env() -> Result<App, SettingsError> {
        let settings = Settings::from_env()?;
        let sdk = outreach_aws::config::load_config().await;
        App::start(settings, &sdk, None).await
    }

    /// The inbound function's [`App::from_env`]: with the S3 client that
    /// reads the mail the receipt rule stored.
    pub async fn inbound_from_env() -> Result<App, SettingsError> {
        let settings = Settings::from_env()?;
        let sdk = outreach_aws::config::load_config().await;
        let mut app = App::start_as(settings, &sdk, None, plain_mail).await?;
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
        let app = App::start_as(settings.clone(), &sdk, None, plain_mail).await?;
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
        let sesv2 = outreach_aws::config::sesv2_client(&sdk, &[]);
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
        App::start_as(settings, &sdk, Some(Arc::new(pacer)), plain_mail).await
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
        App::start_as(settings, sdk, pacer, dmarc_mail).await
    }

    /// [`App::start`] with the mail service and identities `mail` builds: a
    /// function item, so that each function links only the ones it builds.
    async fn start_as(
        settings: Settings,
        sdk: &aws_config::SdkConfig,
        pacer: Option<Arc<pacing::Pacer>>,
        mail: impl FnOnce(&Settings, &aws_config::SdkConfig) -> MailPorts,
    ) -> Result<App, SettingsError> {
        let settings = read_hash_key(settings, sdk).await?;
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let (mailer, identities) = mail(&settings, sdk);
        let store = StoreClients {
            dynamodb: outreach_aws::config::dynamodb_client(sdk, &[]),
            scheduler: outreach_aws::config::scheduler_client(sdk, &[]),
        };
        Ok(App::compose(
            &settings,
            store,
            sqs,
            Arc::new(SystemClock),
            (mailer, identities),
            pacer,
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
        let service = clients.service();
        let mailer = ses_mailer(settings, service.sesv2, &service.region);
        App::with_mailer(settings, clients, sqs, clock, mailer, None)
    }

    /// The service of the `api` and `api-mail` functions on the AWS adapters:
    /// no mail service nor identities ([`NoMailService`], as
    /// [`App::api_from_env`] builds it), so that a test through their routers
    /// fails where a route would reach SES in AWS.
    pub fn without_mail(
        settings: &Settings,
        clients: AwsClients,
        sqs: aws_sdk_sqs::Client,
        clock: Arc<dyn Clock>,
    ) -> App {
        let store = StoreClients {
            dynamodb: clients.dynamodb,
            scheduler: clients.scheduler,
        };
        let mail: MailPorts = (Arc::new(NoMailService), Arc::new(NoMailService));
        App::compose(settings, store, sqs, clock, mail, None)
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
        let identities = Arc::new(dmarc_identities(settings, service.sesv2.clone()));
        let store = StoreClients {
            dynamodb: service.dynamodb,
            scheduler: service.scheduler,
        };
        let mut app = App::compose(settings, store, sqs, clock, (mailer, identities), pacer);
        app.raw_messages = Some(S3RawMessages::new(clients.s3));
        app
    }

    fn compose(
        settings: &Settings,
        clients: StoreClients,
        sqs: aws_sdk_sqs::Client,
        clock: Arc<dyn Clock>,
        (mailer, identities): MailPorts,
        pacer: Option<Arc<pacing::Pacer>>,
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
            identities,
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

/// The mail service and the identities of a function.
type MailPorts = (Arc<dyn Mailer>, Arc<dyn Identities>);

/// The DynamoDB and Scheduler clients behind the store and the wake-ups.
struct StoreClients {
    dynamodb: outreach_aws::aws_sdk_dynamodb::Client,
    scheduler: outreach_aws::aws_sdk_scheduler::Client,
}

/// SES, with the DMARC lookup (R-2.1: linking an account, the `api-accounts`
/// function).
fn dmarc_mail(settings: &Settings, sdk: &aws_config::SdkConfig) -> MailPorts {
    let sesv2 = outreach_aws::config::sesv2_client(sdk, &[]);
    let region = region_of(sdk);
    let identities = Arc::new(dmarc_identities(settings, sesv2.clone()));
    (ses_mailer(settings, sesv2, &region), identities)
}

/// SES without DMARC lookups, for every function that links no account
/// (issue 20: no DNS resolver, no public suffix list).
fn plain_mail(settings: &Settings, sdk: &aws_config::SdkConfig) -> MailPorts {
    let sesv2 = outreach_aws::config::sesv2_client(sdk, &[]);
    let region = region_of(sdk);
    let identities = Arc::new(SesIdentities::without_dmarc(sesv2.clone()));
    (ses_mailer(settings, sesv2, &region), identities)
}

fn region_of(sdk: &aws_config::SdkConfig) -> String {
    sdk.region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_else(|| "us-east-1".to_owned())
}

/// SES identities with the DMARC lookup on the settings' name server, else
/// the system's.
fn dmarc_identities(
    settings: &Settings,
    sesv2: outreach_aws::aws_sdk_sesv2::Client,
) -> SesIdentities {
    match settings.dns_resolver {
        Some(resolver) => SesIdentities::with_resolver(sesv2, resolver),
        None => SesIdentities::new(sesv2),
    }
}

/// SES v2 with the configuration set that publishes the events.
fn ses_mailer(
    settings: &Settings,
    sesv2: outreach_aws::aws_sdk_sesv2::Client,
    region: &str,
) -> Arc<dyn Mailer> {
    Arc::new(SesMailer::new(
        sesv2,
        region,
        settings.configuration_set.clone(),
    ))
}

/// The mail ports of a function that never sends nor checks an identity
/// (`api`, [`App::api_from_env`]): every call is an error, so a route that
/// reached one by mistake would fail visibly, never send. A send answers
/// `Deferred` (provably not accepted: nothing is lost, R-8.1), not a sender
/// fault, which would fail the account.
pub struct NoMailService;

const NO_MAIL: &str = "this function has no mail service (issue 20: only api-accounts of the API functions links SES)";

#[async_trait::async_trait]
impl Mailer for NoMailService {
    async fn send(&self, _: &OutboundMail) -> Result<SentMail, MailerError> {
        Err(MailerError::Deferred(NO_MAIL.to_owned()))
    }
}

#[async_trait::async_trait]
impl Identities for NoMailService {
    async fn sendable(&self, _: &EmailAddress) -> Result<bool, IdentityError> {
        Err(NO_MAIL.into())
    }
    async fn prepare(&self, _: &EmailAddress) -> Result<(), IdentityError> {
        Err(NO_MAIL.into())
    }
    async fn release(&self, _: &EmailAddress) -> Result<(), IdentityError> {
        Err(NO_MAIL.into())
    }
    async fn domain_verified(&self, _: &str) -> Result<bool, IdentityError> {
        Err(NO_MAIL.into())
    }
    async fn dmarc_policy(&self, _: &str) -> Result<Option<String>, IdentityError> {
        Err(NO_MAIL.into())
    }
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

    /// The `api` function's mail ports refuse every call, a send as
    /// "deferred" (never sent, nothing lost), not as the sender's fault,
    /// which would fail the account.
    #[tokio::test]
    async fn the_api_functions_mail_ports_refuse_without_blaming_the_sender() {
        let mail = OutboundMail {
            from: EmailAddress::parse("ada@acme.example").unwrap(),
            to: EmailAddress::parse("bob@home.example").unwrap(),
            subject: "Hi".into(),
            raw: b"Subject: Hi\r\n\r\nHi\r\n".to_vec(),
            tags: vec![],
        };
        assert!(matches!(
            NoMailService.send(&mail).await,
            Err(MailerError::Deferred(_))
        ));
        let address = EmailAddress::parse("ada@acme.example").unwrap();
        assert!(NoMailService.sendable(&address).await.is_err());
        assert!(NoMailService.prepare(&address).await.is_err());
        assert!(NoMailService.dmarc_policy("acme.example").await.is_err());
    }
}
