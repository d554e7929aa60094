//! Long JSON texts kept deflated: a lead's routing trace and an outbox row's event body.
//!
//! They are the largest values a lead leaves in SQLite (about 1.5 KiB and 0.7 KiB of the
//! 2.4 KiB a lead row held) and are read back only when an admin opens a lead or a sink is
//! sent the event, so the SQLite backend writes them as a deflated BLOB. Rows written before
//! are text and read as they are. PostgreSQL compresses long values itself (TOAST) and keeps
//! them as text.

use super::{StoreError, StoreResult};
use flate2::read::DeflateDecoder;
use flate2::{Compress, Compression, FlushCompress, Status};
use std::cell::RefCell;
use std::io::Read;

/// The columns the SQLite backend writes deflated, as `table.column`.
pub(super) const PACKED_COLUMNS: [&str; 2] = ["leads.trace", "outbox.body"];

/// The most a packed value inflates to: a damaged or hostile BLOB cannot take the memory.
const MAX_TEXT: u64 = 64 * 1024 * 1024;

/// How hard [`pack`] tries. A trace and an event body (about 1.5 KiB and 0.7 KiB) pack to
/// about 1.4 KiB together in 10 us at level 1, and to 1.1 KiB in 25 us at level 2 (6 gains
/// nothing more): it is written on the hot path, so the fast level.
const LEVEL: u32 = 1;

thread_local! {
    /// One encoder per thread, reset for each value: an encoder's state is a few hundred
    /// KiB, and with one made per value `bench/growth.sh`'s daemon grew to 84 MiB (52
    /// before packing; 57 with this).
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::new(LEVEL), false));
}

/// `text` deflated, as the SQLite backend stores it.
pub(super) fn pack(text: &str) -> Vec<u8> {
    DEFLATE.with_borrow_mut(|deflate| {
        deflate.reset();
        let input = text.as_bytes();
        let mut out = Vec::with_capacity(input.len() / 2 + 64);
        loop {
            let done = deflate.total_in() as usize;
            match deflate.compress_vec(&input[done..], &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => return out,
                // The output is full: give it room and go on.
                Ok(_) => out.reserve(out.capacity()),
                Err(e) => unreachable!("deflating into memory cannot fail: {e}"),
            }
        }
    })
}

/// A packed value read back as its text; `what` names the column in the error.
pub(super) fn unpack(what: &'static str, packed: &[u8]) -> StoreResult<String> {
    let mut text = String::with_capacity(packed.len() * 3);
    DeflateDecoder::new(packed)
        .take(MAX_TEXT)
        .read_to_string(&mut text)
        .map_err(|e| StoreError::Corrupt {
            what,
            detail: format!("a packed value that does not inflate to text: {e}"),
        })?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_text_reads_back_the_same_and_smaller() {
        let level = |level: &str, a: &str, b: &str| {
            format!(
                r#"{{"level":"{level}","pool":"everyone at {level}","candidates":[{{"manager":"{a}","open":0,"status":"off_hours"}},{{"manager":"{b}","open":3,"status":"off_hours"}}],"picked":null}}"#
            )
        };
        let trace = format!(
            r#"{{"format":2,"rule":"Нерабочее время — дежурному","pick":{{"levels":[{},{},{}]}},"steps":[[0,0,0,0],[1,0,1,0],[2,0,1,0],[3,1,0,0]]}}"#,
            level("junior", "maria", "ivan"),
            level("middle", "olga", "sergey"),
            level("senior", "anna", "dmitry"),
        );
        let trace = trace.as_str();
        let packed = pack(trace);
        assert!(
            packed.len() < trace.len() / 2,
            "{} of {}",
            packed.len(),
            trace.len()
        );
        assert_eq!(unpack("leads.trace", &packed).expect("unpack"), trace);
        assert_eq!(unpack("leads.trace", &pack("")).expect("empty"), "");
        // Text that hardly packs outgrows the first output buffer; the same thread's encoder
        // then packs the next value afresh.
        let mut seed = 7u64;
        let noise: String = (0..200_000)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                char::from(b'!' + (seed >> 58) as u8)
            })
            .collect();
        assert_eq!(unpack("outbox.body", &pack(&noise)).expect("noise"), noise);
        assert_eq!(unpack("leads.trace", &pack(trace)).expect("again"), trace);
    }

    #[test]
    fn a_damaged_packed_value_is_a_clear_error() {
        let mut packed = pack("{\"a\": \"some text to deflate, some text to deflate\"}");
        packed.truncate(packed.len() / 2);
        let err = unpack("outbox.body", &packed).expect_err("truncated");
        assert!(err.to_string().contains("outbox.body"), "{err}");
        let not_utf8 = pack_bytes(&[0xff, 0xfe, 0x00]);
        assert!(unpack("outbox.body", &not_utf8).is_err());
    }

    fn pack_bytes(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).expect("write");
        encoder.finish().expect("finish")
    }
}
