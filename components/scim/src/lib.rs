//! The generic SCIM 2.0 connector (RFC 7643 schemas, RFC 7644 protocol).
//!
//! Covers any SaaS application that speaks SCIM: a "custom integration
//! profile". Users are paged with `startIndex`/`count`; entitlements and
//! roles are the subscription identifiers; the enterprise extension gives
//! department, cost center and manager. SCIM has no activity log, so
//! activity is unsupported, but a connection may name a vendor extension
//! attribute that carries the last login, which is then read per account.
//! Deactivation sets `active` to false with PATCH, or with PUT on servers
//! whose `/ServiceProviderConfig` says PATCH is unsupported. The operator
//! picks the auth scheme per connection (bearer, basic, API key header).

use seatwarden_sdk::http::{Method, Request, Response, encode_component, error_for_status};
use seatwarden_sdk::{
    Account, AccountPage, ActivityPage, AuthScheme, Capabilities, ConnectorError, Descriptor,
    Guest, OptionSpec, Settings, Timestamp, Validated, json, option, time,
};
use serde::Deserialize;
use serde_json::{Map, Value};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SCIM_JSON: &str = "application/scim+json";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse<R> {
    total_results: Option<u64>,
    start_index: Option<u64>,
    #[serde(rename = "Resources", default = "Vec::new")]
    resources: Vec<R>,
}

/// The User attributes this connector maps, decoded straight into fields
/// (a generic JSON map per user cost a third of the sync's time).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: Option<String>,
    user_name: Option<String>,
    display_name: Option<String>,
    name: Option<Name>,
    #[serde(default)]
    emails: Vec<Email>,
    active: Option<bool>,
    #[serde(default)]
    entitlements: Vec<Valued>,
    #[serde(default)]
    roles: Vec<Valued>,
    user_type: Option<String>,
    title: Option<String>,
    meta: Option<Meta>,
    #[serde(default)]
    groups: Vec<Group>,
    #[serde(rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")]
    enterprise: Option<Enterprise>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Name {
    formatted: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
}

#[derive(Deserialize)]
struct Email {
    value: Option<String>,
    primary: Option<bool>,
}

#[derive(Deserialize)]
struct Valued {
    value: Option<String>,
}

#[derive(Deserialize)]
struct Group {
    value: Option<String>,
    display: Option<String>,
}

#[derive(Deserialize)]
struct Meta {
    created: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Enterprise {
    department: Option<String>,
    cost_center: Option<String>,
    division: Option<String>,
    organization: Option<String>,
    manager: Option<Manager>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manager {
    value: Option<String>,
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct ServiceProviderConfig {
    patch: Option<Supported>,
}

#[derive(Deserialize)]
struct Supported {
    #[serde(default)]
    supported: bool,
}

struct Scim;

impl Guest for Scim {
    fn describe() -> Descriptor {
        Descriptor {
            name: "scim".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "SCIM 2.0 service provider".into(),
            summary:
                "Any application speaking SCIM 2.0: users, entitlements and roles, active flag"
                    .into(),
            capabilities: Capabilities::DEACTIVATE | Capabilities::REACTIVATE,
            auth: AuthScheme::OperatorChoice,
            default_hosts: vec![],
            default_base_url: String::new(),
            regions: vec![],
            options: vec![
                OptionSpec {
                    name: "page-size".into(),
                    description:
                        "Users per request, 1 to 1000 (default 100); servers may return fewer."
                            .into(),
                    required: false,
                },
                OptionSpec {
                    name: "last-login-attribute".into(),
                    description: "Attribute holding the last login as a date-time, e.g. \
                                  urn:example:params:scim:schemas:extension:acme:2.0:User:lastLogin"
                        .into(),
                    required: false,
                },
            ],
        }
    }

    fn validate(settings: Settings) -> Result<Validated, ConnectorError> {
        service_provider_config(&settings)?;
        let url = format!("{}/Users?startIndex=1&count=1", settings.base_url);
        json::decode::<ListResponse<User>>(&get(&url)?, "a SCIM ListResponse")?;
        seatwarden_sdk::credential_account(me(&settings))
    }

    fn list_users(
        settings: Settings,
        cursor: Option<String>,
    ) -> Result<AccountPage, ConnectorError> {
        let start: u64 = match cursor.as_deref() {
            None => 1,
            Some(c) => c
                .parse()
                .map_err(|_| ConnectorError::Config(format!("cursor {c:?} is not a startIndex")))?,
        };
        let count: u32 = option(&settings, "page-size")
            .and_then(|v| v.parse().ok())
            .unwrap_or(100)
            .clamp(1, 1000);
        let url = format!(
            "{}/Users?startIndex={start}&count={count}",
            settings.base_url
        );
        let response = get(&url)?;
        let page: ListResponse<User> = json::decode(&response, "a SCIM ListResponse")?;
        let received = page.resources.len() as u64;
        // A server that ignores startIndex answers the first users again
        // (and a listing that stops early leaves the rest out): either would
        // make present accounts look gone.
        if let Some(answered) = page.start_index
            && answered != start
        {
            return Err(ConnectorError::InvalidResponse(format!(
                "the SCIM server answered startIndex {answered} when asked for startIndex {start}: it does not page as RFC 7644 says (totalResults {}); the listing would repeat users",
                page.total_results
                    .map_or_else(|| "absent".into(), |t| t.to_string())
            )));
        }
        if let Some(total) = page.total_results
            && received == 0
            && start <= total
        {
            return Err(ConnectorError::InvalidResponse(format!(
                "the SCIM server reports totalResults {total} but returned no users from startIndex {start}: the listing falls {} users short",
                total - start + 1
            )));
        }
        // The last-login attribute can be any (extension) attribute, so it is
        // read from a generic view of the page, only when one is configured.
        let last_logins: Vec<Option<Value>> = match option(&settings, "last-login-attribute") {
            None => vec![None; page.resources.len()],
            Some(path) => {
                let generic: ListResponse<Map<String, Value>> =
                    json::decode(&response, "a SCIM ListResponse")?;
                generic
                    .resources
                    .iter()
                    .map(|r| attribute(r, path).cloned())
                    .collect()
            }
        };
        let last_login = option(&settings, "last-login-attribute").unwrap_or_default();
        let accounts = page
            .resources
            .into_iter()
            .zip(last_logins)
            .map(|(user, login)| to_account(user, last_login, login))
            .collect::<Result<Vec<_>, _>>()?;
        let next = start + received;
        // totalResults is required (RFC 7644 §3.4.2); a server that leaves
        // it out is paged until a page comes back short.
        let more = received > 0
            && match page.total_results {
                Some(total) => next <= total,
                None => received >= u64::from(count),
            };
        Ok(AccountPage {
            accounts,
            next_cursor: more.then(|| next.to_string()),
        })
    }

    fn get_activity(
        settings: Settings,
        _since: Timestamp,
        _cursor: Option<String>,
    ) -> Result<ActivityPage, ConnectorError> {
        Err(ConnectorError::Unsupported(match option(&settings, "last-login-attribute") {
            Some(attribute) => format!("SCIM has no activity log; the last login is read from {attribute} during list-users"),
            None => "SCIM has no activity log; set the last-login-attribute option if the server exposes one".into(),
        }))
    }

    fn deactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        set_active(&settings, &account_id, false)
    }

    fn reactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        set_active(&settings, &account_id, true)
    }
}

fn get(url: &str) -> Result<Response, ConnectorError> {
    checked(
        Request::new(Method::Get, url)
            .header("accept", SCIM_JSON)
            .send()?,
    )
}

/// Status mapping with the SCIM error body's `detail` in the message.
fn checked(response: Response) -> Result<Response, ConnectorError> {
    if (200..300).contains(&response.status) {
        return Ok(response);
    }
    let detail = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| v.get("detail").and_then(Value::as_str).map(str::to_string));
    match error_for_status(response) {
        Ok(response) => Ok(response),
        Err(err) => Err(match (err, detail) {
            (ConnectorError::Unauthorized(_), Some(d)) => ConnectorError::Unauthorized(d),
            (ConnectorError::Forbidden(_), Some(d)) => ConnectorError::Forbidden(d),
            (ConnectorError::NotFound(_), Some(d)) => ConnectorError::NotFound(d),
            (ConnectorError::Unavailable(_), Some(d)) => ConnectorError::Unavailable(d),
            (ConnectorError::InvalidResponse(_), Some(d)) => ConnectorError::InvalidResponse(d),
            (other, _) => other,
        }),
    }
}

fn service_provider_config(settings: &Settings) -> Result<ServiceProviderConfig, ConnectorError> {
    let response = get(&format!("{}/ServiceProviderConfig", settings.base_url))?;
    json::decode(&response, "a SCIM ServiceProviderConfig")
}

/// The user the credentials authenticate as: `GET /Me` (RFC 7644 §3.11).
/// Optional in SCIM: a server without it answers 501 (or 404), which means
/// it does not say, not that it is down.
fn me(settings: &Settings) -> Result<String, ConnectorError> {
    #[derive(Deserialize)]
    struct Me {
        id: String,
    }
    let response = Request::new(Method::Get, format!("{}/Me", settings.base_url))
        .header("accept", SCIM_JSON)
        .send()?;
    if response.status == 501 {
        return Err(ConnectorError::Unsupported(
            "the server has no /Me (HTTP 501)".into(),
        ));
    }
    let me: Me = json::decode(&checked(response)?, "a SCIM /Me resource")?;
    Ok(me.id)
}

fn user_url(settings: &Settings, id: &str) -> String {
    format!("{}/Users/{}", settings.base_url, encode_component(id))
}

fn set_active(settings: &Settings, id: &str, active: bool) -> Result<(), ConnectorError> {
    if id.is_empty() {
        return Err(ConnectorError::NotFound("empty SCIM id".into()));
    }
    let patch_supported = service_provider_config(settings)?
        .patch
        .is_some_and(|p| p.supported);
    if patch_supported {
        let body = serde_json::json!({
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": active}],
        });
        let response = Request::new(Method::Patch, user_url(settings, id))
            .header("content-type", SCIM_JSON)
            .header("accept", SCIM_JSON)
            .json_body(json::encode(&body))
            .send()?;
        // Some servers announce PATCH and still refuse it: fall back to PUT.
        if !matches!(response.status, 405 | 501) {
            return checked(response).map(|_| ());
        }
    }
    let current = get(&user_url(settings, id))?;
    let mut resource: Map<String, Value> = json::decode(&current, "a SCIM User")?;
    resource.remove("meta");
    resource.insert("active".into(), Value::Bool(active));
    let response = Request::new(Method::Put, user_url(settings, id))
        .header("content-type", SCIM_JSON)
        .header("accept", SCIM_JSON)
        .json_body(json::encode(&resource))
        .send()?;
    checked(response).map(|_| ())
}

/// Reads an attribute by name, or by `<schema URN>:<attribute>` for extensions.
fn attribute<'a>(resource: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = resource.get(path) {
        return Some(value);
    }
    let (schema, name) = path.rsplit_once(':')?;
    resource.get(schema)?.get(name)
}

fn some(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.is_empty())
}

fn to_account(
    user: User,
    login_path: &str,
    login: Option<Value>,
) -> Result<Account, ConnectorError> {
    let id = some(user.id)
        .ok_or_else(|| ConnectorError::InvalidResponse("a SCIM User has no id".into()))?;
    let user_name = some(user.user_name);
    let primary = user
        .emails
        .iter()
        .find(|e| e.primary == Some(true))
        .or_else(|| user.emails.first())
        .and_then(|e| some(e.value.clone()));
    let display_name = some(user.display_name)
        .or_else(|| user.name.as_ref().and_then(|n| some(n.formatted.clone())))
        .or_else(|| {
            let name = user.name.as_ref()?;
            let parts: Vec<String> = [&name.given_name, &name.family_name]
                .into_iter()
                .filter_map(|p| some(p.clone()))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        });
    let mut subscriptions: Vec<String> = user
        .entitlements
        .into_iter()
        .filter_map(|v| some(v.value))
        .collect();
    subscriptions.extend(user.roles.into_iter().filter_map(|v| some(v.value)));
    let mut attributes = Vec::new();
    if let Some(user_name) = &user_name {
        attributes.push(("user-name".into(), user_name.clone()));
    }
    for (key, value) in [("user-type", user.user_type), ("title", user.title)] {
        if let Some(value) = some(value) {
            attributes.push((key.into(), value));
        }
    }
    if let Some(enterprise) = user.enterprise {
        for (key, value) in [
            ("department", enterprise.department),
            ("cost-center", enterprise.cost_center),
            ("division", enterprise.division),
            ("organization", enterprise.organization),
        ] {
            if let Some(value) = some(value) {
                attributes.push((key.into(), value));
            }
        }
        if let Some(manager) = enterprise
            .manager
            .and_then(|m| some(m.display_name).or(some(m.value)))
        {
            attributes.push(("manager".into(), manager));
        }
    }
    let groups: Vec<String> = user
        .groups
        .into_iter()
        .filter_map(|g| some(g.display).or(some(g.value)))
        .collect();
    if !groups.is_empty() {
        attributes.push(("groups".into(), groups.join(",")));
    }
    let created_at = user
        .meta
        .and_then(|m| m.created)
        .and_then(|c| time::parse_millis(&c));
    let last_active_at = match login {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(time::parse_millis(&s).ok_or_else(|| {
            ConnectorError::InvalidResponse(format!(
                "{login_path} of SCIM user {id} is not a date-time: {s:?}"
            ))
        })?),
        Some(Value::Number(n)) => n.as_i64(),
        Some(other) => {
            return Err(ConnectorError::InvalidResponse(format!(
                "{login_path} of SCIM user {id} is not a date-time: {other}"
            )));
        }
    };
    Ok(Account {
        principal: primary
            .or_else(|| user_name.clone())
            .unwrap_or_else(|| id.clone()),
        id,
        display_name,
        active: user.active.unwrap_or(true),
        subscriptions,
        created_at,
        last_active_at,
        attributes,
    })
}

impl seatwarden_sdk::About for Scim {
    fn links() -> Vec<(String, String)> {
        vec![
            (
                "SCIM 2.0 protocol (RFC 7644)".into(),
                "https://www.rfc-editor.org/rfc/rfc7644".into(),
            ),
            (
                "SCIM 2.0 core schema (RFC 7643)".into(),
                "https://www.rfc-editor.org/rfc/rfc7643".into(),
            ),
        ]
    }
}

seatwarden_sdk::export_connector!(Scim, About);
