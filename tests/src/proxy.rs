//! A real HTTP proxy on loopback, for the proxy tests: `CONNECT host:port` is tunnelled (what a
//! client does for an `https://` URL) and an absolute-form request (`GET http://host/…`, what
//! it does for `http://`) is forwarded. Every one is recorded with its target, so a test can
//! prove which traffic went through it and which bypassed it.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// A request head larger than this is not one our clients send.
const MAX_HEAD: usize = 64 * 1024;

/// What went through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passed {
    /// `CONNECT host:port`.
    Tunnel(String),
    /// A forwarded plain HTTP request, by its absolute URI.
    Forward(String),
}

impl Passed {
    /// `host:port` the request was for.
    pub fn authority(&self) -> &str {
        match self {
            Self::Tunnel(authority) => authority,
            Self::Forward(uri) => uri
                .strip_prefix("http://")
                .and_then(|rest| rest.split('/').next())
                .unwrap_or(uri),
        }
    }
}

/// The proxy and the runtime it runs on; both stop on drop.
#[derive(Debug)]
pub struct TestProxy {
    addr: SocketAddr,
    passed: Arc<Mutex<Vec<Passed>>>,
    _runtime: tokio::runtime::Runtime,
}

impl TestProxy {
    /// Listening when this returns.
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let passed = Arc::new(Mutex::default());
        runtime.spawn(accept_loop(listener, passed.clone()));
        Self {
            addr,
            passed,
            _runtime: runtime,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything that went through so far.
    pub fn passed(&self) -> Vec<Passed> {
        lock(&self.passed).clone()
    }

    /// Whether anything went through for `authority` (`host:port`).
    pub fn carried(&self, authority: &str) -> bool {
        lock(&self.passed)
            .iter()
            .any(|passed| passed.authority() == authority)
    }
}

fn lock(passed: &Mutex<Vec<Passed>>) -> MutexGuard<'_, Vec<Passed>> {
    passed.lock().expect("the proxy's record is never poisoned")
}

async fn accept_loop(listener: TcpListener, passed: Arc<Mutex<Vec<Passed>>>) {
    while let Ok((stream, _)) = listener.accept().await {
        let passed = passed.clone();
        tokio::spawn(async move {
            // A client that goes away mid-request is not the test's concern.
            let _ = serve(stream, &passed).await;
        });
    }
}

async fn serve(mut client: TcpStream, passed: &Mutex<Vec<Passed>>) -> io::Result<()> {
    let (head, body_start) = read_head(&mut client).await?;
    let request_line = head.lines().next().unwrap_or_default().to_owned();
    let mut words = request_line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (authority, upstream_head) = if method == "CONNECT" {
        lock(passed).push(Passed::Tunnel(target.to_owned()));
        (target.to_owned(), None)
    } else if let Some(rest) = target.strip_prefix("http://") {
        lock(passed).push(Passed::Forward(target.to_owned()));
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = if path.is_empty() { "/" } else { path };
        (authority.to_owned(), Some(origin_form(&head, method, path)))
    } else {
        client
            .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let Ok(mut upstream) = TcpStream::connect(&authority).await else {
        client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    match upstream_head {
        None => {
            client
                .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                .await?;
        }
        Some(head) => upstream.write_all(head.as_bytes()).await?,
    }
    upstream.write_all(&body_start).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// The head up to its blank line, and whatever of the body came with it.
async fn read_head(stream: &mut TcpStream) -> io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let body = buf.split_off(end + 4);
            let head = String::from_utf8(buf)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "head is not UTF-8"))?;
            return Ok((head, body));
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too large"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The forwarded head: origin-form request line, hop-by-hop headers dropped, and
/// `connection: close` so that the client opens a new connection (and so a new upstream) for
/// its next request.
fn origin_form(head: &str, method: &str, path: &str) -> String {
    let mut out = format!("{method} {path} HTTP/1.1\r\n");
    for line in head.lines().skip(1).filter(|line| !line.is_empty()) {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !matches!(
            name.as_str(),
            "connection" | "proxy-connection" | "proxy-authorization" | "keep-alive"
        ) {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("connection: close\r\n\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_heads_are_origin_form_and_close() {
        let head = "GET http://127.0.0.1:9/v3 HTTP/1.1\r\nhost: 127.0.0.1:9\r\nproxy-connection: keep-alive\r\naccept: */*\r\n\r\n";
        assert_eq!(
            origin_form(head, "GET", "/v3"),
            "GET /v3 HTTP/1.1\r\nhost: 127.0.0.1:9\r\naccept: */*\r\nconnection: close\r\n\r\n"
        );
    }

    #[test]
    fn authorities_of_what_passed() {
        assert_eq!(
            Passed::Tunnel("127.0.0.1:443".into()).authority(),
            "127.0.0.1:443"
        );
        assert_eq!(
            Passed::Forward("http://127.0.0.1:80/realms/pod".into()).authority(),
            "127.0.0.1:80"
        );
    }

    #[tokio::test]
    async fn forwards_and_records_a_plain_request() {
        let origin = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin_addr = origin.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = origin.accept().await.unwrap();
            let (head, _) = read_head(&mut stream).await.unwrap();
            assert!(head.starts_with("GET /hello HTTP/1.1\r\n"), "{head}");
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi")
                .await
                .unwrap();
        });
        let passed = Arc::new(Mutex::default());
        let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy_addr = proxy.local_addr().unwrap();
        tokio::spawn(accept_loop(proxy, passed.clone()));
        let mut client = TcpStream::connect(proxy_addr).await.unwrap();
        let request =
            format!("GET http://{origin_addr}/hello HTTP/1.1\r\nhost: {origin_addr}\r\n\r\n");
        client.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        assert!(answer.ends_with("\r\n\r\nhi"), "{answer}");
        assert_eq!(
            lock(&passed).as_slice(),
            [Passed::Forward(format!("http://{origin_addr}/hello"))]
        );
    }
}
