//! Fuzzes the connector side of a provider's post: an arbitrary JSON object (nested objects
//! and arrays, as form builders send) mapped by every shipped connector, its test ping and its
//! proof checked with a secret. Nothing may panic.
#![no_main]

use leadgate::connectors::{Catalogue, Presented};
use leadgate::lead::{OwnContacts, PhoneNormaliser, normalise, Parsed};
use leadgate::sources::webform::{FormBody, RequestContext, form_to_draft};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| Catalogue::load(None).expect("the shipped connectors"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(data)
    else {
        return;
    };
    let form = FormBody {
        fields: map.into_iter().collect(),
        files: Vec::new(),
    };
    let phones = PhoneNormaliser::new("RU").expect("RU");
    let header = |name: &str| (name.len() % 2 == 0).then(|| "sha256=AAAA".to_string());
    for connector in catalogue().inbound_all() {
        let _ = connector.is_test_ping(&form);
        if let Some(verify) = &connector.verify {
            let presented = Presented {
                header: &header,
                query: Some("key=x&a=%FF"),
                fields: &form.fields,
                body: data,
            };
            let _ = verify.refuse_before_body(b"secret", &presented);
            let _ = verify.check(b"secret", &presented);
        }
        let ctx = RequestContext::default();
        if let Parsed::Lead(draft) = form_to_draft(&form, None, &ctx, connector) {
            let _ = normalise(draft, &phones, &OwnContacts::default());
        }
    }
});
