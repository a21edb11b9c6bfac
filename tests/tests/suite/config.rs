//! Configuration mistakes: each one gets a message naming the file, the key
//! and the fix.

use seatwarden_config::{Config, CredentialConfig};
use seatwarden_sandbox::credentials::CredentialSource;
use seatwarden_sandbox::oauth::ClientAuthentication;
use seatwarden_tests::fixtures::guest;
use std::path::{Path, PathBuf};

fn valid() -> String {
    format!(
        r#"
database = "data/seatwarden.db"

[tenants.acme]
display_name = "Acme Corp"

[tenants.globex]

[connections.acme-sr]
tenant = "acme"
connector = "{}"
base_url = "https://api.smartrecruiters.com"
credential = {{ env = "ACME_SR_TOKEN" }}

[profiles.acme-sr]
tenant = "acme"
connection = "acme-sr"
"#,
        guest("smartrecruiters").display()
    )
}

fn file() -> PathBuf {
    PathBuf::from("/etc/seatwarden/seatwarden.toml")
}

fn error(text: &str) -> String {
    Config::parse(text, &file()).unwrap_err().to_string()
}

#[test]
fn a_valid_file_resolves_paths_and_defaults() {
    let config = Config::parse(&valid(), &file()).unwrap();
    assert_eq!(
        config.database,
        seatwarden_config::Database::File("/etc/seatwarden/data/seatwarden.db".into())
    );
    assert_eq!(config.tenants["acme"].display_name, "Acme Corp");
    assert_eq!(config.tenants["globex"].display_name, "globex");
    let profile = &config.profiles["acme-sr"];
    assert!(profile.settings.download_activity);
    assert!(
        !profile.settings.reclaim,
        "reclaim is off (report only) unless set"
    );
    assert_eq!(
        profile.settings.activity_from,
        seatwarden_store::ActivityFrom::DaysBack(60)
    );
    assert_eq!(config.scheduler.zone_name(), "UTC");
    assert_eq!(
        config.connections["acme-sr"].credential,
        Some(CredentialConfig::Secret(CredentialSource::Env(
            "ACME_SR_TOKEN".into()
        )))
    );
    let oauth = valid().replace(
        r#"{ env = "ACME_SR_TOKEN" }"#,
        r#"{ env = "SECRET", client_id = "seatwarden", token_url = "https://login.example.com/oauth/token", scope = "users" }"#,
    );
    let config = Config::parse(&oauth, &file()).unwrap();
    assert_eq!(
        config.connections["acme-sr"].credential,
        Some(CredentialConfig::OAuth2 {
            client_id: "seatwarden".into(),
            secret: CredentialSource::Env("SECRET".into()),
            token_url: "https://login.example.com/oauth/token".into(),
            scope: Some("users".into()),
            client_auth: ClientAuthentication::Basic,
        })
    );
    // Microsoft's token endpoint wants the secret in the form body.
    let post = oauth.replace(
        r#"scope = "users""#,
        r#"scope = "users", client_auth = "post""#,
    );
    let config = Config::parse(&post, &file()).unwrap();
    assert!(matches!(
        config.connections["acme-sr"].credential,
        Some(CredentialConfig::OAuth2 {
            client_auth: ClientAuthentication::Post,
            ..
        })
    ));
    let err = error(&oauth.replace(r#"scope = "users""#, r#"client_auth = "header""#));
    assert!(
        err.contains(
            "connections.acme-sr.credential: client_auth: \"header\" is not a client authentication"
        ),
        "{err}"
    );
    let err = error(&valid().replace(
        r#"{ env = "ACME_SR_TOKEN" }"#,
        r#"{ env = "ACME_SR_TOKEN", client_auth = "post" }"#,
    ));
    assert!(err.contains("client_auth is for OAuth 2.0"), "{err}");
    let with_file = valid().replace(
        r#"{ env = "ACME_SR_TOKEN" }"#,
        r#"{ file = "secrets/sr.key", user = "ops" }"#,
    );
    let config = Config::parse(&with_file, &file()).unwrap();
    assert_eq!(
        config.connections["acme-sr"].credential,
        Some(CredentialConfig::Basic {
            user: "ops".into(),
            secret: CredentialSource::File("/etc/seatwarden/secrets/sr.key".into())
        })
    );
}

#[test]
fn an_inline_secret_is_refused() {
    let text = valid().replace(r#"{ env = "ACME_SR_TOKEN" }"#, r#""DCRA1-abc123""#);
    let err = error(&text);
    assert_eq!(
        err,
        "/etc/seatwarden/seatwarden.toml: connections.acme-sr.credential: secrets are never written in the configuration. \
         use credential = { env = \"VAR\" } or { file = \"path/to/secret\" } (add user = \"...\" for HTTP Basic, \
         or client_id = \"...\" and token_url = \"...\" for OAuth 2.0)"
    );
    assert!(!err.contains("DCRA1-abc123"));
}

#[test]
fn each_mistake_names_the_key_and_the_fix() {
    let cases: Vec<(String, &str)> = vec![
        (
            valid().replace("connection = \"acme-sr\"", "connection = \"acme-s\""),
            "profiles.acme-sr.connection: no connection named \"acme-s\" (defined: acme-sr). add [connections.acme-s] or fix the name",
        ),
        (
            valid().replace(
                "[profiles.acme-sr]\ntenant = \"acme\"",
                "[profiles.acme-sr]\ntenant = \"initech\"",
            ),
            "profiles.acme-sr.tenant: no tenant named \"initech\" (defined: acme, globex). add [tenants.initech] or fix the name",
        ),
        (
            valid().replace(
                "[profiles.acme-sr]\ntenant = \"acme\"",
                "[profiles.acme-sr]\ntenant = \"globex\"",
            ),
            "profiles.acme-sr.connection: connection \"acme-sr\" belongs to tenant \"acme\", not \"globex\". a profile may only use a connection of its own tenant",
        ),
        (
            format!("{}activity_from_days = 90\n", valid()),
            "profiles.acme-sr.activity_from_days: 90 is outside 1..=60. activity can be analyzed from at most 60 days back",
        ),
        (
            valid().replace(
                "https://api.smartrecruiters.com",
                "ftp://api.smartrecruiters.com",
            ),
            "connections.acme-sr.base_url: invalid allowed host \"ftp://api.smartrecruiters.com\": the scheme must be http or https",
        ),
        (
            valid().replace(
                r#"{ env = "ACME_SR_TOKEN" }"#,
                r#"{ env = "A", file = "b" }"#,
            ),
            "connections.acme-sr.credential: set env or file, not both",
        ),
        (
            valid().replace(r#"{ env = "ACME_SR_TOKEN" }"#, r#"{ env = "ACME-SR" }"#),
            "connections.acme-sr.credential: \"ACME-SR\" is not an environment variable name",
        ),
        (
            valid().replace("base_url =", "sha256 = \"abc\"\nbase_url ="),
            "connections.acme-sr.sha256: \"abc\" is not a sha256 digest",
        ),
        (
            valid().replace("[tenants.globex]", "[tenants.Globex]"),
            "tenants.Globex: \"Globex\" is not a valid name. use lowercase letters, digits and -",
        ),
    ];
    for (text, expected) in cases {
        let err = error(&text);
        assert!(
            err.starts_with("/etc/seatwarden/seatwarden.toml: "),
            "{err}"
        );
        assert!(
            err.contains(expected),
            "expected {expected:?}\n     got {err:?}"
        );
    }
}

#[test]
fn a_missing_connector_file_says_how_to_build_it() {
    let text = valid().replace(
        &guest("smartrecruiters").display().to_string(),
        "connectors/nope.wasm",
    );
    let err = error(&text);
    assert!(err.contains("connections.acme-sr.connector: connector file /etc/seatwarden/connectors/nope.wasm does not exist"), "{err}");
    assert!(err.contains("cargo xtask build-guests"), "{err}");
}

#[test]
fn typos_and_syntax_errors_point_at_the_line() {
    let typo = valid().replace("base_url =", "base_ulr =");
    let err = error(&typo);
    assert!(
        err.starts_with(
            "/etc/seatwarden/seatwarden.toml: connections.acme-sr: unknown field `base_ulr`"
        ),
        "{err}"
    );
    assert!(err.contains("(line 12)"), "{err}");

    let broken = valid().replace("[tenants.globex]", "[tenants.globex");
    let err = error(&broken);
    assert!(err.contains("(line 7)"), "{err}");

    let err = Config::load(Path::new("/nonexistent/seatwarden.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("/nonexistent/seatwarden.toml: cannot read the configuration"),
        "{err}"
    );
    assert!(err.contains("pass --config <file>"), "{err}");
}

#[test]
fn connections_are_found_only_within_their_tenant() {
    let config = Config::parse(&valid(), &file()).unwrap();
    assert!(config.connection("acme", "acme-sr").is_ok());
    let err = config
        .connection("globex", "acme-sr")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "/etc/seatwarden/seatwarden.toml: connections.acme-sr: tenant \"globex\" has no connection named \"acme-sr\" (its connections: none). add the connection to the configuration, under this tenant"
    );
}

#[test]
fn several_tenants_need_one_chosen() {
    let config = Config::parse(&valid(), &file()).unwrap();
    let err = config.tenant(None).unwrap_err().to_string();
    assert!(
        err.contains(
            "several tenants are defined (acme, globex) and none was chosen. pass --tenant"
        ),
        "{err}"
    );
    assert_eq!(config.tenant(Some("globex")).unwrap().name, "globex");
    assert!(config.tenant(Some("initech")).is_err());
}

#[test]
fn profile_toggles_schedules_and_scheduler_settings_are_checked() {
    let cases = [
        (
            format!("{}download_subscriptions = false\n", valid()),
            "profiles.acme-sr.download_subscriptions: downloading subscriptions cannot be turned off",
        ),
        (
            format!(
                "{}activity_from = \"2026-10-01\"\nactivity_from_days = 30\n",
                valid()
            ),
            "profiles.acme-sr.activity_from: both activity_from and activity_from_days are set",
        ),
        (
            format!("{}activity_from = \"last tuesday\"\n", valid()),
            "profiles.acme-sr.activity_from: \"last tuesday\" is not a date",
        ),
        (
            format!(
                "{}schedule = {{ subscriptions = \"every day\" }}\n",
                valid()
            ),
            "profiles.acme-sr.schedule.subscriptions: \"every day\" is not a cron expression",
        ),
        (
            format!("{}schedule = {{ activity = \"0 6 30 2 *\" }}\n", valid()),
            "profiles.acme-sr.schedule.activity: \"0 6 30 2 *\" never fires",
        ),
        (
            format!("{}\n[scheduler]\nreconcile = \"0 6 31 4 *\"\n", valid()),
            "scheduler.reconcile: \"0 6 31 4 *\" never fires",
        ),
        (
            format!("{}\n[scheduler]\ntime_zone = \"Mars/Olympus\"\n", valid()),
            "scheduler.time_zone: \"Mars/Olympus\" is not a time zone",
        ),
        (
            format!("{}\n[scheduler]\nmax_concurrent_jobs = 0\n", valid()),
            "scheduler.max_concurrent_jobs: 0 would never run a job",
        ),
        (
            format!(
                "{}\n[profiles.acme-sr.rule]\nbreaker_percent = 0\n",
                valid()
            ),
            "profiles.acme-sr.rule.breaker_percent: 0 is outside 1..=100",
        ),
        (
            format!(
                "{}\n[profiles.acme-sr.rule]\nbreaker_percent = 101\n",
                valid()
            ),
            "profiles.acme-sr.rule.breaker_percent: 101 is outside 1..=100",
        ),
        (
            format!("{}\n[profiles.acme-sr.rule]\nbreaker_max = 0\n", valid()),
            "profiles.acme-sr.rule.breaker_max",
        ),
        (
            format!("{}\n[scheduler]\nlease = \"0s\"\n", valid()),
            "scheduler.lease: 0s is outside the accepted range. use between 30s",
        ),
        (
            format!("{}\n[scheduler]\nlease = \"2h\"\n", valid()),
            "scheduler.lease: 2h is outside the accepted range",
        ),
        (
            valid().replace(
                "credential = { env = \"ACME_SR_TOKEN\" }",
                "credential = { env = \"ACME_SR_TOKEN\" }\nrate_limit = \"10/fortnight\"",
            ),
            "connections.acme-sr.rate_limit: unknown unit \"fortnight\"",
        ),
    ];
    for (text, expected) in cases {
        let err = error(&text);
        assert!(err.contains(expected), "expected {expected:?} in {err:?}");
    }
    let berlin = format!(
        "{}schedule = {{ activity = \"15 * * * *\" }}\nreclaim = true\n\n[scheduler]\ntime_zone = \"Europe/Berlin\"\nsubscriptions = \"0 */6 * * *\"\n",
        valid()
    );
    let config = Config::parse(&berlin, &file()).unwrap();
    assert_eq!(config.scheduler.zone_name(), "Europe/Berlin");
    assert_eq!(config.scheduler.subscriptions_cron, "0 */6 * * *");
    let settings = &config.profiles["acme-sr"].settings;
    assert_eq!(settings.activity_cron.as_deref(), Some("15 * * * *"));
    assert!(settings.reclaim);
}

#[test]
fn reclamation_rules_and_exclusions_are_read_and_checked() {
    use seatwarden_domain::rules::{Exclusion, ReclamationRule};
    let text = format!(
        r#"{}
[profiles.acme-sr.rule]
threshold_days = 90
conditions = {{ role = ["EMPLOYEE", "HIRING_MANAGER"] }}
protected = ["integration@acme.com"]
notify_days = 7

[[exclusions]]
tenant = "acme"
principal = "ceo@acme.com"
reason = "board decision"

[[exclusions]]
tenant = "globex"
connector = "smartrecruiters"
identifier = "ADMINISTRATOR"
reason = "admins are free seats"
active = false

[notifications]
from = "Seatwarden <seatwarden@acme.com>"
answer_url = "https://seatwarden.acme.com/"
listen = "127.0.0.1:8425"
link_key = {{ env = "SEATWARDEN_LINK_KEY" }}

[notifications.smtp]
host = "smtp.acme.com"
username = "seatwarden"
password = {{ file = "smtp.password" }}
"#,
        valid()
    );
    let config = Config::parse(&text, &file()).unwrap();
    let notifications = config.notifications.as_ref().unwrap();
    assert_eq!(notifications.answer_url, "https://seatwarden.acme.com");
    assert_eq!(
        notifications.listen,
        Some("127.0.0.1:8425".parse().unwrap())
    );
    assert_eq!(
        (notifications.smtp.port, notifications.smtp.security),
        (587, seatwarden_config::SmtpSecurity::StartTls),
        "STARTTLS on the submission port unless told otherwise"
    );
    assert_eq!(
        notifications.smtp.password,
        Some(seatwarden_sandbox::credentials::CredentialSource::File(
            "/etc/seatwarden/smtp.password".into()
        )),
        "relative secret files start at the configuration's folder"
    );
    let rule = &config.profiles["acme-sr"].rule;
    assert_eq!(rule.threshold_days, 90);
    assert_eq!(rule.conditions["role"], ["EMPLOYEE", "HIRING_MANAGER"]);
    assert_eq!(rule.protected, ["integration@acme.com"]);
    assert_eq!(rule.notify_days, Some(7));
    assert!(rule.create_candidates && !rule.include_admins);
    assert_eq!(config.exclusions.len(), 2);
    assert_eq!(config.exclusions[0].tenant, "acme");
    assert!(matches!(
        &config.exclusions[0].exclusion,
        Exclusion::User { principal, active: true, .. } if principal == "ceo@acme.com"
    ));
    assert!(matches!(
        &config.exclusions[1].exclusion,
        Exclusion::Identifier { active: false, .. }
    ));
    // Without a rule table, the defaults: 60 days, admins protected.
    let plain = Config::parse(&valid(), &file()).unwrap();
    assert_eq!(plain.profiles["acme-sr"].rule, ReclamationRule::default());

    let with = |extra: &str| format!("{}{extra}", valid());
    let cases = [
        (
            with("[profiles.acme-sr.rule]\nthreshold_days = 0\n"),
            "profiles.acme-sr.rule.threshold_days: 0 is outside 1..=3650",
        ),
        (
            with("[profiles.acme-sr.rule]\nnotify_days = 365\n"),
            "profiles.acme-sr.rule.notify_days: 365 is outside 1..=90",
        ),
        (
            with("[profiles.acme-sr.rule]\nconditions = { role = [] }\n"),
            "profiles.acme-sr.rule.conditions.role: an empty value would match no account",
        ),
        (
            with("[profiles.acme-sr.rule]\nthreshold = 60\n"),
            "unknown field `threshold`",
        ),
        (
            with("[[exclusions]]\ntenant = \"acme\"\nprincipal = \"x@acme.com\"\n"),
            "exclusions[0].reason: an exclusion without a reason",
        ),
        (
            with(
                "[[exclusions]]\ntenant = \"initech\"\nprincipal = \"x@acme.com\"\nreason = \"r\"\n",
            ),
            "exclusions[0].tenant: unknown tenant \"initech\"",
        ),
        (
            with(
                "[[exclusions]]\ntenant = \"acme\"\nprincipal = \"x@acme.com\"\nidentifier = \"ADMIN\"\nreason = \"r\"\n",
            ),
            "exclusions[0]: an exclusion names either a principal, or a connector and an identifier",
        ),
    ];
    for (text, expected) in cases {
        let err = error(&text);
        assert!(err.contains(expected), "expected {expected:?} in {err:?}");
    }
}

#[test]
fn model_mappings_are_read_and_checked() {
    let model = |fields: &str| {
        format!(
            "{}\n[[models]]\ntenant = \"acme\"\nconnector = \"scim\"\nidentifier = \"premium\"\n{fields}",
            valid()
        )
    };
    let full = "publisher = \"Acme\"\nproduct = \"Acme Cloud\"\nedition = \"Premium\"\n";
    let config = Config::parse(&model(full), &file()).unwrap();
    assert_eq!(config.models.len(), 1);
    assert_eq!(
        config.models[0].mapping.model.to_string(),
        "Acme Acme Cloud (Premium)"
    );
    assert_eq!(
        config.models[0].mapping.model.metric,
        seatwarden_domain::software_models::Metric::PerUser
    );

    for (text, expected) in [
        (
            model("publisher = \"Acme\"\nproduct = \"Acme Cloud\"\nedition = \" \"\n"),
            "models[0].edition: empty",
        ),
        (
            model(&format!("{full}metric = \"per-core\"\n")),
            "models[0].metric: unknown licence metric \"per-core\". use \"per-user\"",
        ),
        (
            model(full).replace(
                "tenant = \"acme\"\nconnector = \"scim\"",
                "tenant = \"initech\"\nconnector = \"scim\"",
            ),
            "models[0].tenant: unknown tenant \"initech\"",
        ),
        (
            format!(
                "{}\n[[models]]\ntenant = \"acme\"\nconnector = \"scim\"\nidentifier = \"premium\"\n{full}",
                model(full)
            ),
            "models[1]: scim/premium of tenant acme is already mapped by models[0]",
        ),
        (
            model("publisher = \"Acme\"\n"),
            "models: missing field `product` (line 19)",
        ),
    ] {
        let err = error(&text);
        assert!(err.contains(expected), "{expected:?} not in {err}");
    }
}

#[test]
fn entitlements_are_read_exactly_and_checked() {
    let entitlement = |fields: &str| {
        format!(
            "{}\n[[entitlements]]\ntenant = \"acme\"\nname = \"SS-1\"\npublisher = \"Smartsheet\"\nproduct = \"Smartsheet\"\nedition = \"Member\"\nquantity = 50\n{fields}",
            valid()
        )
    };
    let good = "unit_cost = \"12.50\"\ncurrency = \"USD\"\nstart = \"2026-01-01\"\nend = \"2026-12-31\"\nrenewal = \"2026-12-01\"\n";
    let config = Config::parse(&entitlement(good), &file()).unwrap();
    let e = &config.entitlements[0].entitlement;
    assert_eq!(e.unit_cost.to_string(), "12.50 USD");
    assert_eq!(
        e.period,
        seatwarden_domain::entitlements::Period::Year,
        "the default"
    );
    assert_eq!(
        e.summary(),
        "50 x Smartsheet Smartsheet (Member) at 12.50 USD per year, 2026-01-01 to 2026-12-31, renewal 2026-12-01"
    );

    for (fields, expected) in [
        (
            good.replace("\"12.50\"", "12.5"),
            "entitlements[0].unit_cost: 12.5 is not a quoted amount",
        ),
        (
            good.replace("\"12.50\"", "\"-3\""),
            "entitlements[0].unit_cost: \"-3\" is negative",
        ),
        (
            good.replace("USD", "dollars"),
            "entitlements[0].currency: \"dollars\" is not an ISO 4217 currency code",
        ),
        (
            good.replace("end = \"2026-12-31\"", "end = \"2025-12-31\""),
            "entitlements[0].end: the term ends (2025-12-31) before it starts (2026-01-01)",
        ),
        (
            good.replace("start = \"2026-01-01\"", "start = \"2026-13-01\""),
            "entitlements[0].start: \"2026-13-01\" is not a date",
        ),
        (
            format!("{good}period = \"week\"\n"),
            "entitlements[0].period: unknown period \"week\"",
        ),
    ] {
        let err = error(&entitlement(&fields));
        assert!(err.contains(expected), "{expected:?} not in {err}");
    }
    let twice = format!(
        "{}\n[[entitlements]]\ntenant = \"acme\"\nname = \"SS-1\"\npublisher = \"Smartsheet\"\nproduct = \"Smartsheet\"\nedition = \"Guest\"\nquantity = 5\n{good}",
        entitlement(good)
    );
    assert!(
        error(&twice)
            .contains("entitlements[1].name: tenant acme has two entitlements named \"SS-1\""),
        "{}",
        error(&twice)
    );
}

/// A tenant's single sign-on table with `change` applied to a good one.
fn sign_on(change: impl Fn(String) -> String) -> String {
    let table = r#"
[tenants.acme.sign_on]
issuer = "https://acme.okta.com/oauth2/default/"
client_id = "0oa1seatwarden"
client_secret = { file = "secrets/acme-sso" }
redirect_uri = "https://seatwarden.example.com/console/sso/callback"
scopes = ["email", "groups"]
admin_groups = ["seatwarden-admins"]
operate_groups = ["IT Asset Managers"]
"#;
    format!("{}{}", valid(), change(table.to_string()))
}

#[test]
fn single_sign_on_is_read_and_checked() {
    let config = Config::parse(&sign_on(|t| t), &file()).unwrap();
    let settings = config.tenants["acme"].sign_on.clone().unwrap();
    assert_eq!(
        settings.issuer, "https://acme.okta.com/oauth2/default/",
        "kept verbatim: ID tokens must name it exactly"
    );
    assert_eq!(
        settings.client_secret,
        CredentialSource::File(PathBuf::from("/etc/seatwarden/secrets/acme-sso"))
    );
    assert_eq!(settings.person_claim, "email");
    assert_eq!(settings.groups_claim, "groups");
    assert_eq!(settings.default_scope, None);
    use seatwarden_domain::access::Scope;
    let scope = |groups: &[&str]| {
        settings.scope_for(&groups.iter().map(|g| g.to_string()).collect::<Vec<_>>())
    };
    assert_eq!(
        scope(&["IT Asset Managers", "seatwarden-admins"]),
        Some(Scope::Admin)
    );
    assert_eq!(scope(&["IT Asset Managers"]), Some(Scope::Operate));
    assert_eq!(
        scope(&["marketing"]),
        None,
        "nobody gets anything by default"
    );
    assert!(config.tenants["globex"].sign_on.is_none());

    let cases: Vec<(String, &str)> = vec![
        (
            sign_on(|t| t.replace("https://acme.okta.com", "http://acme.okta.com")),
            "tenants.acme.sign_on.issuer: \"http://acme.okta.com/oauth2/default/\" is not an https URL",
        ),
        (
            sign_on(|t| t.replace("/console/sso/callback", "/callback")),
            "tenants.acme.sign_on.redirect_uri: \"https://seatwarden.example.com/callback\" is not this server's https address followed by /console/sso/callback",
        ),
        (
            sign_on(|t| t.replace(r#"{ file = "secrets/acme-sso" }"#, r#""hunter2""#)),
            "tenants.acme.sign_on.client_secret: secrets are never written in the configuration",
        ),
        (
            sign_on(|t| {
                t.replace("admin_groups = [\"seatwarden-admins\"]\n", "")
                    .replace("operate_groups = [\"IT Asset Managers\"]\n", "")
            }),
            "tenants.acme.sign_on: grants no scope to anyone, so nobody could sign in",
        ),
        (
            sign_on(|t| format!("{t}default_scope = \"operator\"\n")),
            "tenants.acme.sign_on.default_scope: \"operator\" is not a console scope",
        ),
        (
            sign_on(|t| t.replace("[\"email\", \"groups\"]", "[\"email groups\"]")),
            "tenants.acme.sign_on.scopes[0]: \"email groups\" is not a scope name",
        ),
        (
            sign_on(|t| format!("{t}client_secrt = 1\n")),
            "unknown field `client_secrt`",
        ),
        (
            sign_on(|t| format!("{t}required_claims = {{ tid = \"\" }}\n")),
            "tenants.acme.sign_on.required_claims.tid: must name a claim and the exact text it must have",
        ),
    ];
    for (text, expected) in cases {
        let err = error(&text);
        assert!(
            err.contains(expected),
            "expected {expected:?}\n     got {err:?}"
        );
    }
}
