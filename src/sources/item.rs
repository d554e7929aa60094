//! The unit intake stores: what a source hands to the store before it acknowledges anything.
//!
//! Intake must know an item's dedupe key before it stores the bytes (the store is unique on
//! source + key, so a retried webhook or a re-polled update is a no-op); processing parses the
//! stored bytes later. Every channel's `split_*` function produces these.

/// One stored item: the key that makes a redelivery a no-op, and the bytes to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Unique within the source: the same item delivered twice has the same key.
    pub dedupe_key: String,
    /// What the channel's `parse_*` function reads back at processing time.
    pub payload: Vec<u8>,
}

/// Inputs for the parsers' no-panic property tests: the stable toolchain has no cargo-fuzz, so
/// every parser is also fed random and mutated sample bytes under `cargo test`.
#[cfg(test)]
pub(crate) mod test_support {
    use proptest::prelude::*;
    use serde_json::Value;

    /// Random bytes, and the sample with a few bytes overwritten and possibly cut short.
    pub(crate) fn byte_mutations(sample: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
        let edits = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8);
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            (edits, any::<prop::sample::Index>()).prop_map(move |(edits, cut)| {
                let mut bytes = sample.to_vec();
                for (at, byte) in edits {
                    let at = at.index(bytes.len());
                    bytes[at] = byte;
                }
                bytes.truncate(cut.index(bytes.len() + 1));
                bytes
            }),
        ]
    }

    /// The sample's JSON with a few values (objects, arrays or leaves) replaced by values of
    /// other types, signs and sizes: JSON that parses but breaks the documented shape.
    pub(crate) fn json_mutations(sample: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
        let original: Value = serde_json::from_slice(sample).expect("the sample is JSON");
        prop::collection::vec((any::<prop::sample::Index>(), any_value()), 1..6).prop_map(
            move |edits| {
                let mut value = original.clone();
                for (at, replacement) in edits {
                    let mut nth = at.index(count(&value));
                    replace(&mut value, &mut nth, &mut Some(replacement));
                }
                serde_json::to_vec(&value).expect("a Value serialises")
            },
        )
    }

    fn any_value() -> impl Strategy<Value = Value> {
        let tricky = prop::sample::select(vec![
            "",
            "private",
            "supergroup",
            "channel",
            "/start",
            "/start@bot utm_source-x__-__a-",
            "message_new",
            "wall_reply_new",
            "confirmation",
            "text",
            "interactive",
            "pingback",
            "spam",
            "👋🏽 +7 (921) 000-00-00 a@b.example",
            "<a href=\"https://x.example/\">x</a> &#171;",
            "https://x.example/#comment-",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            tricky.prop_map(Value::from),
            ".{0,24}".prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 8, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn count(value: &Value) -> usize {
        1 + match value {
            Value::Array(items) => items.iter().map(count).sum(),
            Value::Object(map) => map.values().map(count).sum(),
            _ => 0,
        }
    }

    /// Replaces the `nth` value in pre-order.
    fn replace(value: &mut Value, nth: &mut usize, replacement: &mut Option<Value>) {
        if *nth == 0 {
            if let Some(new) = replacement.take() {
                *value = new;
            }
            return;
        }
        *nth -= 1;
        let children: Vec<&mut Value> = match value {
            Value::Array(items) => items.iter_mut().collect(),
            Value::Object(map) => map.values_mut().collect(),
            _ => Vec::new(),
        };
        for child in children {
            if replacement.is_none() {
                return;
            }
            replace(child, nth, replacement);
        }
    }
}
