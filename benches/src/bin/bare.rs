//! The reference server for the daemon's throughput: axum on a Unix socket, answering every
//! request with a fixed JSON body the size of a token response. What the daemon adds over
//! this is its own cost.
//!
//! `opcp-cred-bench-bare SOCKET` (prints `ready` once listening)

use std::io::Write;

use axum::Router;
use axum::routing::post;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let socket = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: opcp-cred-bench-bare SOCKET"))?;
    let _ = std::fs::remove_file(&socket);
    let listener = tokio::net::UnixListener::bind(&socket)?;
    let body = serde_json::json!({
        "token": "gAAAAAB".repeat(26),
        "expires_at": "2030-01-01T00:00:00Z",
        "profile": "bench",
        "project_id": "11111111111111111111111111111111",
        "project_name": "web",
        "auth_url": "http://127.0.0.1:5000/v3",
        "interface": null,
        "region_name": null,
        "cacert": null,
    })
    .to_string();
    let app = Router::new().route(
        opcp_cred_proto::routes::TOKEN,
        post(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    println!("ready");
    std::io::stdout().flush()?;
    axum::serve(listener, app).await?;
    Ok(())
}
