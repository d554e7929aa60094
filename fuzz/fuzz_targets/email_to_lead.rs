//! Fuzz target for the MIME-to-lead path: any bytes an IMAP server could hand over must give
//! a lead or a reason, never a panic, and a lead must survive the shared normalisation.
#![no_main]

use leadgate::lead::{OwnContacts, Parsed, PhoneNormaliser, normalise};
use leadgate::sources::email::{EmailContext, parse_email};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| {
    if let Parsed::Lead(draft) = parse_email(raw, &EmailContext::default()) {
        if let Ok(phones) = PhoneNormaliser::new("RU") {
            let _ = normalise(draft, &phones, &OwnContacts::default());
        }
    }
});
