//! What a function learns from its environment: the names of the resources the
//! SAM template created and the deployment's parameters (SPEC §15). Every
//! function of the stack gets the same variables (the template's `Globals`),
//! because every function runs the same service.

use std::collections::HashMap;
use std::net::SocketAddr;

/// The variables, as the template sets them.
pub mod vars {
    pub const TABLE_NAME: &str = "TABLE_NAME";
    pub const SCHEDULE_GROUP: &str = "SCHEDULE_GROUP";
    /// The send queue (§15): EventBridge Scheduler puts each wake-up's job on
    /// it (its ARN), the sweeper and single messages too (its URL); send-step
    /// consumes it.
    pub const SEND_QUEUE_ARN: &str = "SEND_QUEUE_ARN";
    pub const SEND_QUEUE_URL: &str = "SEND_QUEUE_URL";
    /// The send queue's `MaximumConcurrency`: each send-step instance paces
    /// itself to the account's SES rate divided by it (§15).
    pub const SEND_CONCURRENCY: &str = "SEND_CONCURRENCY";
    pub const SCHEDULER_ROLE_ARN: &str = "SCHEDULER_ROLE_ARN";
    pub const SCHEDULER_DLQ_ARN: &str = "SCHEDULER_DLQ_ARN";
    pub const PLANNER_QUEUE_URL: &str = "PLANNER_QUEUE_URL";
    pub const CONFIGURATION_SET: &str = "CONFIGURATION_SET";
    pub const REPLY_DOMAIN: &str = "REPLY_DOMAIN";
    pub const PUBLIC_BASE_URL: &str = "PUBLIC_BASE_URL";
    pub const USER_CLAIM: &str = "USER_CLAIM";
    pub const ORG_CLAIM: &str = "ORG_CLAIM";
    pub const EMAIL_CLAIM: &str = "EMAIL_CLAIM";
    pub const SCOPE_CLAIM: &str = "SCOPE_CLAIM";
    pub const ADMIN_SCOPE: &str = "ADMIN_SCOPE";
    pub const INITIAL_CREDITS: &str = "INITIAL_CREDITS";
    /// The key of the keyed hashes that stand for suppressed addresses.
    pub const HASH_KEY: &str = "HASH_KEY";
    /// The Secrets Manager secret holding that key, read when a function
    /// starts (§15): what the template sets instead of [`HASH_KEY`], whose
    /// value `GetFunctionConfiguration` would show.
    pub const HASH_KEY_SECRET_ARN: &str = "HASH_KEY_SECRET_ARN";
    /// Optional: the DNS resolver (`IP:PORT`) asked for DMARC policies;
    /// the system's resolver by default.
    pub const DNS_RESOLVER: &str = "DNS_RESOLVER";
    /// The SNS topics (comma-separated ARNs) whose HTTPS deliveries the
    /// webhooks accept (§15); empty: the webhooks answer 404.
    pub const SNS_TOPIC_ARNS: &str = "SNS_TOPIC_ARNS";

    /// Every variable the template sets (all but the optional [`DNS_RESOLVER`],
    /// and [`HASH_KEY`], which tools and tests may set instead of the secret).
    pub const ALL: &[&str] = &[
        TABLE_NAME,
        SCHEDULE_GROUP,
        SEND_QUEUE_ARN,
        SEND_QUEUE_URL,
        SEND_CONCURRENCY,
        SCHEDULER_ROLE_ARN,
        SCHEDULER_DLQ_ARN,
        PLANNER_QUEUE_URL,
        CONFIGURATION_SET,
        REPLY_DOMAIN,
        PUBLIC_BASE_URL,
        USER_CLAIM,
        ORG_CLAIM,
        EMAIL_CLAIM,
        SCOPE_CLAIM,
        ADMIN_SCOPE,
        INITIAL_CREDITS,
        HASH_KEY_SECRET_ARN,
        SNS_TOPIC_ARNS,
    ];
}

/// Which claims of the JWT authorizer name the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// The user id (`sub`).
    pub user: String,
    /// The organization (`org_id`).
    pub org: String,
    /// The notification address, when the token carries one (`email`).
    pub email: String,
    /// The space-separated scopes (`scope`).
    pub scope: String,
    /// The scope that allows credit grants.
    pub admin_scope: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            user: "sub".into(),
            org: "org_id".into(),
            email: "email".into(),
            scope: "scope".into(),
            admin_scope: "admin".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub table: String,
    pub schedule_group: String,
    pub send_queue_arn: String,
    pub send_queue_url: String,
    /// How many send-step instances run at once at most (§15).
    pub send_concurrency: u32,
    pub scheduler_role_arn: String,
    pub scheduler_dlq_arn: String,
    pub planner_queue_url: String,
    /// The SES configuration set that publishes events to SNS.
    pub configuration_set: Option<String>,
    pub reply_domain: String,
    pub public_base_url: String,
    pub claims: ClaimNames,
    pub initial_credits: i64,
    /// The key itself; empty until read from [`Settings::hash_key_secret_arn`].
    pub hash_key: Vec<u8>,
    /// The secret to read the key from at start (§15), when set.
    pub hash_key_secret_arn: Option<String>,
    pub dns_resolver: Option<SocketAddr>,
    /// The SNS topics whose HTTPS deliveries the webhooks accept (§15).
    pub sns_topic_arns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("the environment variable {0} is not set")]
    Missing(&'static str),
    #[error("the environment variable {name} is not valid: {why}")]
    Invalid { name: &'static str, why: String },
    #[error("the secret {arn} could not be read: {why}")]
    Secret { arn: String, why: String },
}

/// The template's default `SendConcurrency` (the least `MaximumConcurrency`).
pub const DEFAULT_SEND_CONCURRENCY: u32 = 2;

/// Shorter than this, a hash key could be guessed.
const MIN_HASH_KEY_BYTES: usize = 32;

impl Settings {
    /// From the process environment.
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_vars(|name| std::env::var(name).ok())
    }

    /// From a map of variables (tests, tools).
    pub fn from_map(map: &HashMap<String, String>) -> Result<Settings, SettingsError> {
        Settings::from_vars(|name| map.get(name).cloned())
    }

    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let optional = |name: &'static str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| optional(name).ok_or(SettingsError::Missing(name));
        let claim = |name: &'static str, default: String| optional(name).unwrap_or(default);
        let defaults = ClaimNames::default();
        let public_base_url = required(vars::PUBLIC_BASE_URL)?;
        if !public_base_url.starts_with("https://") && !public_base_url.starts_with("http://") {
            return Err(SettingsError::Invalid {
                name: vars::PUBLIC_BASE_URL,
                why: format!("`{public_base_url}` is not an http(s) URL"),
            });
        }
        let initial_credits =
            match optional(vars::INITIAL_CREDITS) {
                None => 100,
                Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    SettingsError::Invalid {
                        name: vars::INITIAL_CREDITS,
                        why: format!("`{v}` is not a whole number of credits"),
                    }
                })?,
            };
        let hash_key_secret_arn = optional(vars::HASH_KEY_SECRET_ARN);
        let hash_key = match (optional(vars::HASH_KEY), &hash_key_secret_arn) {
            (Some(key), _) => checked_hash_key(key, vars::HASH_KEY)?,
            (None, Some(_)) => Vec::new(),
            (None, None) => return Err(SettingsError::Missing(vars::HASH_KEY_SECRET_ARN)),
        };
        let dns_resolver = match optional(vars::DNS_RESOLVER) {
            None => None,
            Some(v) => Some(
                v.parse::<SocketAddr>()
                    .map_err(|e| SettingsError::Invalid {
                        name: vars::DNS_RESOLVER,
                        why: format!("`{v}` is not IP:PORT: {e}"),
                    })?,
            ),
        };
        let sns_topic_arns = sns_topic_arns(optional(vars::SNS_TOPIC_ARNS))?;
        let send_concurrency = send_concurrency(optional(vars::SEND_CONCURRENCY))?;
        Ok(Settings {
            table: required(vars::TABLE_NAME)?,
            schedule_group: required(vars::SCHEDULE_GROUP)?,
            send_queue_arn: required(vars::SEND_QUEUE_ARN)?,
            send_queue_url: required(vars::SEND_QUEUE_URL)?,
            send_concurrency,
            scheduler_role_arn: required(vars::SCHEDULER_ROLE_ARN)?,
            scheduler_dlq_arn: required(vars::SCHEDULER_DLQ_ARN)?,
            planner_queue_url: required(vars::PLANNER_QUEUE_URL)?,
            configuration_set: optional(vars::CONFIGURATION_SET),
            reply_domain: required(vars::REPLY_DOMAIN)?
                .trim_end_matches('.')
                .to_ascii_lowercase(),
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            claims: ClaimNames {
                user: claim(vars::USER_CLAIM, defaults.user),
                org: claim(vars::ORG_CLAIM, defaults.org),
                email: claim(vars::EMAIL_CLAIM, defaults.email),
                scope: claim(vars::SCOPE_CLAIM, defaults.scope),
                admin_scope: claim(vars::ADMIN_SCOPE, defaults.admin_scope),
            },
            initial_credits,
            hash_key,
            hash_key_secret_arn,
            dns_resolver,
            sns_topic_arns,
        })
    }
}

/// A hash key long enough not to be guessed.
fn checked_hash_key(key: String, name: &'static str) -> Result<Vec<u8>, SettingsError> {
    let key = key.trim().as_bytes().to_vec();
    if key.len() < MIN_HASH_KEY_BYTES {
        return Err(SettingsError::Invalid {
            name,
            why: format!("it must be at least {MIN_HASH_KEY_BYTES} characters long"),
        });
    }
    Ok(key)
}

impl Settings {
    /// The hash key read from its secret at start (§15): `secret` is the
    /// secret's value.
    pub fn with_hash_key_secret(mut self, secret: String) -> Result<Settings, SettingsError> {
        self.hash_key = checked_hash_key(secret, vars::HASH_KEY_SECRET_ARN)?;
        Ok(self)
    }
}

/// The send queue's concurrency: a whole number of at least 1, the
/// template's default when unset.
fn send_concurrency(value: Option<String>) -> Result<u32, SettingsError> {
    let Some(v) = value else {
        return Ok(DEFAULT_SEND_CONCURRENCY);
    };
    v.parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| SettingsError::Invalid {
            name: vars::SEND_CONCURRENCY,
            why: format!("`{v}` is not a whole number of at least 1"),
        })
}

/// The comma-separated topic ARNs, each checked.
fn sns_topic_arns(value: Option<String>) -> Result<Vec<String>, SettingsError> {
    let mut arns = Vec::new();
    for arn in value.iter().flat_map(|v| v.split(',')).map(str::trim) {
        if arn.is_empty() {
            continue;
        }
        if outreach_aws::sns::topic_region(arn).is_none() {
            return Err(SettingsError::Invalid {
                name: vars::SNS_TOPIC_ARNS,
                why: format!("`{arn}` is not an SNS topic ARN"),
            });
        }
        arns.push(arn.to_owned());
    }
    Ok(arns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> HashMap<String, String> {
        [
            (vars::TABLE_NAME, "outreach-table"),
            (vars::SCHEDULE_GROUP, "outreach-wakeups"),
            (
                vars::SEND_QUEUE_ARN,
                "arn:aws:sqs:eu-west-1:123456789012:outreach-send",
            ),
            (
                vars::SEND_QUEUE_URL,
                "https://sqs.eu-west-1.amazonaws.com/123456789012/outreach-send",
            ),
            (
                vars::SCHEDULER_ROLE_ARN,
                "arn:aws:iam::123456789012:role/outreach-scheduler",
            ),
            (
                vars::SCHEDULER_DLQ_ARN,
                "arn:aws:sqs:eu-west-1:123456789012:outreach-scheduler-dlq",
            ),
            (
                vars::PLANNER_QUEUE_URL,
                "https://sqs.eu-west-1.amazonaws.com/123456789012/outreach-planner",
            ),
            (vars::REPLY_DOMAIN, "Reply.Outreach.Example."),
            (vars::PUBLIC_BASE_URL, "https://outreach.example/"),
            (vars::HASH_KEY, "0123456789abcdef0123456789abcdef"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn defaults_fill_what_the_template_may_leave_out() {
        let s = Settings::from_map(&complete()).expect("complete settings");
        assert_eq!(s.reply_domain, "reply.outreach.example");
        assert_eq!(s.public_base_url, "https://outreach.example");
        assert_eq!(s.claims, ClaimNames::default());
        assert_eq!(s.initial_credits, 100);
        assert_eq!(s.configuration_set, None);
        assert!(s.sns_topic_arns.is_empty());
        assert_eq!(s.send_concurrency, DEFAULT_SEND_CONCURRENCY);
    }

    #[test]
    fn the_hash_key_may_come_from_its_secret() {
        // §15: the template passes the secret's ARN; the key is read at start.
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hash-key-AbCdEf";
        let mut m = complete();
        m.remove(vars::HASH_KEY);
        assert_eq!(
            Settings::from_map(&m),
            Err(SettingsError::Missing(vars::HASH_KEY_SECRET_ARN))
        );
        m.insert(vars::HASH_KEY_SECRET_ARN.into(), arn.into());
        let s = Settings::from_map(&m).expect("settings");
        assert_eq!(s.hash_key_secret_arn.as_deref(), Some(arn));
        assert!(
            s.hash_key.is_empty(),
            "read at start, not from the environment"
        );
        assert!(matches!(
            s.clone().with_hash_key_secret("short".into()),
            Err(SettingsError::Invalid {
                name: vars::HASH_KEY_SECRET_ARN,
                ..
            })
        ));
        let key = "k".repeat(64);
        assert_eq!(
            s.with_hash_key_secret(key.clone()).expect("a key").hash_key,
            key.into_bytes()
        );
    }

    #[test]
    fn webhook_topics_are_a_list_of_topic_arns() {
        // §15: the webhooks accept the topics the deployment names.
        let mut m = complete();
        m.insert(
            vars::SNS_TOPIC_ARNS.into(),
            "arn:aws:sns:eu-west-1:123456789012:events, arn:aws:sns:us-east-2:123456789012:inbound,"
                .into(),
        );
        let s = Settings::from_map(&m).expect("settings");
        assert_eq!(
            s.sns_topic_arns,
            [
                "arn:aws:sns:eu-west-1:123456789012:events",
                "arn:aws:sns:us-east-2:123456789012:inbound"
            ]
        );
        m.insert(vars::SNS_TOPIC_ARNS.into(), "events".into());
        assert!(matches!(
            Settings::from_map(&m),
            Err(SettingsError::Invalid {
                name: vars::SNS_TOPIC_ARNS,
                ..
            })
        ));
    }

    #[test]
    fn claim_names_and_credits_are_parameters() {
        // R-1.2 (configurable claim names), R-3.2 (InitialCredits)
        let mut m = complete();
        m.insert(vars::ORG_CLAIM.into(), "custom:org".into());
        m.insert(vars::INITIAL_CREDITS.into(), "250".into());
        m.insert(vars::CONFIGURATION_SET.into(), "outreach-events".into());
        let s = Settings::from_map(&m).expect("settings");
        assert_eq!(s.claims.org, "custom:org");
        assert_eq!(s.claims.user, "sub");
        assert_eq!(s.initial_credits, 250);
        assert_eq!(s.configuration_set.as_deref(), Some("outreach-events"));
    }

    /// The settings of a complete environment but for `name` set to `value`.
    fn with(name: &str, value: &str) -> Result<Settings, SettingsError> {
        let mut m = complete();
        m.insert(name.into(), value.into());
        Settings::from_map(&m)
    }

    #[test]
    fn a_missing_or_bad_variable_is_named() {
        let mut m = complete();
        m.remove(vars::TABLE_NAME);
        assert_eq!(
            Settings::from_map(&m),
            Err(SettingsError::Missing(vars::TABLE_NAME))
        );
        for (bad, value) in [
            (vars::INITIAL_CREDITS, "-1"),
            (vars::HASH_KEY, "short"),
            (vars::PUBLIC_BASE_URL, "outreach.example"),
            (vars::SEND_CONCURRENCY, "0"),
            (vars::SEND_CONCURRENCY, "two"),
        ] {
            assert!(
                matches!(with(bad, value), Err(SettingsError::Invalid { name, .. }) if name == bad),
                "{bad}={value} is named as invalid"
            );
        }
    }
}
