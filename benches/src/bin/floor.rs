//! The physical floor of a token request: connect to the Unix socket, write one HTTP request,
//! read the reply to its end, exit. std only, no runtime, no parsing beyond the status line.
//!
//! `opcp-cred-bench-floor SOCKET JSON_BODY`

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(socket), Some(body)) = (args.next(), args.next()) else {
        eprintln!("usage: opcp-cred-bench-floor SOCKET JSON_BODY");
        return ExitCode::from(2);
    };
    let Ok(mut stream) = UnixStream::connect(&socket) else {
        return ExitCode::FAILURE;
    };
    let request = format!(
        "POST /v1/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut reply = Vec::with_capacity(4096);
    if stream.write_all(request.as_bytes()).is_err() || stream.read_to_end(&mut reply).is_err() {
        return ExitCode::FAILURE;
    }
    if reply.starts_with(b"HTTP/1.1 200") {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
