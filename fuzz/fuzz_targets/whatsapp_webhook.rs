//! Fuzzes the WhatsApp Cloud API parsers: the signature check, the webhook split and the
//! processing parser. None may panic.
#![no_main]

use leadgate::sources::whatsapp::{parse_item, split_webhook, verify_signature};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let header = std::str::from_utf8(data).ok();
    let _ = verify_signature(b"app-secret", data, header);
    if let Ok(items) = split_webhook(data) {
        for item in items {
            let _ = parse_item(&item.payload);
        }
    }
    let _ = parse_item(data);
});
