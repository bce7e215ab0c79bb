//! `--shape-variation`: answers that are still fal's contract but not the shape the simulator
//! usually writes. fal adds fields, leaves optional fields out or null, and a JSON `number` may
//! be written `12.0`; the client must take all of it (REFERENCE §0.1). On in a dedicated run
//! of the contract and proxy suites (`FAL_SIM_SHAPE_VARIATION=true`).

use super::wire::{NUMBER_FIELDS as NUMBERS, OMITTABLE_WHEN_NULL};
use axum::response::IntoResponse;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// A field fal might add one day.
pub const ADDED: &str = "x_added_by_fal_later";

/// User data and string maps: passed through untouched.
const VERBATIM: &[&str] = &["json_input", "json_output", "labels"];

/// Which variation an answer gets: they alternate so both forms of each choice are served.
static TURN: AtomicU64 = AtomicU64::new(0);

/// Rewrites the JSON answer of operation `op` (see the module docs). A file download is the
/// user's bytes, never rewritten (the gate does not call this for it).
pub fn vary(op: &str, value: &mut Value) {
    let turn = TURN.fetch_add(1, Ordering::Relaxed);
    walk(value, turn, closed_depth(op), 0);
}

/// The depth of the objects fal declares `additionalProperties: false` in `op`'s answer:
/// fields are added around them, not inside.
fn closed_depth(op: &str) -> Option<usize> {
    match op {
        // `{"items": [entry]}`, `{"apps": [app]}`
        "logs_history" | "apps" => Some(2),
        // `[file]`
        "files_list" | "files_list_dir" => Some(1),
        // `{"queue_size": n}`; one log entry per stream event
        "queue_size" | "logs_stream" => Some(0),
        _ => None,
    }
}

fn walk(value: &mut Value, turn: u64, closed: Option<usize>, depth: usize) {
    match value {
        Value::Object(map) => {
            vary_object(map, turn, closed == Some(depth));
            for (k, v) in map.iter_mut() {
                if k != ADDED && !VERBATIM.contains(&k.as_str()) {
                    walk(v, turn, closed, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                walk(v, turn, closed, depth + 1);
            }
        }
        _ => {}
    }
}

fn vary_object(map: &mut Map<String, Value>, turn: u64, closed: bool) {
    for key in NUMBERS {
        if let Some(v) = map.get_mut(*key) {
            if let Some(n) = v.as_i64() {
                // serde_json writes an f64 with a fraction part: `12.0`.
                *v = Value::from(n as f64);
            }
        }
    }
    if turn.is_multiple_of(2) {
        for key in OMITTABLE_WHEN_NULL {
            if map.get(*key).is_some_and(Value::is_null) {
                map.remove(*key);
            }
        }
    }
    if let Some(Value::Object(error)) = map.get_mut("error") {
        // fal's error object has optional `docs_url` and `request_id` (§1.3).
        error.insert("docs_url".into(), "https://docs.fal.ai/errors".into());
        error.insert(
            "request_id".into(),
            "0195d7a0-0000-7000-8000-000000000000".into(),
        );
    }
    if !closed {
        map.insert(
            ADDED.into(),
            serde_json::json!({ "kind": "new", "values": [1, 2.5, null] }),
        );
    }
}

/// [`vary`] on a JSON response (its body read whole: answers are small).
pub async fn vary_response(op: &str, resp: axum::response::Response) -> axum::response::Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let bytes = match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut v) => {
            vary(op, &mut v);
            serde_json::to_vec(&v).map_or(bytes, Into::into)
        }
        Err(_) => bytes,
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_floats_nulls_go_and_fields_appear_outside_closed_objects() {
        let mut v = serde_json::json!({
            "items": [{"size": 12, "ended_at": null, "labels": {"a": "b"}, "json_input": {"size": 1}}],
            "next_cursor": null,
        });
        // An even turn drops nulls; walk directly to pin it.
        walk(&mut v, 0, None, 0);
        let item = &v["items"][0];
        assert_eq!(serde_json::to_string(&item["size"]).unwrap(), "12.0");
        assert!(item.get("ended_at").is_none());
        assert!(item.get(ADDED).is_some() && v.get(ADDED).is_some());
        assert_eq!(item["labels"], serde_json::json!({"a": "b"}));
        assert_eq!(item["json_input"], serde_json::json!({"size": 1}));
        assert!(v.get("next_cursor").is_some(), "required keys stay");

        let mut logs = serde_json::json!({"items": [{"message": "m"}]});
        walk(&mut logs, 1, closed_depth("logs_history"), 0);
        assert!(logs.get(ADDED).is_some() && logs["items"][0].get(ADDED).is_none());
        let mut files = serde_json::json!([{"size": 3}]);
        walk(&mut files, 1, closed_depth("files_list"), 0);
        assert!(files[0].get(ADDED).is_none(), "file objects are closed");
        assert_eq!(serde_json::to_string(&files[0]["size"]).unwrap(), "3.0");
        let mut queue = serde_json::json!({"queue_size": 2});
        walk(&mut queue, 1, closed_depth("queue_size"), 0);
        assert_eq!(queue, serde_json::json!({"queue_size": 2}));
    }
}
