//! What a client sees of a Keystone answer, in a form that compares across two Keystones:
//! the base URL written `{base}`, ids Keystone makes reduced to their shape.

use reqwest::RequestBuilder;
use serde_json::{Value, json};

/// Keystone's `[token] expiration`, and the simulator's, in seconds.
const LIFETIME: i64 = 3600;

/// What a client sees of one answer, with the base URL written `{base}`.
pub(crate) async fn seen(base: &str, request: RequestBuilder) -> (Value, Option<String>) {
    let response = request.send().await.expect("keystone answers");
    let header = |name: &str| {
        response.headers().get(name).map(|value| {
            value
                .to_str()
                .expect("ascii header")
                .replace(base, "{base}")
        })
    };
    let mut seen = json!({
        "status": response.status().as_u16(),
        "content_type": header("content-type").map(|t| t.split(';').next().unwrap_or_default().to_owned()),
        "www_authenticate": header("www-authenticate"),
        "location": header("location"),
        "vary": header("vary"),
        "request_id": header("x-openstack-request-id").is_some(),
    });
    let subject = header("x-subject-token");
    let text = response.text().await.expect("a body");
    if let Ok(body) = serde_json::from_str::<Value>(&text) {
        seen["body"] = body_shape(&body.to_string().replace(base, "{base}"));
    }
    (seen, subject)
}

fn body_shape(body: &str) -> Value {
    let body: Value = serde_json::from_str(body).expect("still JSON");
    if let Some(error) = body.get("error") {
        return json!({ "error": error });
    }
    if let Some(token) = body.get("token") {
        return json!({ "token": token_shape(token) });
    }
    if let Some(projects) = body["projects"].as_array() {
        let mut entries: Vec<Value> = projects
            .iter()
            .map(|p| with_keys(p, &["id", "name", "links"]))
            .collect();
        entries.sort_by_key(|p| p["name"].to_string());
        return json!({ "projects": entries, "links": body["links"] });
    }
    body
}

/// The shape of `value` (its sorted keys) with the values of `keep`.
fn with_keys(value: &Value, keep: &[&str]) -> Value {
    let object = value.as_object().expect("an object");
    let mut keys: Vec<&String> = object.keys().collect();
    keys.sort();
    let mut shape = json!({ "keys": keys });
    for key in keep {
        shape[*key] = value[*key].clone();
    }
    shape
}

fn token_shape(token: &Value) -> Value {
    let user = &token["user"];
    let federation = &user["OS-FEDERATION"];
    let mut roles: Vec<Value> = token["roles"]
        .as_array()
        .map(|roles| {
            roles
                .iter()
                .map(|r| with_keys(r, &["name", "domain_id", "options"]))
                .collect()
        })
        .unwrap_or_default();
    roles.sort_by_key(|r| r["name"].to_string());
    let mut catalog: Vec<Value> = token["catalog"]
        .as_array()
        .map(|services| services.iter().map(service_shape).collect())
        .unwrap_or_default();
    catalog.sort_by_key(|s| s["type"].to_string());
    let digits_to_n = |v: &Value| {
        v.as_str()
            .map(|s| s.replace(|c: char| c.is_ascii_digit(), "N"))
    };
    json!({
        "keys": with_keys(token, &[])["keys"],
        // A set to Keystone: its order varies from one Keystone process to the next.
        "methods": sorted(&token["methods"]),
        "user": with_keys(user, &["name"]),
        "user_id_length": user["id"].as_str().map(str::len),
        "user_domain_id_is_its_name": user["domain"]["id"] == user["domain"]["name"],
        "federation": {
            "identity_provider": federation["identity_provider"],
            "protocol": federation["protocol"],
            "groups": federation["groups"].as_array().map(Vec::len),
        },
        "audit_ids": token["audit_ids"].as_array().map(Vec::len),
        "expires_at_format": digits_to_n(&token["expires_at"]),
        // Rescoped tokens are issued a second or more after their source: "shorter" is one
        // that expires with its source.
        "lifetime": if seconds(&token["expires_at"]) - seconds(&token["issued_at"]) == LIFETIME {
            "full"
        } else {
            "shorter"
        },
        "project": token["project"],
        "is_domain": token["is_domain"],
        "roles": roles,
        "catalog": catalog,
    })
}

fn service_shape(service: &Value) -> Value {
    let mut endpoints: Vec<Value> = service["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .map(|e| with_keys(e, &["interface", "region", "region_id", "url"]))
        .collect();
    endpoints.sort_by_key(|e| e["interface"].to_string());
    json!({ "type": service["type"], "name": service["name"], "endpoints": endpoints })
}

fn sorted(list: &Value) -> Value {
    let mut items = list.as_array().cloned().unwrap_or_default();
    items.sort_by_key(Value::to_string);
    Value::Array(items)
}

/// Seconds since the epoch of Keystone's `2026-01-02T03:04:05.000000Z`.
fn seconds(timestamp: &Value) -> i64 {
    let Some(text) = timestamp.as_str() else {
        return 0;
    };
    let parsed: opcp_cred_proto::messages::Timestamp = text.parse().expect("an RFC 3339 time");
    let since = parsed
        .0
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(since.as_secs()).expect("fits")
}
