//! A scratch directory with a configuration file and owner-only credential
//! files, as an operator would lay them out, for tests that drive the host
//! through [`App`] (profiles, the scheduler) rather than single calls.

use crate::fixtures::{guest, repo_root};
use seatwarden_app::wiring::App;
use seatwarden_config::Config;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

/// One test's directory under `target/test-tmp`.
pub struct Workspace {
    pub dir: PathBuf,
}

impl Workspace {
    /// A fresh, empty directory named after the test and this process.
    pub fn new(name: &str) -> Workspace {
        let dir = repo_root()
            .join("target/test-tmp")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the test directory");
        Workspace { dir }
    }

    /// Writes a credential file readable by its owner only.
    pub fn secret(&self, file: &str, value: &str) {
        let path = self.dir.join(file);
        std::fs::write(&path, value).expect("writing a credential file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    }

    /// `seatwarden.toml` in this directory.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("seatwarden.toml")
    }

    /// Writes the configuration file (the database is `seatwarden.db` beside
    /// it unless the text says otherwise).
    pub fn write_config(&self, body: &str) {
        let text = if body.contains("database =") {
            body.to_string()
        } else {
            format!("database = \"seatwarden.db\"\n\n{body}")
        };
        std::fs::write(self.config_path(), text).expect("writing the configuration");
    }

    /// Loads the configuration and opens the host on it, as the CLI does.
    pub async fn app(&self) -> anyhow::Result<Arc<App>> {
        let config = Config::load(&self.config_path())?;
        let cache = Some(repo_root().join("target/test-compile-cache"));
        Ok(Arc::new(App::open(config, cache).await?))
    }
}

/// A `[connections.NAME]` table for the SmartRecruiters connector on a
/// loopback fake, reading its key from `key_file`.
pub fn smartrecruiters_connection(name: &str, tenant: &str, url: &str, key_file: &str) -> String {
    loopback_connection(name, tenant, "smartrecruiters", url, key_file)
}

/// A `[connections.NAME]` table for one of the built connectors on a
/// loopback fake, reading its credential from `key_file`.
pub fn loopback_connection(
    name: &str,
    tenant: &str,
    connector: &str,
    url: &str,
    key_file: &str,
) -> String {
    format!(
        r#"[connections.{name}]
tenant = "{tenant}"
connector = "{}"
base_url = "{url}"
private_targets = "allow-loopback"
credential = {{ file = "{key_file}" }}
"#,
        guest(connector).display()
    )
}
