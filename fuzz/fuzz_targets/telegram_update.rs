//! Fuzzes the Telegram Bot API parsers: a getUpdates answer, a webhook Update, and the
//! processing parser with and without group messages. None may panic.
#![no_main]

use leadgate::sources::telegram::{TelegramOptions, parse_update, split_updates, update_item};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((items, _)) = split_updates(data) {
        for item in items {
            let _ = parse_update(&item.payload, &TelegramOptions::default());
        }
    }
    if let Ok(item) = update_item(data) {
        let _ = parse_update(
            &item.payload,
            &TelegramOptions {
                group_messages: true,
            },
        );
    }
    let _ = parse_update(data, &TelegramOptions::default());
});
