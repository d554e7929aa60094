//! The shipped connector files, compiled into the binary so the daemon needs no files beside
//! it. Adding a shipped connector is one line here plus its file and samples.

/// `connectors/inbound/*.toml`: (path, text).
pub const INBOUND: &[(&str, &str)] = &[
    (
        "connectors/inbound/cf7.toml",
        include_str!("../../connectors/inbound/cf7.toml"),
    ),
    (
        "connectors/inbound/generic.toml",
        include_str!("../../connectors/inbound/generic.toml"),
    ),
    (
        "connectors/inbound/google-forms.toml",
        include_str!("../../connectors/inbound/google-forms.toml"),
    ),
    (
        "connectors/inbound/marquiz.toml",
        include_str!("../../connectors/inbound/marquiz.toml"),
    ),
    (
        "connectors/inbound/tilda.toml",
        include_str!("../../connectors/inbound/tilda.toml"),
    ),
    (
        "connectors/inbound/typeform.toml",
        include_str!("../../connectors/inbound/typeform.toml"),
    ),
    (
        "connectors/inbound/wix.toml",
        include_str!("../../connectors/inbound/wix.toml"),
    ),
];

/// `connectors/outbound/*.toml`: (path, text).
pub const OUTBOUND: &[(&str, &str)] = &[
    (
        "connectors/outbound/amocrm.toml",
        include_str!("../../connectors/outbound/amocrm.toml"),
    ),
    (
        "connectors/outbound/bitrix24.toml",
        include_str!("../../connectors/outbound/bitrix24.toml"),
    ),
    (
        "connectors/outbound/generic.toml",
        include_str!("../../connectors/outbound/generic.toml"),
    ),
    (
        "connectors/outbound/hubspot.toml",
        include_str!("../../connectors/outbound/hubspot.toml"),
    ),
    (
        "connectors/outbound/pipedrive.toml",
        include_str!("../../connectors/outbound/pipedrive.toml"),
    ),
];
