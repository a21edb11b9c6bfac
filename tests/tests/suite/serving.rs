//! The host's HTTP serving stack against real slow and hostile clients on
//! loopback: half-sent heads and trickled bodies are cut off, the
//! connection cap holds, shutdown does not wait for the slowest client,
//! every response carries the security headers (the framework's own errors
//! included), and plain-http answer links go to loopback only.

use axum::Router;
use axum::routing::{get, post};
use seatwarden_app::serving::{ServeLimits, serve};
use seatwarden_tests::workspace::{Workspace, smartrecruiters_connection};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// Long enough that a test only waits it out when the server is broken.
const GUARD: Duration = Duration::from_secs(20);

struct Running {
    port: u16,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(limits: ServeLimits) -> Running {
    let router = Router::new()
        .route("/page", get(|| async { "hello" }))
        .route(
            "/form",
            post(
                |body: axum::extract::Form<Vec<(String, String)>>| async move {
                    format!("{} fields", body.0.len())
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = CancellationToken::new();
    let cancelled = stop.clone();
    let task = tokio::spawn(serve(listener, router, limits, async move {
        cancelled.cancelled().await
    }));
    Running { port, stop, task }
}

async fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).await.unwrap()
}

/// Everything the server sends until it closes the connection.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    tokio::time::timeout(GUARD, stream.read_to_end(&mut seen))
        .await
        .expect("the server closes the connection")
        .ok();
    String::from_utf8_lossy(&seen).into_owned()
}

/// One whole request; the response's head and body, lowercased.
async fn request(port: u16, raw: &str) -> String {
    let mut stream = connect(port).await;
    stream.write_all(raw.as_bytes()).await.unwrap();
    read_to_close(&mut stream).await.to_ascii_lowercase()
}

fn quick() -> ServeLimits {
    ServeLimits {
        header_read: Duration::from_millis(300),
        request: Duration::from_millis(300),
        ..ServeLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_head_and_an_idle_connection_are_closed() {
    let server = start(quick()).await;
    let mut half = connect(server.port).await;
    half.write_all(b"GET /page HTTP/1.1\r\nHost: a\r\n")
        .await
        .unwrap();
    read_to_close(&mut half).await;

    // Kept alive after one answer, then silent: closed by the same timer.
    let mut idle = connect(server.port).await;
    idle.write_all(b"GET /page HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let seen = read_to_close(&mut idle).await;
    assert!(seen.starts_with("HTTP/1.1 200 OK"), "{seen}");
    assert!(seen.ends_with("hello"), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_gets_408_with_the_security_headers() {
    let server = start(quick()).await;
    let mut slow = connect(server.port).await;
    slow.write_all(
        b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\na=1",
    )
    .await
    .unwrap();
    let seen = read_to_close(&mut slow).await.to_ascii_lowercase();
    assert!(seen.starts_with("http/1.1 408"), "{seen}");
    assert!(seen.contains("cache-control: no-store"), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let server = start(ServeLimits {
        max_connections: 1,
        ..ServeLimits::default()
    })
    .await;
    // The only slot, held by a client that sends half a head.
    let mut holder = connect(server.port).await;
    holder.write_all(b"GET /page HT").await.unwrap();
    let mut waiting = tokio::spawn(request(
        server.port,
        "GET /page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    ));
    // The waiting client is connected (the kernel's backlog) but not served
    // while the slot is held. A slow machine can only make this pass
    // wrongly, never fail wrongly: a served request on loopback takes
    // milliseconds.
    let early = tokio::time::timeout(Duration::from_millis(500), &mut waiting).await;
    assert!(
        early.is_err(),
        "a second connection was served past the cap"
    );
    drop(holder);
    let seen = tokio::time::timeout(GUARD, waiting)
        .await
        .expect("served once the slot is free")
        .unwrap();
    assert!(seen.starts_with("http/1.1 200 ok"), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_slow_client() {
    let server = start(ServeLimits {
        header_read: Duration::from_secs(3600),
        shutdown_grace: Duration::from_millis(200),
        ..ServeLimits::default()
    })
    .await;
    let mut slow = connect(server.port).await;
    slow.write_all(b"GET /page HTTP/1.1\r\nHost: a\r\n")
        .await
        .unwrap();
    // Served once, so the connection is surely accepted before shutdown.
    let seen = request(
        server.port,
        "GET /page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(seen.starts_with("http/1.1 200 ok"), "{seen}");
    server.stop.cancel();
    tokio::time::timeout(GUARD, server.task)
        .await
        .expect("serve returns although a client never finished its request")
        .unwrap()
        .unwrap();
    read_to_close(&mut slow).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers_the_frameworks_own_included() {
    let server = start(ServeLimits {
        max_body_bytes: 1024,
        max_uri_bytes: 2048,
        ..ServeLimits::default()
    })
    .await;
    let long_target = format!("/page?t={}", "x".repeat(4096));
    let big_body = "a=".to_string() + &"x".repeat(4096);
    let cases = [
        ("GET /page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".to_string(), "200"),
        ("GET /nowhere HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".to_string(), "404"),
        ("DELETE /page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".to_string(), "405"),
        (
            format!("GET {long_target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
            "414",
        ),
        (
            format!(
                "POST /form HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{big_body}",
                big_body.len()
            ),
            "413",
        ),
        (
            "POST /form HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\na=1"
                .to_string(),
            "415",
        ),
    ];
    for (raw, status) in cases {
        let seen = request(server.port, &raw).await;
        let head = seen.split("\r\n\r\n").next().unwrap_or_default();
        assert!(head.starts_with(&format!("http/1.1 {status}")), "{head}");
        for header in [
            "cache-control: no-store",
            "x-content-type-options: nosniff",
            "x-frame-options: deny",
            "referrer-policy: no-referrer",
            "content-security-policy: default-src 'none'",
        ] {
            assert!(head.contains(header), "{status} lacks {header}: {head}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_answer_links_go_to_loopback_itself_only() {
    let ws = Workspace::new("serving-answer-url");
    ws.secret("k", "key");
    let base = format!(
        "[tenants.acme]\n{}",
        smartrecruiters_connection("c", "acme", "https://api.smartrecruiters.com", "k")
    );
    let config = |url: &str| {
        format!(
            "{base}[notifications]\nfrom = \"a@b.example\"\nanswer_url = \"{url}\"\nlink_key = {{ env = \"K\" }}\n[notifications.smtp]\nhost = \"127.0.0.1\"\nsecurity = \"none\"\n"
        )
    };
    for refused in [
        "http://127.0.0.1.attacker.example",
        "http://localhost.attacker.example/",
        "http://localhost@attacker.example",
        "http://[::1].attacker.example",
        "https://user@seatwarden.example",
        "http://10.0.0.5:8425",
    ] {
        ws.write_config(&config(refused));
        let err = seatwarden_config::Config::load(&ws.config_path())
            .err()
            .unwrap_or_else(|| panic!("accepted {refused}"));
        assert!(
            err.to_string().contains("notifications.answer_url"),
            "{refused}: {err}"
        );
    }
    for accepted in [
        "http://127.0.0.1:8425/",
        "http://localhost:8425",
        "http://[::1]:8425",
        "https://seatwarden.example/links",
    ] {
        ws.write_config(&config(accepted));
        seatwarden_config::Config::load(&ws.config_path())
            .unwrap_or_else(|err| panic!("{accepted}: {err}"));
    }
}
