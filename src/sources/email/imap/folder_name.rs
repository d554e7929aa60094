//! Folder names as IMAP servers spell them: modified UTF-7 (RFC 3501, 5.1.3).
//!
//! An admin writes `mailboxes = ["Заявки"]` or `move_to = "Обработанные"`; the server knows
//! those folders as `&BBcEMARPBDIEOgQ4-` and `&BB4EMQRABDAEMQQ+BEIEMAQ9BD0ESwQ1-`, and refuses
//! (or misses) a name sent as UTF-8. async-imap sends a name as it is given, so every name is
//! spelt here before it goes out. The config's own spelling stays the folder's name in cursors,
//! logs and `/readyz`.

use base64::Engine;
use base64::alphabet::IMAP_MUTF7;
use base64::engine::GeneralPurpose;
use base64::engine::general_purpose::NO_PAD;

/// Base64 with `,` for `/` and no padding, as modified UTF-7 writes UTF-16.
const MODIFIED_BASE64: GeneralPurpose = GeneralPurpose::new(&IMAP_MUTF7, NO_PAD);

/// `name` as the server spells it. A name already written in modified UTF-7 (copied from a
/// mail client's settings, or from an earlier leadgate that sent names as they were) goes
/// out as it is.
pub fn on_the_wire(name: &str) -> String {
    if spelt_already(name) {
        return name.to_string();
    }
    let mut wire = String::with_capacity(name.len() * 2);
    let mut shifted: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            shift_out(&mut shifted, &mut wire);
            match c {
                '&' => wire.push_str("&-"),
                c => wire.push(c),
            }
        } else {
            let mut units = [0u16; 2];
            shifted.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    shift_out(&mut shifted, &mut wire);
    wire
}

/// Writes the characters gathered outside printable ASCII as `&<base64 of UTF-16BE>-`.
fn shift_out(shifted: &mut Vec<u16>, wire: &mut String) {
    if shifted.is_empty() {
        return;
    }
    let bytes: Vec<u8> = shifted.iter().flat_map(|u| u.to_be_bytes()).collect();
    wire.push('&');
    MODIFIED_BASE64.encode_string(&bytes, wire);
    wire.push('-');
    shifted.clear();
}

/// Whether `name` is printable ASCII in which every `&` opens a valid shift (`&-`, or base64
/// of UTF-16 up to a `-`), so that it is modified UTF-7 already.
fn spelt_already(name: &str) -> bool {
    if !name.contains('&') || !name.chars().all(|c| (' '..='~').contains(&c)) {
        return false;
    }
    let mut rest = name;
    while let Some(at) = rest.find('&') {
        let after = &rest[at + 1..];
        let Some(end) = after.find('-') else {
            return false;
        };
        if !after[..end].is_empty() && !is_utf16_base64(&after[..end]) {
            return false;
        }
        rest = &after[end + 1..];
    }
    true
}

fn is_utf16_base64(encoded: &str) -> bool {
    let Ok(bytes) = MODIFIED_BASE64.decode(encoded) else {
        return false;
    };
    let units = bytes
        .chunks_exact(2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]));
    bytes.len() % 2 == 0 && char::decode_utf16(units).all(|c| c.is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_spelt_as_rfc_3501_and_mail_clients_spell_them() {
        // RFC 3501's own example, and Russian names as Thunderbird and the crate utf7-imap
        // spell them.
        assert_eq!(
            on_the_wire("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(
            on_the_wire("Отправленные"),
            "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"
        );
        assert_eq!(
            on_the_wire("Заявки/Сайт 2024"),
            "&BBcEMARPBDIEOgQ4-/&BCEEMAQ5BEI- 2024"
        );
        assert_eq!(on_the_wire("INBOX"), "INBOX");
        assert_eq!(on_the_wire("R&D"), "R&-D");
        assert_eq!(on_the_wire("Leads 😀"), "Leads &2D3eAA-");
    }

    #[test]
    fn a_name_written_in_modified_utf7_already_is_sent_as_it_is() {
        for spelt in ["&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-", "R&-D", "&U,BTFw-/x"] {
            assert_eq!(on_the_wire(spelt), spelt);
        }
        // Not a valid shift: the `&` is the name's own.
        assert_eq!(on_the_wire("A&B-C"), "A&-B-C");
    }
}
