//! The emulator and the AWS adapters wired to it, for the tests of this crate.
//!
//! One moto server per test binary, started on first use on a free port of
//! 127.0.0.1 from `.venv/bin/moto_server_serial` (moto_server handling one
//! request at a time, written by `tests/moto install`, which says why) or
//! `$OUTREACH_MOTO_SERVER` (any command taking `-H HOST -p PORT`). It runs
//! under a small shell guard that holds a pipe from this process: when the
//! test binary ends, however it ends (success, panic, abort), the pipe closes
//! and the guard stops moto. Every test gets its own table, schedule group and
//! addresses, so tests share the server without sharing state.

#![allow(dead_code)]

pub mod latency;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::ConfigBag;
use aws_sdk_dynamodb::config::{Credentials, Region, SharedInterceptor};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use base64::Engine;
use chrono::{DateTime, Utc};
use outreach_app::ports::{Clock, WakeUp};
use outreach_aws::{AwsClients, DynamoStore, EventBridgeScheduler, ScheduleTarget, SesMailer};
use outreach_contract::{MailInspector, ScheduleInspector, SentRecord};

pub const REGION: &str = "us-east-1";

/// The running emulator; the guard stops it when this process ends.
pub struct Moto {
    pub endpoint: String,
    guard: Mutex<Option<(Child, ChildStdin)>>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let taken = self.guard.lock().map(|mut g| g.take()).ok().flatten();
        if let Some((mut child, stdin)) = taken {
            // Closing the pipe makes the guard stop moto.
            drop(stdin);
            let _ = child.wait();
        }
    }
}

fn moto_server() -> PathBuf {
    if let Ok(path) = std::env::var("OUTREACH_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server_serial")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Stops moto when this process goes away: `cat` returns when the pipe from
/// the test binary closes.
const GUARD: &str = r#"
"$0" -H 127.0.0.1 -p "$1" </dev/null >"$2" 2>&1 &
server=$!
cat >/dev/null
kill "$server" 2>/dev/null
wait "$server" 2>/dev/null
"#;

fn start_moto() -> Moto {
    let server = moto_server();
    assert!(
        server.exists(),
        "moto is not installed: run tests/moto install (tests/all does it); looked for {}",
        server.display()
    );
    let port = free_port();
    let log = std::env::temp_dir().join(format!("outreach-moto-{}-{port}.log", std::process::id()));
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(GUARD)
        .arg(&server)
        .arg(port.to_string())
        .arg(&log)
        .stdin(Stdio::piped())
        .spawn()
        .expect("the moto guard starts");
    let stdin = child.stdin.take().expect("the guard's stdin");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(60) {
            let mut text = String::new();
            let _ = std::fs::File::open(&log).and_then(|mut f| f.read_to_string(&mut text));
            drop(stdin);
            let _ = child.wait();
            panic!("moto did not start on 127.0.0.1:{port}; its log:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        guard: Mutex::new(Some((child, stdin))),
    }
}

/// The emulator of this test binary, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start_moto)
}

/// One call as it went on the wire.
#[derive(Debug, Clone)]
pub struct Call {
    pub service: String,
    pub operation: String,
    pub body: Vec<u8>,
}

/// Records every request the clients send (each attempt, retries included).
#[derive(Debug, Default)]
pub struct CallLog {
    calls: Mutex<Vec<Call>>,
}

impl CallLog {
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().expect("call log"))
    }

    pub fn snapshot(&self) -> Vec<Call> {
        self.calls.lock().expect("call log").clone()
    }
}

#[derive(Debug)]
struct Recorder(Arc<CallLog>);

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "CallRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_default();
        let body = context
            .request()
            .body()
            .bytes()
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        self.0.calls.lock().expect("call log").push(Call {
            service,
            operation,
            body,
        });
        Ok(())
    }
}

/// A clock a test sets.
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn new(now: DateTime<Utc>) -> Arc<Self> {
        Arc::new(TestClock(Mutex::new(now)))
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().expect("clock") = now;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

/// A name no other test of any run uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

/// The AWS adapters of one test, on the shared emulator.
pub struct Aws {
    pub clients: AwsClients,
    pub calls: Arc<CallLog>,
    pub endpoint: String,
    pub table: String,
    pub group: String,
}

impl Aws {
    pub async fn new() -> Aws {
        Aws::on(outreach_aws::config::https_client()).await
    }

    /// The adapters on `http` (e.g. [`latency::delayed_client`]), on a fresh
    /// table and schedule group.
    pub async fn on(http: aws_smithy_runtime_api::client::http::SharedHttpClient) -> Aws {
        let endpoint = moto().endpoint.clone();
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .region(Region::new(REGION))
            .endpoint_url(&endpoint)
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .load()
            .await;
        let calls = Arc::new(CallLog::default());
        let clients = AwsClients::new(&config, &[SharedInterceptor::new(Recorder(calls.clone()))]);
        Aws {
            clients,
            calls,
            endpoint,
            table: unique("outreach"),
            group: unique("wakeups"),
        }
    }

    /// A store on a fresh table.
    pub async fn store(&self) -> Arc<DynamoStore> {
        outreach_aws::dynamo::create_table(&self.clients.dynamodb, &self.table)
            .await
            .expect("the table is created");
        Arc::new(DynamoStore::new(self.clients.dynamodb.clone(), &self.table))
    }

    /// A scheduler on a fresh schedule group (which must exist before a schedule).
    pub async fn scheduler(&self, clock: Arc<dyn Clock>) -> Arc<EventBridgeScheduler> {
        let scheduler = Arc::new(EventBridgeScheduler::new(
            self.clients.scheduler.clone(),
            &self.group,
            ScheduleTarget {
                arn: "arn:aws:sqs:us-east-1:123456789012:outreach-send".into(),
                role_arn: "arn:aws:iam::123456789012:role/outreach-scheduler".into(),
                dead_letter_arn: "arn:aws:sqs:us-east-1:123456789012:outreach-wakeups-dlq".into(),
                max_event_age_seconds: 3600,
                max_retries: 10,
            },
            clock,
        ));
        scheduler
            .ensure_group()
            .await
            .expect("the schedule group exists");
        scheduler
    }

    pub fn mailer(&self) -> Arc<SesMailer> {
        Arc::new(SesMailer::new(
            self.clients.sesv2.clone(),
            &self.clients.region,
            Some("outreach".into()),
        ))
    }

    /// Creates a sender identity (moto refuses to send from an unknown one).
    pub async fn verify_sender(&self, identity: &str) {
        outreach_aws::SesIdentities::new(self.clients.sesv2.clone())
            .create(identity)
            .await
            .expect("the identity is created");
    }

    pub fn mail_inspector(&self) -> Arc<dyn MailInspector> {
        Arc::new(MotoMail {
            endpoint: self.endpoint.clone(),
            calls: self.calls.clone(),
        })
    }
}

/// Reads wake-ups back from EventBridge Scheduler (moto never fires them).
pub struct SchedulesOf(pub Arc<EventBridgeScheduler>);

#[async_trait]
impl ScheduleInspector for SchedulesOf {
    async fn find(&self, name: &str) -> Option<WakeUp> {
        self.0
            .get(name)
            .await
            .expect("the schedule can be read")
            .map(|s| s.wake_up)
    }

    async fn count(&self) -> usize {
        self.0
            .names()
            .await
            .expect("the schedules can be listed")
            .len()
    }
}

/// Sent mail as moto keeps it (`GET /moto-api/data.json`, `ses.RawMessage`);
/// moto ignores EmailTags, so the tags are read from the `SendEmail` request
/// that carried the same raw message.
struct MotoMail {
    endpoint: String,
    calls: Arc<CallLog>,
}

#[async_trait]
impl MailInspector for MotoMail {
    async fn sent(&self, message_id: &str) -> Option<SentRecord> {
        let data: serde_json::Value = reqwest::get(format!("{}/moto-api/data.json", self.endpoint))
            .await
            .expect("moto answers")
            .json()
            .await
            .expect("moto's data is JSON");
        let messages = data["ses"]["RawMessage"].as_array()?;
        let message = messages
            .iter()
            .find(|m| m["id"].as_str() == Some(message_id))?;
        let raw = message["raw_data"].as_str()?.as_bytes().to_vec();
        let recipients = message["destinations"]
            .as_array()
            .map(|d| {
                d.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let tags = self
            .calls
            .snapshot()
            .into_iter()
            .filter(|c| c.operation == "SendEmail")
            .filter_map(|c| serde_json::from_slice::<serde_json::Value>(&c.body).ok())
            .find(|body| {
                body["Content"]["Raw"]["Data"]
                    .as_str()
                    .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
                    .is_some_and(|d| d == raw)
            })
            .and_then(|body| {
                body["EmailTags"].as_array().map(|tags| {
                    tags.iter()
                        .filter_map(|t| {
                            Some((
                                t["Name"].as_str()?.to_owned(),
                                t["Value"].as_str()?.to_owned(),
                            ))
                        })
                        .collect()
                })
            })
            .unwrap_or_default();
        Some(SentRecord {
            raw,
            recipients,
            tags,
        })
    }
}
