//! A real OpenID Connect provider for the console's sign-in tests: npm's
//! `oidc-provider` (installed by `cargo xtask test` into
//! `target/test-peers/oidc-provider`), run as its own process on a free
//! loopback port with one client for Seatwarden and its development
//! login form. Which accounts are in which groups is written in
//! `tests/peers/oidc-provider/provider.mjs`.

use crate::fixtures::repo_root;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};

/// The client id the provider knows Seatwarden by.
pub const CLIENT_ID: &str = "seatwarden";
/// The client secret it was registered with.
pub const CLIENT_SECRET: &str = "sso-client-secret-for-tests";

/// The provider, stopped when dropped.
pub struct IdentityProvider {
    child: Child,
    /// Its issuer, `http://127.0.0.1:PORT`.
    pub issuer: String,
}

impl Drop for IdentityProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl IdentityProvider {
    /// Starts the provider with Seatwarden's client registered for
    /// `redirect_uri`; returns once it listens. With `claims_in_userinfo`,
    /// the ID token carries no e-mail or groups: only the userinfo answer
    /// does (as the specification has it when an access token is issued).
    pub fn start(redirect_uri: &str, claims_in_userinfo: bool) -> IdentityProvider {
        let deps = repo_root().join("target/test-peers/oidc-provider");
        assert!(
            deps.join("node_modules/oidc-provider").is_dir(),
            "npm's oidc-provider is not installed in {}: run `cargo xtask test` once, which installs it",
            deps.display()
        );
        // The script runs beside its node_modules, where its import resolves.
        let script = deps.join("provider.mjs");
        std::fs::copy(
            repo_root().join("tests/peers/oidc-provider/provider.mjs"),
            &script,
        )
        .unwrap();
        let mut child = Command::new("node")
            .arg(&script)
            .env("REDIRECT_URI", redirect_uri)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env(
                "CLAIMS_IN_USERINFO",
                if claims_in_userinfo { "1" } else { "0" },
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs (Node.js 20 or later is needed for the sign-in tests)");
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let issuer = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("oidc-provider did not start: {line:?}"))
            .to_string();
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        IdentityProvider { child, issuer }
    }

    /// The `[tenants.TENANT.sign_on]` table for this provider, reading the
    /// client secret from `secret_file`, with `more` lines appended.
    pub fn sign_on_table(
        &self,
        tenant: &str,
        redirect_uri: &str,
        secret_file: &str,
        more: &str,
    ) -> String {
        format!(
            "\n[tenants.{tenant}.sign_on]\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = {{ file = \"{secret_file}\" }}\nredirect_uri = \"{redirect_uri}\"\nscopes = [\"email\", \"profile\", \"groups\"]\nadmin_groups = [\"seatwarden-admins\"]\noperate_groups = [\"asset-managers\"]\n{more}",
            self.issuer
        )
    }
}
