//! Fuzzes a web form from the body up: the body reader (urlencoded in UTF-8 or windows-1251,
//! JSON, multipart, chosen by the first byte) within the default limits, then every shipped connector's mapping and the
//! shared normalisation. Nothing may panic, a form read within the limits holds no more fields
//! and files than they allow, and the record stays within its size limits.
#![no_main]

use bytes::Bytes;
use leadgate::connectors::Catalogue;
use leadgate::lead::{OwnContacts, Parsed, PhoneNormaliser, normalise};
use leadgate::sources::webform::{
    BodyKind, Limits, RequestContext, body_kind, form_to_draft, read_body,
};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct World {
    runtime: tokio::runtime::Runtime,
    catalogue: Catalogue,
    phones: PhoneNormaliser,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| World {
        runtime: tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime"),
        catalogue: Catalogue::load(None).expect("the shipped connectors"),
        phones: PhoneNormaliser::new("RU").expect("RU"),
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let kind = match selector % 4 {
        0 => BodyKind::Urlencoded(None),
        1 => BodyKind::Json,
        // A legacy charset: every byte decodes, and numeric references are read back.
        2 => body_kind(Some("application/x-www-form-urlencoded; charset=windows-1251"))
            .unwrap_or(BodyKind::Urlencoded(None)),
        _ => BodyKind::Multipart("b".into()),
    };
    let w = world();
    let limits = Limits::default();
    let read = w
        .runtime
        .block_on(read_body(&kind, Bytes::copy_from_slice(body), limits));
    let Ok(form) = read else { return };
    assert!(form.fields.len() <= limits.fields);
    assert!(form.files.len() <= limits.files);
    let ctx = RequestContext {
        referer: Some("https://shop.example/?utm_source=fuzz".into()),
    };
    for connector in w.catalogue.inbound_all() {
        if let Parsed::Lead(draft) = form_to_draft(&form, Some("website"), &ctx, connector) {
            let lead = normalise(draft, &w.phones, &OwnContacts::default());
            let fields = serde_json::to_string(&lead.fields).map_or(0, |s| s.len());
            assert!(fields <= 40 * 1024, "fields of {fields} bytes");
            assert!(lead.text.chars().count() <= 20_100);
        }
    }
});
