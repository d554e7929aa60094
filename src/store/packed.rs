//! Long JSON texts kept deflated: a lead's record and routing trace, and an outbox row's
//! event body.
//!
//! They are the largest values a lead leaves in SQLite (about 0.6, 1.5 and 0.7 KiB of the
//! 2.4 KiB a lead row held and the outbox row's 0.9) and are read back whole (processing a
//! follow-up, an admin opening a lead, the console's list, a sink sent the event), never
//! searched by SQL, so the SQLite backend writes them as a BLOB: one byte that says how the
//! rest was packed, then raw deflate primed with [`DICTIONARY_1`]. Rows written before are
//! text and read as they are. PostgreSQL compresses long values itself (TOAST) and keeps them
//! as text.

use super::{StoreError, StoreResult};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::cell::RefCell;

/// The columns the SQLite backend writes deflated, as `table.column`.
pub(super) const PACKED_COLUMNS: [&str; 3] = ["leads.record", "leads.trace", "outbox.body"];

/// The first byte of a value packed with deflate primed with [`DICTIONARY_1`].
const DEFLATE_WITH_DICTIONARY_1: u8 = 1;

/// What every trace and event body repeats: their key names and the values they take from a
/// fixed list (channels, eligibility, strategies, outcomes), most frequent last, where deflate
/// reaches them most cheaply. A value of 1-2 KiB has little of its own to refer back to:
/// primed with this, a trace packs to about 520 bytes instead of 790 and a `lead.created` body
/// to about 210 instead of 575, at the same cost. Frozen: rows packed with it are read with
/// it, so a change is a new dictionary under a new first byte.
const DICTIONARY_1: &str = concat!(
    r#""channel":"email","channel":"telegram","channel":"vk","channel":"whatsapp","channel":"blog","#,
    r#""status":"inactive","status":"day_off","status":"holiday","status":"full","#,
    r#""status":"already_had","status":"not_in_rules","strategy":"least_loaded","#,
    r#""strategy":"weighted","strategy":"previous_manager","outcome":{"kind":"drop","reason":""#,
    r#"{"type":"lead.updated","type":"lead.acknowledged","type":"lead.reassigned","#,
    r#""previous_manager":{"manager":"","open":0,"status":"eligible"},"#,
    r#"{"format":2,"rules_version":"","score":0,"tags":[],"rule":"","ack_within":"30m","#,
    r#""pick":{"strategy":"round_robin","levels":[{"level":"","pool":"everyone at ","#,
    r#""candidates":[{"manager":"","open":0,"status":"eligible"},{"manager":"","open":0,"#,
    r#""status":"off_hours"}],"picked":null}],"picked":{"manager":"","strategy":"round_robin","#,
    r#""level":""}},"outcome":{"kind":"hold","level":""},"outcome":{"kind":"assign","manager":""#,
    r#","record":{"scoring":0,"entries":[[0,0,0,1],[1,0,1,2],[2,1,2,3]],"steps":[[0,0,0,0],"#,
    r#"[1,0,1,0],[2,0,0,1],[3,1,0,0]],"found":["no number","no value"]}}"#,
    r#"{"type":"lead.created","timestamp":"","data":{"schema":"leadgate.lead.v1","id":"","#,
    r#""received_at":"","channel":"webform","source":"","external_id":null,"contact":{"name":"","#,
    r#""emails":[],"phones":["+"],"telegram":null,"vk_id":null,"whatsapp":null},"subject":null,"#,
    r#""text":"","fields":{},"utm":{"source":null,"medium":null,"campaign":null,"content":null,"#,
    r#""term":null},"page_url":null,"referrer":null,"returning":false,"previous_lead_id":null,"#,
    r#""classification":{"rule":"","level":"","tags":[],"score":0},"assignment":{"manager":{"#,
    r#""id":"","name":"","email":null,"crm_user_id":null},"strategy":"round_robin","#,
    r#""assigned_at":"","ack_due_at":"","attempt":1}}},"assignment":null}}"#,
);

/// The most a packed value inflates to: a damaged or hostile BLOB cannot take the memory.
const MAX_TEXT: usize = 64 * 1024 * 1024;

/// How hard [`pack`] tries. Measured on a trace and an event body of the growth bench
/// (flate2's zlib-rs backend, without the dictionary): level 1 packs the two into 1,368
/// bytes in 9.5 us, level 2 into 1,122 in 25 us, level 6 into 1,095 in 28 us. It is written
/// on the hot path, so the fast level, and the dictionary gains more than the levels do.
const LEVEL: u32 = 1;

thread_local! {
    /// One encoder per thread, reset for each value: an encoder's state is a few hundred
    /// KiB, and with one made per value `bench/growth.sh`'s daemon grew to 84 MiB (52
    /// before packing; 57 with this).
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::new(LEVEL), false));
    /// One decoder per thread, likewise.
    static INFLATE: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

/// `text` packed, as the SQLite backend stores it.
pub(super) fn pack(text: &str) -> Vec<u8> {
    deflate(text.as_bytes())
}

/// `input` deflated with the dictionary, after its first byte.
fn deflate(input: &[u8]) -> Vec<u8> {
    DEFLATE.with_borrow_mut(|deflate| {
        deflate.reset();
        deflate
            .set_dictionary(DICTIONARY_1.as_bytes())
            .unwrap_or_else(|e| unreachable!("a fresh encoder takes a dictionary: {e}"));
        let mut out = Vec::with_capacity(input.len() / 2 + 64);
        out.push(DEFLATE_WITH_DICTIONARY_1);
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
    let corrupt = |detail: String| StoreError::Corrupt { what, detail };
    let Some((&DEFLATE_WITH_DICTIONARY_1, deflated)) = packed.split_first() else {
        return Err(corrupt(format!(
            "a packed value of an unknown kind (first byte {:?})",
            packed.first()
        )));
    };
    let bytes = INFLATE.with_borrow_mut(|inflate| {
        inflate.reset(false);
        inflate
            .set_dictionary(DICTIONARY_1.as_bytes())
            .map_err(|e| corrupt(format!("the dictionary: {e}")))?;
        let mut out = Vec::with_capacity(deflated.len() * 4 + 64);
        loop {
            let done = inflate.total_in() as usize;
            match inflate.decompress_vec(&deflated[done..], &mut out, FlushDecompress::Finish) {
                Ok(Status::StreamEnd) => return Ok(out),
                // Room left, so the input ran out before the end.
                Ok(_) if out.len() < out.capacity() => {
                    return Err(corrupt("a packed value cut short".into()));
                }
                Ok(_) if out.len() >= MAX_TEXT => {
                    return Err(corrupt(format!(
                        "a packed value of more than {MAX_TEXT} bytes"
                    )));
                }
                Ok(_) => out.reserve(out.capacity()),
                Err(e) => {
                    return Err(corrupt(format!(
                        "a packed value that does not inflate: {e}"
                    )));
                }
            }
        }
    })?;
    String::from_utf8(bytes).map_err(|e| corrupt(format!("a packed value that is not text: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace() -> String {
        let level = |level: &str, a: &str, b: &str| {
            format!(
                r#"{{"level":"{level}","pool":"everyone at {level}","candidates":[{{"manager":"{a}","open":0,"status":"off_hours"}},{{"manager":"{b}","open":3,"status":"off_hours"}}],"picked":null}}"#
            )
        };
        format!(
            r#"{{"format":2,"rule":"Нерабочее время — дежурному","pick":{{"levels":[{},{},{}]}},"steps":[[0,0,0,0],[1,0,1,0],[2,0,1,0],[3,1,0,0]]}}"#,
            level("junior", "maria", "ivan"),
            level("middle", "olga", "sergey"),
            level("senior", "anna", "dmitry"),
        )
    }

    #[test]
    fn a_packed_text_reads_back_the_same_and_smaller() {
        let trace = trace();
        let packed = pack(&trace);
        assert_eq!(packed[0], DEFLATE_WITH_DICTIONARY_1);
        assert!(
            packed.len() < trace.len() / 3,
            "{} of {}",
            packed.len(),
            trace.len()
        );
        assert_eq!(unpack("leads.trace", &packed).expect("unpack"), trace);
        assert_eq!(unpack("leads.trace", &pack("")).expect("empty"), "");
        // Text that hardly packs outgrows the first buffers both ways; the same thread's
        // encoder and decoder then serve the next value afresh.
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
        assert_eq!(unpack("leads.trace", &pack(&trace)).expect("again"), trace);
    }

    #[test]
    fn the_dictionary_is_what_packs_a_short_value() {
        let trace = trace();
        let primed = pack(&trace).len();
        let mut plain = Compress::new(Compression::new(LEVEL), false);
        let mut out = Vec::with_capacity(trace.len() + 64);
        plain
            .compress_vec(trace.as_bytes(), &mut out, FlushCompress::Finish)
            .expect("deflate");
        assert!(primed < out.len() * 3 / 4, "{primed} against {}", out.len());
    }

    #[test]
    fn a_damaged_packed_value_is_a_clear_error() {
        let text = "{\"a\": \"some text to deflate, some text to deflate, and more\"}";
        let mut packed = pack(text);
        packed.truncate(packed.len() / 2);
        let err = unpack("outbox.body", &packed).expect_err("truncated");
        assert!(err.to_string().contains("outbox.body"), "{err}");
        assert!(err.to_string().contains("cut short"), "{err}");
        let err = unpack("outbox.body", &deflate(&[0xff, 0xfe, 0x00])).expect_err("not UTF-8");
        assert!(err.to_string().contains("not text"), "{err}");
        let mut unknown = pack(text);
        unknown[0] = 9;
        let err = unpack("leads.trace", &unknown).expect_err("unknown kind");
        assert!(err.to_string().contains("unknown kind"), "{err}");
        assert!(unpack("leads.trace", &[]).is_err());
    }
}
