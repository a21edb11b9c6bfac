//! The on-disk cache of compiled connectors.
//!
//! Compiling a component takes hundreds of milliseconds; loading the compiled
//! artifact takes about a millisecond. Artifacts are keyed by the sha256 of
//! the component and by a hash of everything that makes compiled code
//! compatible with this engine (wasmtime version, target, settings), so a
//! changed component or an upgraded host never loads stale code. The
//! directory is created owner-only because loading an artifact runs it as
//! native code: whoever can write there can run code as Seatwarden.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Whether a load came from the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// The compiled artifact was in the cache and loaded from it.
    Hit,
    /// The component was compiled, and stored for next time if the cache could be written.
    Miss,
    /// No cache directory is configured: the component was compiled.
    Disabled,
}

/// A directory of precompiled components for one engine configuration.
#[derive(Clone, Debug)]
pub struct CompileCache {
    dir: PathBuf,
}

/// A `Hasher` that feeds sha256, so the engine key is stable across builds
/// (std's `DefaultHasher` promises no such thing).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
    }
}

/// The hex sha256 of a component's bytes: its identity everywhere.
pub fn component_digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl CompileCache {
    /// Opens (creating, mode 0700) the cache under `root` for `engine`.
    pub fn open(root: &Path, engine: &Engine) -> Result<CompileCache> {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let key = format!("engine-{:016x}", hasher.finish());
        let dir = root.join(key);
        create_private_dir(&dir)?;
        Ok(CompileCache { dir })
    }

    /// Where the artifact for a component digest lives.
    pub fn artifact_path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}.cwasm"))
    }

    /// Loads the compiled component from the cache, or compiles and stores it.
    // Deserializing compiled code is unsafe in wasmtime; the two calls below
    // say why each artifact is ours.
    #[allow(unsafe_code)]
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        digest: &str,
    ) -> Result<(Component, CacheOutcome)> {
        let path = self.artifact_path(digest);
        // Read into memory rather than mmap the file: a file truncated under
        // a live mapping kills the process with SIGBUS.
        if let Ok(artifact) = std::fs::read(&path) {
            // SAFETY: the file was written by `store` below into a directory
            // only this user can write, under a name that binds it to the
            // component's digest and this engine's compatibility hash.
            // `deserialize` also checks the header and the engine settings.
            match unsafe { Component::deserialize(engine, &artifact) } {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(err) => {
                    tracing::warn!(path = %path.display(), error = %err, "discarding unreadable compiled connector; recompiling");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let artifact = engine
            .precompile_component(bytes)
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        if let Err(err) = self.store(&path, &artifact) {
            tracing::warn!(path = %path.display(), error = %format!("{err:#}"), "could not cache compiled connector");
        }
        // SAFETY: `artifact` was produced by this engine a moment ago.
        let component = unsafe { Component::deserialize(engine, &artifact) }
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        Ok((component, CacheOutcome::Miss))
    }

    fn store(&self, path: &Path, artifact: &[u8]) -> Result<()> {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, artifact).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
        Ok(())
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating the compile cache {}", dir.display()))?;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode & 0o022 != 0 {
        anyhow::bail!(
            "compile cache {} is writable by others (mode {mode:o}); run chmod 700 on it",
            dir.display()
        );
    }
    Ok(())
}
