//! A real SCIM 2.0 server for the tests: `scim2-server` from PyPI.
//!
//! `cargo xtask test` installs it into `target/test-peers`; each test starts
//! its own instance on a free loopback port with a bearer token, seeds it
//! through the SCIM API itself, and stops it when dropped.

use crate::fixtures::repo_root;
use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The pinned scim2-server version (installed by `cargo xtask test`).
pub const VERSION: &str = "0.8.3";

/// Where `cargo xtask` installs the server.
pub fn executable() -> PathBuf {
    repo_root().join("target/test-peers/bin/scim2-server")
}

/// A running scim2-server; killed when dropped.
pub struct ScimServer {
    child: Child,
    port: u16,
    token: String,
}

impl ScimServer {
    /// Starts a server that accepts `token` as a bearer token.
    pub async fn start(token: &str) -> Result<ScimServer> {
        let exe = executable();
        if !exe.exists() {
            bail!(
                "{} is missing: run `cargo xtask test` (it installs scim2-server {VERSION} from PyPI)",
                exe.display()
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(&exe)
            .args([
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--bearer-token",
                token,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let server = ScimServer {
            child,
            port,
            token: token.to_string(),
        };
        // Readiness: the server answers its discovery endpoint (bounded wait).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if server
                .request("GET", "/v2/ServiceProviderConfig", None)
                .await
                .is_ok_and(|(s, _)| s == 200)
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!("scim2-server did not answer on port {port} within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `http://127.0.0.1:PORT/v2`: the SCIM base URL.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v2", self.port)
    }

    /// One authenticated request; returns status and JSON body (Null if none).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value)> {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let bytes = body
            .map(|b| serde_json::to_vec(b).expect("JSON"))
            .unwrap_or_default();
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("127.0.0.1:{}", self.port))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/scim+json")
            .body(Full::new(bytes::Bytes::from(bytes)))?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        let value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body)?
        };
        Ok((status, value))
    }

    /// Creates a user; returns its id.
    pub async fn create_user(&self, user: &Value) -> Result<String> {
        let (status, created) = self.request("POST", "/v2/Users", Some(user)).await?;
        if status != 201 {
            bail!("creating a SCIM user answered {status}: {created}");
        }
        Ok(created["id"]
            .as_str()
            .context("created user has an id")?
            .to_string())
    }
}

impl Drop for ScimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A realistic SCIM user number `i`.
pub fn seed_user(i: usize) -> Value {
    let department = ["Sales", "Engineering", "Finance"][i % 3];
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": format!("user{i}"),
        "name": {"givenName": format!("Given{i}"), "familyName": "Doe"},
        "emails": [{"value": format!("user{i}@work.example"), "type": "work", "primary": true},
                   {"value": format!("user{i}@home.example"), "type": "home"}],
        "active": i % 9 != 8,
        "entitlements": [{"value": if i.is_multiple_of(3) { "enterprise-seat" } else { "pro-seat" }}],
        "roles": if i.is_multiple_of(10) { serde_json::json!([{"value": "admin"}]) } else { serde_json::json!([]) },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": department,
            "costCenter": format!("CC-{}", 100 + i % 4),
            "manager": {"value": "boss-1", "displayName": "Big Boss"}
        }
    })
}
