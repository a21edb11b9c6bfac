//! The sandboxed connector runtime: load components, call them safely.
//!
//! One [`Runtime`] owns the engine, the linker, the compile cache and the
//! epoch ticker. Loading a component checks it is a connector of a version
//! this host speaks, pre-instantiates it once, and validates its descriptor.
//! Each call then gets a fresh store with its own limits, egress hooks and
//! stderr, so nothing leaks between calls, profiles or tenants, and every
//! failure comes back as a [`CallError`] that says what happened.

use crate::cache::{CacheOutcome, CompileCache, component_digest};
use crate::call_state::{LogSink, MemoryLimiter, StoreState};
use crate::connection::Connection;
use crate::contract::{
    self, ABOUT_INTERFACE, AUTH_INTERFACE, CONTRACT_INTERFACE, CONTRACT_VERSION, ConnectorPre,
    IDENTITY_PROVIDER_INTERFACE, VENDOR_INTERFACE, types, vendor,
};
use crate::cpu_meter::Charged;
use crate::credentials::auth_header;
use crate::declarations::{self, VendorTerms};
use crate::descriptor::Descriptor;
use crate::egress::transport::TransportLimits;
use crate::egress::{
    Denial, EgressCall, EgressHooks, EgressPolicy, HostCredential, MethodPolicy, Transport,
};
use crate::engine_config::{AllocatorChoice, AllocatorKind, build_engine, start_epoch_ticker};
use crate::error::{CallError, CallErrorKind, ConnectorError, LoadError};
use crate::guest_output::{self, OutputViolation};
use crate::limits::Limits;
use crate::trust::TrustedRoots;
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use wasmtime::component::{Component, ComponentExportIndex, HasSelf, Instance, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};

/// What an export returned, with the host's own failures during the call
/// (e.g. an OAuth token refused) and the requests it refused.
type Returned<R> = (R, Vec<String>, Vec<Denial>);

/// How a [`Runtime`] is set up.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Limits applied to every call into every connector this runtime loads.
    pub limits: Limits,
    /// Where compiled connectors are cached; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// Which instance allocator to use; `Auto` falls back to on-demand when pooling fails.
    pub allocator: AllocatorChoice,
    /// How many calls may run at once (and pooling allocator slots).
    pub max_concurrent_calls: u32,
    /// Certificate authorities trusted besides the Mozilla roots.
    pub trusted_roots: TrustedRoots,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            limits: Limits::default(),
            cache_dir: default_cache_dir(),
            allocator: AllocatorChoice::Auto,
            max_concurrent_calls: 128,
            trusted_roots: TrustedRoots::none(),
        }
    }
}

/// `$SEATWARDEN_CACHE_DIR`, else `$XDG_CACHE_HOME/seatwarden`, else `~/.cache/seatwarden`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SEATWARDEN_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("seatwarden"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("seatwarden"))
}

struct Shared {
    engine: Engine,
    linker: Linker<StoreState>,
    cache: Option<CompileCache>,
    limits: Limits,
    transport: Transport,
    allocator: AllocatorKind,
    permits: tokio::sync::Semaphore,
}

/// Loads connectors and runs their calls in the sandbox. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    shared: Arc<Shared>,
}

impl Runtime {
    /// Builds the engine, linker and cache and starts the epoch ticker.
    pub fn new(config: RuntimeConfig) -> Result<Runtime> {
        let (engine, allocator) = build_engine(
            config.allocator,
            &config.limits,
            config.max_concurrent_calls,
        )?;
        start_epoch_ticker(&engine);
        let mut linker: Linker<StoreState> = Linker::new(&engine);
        let wasm_err = |e: wasmtime::Error| anyhow::anyhow!("{e:#}");
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(wasm_err)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(wasm_err)?;
        contract::log::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |state| state)
            .map_err(wasm_err)?;
        let cache = match &config.cache_dir {
            Some(dir) => Some(CompileCache::open(dir, &engine)?),
            None => None,
        };
        Ok(Runtime {
            shared: Arc::new(Shared {
                engine,
                linker,
                cache,
                limits: config.limits,
                transport: Transport::trusting(&config.trusted_roots),
                allocator,
                permits: tokio::sync::Semaphore::new(config.max_concurrent_calls.max(1) as usize),
            }),
        })
    }

    /// The allocator the engine uses.
    pub fn allocator(&self) -> AllocatorKind {
        self.shared.allocator
    }

    /// The per-call limits.
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// Loads a connector from a `.wasm` file.
    pub async fn load_file(&self, path: &Path) -> Result<Connector, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.load_bytes(&bytes, &path.display().to_string()).await
    }

    /// Loads a connector from component bytes; `source_name` names it in errors.
    pub async fn load_bytes(
        &self,
        bytes: &[u8],
        source_name: &str,
    ) -> Result<Connector, LoadError> {
        let source_name = source_name.to_string();
        check_header(bytes, &source_name)?;
        let digest = component_digest(bytes);
        let (component, cache) = self.compile(bytes, &digest, &source_name)?;
        check_exports(&self.shared.engine, &component, &source_name)?;
        let pre = self
            .shared
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Imports {
                source_name: source_name.clone(),
                detail: format!("{e:#}"),
            })?;
        let invalid_exports = |e: wasmtime::Error| LoadError::Invalid {
            source_name: source_name.clone(),
            detail: format!("its exports do not match the contract: {e:#}"),
        };
        let indices = contract::ConnectorIndices::new(&pre).map_err(invalid_exports)?;
        let pre = ConnectorPre::new(pre).map_err(|e| LoadError::Invalid {
            source_name: source_name.clone(),
            detail: format!("its exports do not match the contract: {e:#}"),
        })?;
        let mut connector = Connector {
            shared: self.shared.clone(),
            pre,
            descriptor: placeholder_descriptor(),
            label: Arc::from(source_name.as_str()),
            digest,
            cache,
            links: about_links(&component),
            vendor_terms: VendorTerms::default(),
            indices,
            identity_provider: None,
        };
        let (raw, ..) = connector
            .call("describe", None, MethodPolicy::ReadOnly, |store, guest| {
                Box::pin(async move {
                    guest
                        .seatwarden_connector_connector_api()
                        .call_describe(store)
                        .await
                })
            })
            .await
            .map_err(|e| LoadError::Describe {
                source_name: source_name.clone(),
                source: Box::new(e),
            })?;
        let descriptor = Descriptor::from_guest(raw).map_err(|e| LoadError::Descriptor {
            source_name: source_name.clone(),
            detail: format!("{e:#}"),
        })?;
        connector.label = Arc::from(descriptor.label());
        connector.descriptor = descriptor;
        // Unlike `about` and `vendor`, a broken `auth` fails the load: the
        // host would not know how to authenticate the connector's requests.
        if let Some(schemes) = auth_schemes(&component) {
            let raw = connector
                .call_optional::<Vec<contract::auth::NamedScheme>>("schemes", schemes)
                .await
                .map_err(|e| LoadError::Describe {
                    source_name: source_name.clone(),
                    source: Box::new(e),
                })?;
            let descriptor = std::mem::replace(&mut connector.descriptor, placeholder_descriptor());
            connector.descriptor =
                descriptor
                    .with_schemes(raw)
                    .map_err(|e| LoadError::Descriptor {
                        source_name: source_name.clone(),
                        detail: format!("{e:#}"),
                    })?;
        }
        // Optional too: an app option the connector does not declare (or
        // none) leaves it an ordinary connector, said in the log.
        if let Some((option, list)) = identity_provider_exports(&component) {
            match connector
                .call_optional::<String>("app-option", option)
                .await
            {
                Ok(name) if name.is_empty() => {}
                Ok(name) if connector.descriptor.options.iter().any(|o| o.name == name) => {
                    connector.identity_provider = Some((name, list));
                }
                Ok(name) => tracing::warn!(
                    connector = %connector.label,
                    "its identity-provider app option {:?} is none of its declared options, so it lists no applications",
                    guest_output::clip(&name, 64)
                ),
                Err(err) => tracing::warn!(
                    connector = %connector.label,
                    "its identity-provider app option failed, so it lists no applications: {err}"
                ),
            }
        }
        // Optional, like `about`: a broken `vendor` leaves the connector
        // usable, declaring nothing (the host's defaults apply).
        if let Some(exports) = vendor_exports(&component) {
            match connector.read_vendor_terms(exports).await {
                Ok(terms) => connector.vendor_terms = terms,
                Err(err) => tracing::warn!(
                    connector = %connector.label,
                    "the connector's vendor terms failed, so it declares none: {err}"
                ),
            }
        }
        Ok(connector)
    }

    fn compile(
        &self,
        bytes: &[u8],
        digest: &str,
        source_name: &str,
    ) -> Result<(Component, CacheOutcome), LoadError> {
        let invalid = |detail: String| LoadError::Invalid {
            source_name: source_name.to_string(),
            detail,
        };
        match &self.shared.cache {
            Some(cache) => cache
                .load_or_compile(&self.shared.engine, bytes, digest)
                .map_err(|e| invalid(format!("{e:#}"))),
            None => Component::new(&self.shared.engine, bytes)
                .map(|c| (c, CacheOutcome::Disabled))
                .map_err(|e| invalid(format!("{e:#}"))),
        }
    }
}

fn check_header(bytes: &[u8], source_name: &str) -> Result<(), LoadError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::NotWasm {
            source_name: source_name.to_string(),
        });
    }
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(LoadError::CoreModule {
            source_name: source_name.to_string(),
        });
    }
    Ok(())
}

fn check_exports(
    engine: &Engine,
    component: &Component,
    source_name: &str,
) -> Result<(), LoadError> {
    let exports: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let prefix = format!("{CONTRACT_INTERFACE}@");
    let Some(found) = exports.iter().find(|name| name.starts_with(&prefix)) else {
        return Err(LoadError::WrongWorld {
            source_name: source_name.to_string(),
            expected: CONTRACT_INTERFACE,
            version: CONTRACT_VERSION,
            found: exports.join(", "),
        });
    };
    let host = semver::Version::parse(CONTRACT_VERSION).expect("contract version is semver");
    let compatible = semver::Version::parse(&found[prefix.len()..])
        .map(|v| v.major == host.major && (host.major > 0 || v.minor == host.minor))
        .unwrap_or(false);
    if !compatible {
        return Err(LoadError::IncompatibleVersion {
            source_name: source_name.to_string(),
            expected: CONTRACT_INTERFACE,
            version: CONTRACT_VERSION,
            compatible: contract::CONTRACT_COMPATIBLE,
            found: found.clone(),
        });
    }
    Ok(())
}

/// Where `about.links` is, if the component exports the optional `about`
/// interface of any 0.2.x (the lookup is semver-aware, like the contract's).
fn about_links(component: &Component) -> Option<ComponentExportIndex> {
    let about = format!("{ABOUT_INTERFACE}@{CONTRACT_VERSION}");
    let (_, interface) = component.get_export(None, &about)?;
    let (_, links) = component.get_export(Some(&interface), "links")?;
    Some(links)
}

/// Where `vendor.rate-limit` and `vendor.subscription-models` are, if the
/// component exports the optional `vendor` interface (0.2.2 and later).
fn vendor_exports(component: &Component) -> Option<(ComponentExportIndex, ComponentExportIndex)> {
    let vendor = format!("{VENDOR_INTERFACE}@{CONTRACT_VERSION}");
    let (_, interface) = component.get_export(None, &vendor)?;
    let (_, rate) = component.get_export(Some(&interface), "rate-limit")?;
    let (_, models) = component.get_export(Some(&interface), "subscription-models")?;
    Some((rate, models))
}

/// Where `auth.schemes` is, if the component exports the optional `auth`
/// interface (0.2.3 and later).
fn auth_schemes(component: &Component) -> Option<ComponentExportIndex> {
    let auth = format!("{AUTH_INTERFACE}@{CONTRACT_VERSION}");
    let (_, interface) = component.get_export(None, &auth)?;
    let (_, schemes) = component.get_export(Some(&interface), "schemes")?;
    Some(schemes)
}

/// Where `identity-provider.app-option` and `list-applications` are, if
/// the component exports the optional interface (0.2.3 and later).
fn identity_provider_exports(
    component: &Component,
) -> Option<(ComponentExportIndex, ComponentExportIndex)> {
    let idp = format!("{IDENTITY_PROVIDER_INTERFACE}@{CONTRACT_VERSION}");
    let (_, interface) = component.get_export(None, &idp)?;
    let (_, option) = component.get_export(Some(&interface), "app-option")?;
    let (_, list) = component.get_export(Some(&interface), "list-applications")?;
    Some((option, list))
}

fn placeholder_descriptor() -> Descriptor {
    Descriptor {
        name: String::new(),
        version: semver::Version::new(0, 0, 0),
        vendor: String::new(),
        summary: String::new(),
        capabilities: Default::default(),
        auth: crate::credentials::AuthScheme::None,
        default_hosts: Vec::new(),
        default_base_url: String::new(),
        regions: Vec::new(),
        options: Vec::new(),
        schemes: Vec::new(),
    }
}

type GuestFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>;

/// One instance of a connector: the contract's typed exports, and the raw
/// instance for the optional interfaces looked up by name.
struct Guest {
    api: contract::Connector,
    instance: Instance,
}

impl std::ops::Deref for Guest {
    type Target = contract::Connector;

    fn deref(&self) -> &contract::Connector {
        &self.api
    }
}

/// What `validate` found out about a connection (checked and redacted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validated {
    /// The vendor account the credentials act as, when the vendor tells;
    /// the host never reclaims it unless a rule names it.
    pub credential_account: Option<String>,
}

/// A loaded connector: pre-instantiated, described, ready to call.
pub struct Connector {
    shared: Arc<Shared>,
    pre: ConnectorPre<StoreState>,
    descriptor: Descriptor,
    label: Arc<str>,
    digest: String,
    cache: CacheOutcome,
    /// `about.links`, when the component exports the optional interface.
    links: Option<ComponentExportIndex>,
    /// What the optional `vendor` interface declared, read once at load.
    vendor_terms: VendorTerms,
    /// Where the contract's exports are, resolved once at load.
    indices: contract::ConnectorIndices,
    /// The optional `identity-provider` interface: its app option (read
    /// at load) and where `list-applications` is.
    identity_provider: Option<(String, ComponentExportIndex)>,
}

impl Connector {
    /// What the connector says about itself, validated.
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    /// The limits its calls run under (and its syncs).
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// The sha256 of the component, hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Whether the compiled code came from the on-disk cache.
    pub fn cache_outcome(&self) -> CacheOutcome {
        self.cache
    }

    /// The connector's links for operators (`about.links`, contract 0.2.1);
    /// empty when it does not export the optional interface.
    pub async fn links(&self) -> Result<Vec<(String, String)>, CallError> {
        let Some(index) = self.links else {
            return Ok(Vec::new());
        };
        let links = self
            .call_optional::<Vec<(String, String)>>("links", index)
            .await?;
        Ok(declarations::clean_links(links))
    }

    /// Its vendor's request rate and subscription models (`vendor`,
    /// contract 0.2.2), as declared and cleaned at load; empty when the
    /// component does not export the optional interface.
    pub fn vendor_terms(&self) -> &VendorTerms {
        &self.vendor_terms
    }

    /// Calls `vendor.rate-limit` and `vendor.subscription-models`, each in a
    /// fresh instance with no network, and cleans what they return.
    async fn read_vendor_terms(
        &self,
        (rate, models): (ComponentExportIndex, ComponentExportIndex),
    ) -> Result<VendorTerms, CallError> {
        let rate = self
            .call_optional::<Option<vendor::RequestRate>>("rate-limit", rate)
            .await?;
        let models = self
            .call_optional::<Vec<vendor::SubscriptionModel>>("subscription-models", models)
            .await?;
        let terms = declarations::clean_terms(rate, models);
        for dropped in &terms.dropped {
            tracing::warn!(connector = %self.label, "ignored what the connector declared: {dropped}");
        }
        Ok(terms)
    }

    /// Calls a function of an optional interface, found by name at load
    /// (it takes no arguments), in a fresh instance with no network.
    async fn call_optional<R>(
        &self,
        call: &'static str,
        index: ComponentExportIndex,
    ) -> Result<R, CallError>
    where
        R: wasmtime::component::Lift + wasmtime::component::ComponentType + Send + Sync + 'static,
    {
        let (returned, ..) = self
            .call(call, None, MethodPolicy::ReadOnly, move |store, guest| {
                Box::pin(async move {
                    let func = guest
                        .instance
                        .get_typed_func::<(), (R,)>(&mut *store, index)?;
                    let (returned,) = func.call_async(&mut *store, ()).await?;
                    Ok(returned)
                })
            })
            .await?;
        Ok(returned)
    }

    /// Calls `describe` again in a fresh instance (no network allowed).
    pub async fn describe(&self) -> Result<Descriptor, CallError> {
        let (raw, ..) = self
            .call("describe", None, MethodPolicy::ReadOnly, |store, guest| {
                Box::pin(async move {
                    guest
                        .seatwarden_connector_connector_api()
                        .call_describe(store)
                        .await
                })
            })
            .await?;
        let schemes = self.descriptor.schemes.clone();
        Descriptor::from_guest(raw)
            .map(|descriptor| Descriptor {
                schemes,
                ..descriptor
            })
            .map_err(|e| CallError {
                connector: self.label.to_string(),
                call: "describe",
                kind: CallErrorKind::Host(format!("invalid descriptor: {e:#}")),
                stderr: String::new(),
                denials: Vec::new(),
            })
    }

    /// Checks the connection (read paths only); says whose vendor account
    /// the credentials act as, when the vendor tells.
    pub async fn validate(&self, conn: &Connection) -> Result<Validated, CallError> {
        let settings = conn.settings.clone();
        let validated = self
            .vendor_call(
                "validate",
                conn,
                MethodPolicy::ReadOnly,
                move |store, guest| {
                    Box::pin(async move {
                        guest
                            .seatwarden_connector_connector_api()
                            .call_validate(store, &settings)
                            .await
                    })
                },
            )
            .await?;
        let mut validated = validated;
        guest_output::validated(&mut validated, &conn.redactor)
            .map_err(|v| self.output_error("validate", v))?;
        Ok(Validated {
            credential_account: validated.credential_account,
        })
    }

    /// One page of accounts.
    pub async fn list_users(
        &self,
        conn: &Connection,
        cursor: Option<&str>,
    ) -> Result<seatwarden_domain::account::AccountPage, CallError> {
        let settings = conn.settings.clone();
        let cursor = cursor.map(str::to_string);
        let page = self
            .vendor_call(
                "list-users",
                conn,
                MethodPolicy::ReadOnly,
                move |store, guest| {
                    Box::pin(async move {
                        guest
                            .seatwarden_connector_connector_api()
                            .call_list_users(store, &settings, cursor.as_deref())
                            .await
                    })
                },
            )
            .await?;
        let mut page = page;
        guest_output::account_page(&mut page, &conn.redactor)
            .map_err(|v| self.output_error("list-users", v))?;
        Ok(page.into())
    }

    /// One page of activity at or after `since` (ms since the epoch).
    pub async fn get_activity(
        &self,
        conn: &Connection,
        since: i64,
        cursor: Option<&str>,
    ) -> Result<seatwarden_domain::account::ActivityPage, CallError> {
        let settings = conn.settings.clone();
        let cursor = cursor.map(str::to_string);
        let page = self
            .vendor_call(
                "get-activity",
                conn,
                MethodPolicy::ReadOnly,
                move |store, guest| {
                    Box::pin(async move {
                        guest
                            .seatwarden_connector_connector_api()
                            .call_get_activity(store, &settings, since, cursor.as_deref())
                            .await
                    })
                },
            )
            .await?;
        let mut page = page;
        guest_output::activity_page(&mut page, &conn.redactor)
            .map_err(|v| self.output_error("get-activity", v))?;
        Ok(page.into())
    }

    /// The option that points a connection of this identity provider's
    /// connector at one of its applications (e.g. `app-id`); `None` when
    /// the connector lists no applications.
    pub fn app_option(&self) -> Option<&str> {
        self.identity_provider
            .as_ref()
            .map(|(name, _)| name.as_str())
    }

    /// One page of an identity provider's applications (read-only).
    pub async fn list_applications(
        &self,
        conn: &Connection,
        cursor: Option<&str>,
    ) -> Result<contract::identity_provider::ApplicationPage, CallError> {
        let Some((_, index)) = &self.identity_provider else {
            return Err(CallError {
                connector: self.label.to_string(),
                call: "list-applications",
                kind: CallErrorKind::Host(
                    "the connector does not list an identity provider's applications (no identity-provider interface)"
                        .into(),
                ),
                stderr: String::new(),
                denials: Vec::new(),
            });
        };
        let index = *index;
        let settings = conn.settings.clone();
        let cursor = cursor.map(str::to_string);
        let mut page = self
            .vendor_call(
                "list-applications",
                conn,
                MethodPolicy::ReadOnly,
                move |store, guest| {
                    Box::pin(async move {
                        let func = guest
                            .instance
                            .get_typed_func::<(&types::Settings, Option<&str>), (
                                Result<
                                    contract::identity_provider::ApplicationPage,
                                    types::ConnectorError,
                                >,
                            )>(&mut *store, index)?;
                        let (page,) = func
                            .call_async(&mut *store, (&settings, cursor.as_deref()))
                            .await?;
                        Ok(page)
                    })
                },
            )
            .await?;
        guest_output::application_page(&mut page, &conn.redactor)
            .map_err(|v| self.output_error("list-applications", v))?;
        Ok(page)
    }

    /// The error for a call whose answer broke the host's maxima.
    fn output_error(&self, call: &'static str, violation: OutputViolation) -> CallError {
        let error = CallError {
            connector: self.label.to_string(),
            call,
            kind: CallErrorKind::Output(violation),
            stderr: String::new(),
            denials: Vec::new(),
        };
        tracing::warn!(connector = %self.label, call, error = %error, "connector output refused");
        error
    }

    /// Deactivates one account at the vendor. The only calls that may write.
    pub async fn deactivate_user(
        &self,
        conn: &Connection,
        account_id: &str,
    ) -> Result<(), CallError> {
        self.write_call("deactivate-user", conn, account_id, true)
            .await
    }

    /// Reactivates one account at the vendor.
    pub async fn reactivate_user(
        &self,
        conn: &Connection,
        account_id: &str,
    ) -> Result<(), CallError> {
        self.write_call("reactivate-user", conn, account_id, false)
            .await
    }

    async fn write_call(
        &self,
        call: &'static str,
        conn: &Connection,
        account_id: &str,
        deactivate: bool,
    ) -> Result<(), CallError> {
        let settings = conn.settings.clone();
        let id = account_id.to_string();
        self.vendor_call(call, conn, MethodPolicy::ReadWrite, move |store, guest| {
            Box::pin(async move {
                let api = guest.seatwarden_connector_connector_api();
                if deactivate {
                    api.call_deactivate_user(store, &settings, &id).await
                } else {
                    api.call_reactivate_user(store, &settings, &id).await
                }
            })
        })
        .await
    }

    /// A call whose export returns `result<T, connector-error>`.
    async fn vendor_call<T, F>(
        &self,
        call: &'static str,
        conn: &Connection,
        methods: MethodPolicy,
        f: F,
    ) -> Result<T, CallError>
    where
        F: for<'a> FnOnce(
                &'a mut Store<StoreState>,
                &'a Guest,
            ) -> GuestFuture<'a, Result<T, types::ConnectorError>>
            + Send,
        T: Send,
    {
        let (result, host_failures, denials) = self.call(call, Some(conn), methods, f).await?;
        let kind = match result {
            Ok(value) => return Ok(value),
            // The guest saw a transport error caused by the host's own work
            // (e.g. the token endpoint refused the client): report that, not
            // the guest's retryable view of it.
            Err(_) if !host_failures.is_empty() => {
                let text = host_failures.join("; ");
                CallErrorKind::Host(guest_output::clip(
                    &conn.redactor.redact(&text),
                    guest_output::MAX.error_message,
                ))
            }
            Err(err) => {
                let mut err = ConnectorError::from(err);
                guest_output::connector_error(&mut err, &conn.redactor);
                CallErrorKind::Vendor(err)
            }
        };
        // What the host refused explains what the guest reports as a
        // vendor outage (a certificate nobody trusts, a host off the list).
        Err(CallError {
            connector: self.label.to_string(),
            call,
            kind,
            stderr: String::new(),
            denials,
        })
    }

    /// Runs one export in a fresh store under the runtime's limits.
    async fn call<R, F>(
        &self,
        call: &'static str,
        conn: Option<&Connection>,
        methods: MethodPolicy,
        f: F,
    ) -> Result<Returned<R>, CallError>
    where
        F: for<'a> FnOnce(&'a mut Store<StoreState>, &'a Guest) -> GuestFuture<'a, R> + Send,
        R: Send,
    {
        let shared = &self.shared;
        let limits = &shared.limits;
        let fail = |kind, stderr: String, denials| CallError {
            connector: self.label.to_string(),
            call,
            kind,
            stderr,
            denials,
        };
        let credential = match conn.and_then(|c| c.credential.as_ref().map(|cred| (&c.auth, cred)))
        {
            Some((_, crate::credentials::Credential::OAuth2(client))) => {
                HostCredential::OAuth(client.clone())
            }
            Some((scheme, credential)) => match auth_header(scheme, credential) {
                Ok(Some((name, value))) => HostCredential::Static(name, value),
                Ok(None) => HostCredential::None,
                Err(e) => {
                    return Err(fail(
                        CallErrorKind::Host(format!("{e:#}")),
                        String::new(),
                        Vec::new(),
                    ));
                }
            },
            None => HostCredential::None,
        };
        let hooks = EgressHooks::new(
            EgressCall {
                label: self.label.clone(),
                call,
                policy: conn
                    .map_or_else(|| Arc::new(EgressPolicy::deny_all()), |c| c.egress.clone()),
                methods,
                credential,
                declared_auth_header: conn.map_or_else(
                    || self.descriptor.auth.header_name(),
                    |c| c.auth.header_name(),
                ),
                request_cap: limits.requests_per_call,
                rate_limiter: conn.and_then(|c| c.rate_limiter.clone()),
                limits: TransportLimits {
                    connect_timeout: limits.connect_timeout,
                    read_timeout: limits.read_timeout,
                    response_body_bytes: limits.response_body_bytes,
                },
                denial_log: conn.and_then(|c| c.denial_log.clone()),
                keep_alive: conn.and_then(|c| c.keep_alive.clone()),
                tap: conn.and_then(|c| c.tap.clone()),
                redactor: conn.map_or_else(Arc::default, |c| c.redactor.clone()),
            },
            shared.transport.clone(),
        );
        let denials = hooks.denials();
        let host_failures = hooks.host_failures();
        let denials_before = denials.lock().expect("denial log poisoned").len();
        let state = StoreState::new(
            hooks,
            MemoryLimiter {
                max_bytes: limits.memory_bytes,
                refused: None,
            },
            LogSink {
                label: self.label.clone(),
                call,
                written: 0,
                dropped: 0,
                max_lines: limits.log_lines_per_call,
                max_line_bytes: limits.log_line_bytes,
                redactor: conn.map_or_else(Arc::default, |c| c.redactor.clone()),
            },
            limits.stderr_bytes,
        );
        let _permit = shared
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let mut store = Store::new(&shared.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(1);
        // Called when guest code observes a new epoch (every tick while it
        // runs): yielding hands control back to the CPU meter and lets the
        // wall-clock timeout fire, and keeps one busy guest from starving
        // the executor. The budget itself is charged by `Charged`.
        store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
        let (pre, indices) = (&self.pre, &self.indices);
        let charged = Charged::new(
            async {
                let instance = pre.instance_pre().instantiate_async(&mut store).await?;
                let api = indices.load(&mut store, &instance)?;
                f(&mut store, &Guest { api, instance }).await
            },
            limits.cpu_budget,
        );
        let outcome = tokio::time::timeout(limits.wall_clock, charged).await;
        let state = store.data();
        state.log.finish();
        let stderr = state.stderr_text();
        let mut denials = denials.lock().expect("denial log poisoned")[denials_before..].to_vec();
        let unlisted = state.hooks.denied().saturating_sub(denials.len() as u32);
        if unlisted > 0 {
            tracing::warn!(connector = %self.label, call, unlisted, "sandbox refused more requests than it lists");
            denials.push(Denial::Omitted { count: unlisted });
        }
        match outcome {
            Ok(Ok(Ok(value))) => Ok((
                value,
                host_failures
                    .lock()
                    .expect("host failure log poisoned")
                    .clone(),
                denials,
            )),
            Err(_elapsed) => Err(fail(
                CallErrorKind::Deadline(limits.wall_clock),
                stderr,
                denials,
            )),
            Ok(Err(_exhausted)) => {
                let error = fail(CallErrorKind::CpuBudget(limits.cpu_budget), stderr, denials);
                tracing::warn!(connector = %self.label, call, error = %error, "connector call failed");
                Err(error)
            }
            Ok(Ok(Err(err))) => {
                let kind = if let Some(requested) = state.limiter.refused {
                    CallErrorKind::MemoryLimit {
                        limit: limits.memory_bytes,
                        requested,
                    }
                } else if let Some(trap) = err.downcast_ref::<wasmtime::Trap>() {
                    CallErrorKind::Trap(trap.to_string())
                } else {
                    CallErrorKind::Host(format!("{err:#}"))
                };
                let error = fail(kind, stderr, denials);
                tracing::warn!(connector = %self.label, call, error = %error, "connector call failed");
                Err(error)
            }
        }
    }
}
