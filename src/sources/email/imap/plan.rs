//! How a run of new UIDs is fetched, from the sizes the server gave (`RFC822.SIZE`): whole
//! messages in batches bounded by count and bytes (a large message alone), and a message over
//! the source's `max_message` by its header only, so anyone who can mail the inbox cannot
//! decide how much memory a batch takes. Pure, so every plan is unit-tested.

/// The most bytes of whole messages fetched in one batch; a larger message is fetched alone.
pub const BATCH_BYTES: u64 = 8 * 1024 * 1024;

/// What is fetched of each message of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The whole message (`BODY.PEEK[]`).
    Whole,
    /// Only the header (`BODY.PEEK[HEADER]`): the message is over `max_message`, and is kept
    /// as a not-lead (`too_large`) with its size.
    Header,
}

impl Part {
    /// The `UID FETCH` items.
    pub fn items(self) -> &'static str {
        match self {
            Part::Whole => "(UID RFC822.SIZE BODY.PEEK[])",
            Part::Header => "(UID RFC822.SIZE BODY.PEEK[HEADER])",
        }
    }
}

/// One `UID FETCH` and its commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Ascending UIDs.
    pub uids: Vec<u32>,
    /// What is fetched of them.
    pub part: Part,
}

/// Splits `sized` (ascending UIDs with the size the server gave, `None` when it gave none)
/// into batches in UID order: at most `batch_size` messages and [`BATCH_BYTES`] a batch (one
/// message larger than that alone), and each message over `max_message` alone, header only.
/// A message without a size is fetched whole with the others: a message the server does not
/// describe is found missing by the fetch, which keeps the watermark before it.
pub fn plan(sized: &[(u32, Option<u64>)], batch_size: usize, max_message: u64) -> Vec<Batch> {
    let batch_size = batch_size.max(1);
    let mut batches = Vec::new();
    let mut uids = Vec::new();
    let mut bytes = 0u64;
    for &(uid, size) in sized {
        let size = size.unwrap_or(0);
        let over_budget = !uids.is_empty() && bytes.saturating_add(size) > BATCH_BYTES;
        if size > max_message || over_budget || uids.len() >= batch_size {
            if !uids.is_empty() {
                batches.push(Batch {
                    uids: std::mem::take(&mut uids),
                    part: Part::Whole,
                });
            }
            bytes = 0;
        }
        if size > max_message {
            batches.push(Batch {
                uids: vec![uid],
                part: Part::Header,
            });
            continue;
        }
        uids.push(uid);
        bytes = bytes.saturating_add(size);
    }
    if !uids.is_empty() {
        batches.push(Batch {
            uids,
            part: Part::Whole,
        });
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn whole(uids: &[u32]) -> Batch {
        Batch {
            uids: uids.to_vec(),
            part: Part::Whole,
        }
    }

    fn header(uid: u32) -> Batch {
        Batch {
            uids: vec![uid],
            part: Part::Header,
        }
    }

    #[test]
    fn small_messages_go_by_batch_size() {
        let sized: Vec<_> = (1..=5).map(|u| (u, Some(2_000))).collect();
        assert_eq!(
            plan(&sized, 2, 25 * MIB),
            [whole(&[1, 2]), whole(&[3, 4]), whole(&[5])]
        );
    }

    #[test]
    fn bytes_bound_a_batch_and_a_large_message_goes_alone() {
        let sized = [
            (1, Some(3 * MIB)),
            (2, Some(3 * MIB)),
            (3, Some(3 * MIB)),
            (4, Some(20 * MIB)),
            (5, Some(1_000)),
        ];
        assert_eq!(
            plan(&sized, 100, 25 * MIB),
            [whole(&[1, 2]), whole(&[3]), whole(&[4]), whole(&[5])]
        );
    }

    #[test]
    fn over_max_message_only_the_header_alone_and_in_order() {
        let sized = [
            (1, Some(1_000)),
            (2, Some(30 * MIB)),
            (3, Some(1_000)),
            (7, None),
            (9, Some(25 * MIB + 1)),
        ];
        assert_eq!(
            plan(&sized, 100, 25 * MIB),
            [whole(&[1]), header(2), whole(&[3, 7]), header(9)]
        );
        assert_eq!(plan(&[], 100, 25 * MIB), Vec::<Batch>::new());
        assert_eq!(plan(&[(4, Some(1))], 0, 25 * MIB), [whole(&[4])]);
    }
}
