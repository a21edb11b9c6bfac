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

use seatwarden_sdk::http::{
    Method, Request, Response, encode_component, error_for_status, excerpt,
};
use seatwarden_sdk::{
    Account, AccountPage, ActivityPage, AuthScheme, Capabilities, ConnectorError, Descriptor,
    Guest, OptionSpec, Settings, Timestamp, json, option, time,
};
use serde::Deserialize;
use serde_json::{Map, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SCIM_JSON: &str = "application/scim+json";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse {
    total_results: Option<u64>,
    start_index: Option<u64>,
    #[serde(rename = "Resources", default)]
    resources: Vec<Map<String, Value>>,
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

    fn validate(settings: Settings) -> Result<(), ConnectorError> {
        service_provider_config(&settings)?;
        let url = format!("{}/Users?startIndex=1&count=1", settings.base_url);
        json::decode::<ListResponse>(&get(&url)?, "a SCIM ListResponse")?;
        Ok(())
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
        let page: ListResponse = json::decode(&get(&url)?, "a SCIM ListResponse")?;
        let start = page.start_index.unwrap_or(start).max(1);
        let received = page.resources.len() as u64;
        let last_login = option(&settings, "last-login-attribute");
        let accounts = page
            .resources
            .into_iter()
            .map(|resource| to_account(resource, last_login))
            .collect::<Result<Vec<_>, _>>()?;
        let next = start + received;
        let more = received > 0 && page.total_results.is_some_and(|total| next <= total);
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

fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Values of a multi-valued attribute (`[{"value": ...}]`).
fn values(resource: &Map<String, Value>, key: &str) -> Vec<String> {
    resource
        .get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| text(i.get("value")).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads an attribute by name, or by `<schema URN>:<attribute>` for extensions.
fn attribute<'a>(resource: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = resource.get(path) {
        return Some(value);
    }
    let (schema, name) = path.rsplit_once(':')?;
    resource.get(schema)?.get(name)
}

fn to_account(
    resource: Map<String, Value>,
    last_login: Option<&str>,
) -> Result<Account, ConnectorError> {
    let id = text(resource.get("id"))
        .ok_or_else(|| {
            ConnectorError::InvalidResponse(format!(
                "a SCIM User has no id: {}",
                excerpt(&json::encode(&resource))
            ))
        })?
        .to_string();
    let user_name = text(resource.get("userName")).map(str::to_string);
    let emails = resource
        .get("emails")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let primary = emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| emails.first())
        .and_then(|e| text(e.get("value")))
        .map(str::to_string);
    let name = resource.get("name");
    let display_name = text(resource.get("displayName"))
        .or_else(|| text(name.and_then(|n| n.get("formatted"))))
        .map(str::to_string)
        .or_else(|| {
            let parts: Vec<&str> = ["givenName", "familyName"]
                .iter()
                .filter_map(|k| text(name.and_then(|n| n.get(*k))))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        });
    let mut subscriptions = values(&resource, "entitlements");
    subscriptions.extend(values(&resource, "roles"));
    let mut attributes = Vec::new();
    if let Some(user_name) = &user_name {
        attributes.push(("user-name".into(), user_name.clone()));
    }
    for (key, attr) in [("userType", "user-type"), ("title", "title")] {
        if let Some(v) = text(resource.get(key)) {
            attributes.push((attr.into(), v.to_string()));
        }
    }
    if let Some(enterprise) = resource.get(ENTERPRISE) {
        for (key, attr) in [
            ("department", "department"),
            ("costCenter", "cost-center"),
            ("division", "division"),
            ("organization", "organization"),
        ] {
            if let Some(v) = text(enterprise.get(key)) {
                attributes.push((attr.into(), v.to_string()));
            }
        }
        if let Some(manager) = enterprise.get("manager")
            && let Some(v) = text(manager.get("displayName")).or_else(|| text(manager.get("value")))
        {
            attributes.push(("manager".into(), v.to_string()));
        }
    }
    let groups = resource.get("groups").and_then(Value::as_array).map(|g| {
        g.iter()
            .filter_map(|i| text(i.get("display")).or_else(|| text(i.get("value"))))
            .collect::<Vec<_>>()
            .join(",")
    });
    if let Some(groups) = groups.filter(|g| !g.is_empty()) {
        attributes.push(("groups".into(), groups));
    }
    let created_at =
        text(resource.get("meta").and_then(|m| m.get("created"))).and_then(time::parse_millis);
    let last_active_at = match last_login {
        None => None,
        Some(path) => match attribute(&resource, path) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(time::parse_millis(s).ok_or_else(|| {
                ConnectorError::InvalidResponse(format!(
                    "{path} of SCIM user {id} is not a date-time: {s:?}"
                ))
            })?),
            Some(Value::Number(n)) => n.as_i64(),
            Some(other) => {
                return Err(ConnectorError::InvalidResponse(format!(
                    "{path} of SCIM user {id} is not a date-time: {other}"
                )));
            }
        },
    };
    Ok(Account {
        principal: primary
            .or_else(|| user_name.clone())
            .unwrap_or_else(|| id.clone()),
        id,
        display_name,
        active: resource
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        subscriptions,
        created_at,
        last_active_at,
        attributes,
    })
}

seatwarden_sdk::export_connector!(Scim);
