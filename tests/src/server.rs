//! A recording HTTP/1.1 server on loopback, driven by a handler closure.
//!
//! Tests point connectors at it, choose per request what it answers (or that
//! it never answers), and read back every request it received, headers and
//! body included.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: http::Method,
    /// Path and query.
    pub target: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// The client's end of the TCP connection the request came on: equal
    /// for requests that shared a kept-alive connection.
    pub peer: SocketAddr,
}

impl Recorded {
    /// A header's value as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the server does with a request.
pub enum Reply {
    /// Answer with a status, headers and body.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Never answer (the connection stays open until the client gives up).
    Hang,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply::Respond {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(value).expect("JSON serializes"),
        }
    }

    /// A plain-text answer.
    pub fn text(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Respond {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.into(),
        }
    }

    /// A redirect to `location`.
    pub fn redirect(location: &str) -> Reply {
        Reply::Respond {
            status: 302,
            headers: vec![("location".into(), location.into())],
            body: Vec::new(),
        }
    }
}

type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

/// A running server; stops when dropped.
pub struct TestServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// How many requests have arrived, for tests that wait on the server.
    arrived: tokio::sync::watch::Sender<usize>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Starts on 127.0.0.1 with an OS-chosen port.
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> TestServer {
        TestServer::start_on("127.0.0.1:0", Arc::new(handler)).await
    }

    async fn start_on(bind: &str, handler: Handler) -> TestServer {
        let listener = TcpListener::bind(bind)
            .await
            .expect("binding a loopback port");
        let addr = listener.local_addr().expect("local address");
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let log = requests.clone();
        let arrived = tokio::sync::watch::Sender::new(0usize);
        let counter = arrived.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let log = log.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: http::Request<hyper::body::Incoming>| {
                            let handler = handler.clone();
                            let log = log.clone();
                            let counter = counter.clone();
                            async move {
                                let (parts, body) = request.into_parts();
                                let body = body
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes())
                                    .unwrap_or_default();
                                let recorded = Recorded {
                                    method: parts.method,
                                    target: parts
                                        .uri
                                        .path_and_query()
                                        .map_or("/", |p| p.as_str())
                                        .to_string(),
                                    headers: parts.headers,
                                    body,
                                    peer,
                                };
                                log.lock().unwrap().push(recorded.clone());
                                let reply = handler(&recorded);
                                counter.send_modify(|n| *n += 1);
                                match reply {
                                    Reply::Hang => std::future::pending().await,
                                    Reply::Respond {
                                        status,
                                        headers,
                                        body,
                                    } => {
                                        let mut response = http::Response::builder().status(status);
                                        for (name, value) in headers {
                                            response = response.header(name, value);
                                        }
                                        Ok::<_, std::convert::Infallible>(
                                            response
                                                .body(Full::new(Bytes::from(body)))
                                                .expect("valid response"),
                                        )
                                    }
                                }
                            }
                        });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TestServer {
            addr,
            requests,
            arrived,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Resolves once `n` requests have been answered (or left hanging).
    pub async fn wait_for_requests(&self, n: usize) {
        let mut arrived = self.arrived.subscribe();
        let _ = arrived.wait_for(|count| *count >= n).await;
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// The requests received so far that could change something: all but
    /// `GET` and `HEAD`.
    pub fn writes(&self) -> Vec<Recorded> {
        let requests = self.requests.lock().unwrap();
        let read = |r: &&Recorded| r.method == http::Method::GET || r.method == http::Method::HEAD;
        requests.iter().filter(|r| !read(r)).cloned().collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
