//! Content hashing: what makes re-ingesting the same transcript a no-op, and lets a
//! grown transcript be recognised as an extension of the stored one.
//!
//! The hash covers what a session *says*, not how a file spelled it: a Claude Code
//! file and its canonical-JSONL export hash the same. Raw source JSON, the source
//! format, the file path and everything the store mints (ids, ingest times) are left out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{Event, MemoryVersionRef, Outcome, Timestamp};

/// A running digest over a session's events, in order: `d0 = SHA-256("dream-events-v1")`,
/// `d(n+1) = SHA-256(d(n) ‖ canonical(event n))`.
///
/// Because each state depends only on the events so far, comparing the state after
/// `n` events with a stored digest tells whether the stored events are a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDigest {
    state: [u8; 32],
    count: u64,
}

impl Default for EventDigest {
    fn default() -> Self {
        Self::new()
    }
}

impl EventDigest {
    /// Returns the digest of zero events.
    pub fn new() -> Self {
        Self {
            state: Sha256::digest(b"dream-events-v1").into(),
            count: 0,
        }
    }

    /// Folds one event into the digest.
    pub fn push(&mut self, event: &Event) {
        let canonical = serde_json::json!([
            event.index,
            event.timestamp.map(|t| t.unix_micros()),
            event.kind.as_str(),
            event.tool_name,
            event.tool_use_id,
            event.is_error,
            event.rejected,
            event.text,
        ]);
        let mut hasher = Sha256::new();
        hasher.update(self.state);
        hasher.update(canonical.to_string().as_bytes());
        self.state = hasher.finalize().into();
        self.count += 1;
    }

    /// Returns how many events were folded in.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Returns the state as 64 lowercase hex digits.
    pub fn hex(&self) -> String {
        hex(&self.state)
    }
}

/// The hashed fields of a session besides its events.
#[derive(Debug, Clone, Copy)]
pub struct HashedSession<'a> {
    /// The id in the imported file.
    pub source_session_id: &'a str,
    /// The agent.
    pub agent: Option<&'a str>,
    /// The user.
    pub user: Option<&'a str>,
    /// Start time (after deriving it from events when absent).
    pub started_at: Option<Timestamp>,
    /// End time (after deriving it from events when absent).
    pub ended_at: Option<Timestamp>,
    /// Metadata pairs.
    pub metadata: &'a BTreeMap<String, String>,
    /// The memory store version.
    pub memory_version: Option<&'a MemoryVersionRef>,
    /// The parent's source id.
    pub parent_source_session_id: Option<&'a str>,
    /// Outcomes, in order.
    pub outcomes: &'a [Outcome],
}

/// Returns the session content hash: SHA-256 (hex) over the hashed fields and the
/// event digest. Two ingests of the same conversation give the same hash whatever
/// their source format.
pub fn session_content_hash(session: HashedSession<'_>, events: &EventDigest) -> String {
    let outcomes: Vec<Value> = session
        .outcomes
        .iter()
        .map(|o| {
            serde_json::json!([
                o.name,
                o.result.as_ref().map(|r| r.as_str()),
                o.value,
                o.explanation
            ])
        })
        .collect();
    let canonical = serde_json::json!({
        "v": 1,
        "source_session_id": session.source_session_id,
        "agent": session.agent,
        "user": session.user,
        "started_at": session.started_at.map(|t| t.unix_micros()),
        "ended_at": session.ended_at.map(|t| t.unix_micros()),
        "metadata": session.metadata,
        "memory_version": session.memory_version.map(|m| serde_json::json!([m.store_id, m.version])),
        "parent": session.parent_source_session_id,
        "outcomes": outcomes,
        "events": [events.count(), events.hex()],
    });
    hex(&Sha256::digest(canonical_json(&canonical).as_bytes()))
}

/// Returns `value` as compact JSON with object keys sorted, whatever serde_json's
/// map ordering feature says, so equal values always give equal text.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(inner) = map.get(key) {
                    write_canonical(inner, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Returns `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Returns the SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventKind;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let value: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[{"z":1,"y":2}],"c":null}}"#).unwrap();
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}"#
        );
    }

    #[test]
    fn digest_of_a_prefix_is_an_earlier_state() {
        let events: Vec<Event> = (0..3)
            .map(|i| Event::new(i, EventKind::UserMessage, format!("m{i}")))
            .collect();
        let mut all = EventDigest::new();
        let mut states = Vec::new();
        for event in &events {
            all.push(event);
            states.push(all.hex());
        }
        let mut prefix = EventDigest::new();
        prefix.push(&events[0]);
        prefix.push(&events[1]);
        assert_eq!(prefix.hex(), states[1]);
        assert_ne!(prefix.hex(), all.hex());
    }

    #[test]
    fn raw_json_is_not_part_of_the_digest_but_text_is() {
        let mut a = Event::new(0, EventKind::ToolResult, "ok");
        let mut b = a.clone();
        b.raw = Some("{\"x\":1}".into());
        let (mut da, mut db) = (EventDigest::new(), EventDigest::new());
        da.push(&a);
        db.push(&b);
        assert_eq!(da, db);
        a.text.push('!');
        let mut dc = EventDigest::new();
        dc.push(&a);
        assert_ne!(dc, db);
    }
}
