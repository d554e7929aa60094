//! Fuzzes the VK Callback API parsers: the intake check (with and without a secret) and the
//! processing parser. None may panic.
#![no_main]

use leadgate::sources::vk::{VkCallback, parse_event, read_callback};
use libfuzzer_sys::fuzz_target;

const GROUP: i64 = 218765432;

fuzz_target!(|data: &[u8]| {
    if let Ok(VkCallback::Event(item)) = read_callback(data, GROUP, None) {
        let _ = parse_event(&item.payload, GROUP);
    }
    let _ = read_callback(data, GROUP, Some("Tq7vX2mLp9"));
    let _ = parse_event(data, GROUP);
});
