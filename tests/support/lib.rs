//! `spawn_local()`: starts the real `outreach-local` binary on a free loopback
//! port with its own data folder, and talks to it over HTTP only.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The binary, built once per test process.
pub fn binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--quiet", "-p", "outreach-local"])
                .status()
                .expect("cargo must be runnable to build outreach-local");
            assert!(status.success(), "building outreach-local failed");
            // target/<profile>/deps/<test> → target/<profile>/outreach-local
            let exe = std::env::current_exe().expect("test executable path");
            let dir = exe.parent().and_then(Path::parent).expect("target dir");
            let bin = dir.join("outreach-local");
            assert!(bin.exists(), "{} was not built", bin.display());
            bin
        })
        .clone()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A running `outreach-local` with a manual clock.
pub struct Local {
    child: Option<Child>,
    pub data: PathBuf,
    _dir: Option<tempfile::TempDir>,
    pub port: u16,
    pub base: String,
    pub http: reqwest::Client,
    now: String,
}

impl Local {
    /// Starts local mode with a manual clock at `now` in a fresh data folder.
    pub async fn spawn(now: &str) -> Local {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().to_path_buf();
        let mut local = Local {
            child: None,
            data,
            _dir: Some(dir),
            port: 0,
            base: String::new(),
            http: reqwest::Client::new(),
            now: now.to_owned(),
        };
        local.start().await;
        local
    }

    async fn start(&mut self) {
        self.port = free_port();
        self.base = format!("http://127.0.0.1:{}", self.port);
        let child = Command::new(binary())
            .args([
                "--port",
                &self.port.to_string(),
                "--clock",
                "manual",
                "--now",
                &self.now,
            ])
            .arg("--data")
            .arg(&self.data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("outreach-local starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = self
                .http
                .get(format!("{}/dev/clock", self.base))
                .send()
                .await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "outreach-local did not answer within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9`: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            let _ = child.wait();
        }
    }

    /// Kills the process and starts it again on the same data folder.
    pub async fn restart_after_kill(&mut self) {
        self.kill();
        self.start().await;
    }

    /// `outreach-local token` for this data folder.
    pub fn token(&self, org: &str, user: &str) -> String {
        let out = Command::new(binary())
            .args([
                "token",
                "--org",
                org,
                "--user",
                user,
                "--email",
                &format!("{user}@{org}.example"),
            ])
            .arg("--data")
            .arg(&self.data)
            .output()
            .expect("token command runs");
        assert!(
            out.status.success(),
            "token failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }

    pub fn as_user(&self, org: &str, user: &str) -> Client {
        Client {
            http: self.http.clone(),
            base: self.base.clone(),
            token: self.token(org, user),
        }
    }

    pub fn anonymous(&self) -> Client {
        Client {
            http: self.http.clone(),
            base: self.base.clone(),
            token: String::new(),
        }
    }

    /// Moves the manual clock; returns the new time.
    pub async fn advance(&self, by: &str) -> String {
        let (status, body) = self
            .anonymous()
            .call("POST", "/dev/clock", Some(json!({"advance": by})))
            .await;
        assert_eq!(status, 200, "{body}");
        body["now"].as_str().unwrap().to_owned()
    }

    pub async fn advance_to(&self, to: &str) -> String {
        let (status, body) = self
            .anonymous()
            .call("POST", "/dev/clock", Some(json!({"to": to})))
            .await;
        assert_eq!(status, 200, "{body}");
        body["now"].as_str().unwrap().to_owned()
    }

    pub async fn outbox(&self) -> Vec<Value> {
        let (status, body) = self.anonymous().call("GET", "/dev/outbox", None).await;
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    pub async fn raw_message(&self, id: &str) -> Vec<u8> {
        let r = self
            .http
            .get(format!("{}/dev/outbox/{id}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "message/rfc822");
        r.bytes().await.unwrap().to_vec()
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An authenticated caller.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    /// Any call; returns status and JSON body (Null when empty).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if !self.token.is_empty() {
            req = req.bearer_auth(&self.token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request reaches outreach-local");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.call("POST", path, Some(body)).await;
        assert!(
            (200..300).contains(&status),
            "POST {path} answered {status}: {v}"
        );
        v
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, v) = self.call("GET", path, None).await;
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }
}

/// An SNS-delivered SES event (configuration-set event publishing format) about
/// an outbox message, as `POST /dev/ses-events` takes it.
pub fn ses_event(kind: &str, message_id: &str, detail: Value) -> Value {
    let mut message = json!({
        "eventType": kind,
        "mail": {
            "timestamp": "2026-12-01T14:20:00.000Z",
            "messageId": message_id,
            "source": "sender@example.com",
            "destination": ["someone@example.com"]
        }
    });
    message[kind.to_lowercase()] = detail;
    json!({
        "Type": "Notification",
        "MessageId": format!("sns-{message_id}-{kind}"),
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:outreach-ses-events",
        "Message": message.to_string(),
        "Timestamp": "2026-12-01T14:21:00.000Z",
    })
}

/// A permanent bounce of `address` with a given feedback id.
pub fn hard_bounce(message_id: &str, address: &str, feedback_id: &str) -> Value {
    ses_event(
        "Bounce",
        message_id,
        json!({
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": "5.1.1",
                                   "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
            "timestamp": "2026-12-01T14:21:00.000Z",
            "feedbackId": feedback_id
        }),
    )
}

impl Local {
    /// Posts a raw body to a `/dev` route.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request reaches outreach-local");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn ses(&self, event: Value) -> Value {
        let (status, body) = self
            .post_raw(
                "/dev/ses-events",
                "application/json",
                event.to_string().into_bytes(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn inbound(&self, raw: &str) -> Value {
        let (status, body) = self
            .post_raw(
                "/dev/inbound",
                "message/rfc822",
                raw.replace('\n', "\r\n").into_bytes(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Client {
    /// A call with extra headers; returns status, headers and JSON body.
    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request reaches outreach-local");
        let status = r.status().as_u16();
        let h = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        (
            status,
            h,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}
