//! A real `moto_server` for SSM tests: started on 127.0.0.1 on a free port, waited
//! for, and killed by its own pid on drop (also when the test panics). Also a tiny
//! unsigned AWS-JSON client (moto does not check signatures) used as an independent
//! oracle, and the environment that keeps the `migrate` binary's AWS SDK off the
//! network and away from the developer's real AWS configuration.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::tool;

/// A free TCP port on 127.0.0.1 (bound, then released for the server to take).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

pub struct Moto {
    child: Option<Child>,
    pub port: u16,
    /// Where moto records requests (replayed after a restart); None when not recording.
    recording: Option<PathBuf>,
    _dir: tempfile::TempDir,
    log: PathBuf,
}

impl Moto {
    /// Starts moto on a free port.
    pub fn start() -> Moto {
        Moto::launch(free_port(), false)
    }

    /// Starts moto recording every request, so that it can be killed and restarted
    /// with its state (see [`Moto::restart`]).
    pub fn start_recording() -> Moto {
        Moto::launch(free_port(), true)
    }

    fn launch(port: u16, record: bool) -> Moto {
        let dir = tempfile::tempdir().expect("temp dir");
        let recording = record.then(|| dir.path().join("recording.jsonl"));
        let log = dir.path().join("moto.log");
        let mut moto = Moto { child: None, port, recording, _dir: dir, log };
        moto.spawn();
        moto
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("moto log");
        let mut cmd = Command::new(tool("moto_server"));
        cmd.args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        if let Some(rec) = &self.recording {
            cmd.env("MOTO_ENABLE_RECORDING", "true").env("MOTO_RECORDER_FILEPATH", rec);
        }
        self.child = Some(cmd.spawn().expect("moto_server starts"));
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("moto_server exited early ({status}):\n{log}");
            }
            if let Ok((200, _)) = http(self.port, "GET", "/moto-api/", &[], b"") {
                return;
            }
            assert!(Instant::now() < deadline, "moto_server did not answer on port {} within 30 s", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL) by its pid.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the killed server again on the same port and replays the recorded
    /// requests, so it has the state it had when it was killed. A request line cut
    /// short by the kill is dropped first (moto could not have carried it out).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "kill moto before restarting it");
        let rec = self.recording.clone().expect("restart needs a recording moto");
        let text = std::fs::read_to_string(&rec).unwrap_or_default();
        let whole: Vec<&str> = text.lines().filter(|l| serde_json::from_str::<Value>(l).is_ok()).collect();
        std::fs::write(&rec, whole.iter().map(|l| format!("{l}\n")).collect::<String>()).expect("rewrite recording");
        self.spawn();
        let (status, body) =
            http(self.port, "POST", "/moto-api/recorder/replay-recording", &[], b"").expect("replay request");
        assert_eq!(status, 200, "replay failed: {}", String::from_utf8_lossy(&body));
    }

    /// Number of complete requests moto recorded.
    pub fn recorded_requests(&self) -> usize {
        let rec = self.recording.as_ref().expect("a recording moto");
        std::fs::read_to_string(rec).unwrap_or_default().lines().count()
    }

    /// Calls an SSM action directly (no signature), returning status and JSON body.
    pub fn call(&self, action: &str, body: Value) -> (u16, Value) {
        let target = format!("AmazonSSM.{action}");
        let headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", target.as_str()),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, \
                 Signature=0",
            ),
        ];
        let payload = serde_json::to_vec(&body).expect("json");
        let (status, bytes) = http(self.port, "POST", "/", &headers, &payload).expect("moto answers");
        let value = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        (status, value)
    }

    /// Calls an SSM action that must succeed.
    pub fn ok(&self, action: &str, body: Value) -> Value {
        let (status, value) = self.call(action, body);
        assert_eq!(status, 200, "{action}: {value}");
        value
    }

    /// The parameter's current value and version (decrypted), or None.
    pub fn get(&self, name: &str) -> Option<(String, i64, String)> {
        let (status, v) = self.call("GetParameter", json!({ "Name": name, "WithDecryption": true }));
        if status != 200 {
            return None;
        }
        let p = &v["Parameter"];
        Some((
            p["Value"].as_str().unwrap_or_default().to_string(),
            p["Version"].as_i64().unwrap_or_default(),
            p["Type"].as_str().unwrap_or_default().to_string(),
        ))
    }

    /// Every version ever stored (GetParameterHistory, all pages): (version, value).
    pub fn history(&self, name: &str) -> Vec<(i64, String)> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = json!({ "Name": name, "WithDecryption": true, "MaxResults": 50 });
            if let Some(t) = &token {
                req["NextToken"] = json!(t);
            }
            let (status, v) = self.call("GetParameterHistory", req);
            if status != 200 {
                return out;
            }
            for p in v["Parameters"].as_array().into_iter().flatten() {
                out.push((p["Version"].as_i64().unwrap_or(-1), p["Value"].as_str().unwrap_or_default().to_string()));
            }
            match v["NextToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => return out,
            }
        }
    }

    /// Tags of a parameter as `key=value`, sorted.
    pub fn tags(&self, name: &str) -> Vec<String> {
        let v = self.ok("ListTagsForResource", json!({ "ResourceType": "Parameter", "ResourceId": name }));
        let mut tags: Vec<String> = v["TagList"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| format!("{}={}", t["Key"].as_str().unwrap_or_default(), t["Value"].as_str().unwrap_or_default()))
            .collect();
        tags.sort();
        tags
    }

    /// All parameter names under `path` (recursive), sorted.
    pub fn names_under(&self, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = json!({ "Path": path, "Recursive": true, "MaxResults": 10 });
            if let Some(t) = &token {
                req["NextToken"] = json!(t);
            }
            let v = self.ok("GetParametersByPath", req);
            for p in v["Parameters"].as_array().into_iter().flatten() {
                out.push(p["Name"].as_str().unwrap_or_default().to_string());
            }
            match v["NextToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        out.sort();
        out
    }

    /// Writes a parameter as someone else would (console, CLI).
    pub fn put_external(&self, name: &str, value: &str, overwrite: bool) -> i64 {
        let v =
            self.ok("PutParameter", json!({ "Name": name, "Value": value, "Type": "String", "Overwrite": overwrite }));
        v["Version"].as_i64().unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns status and body.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or(std::io::ErrorKind::InvalidData)?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or(std::io::ErrorKind::InvalidData)?;
    Ok((status, raw[split + 4..].to_vec()))
}

/// The environment for running `migrate` against a local endpoint: dummy
/// credentials, a region, no IMDS, no shared config, no inherited endpoint, fast retries.
pub fn aws_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_CONFIG_FILE", "/dev/null".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ("MIGRATE_SSM_RETRY_BASE_MS", "5".into()),
        ("MIGRATE_SSM_RETRY_MAX_MS", "40".into()),
        ("NO_COLOR", "1".into()),
    ]
}

/// Variables that must not leak in from the developer's shell.
pub const AWS_ENV_REMOVED: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SSM",
    "AWS_DEFAULT_REGION",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "MIGRATE_SSM_NAME_TEMPLATE",
];

/// A `migrate` command set up with [`aws_env`], run in `cwd`.
pub fn migrate_cmd(cwd: &Path) -> Command {
    let mut cmd = Command::new(super::migrate_bin());
    cmd.current_dir(cwd);
    for k in AWS_ENV_REMOVED {
        cmd.env_remove(k);
    }
    for (k, v) in aws_env() {
        cmd.env(k, v);
    }
    cmd
}
