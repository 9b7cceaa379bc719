//! A fault-injecting HTTP/1.1 proxy in front of moto (std only, 127.0.0.1, free port).
//!
//! It speaks just enough HTTP for the AWS SDK: one request per connection, answered
//! with `Connection: close`. A schedule decides, per SSM action and per call number,
//! whether to forward the request or to inject a fault: throttling, HTTP 500 (before
//! or after moto carried the request out), TooManyUpdates, a dropped connection
//! (before or after), or a validation error that echoes the request's value the way
//! AWS does. Every injected fault is recorded so tests can check they happened.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// HTTP 400 ThrottlingException, not forwarded.
    Throttle,
    /// HTTP 400 TooManyUpdates, not forwarded.
    TooManyUpdates,
    /// HTTP 500 InternalServerError, not forwarded.
    Http500Before,
    /// Forwarded (moto carries it out), then HTTP 500 InternalServerError.
    Http500After,
    /// Connection closed without an answer, not forwarded.
    DropBefore,
    /// Forwarded (moto carries it out), then the connection is closed without an answer.
    DropAfter,
    /// HTTP 400 ValidationException quoting the request's `Value`, like AWS does.
    EchoValue,
}

/// Decides a fault from (SSM action, 1-based call number of that action, request body).
pub type Schedule = Box<dyn FnMut(&str, u64, &serde_json::Value) -> Option<Fault> + Send>;

struct State {
    schedule: Schedule,
    calls: BTreeMap<String, u64>,
    injected: Vec<(String, Fault)>,
}

pub struct FaultProxy {
    pub port: u16,
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<State>>,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts the proxy in front of moto on `upstream` (a port on 127.0.0.1).
    pub fn start(
        upstream: u16,
        schedule: impl FnMut(&str, u64, &serde_json::Value) -> Option<Fault> + Send + 'static,
    ) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let state =
            Arc::new(Mutex::new(State { schedule: Box::new(schedule), calls: BTreeMap::new(), injected: Vec::new() }));
        let accept = {
            let (stop, state) = (stop.clone(), state.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let state = state.clone();
                    std::thread::spawn(move || handle(conn, upstream, &state));
                }
            })
        };
        FaultProxy { port, stop, state, accept: Some(accept) }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Faults injected so far, in order.
    pub fn injected(&self) -> Vec<(String, Fault)> {
        self.state.lock().map(|s| s.injected.clone()).unwrap_or_default()
    }

    /// Calls seen so far per SSM action.
    pub fn calls(&self, action: &str) -> u64 {
        self.state.lock().ok().and_then(|s| s.calls.get(action).copied()).unwrap_or(0)
    }

    /// How many of each fault were injected.
    pub fn injected_counts(&self) -> BTreeMap<Fault, usize> {
        let mut m = BTreeMap::new();
        for (_, f) in self.injected() {
            *m.entry(f).or_default() += 1;
        }
        m
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop up so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

struct Request {
    head: String,
    body: Vec<u8>,
    action: String,
}

fn read_request(conn: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let action = header("x-amz-target").map(|t| t.rsplit('.').next().unwrap_or_default().to_string());
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Request { head, body, action: action.unwrap_or_default() })
}

fn respond(conn: &mut TcpStream, status: &str, body: &str) {
    let msg = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\
         Connection: close\r\nx-amzn-RequestId: fault-proxy\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(msg.as_bytes());
}

/// Sends the request to moto and returns moto's raw answer (None: moto unreachable).
fn forward(req: &Request, upstream: u16) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).ok()?;
    up.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut head = String::new();
    for (i, line) in req.head.lines().enumerate() {
        let lower = line.to_ascii_lowercase();
        if i > 0 && (lower.starts_with("connection:") || lower.starts_with("keep-alive:")) {
            continue;
        }
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes()).ok()?;
    up.write_all(&req.body).ok()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).ok()?;
    (!answer.is_empty()).then_some(answer)
}

fn handle(mut conn: TcpStream, upstream: u16, state: &Mutex<State>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let Some(req) = read_request(&mut conn) else { return };
    let fault = match state.lock() {
        Ok(mut s) => {
            let n = {
                let c = s.calls.entry(req.action.clone()).or_default();
                *c += 1;
                *c
            };
            let body = serde_json::from_slice(&req.body).unwrap_or(serde_json::Value::Null);
            let f = (s.schedule)(&req.action, n, &body);
            if let Some(f) = f {
                s.injected.push((req.action.clone(), f));
            }
            f
        }
        Err(_) => None,
    };
    match fault {
        None => {
            // If moto is gone, nothing is written: the client sees a dropped connection.
            if let Some(answer) = forward(&req, upstream) {
                let _ = conn.write_all(&answer);
            }
        }
        Some(Fault::Throttle) => {
            respond(&mut conn, "400 Bad Request", r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#)
        }
        Some(Fault::TooManyUpdates) => respond(
            &mut conn,
            "400 Bad Request",
            r#"{"__type":"TooManyUpdates","message":"There are concurrent updates for a resource."}"#,
        ),
        Some(Fault::Http500Before) => {
            respond(&mut conn, "500 Internal Server Error", r#"{"__type":"InternalServerError","message":"injected"}"#)
        }
        Some(Fault::Http500After) => {
            let _ = forward(&req, upstream);
            respond(&mut conn, "500 Internal Server Error", r#"{"__type":"InternalServerError","message":"injected"}"#)
        }
        Some(Fault::DropBefore) => {}
        Some(Fault::DropAfter) => {
            let _ = forward(&req, upstream);
        }
        Some(Fault::EchoValue) => {
            let value = serde_json::from_slice::<serde_json::Value>(&req.body)
                .ok()
                .and_then(|v| v["Value"].as_str().map(String::from))
                .unwrap_or_default();
            let message = format!(
                "1 validation error detected: Value '{value}' at 'value' failed to satisfy constraint: Member must \
                 have length less than or equal to 4096"
            );
            let body = serde_json::json!({ "__type": "ValidationException", "message": message }).to_string();
            respond(&mut conn, "400 Bad Request", &body);
        }
    }
    let _ = conn.shutdown(Shutdown::Both);
}
