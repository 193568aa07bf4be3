//! Postfix's mail queue as `postqueue -j` prints it (postqueue(1), Postfix ≥ 3.1): one JSON
//! object per message, `{"queue_name": "deferred", "queue_id": ..., "arrival_time": ...,
//! "recipients": [{"address": ..., "delay_reason": ...}], ...}`. Read by the `relay` and
//! `queue` checks.
use serde::Deserialize;

/// One recipient waiting in the `deferred` queue, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferred {
    pub queue_id: String,
    pub address: String,
    /// Postfix's last delivery error, e.g. `Server certificate not verified`.
    pub reason: String,
}

/// One message in the `deferred` queue: when it arrived and each recipient with why it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredMessage {
    pub queue_id: String,
    /// Unix seconds.
    pub arrival_time: i64,
    /// `(address, reason)`; the reason is empty when Postfix gave none.
    pub recipients: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    queue_name: String,
    #[serde(default)]
    queue_id: String,
    #[serde(default)]
    arrival_time: i64,
    #[serde(default)]
    recipients: Vec<Recipient>,
}

#[derive(Deserialize)]
struct Recipient {
    #[serde(default)]
    address: String,
    #[serde(default)]
    delay_reason: Option<String>,
}

/// Every message in the `deferred` queue, in `postqueue`'s order. Lines that are not a message
/// object (blank, or a future format) are skipped, not errors: the checks only warn.
pub fn deferred_messages(postqueue_json: &str) -> Vec<DeferredMessage> {
    postqueue_json
        .lines()
        .filter_map(|l| serde_json::from_str::<Message>(l.trim()).ok())
        .filter(|m| m.queue_name == "deferred")
        .map(|m| DeferredMessage {
            queue_id: m.queue_id,
            arrival_time: m.arrival_time,
            recipients: m
                .recipients
                .into_iter()
                .map(|r| (r.address, r.delay_reason.unwrap_or_default()))
                .collect(),
        })
        .collect()
}

/// Every recipient of every message in the `deferred` queue.
pub fn deferred(postqueue_json: &str) -> Vec<Deferred> {
    deferred_messages(postqueue_json)
        .into_iter()
        .flat_map(|m| {
            let id = m.queue_id;
            m.recipients
                .into_iter()
                .map(move |(address, reason)| Deferred {
                    queue_id: id.clone(),
                    address,
                    reason,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first line captured from Debian 12's Postfix 3.7 in the bed
    /// (tests/deliverability/relay.rs, the relay's certificate not trusted yet); the second
    /// in the same format, for a message that is not deferred.
    const CAPTURED: &str = r#"{"queue_name": "deferred", "queue_id": "229C244A9FE", "arrival_time": 1795963632, "message_size": 633, "forced_expire": false, "sender": "alice@example.test", "recipients": [{"address": "bob@outside.test", "delay_reason": "Server certificate not verified"}]}
{"queue_name": "active", "queue_id": "5D2F1B2A3C", "arrival_time": 1795963633, "message_size": 300, "forced_expire": false, "sender": "", "recipients": [{"address": "alice@example.test"}]}
"#;

    #[test]
    fn deferred_recipients_with_their_reason() {
        let d = deferred(CAPTURED);
        assert_eq!(
            d,
            vec![Deferred {
                queue_id: "229C244A9FE".into(),
                address: "bob@outside.test".into(),
                reason: "Server certificate not verified".into(),
            }]
        );
        assert_eq!(
            deferred_messages(CAPTURED),
            vec![DeferredMessage {
                queue_id: "229C244A9FE".into(),
                arrival_time: 1795963632,
                recipients: vec![(
                    "bob@outside.test".into(),
                    "Server certificate not verified".into()
                )],
            }]
        );
        assert!(deferred("").is_empty());
        assert!(deferred("postqueue: warning: Mail system is down\n").is_empty());
    }
}
