//! A load generator over a Unix socket: keep-alive HTTP/1.1 connections sending token
//! requests, with per-request latencies.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;

#[derive(Debug, Default)]
pub struct Load {
    pub ok: u64,
    pub failed: u64,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl Load {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// `connections` clients, each on its own connection, sending requests back to back for
/// `duration` (or until `max_requests` in all, when given).
pub async fn sustained(
    socket: &Path,
    body: &str,
    connections: usize,
    duration: Duration,
    max_requests: Option<u64>,
) -> Load {
    let started = Instant::now();
    let deadline = started + duration;
    let per_client = max_requests.map(|n| n.div_ceil(connections as u64));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (socket, body) = (socket.to_path_buf(), body.to_owned());
        tasks.push(tokio::spawn(async move {
            client(socket, body, deadline, per_client).await
        }));
    }
    gather(tasks, started).await
}

async fn client(socket: PathBuf, body: String, deadline: Instant, limit: Option<u64>) -> Load {
    let mut load = Load::default();
    let Ok(stream) = UnixStream::connect(&socket).await else {
        load.failed += 1;
        return load;
    };
    let Ok((mut sender, connection)) = http1::handshake(TokioIo::new(stream)).await else {
        load.failed += 1;
        return load;
    };
    tokio::spawn(connection);
    while Instant::now() < deadline && limit.is_none_or(|n| load.ok + load.failed < n) {
        let started = Instant::now();
        if one(&mut sender, &body).await {
            load.ok += 1;
            load.latencies.push(started.elapsed());
        } else {
            load.failed += 1;
            break;
        }
    }
    load
}

async fn one(sender: &mut http1::SendRequest<Full<Bytes>>, body: &str) -> bool {
    let request = Request::builder()
        .method(Method::POST)
        .uri(opcp_cred_proto::routes::TOKEN)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("a valid request");
    if sender.ready().await.is_err() {
        return false;
    }
    match sender.send_request(request).await {
        Ok(response) => {
            let ok = response.status().is_success();
            ok && response.into_body().collect().await.is_ok()
        }
        Err(_) => false,
    }
}

/// `n` requests at once, each on a new connection; returns the time until the last answer.
pub async fn storm(socket: &Path, body: &str, n: usize) -> Load {
    let started = Instant::now();
    let far = started + Duration::from_secs(600);
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (socket, body) = (socket.to_path_buf(), body.to_owned());
            tokio::spawn(async move { client(socket, body, far, Some(1)).await })
        })
        .collect();
    gather(tasks, started).await
}

/// The clients' results together, timed from `started` to the last one's end.
async fn gather(tasks: Vec<tokio::task::JoinHandle<Load>>, started: Instant) -> Load {
    let mut load = Load::default();
    for task in tasks {
        let part = task.await.expect("a load client");
        load.ok += part.ok;
        load.failed += part.failed;
        load.latencies.extend(part.latencies);
    }
    load.elapsed = started.elapsed();
    load
}

/// The `q`-quantile (0..=1) of `samples`.
pub fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let index = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[index]
}
