//! The pieces of a decision's compact record ([`super::record`]) that a condition writes as
//! it is evaluated and replayed: what a test found ([`Found`], a handle), a leaf test as
//! evaluated ([`Leaf`]), and tests with their nesting ([`Steps`]).

use crate::lead::Channel;

/// What a test found: a handle into the record, shown only when the trace is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found(pub(super) u32);

/// The texts a [`Found`] names without keeping anything: these, then the channels.
const FIXED: [&str; 4] = ["yes", "no", "no value", "no number"];
const FIXED_BASE: u32 = u32::MAX - 64;

impl Found {
    /// Nothing worth showing.
    pub(crate) const NOTHING: Found = Found(u32::MAX);
    /// `yes`.
    pub(crate) const YES: Found = Found(FIXED_BASE);
    /// `no`.
    pub(crate) const NO: Found = Found(FIXED_BASE + 1);
    /// A field without a value.
    pub(crate) const NO_VALUE: Found = Found(FIXED_BASE + 2);
    /// A field whose value is not a number.
    pub(crate) const NO_NUMBER: Found = Found(FIXED_BASE + 3);

    /// The lead's channel.
    pub(crate) fn channel(c: Channel) -> Found {
        Found(FIXED_BASE + FIXED.len() as u32 + c as u32)
    }

    /// The fixed text this names, if it is one.
    pub(super) fn fixed(self) -> Option<&'static str> {
        let k = self.0.checked_sub(FIXED_BASE)? as usize;
        match k.checked_sub(FIXED.len()) {
            None => Some(FIXED[k]),
            Some(c) => Channel::ALL.get(c).map(|c| c.as_str()),
        }
    }
}

/// A leaf test as a decision evaluated it: its index among the conditions' tests (with
/// whether it held in the top bit) and what it found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Leaf {
    pub(super) test: u32,
    pub(super) found: Found,
}

/// The top bit of [`Leaf`]'s test: whether it held.
pub(super) const HELD: u32 = 1 << 31;

impl Leaf {
    /// The test's index among the conditions' tests.
    pub(crate) fn test(self) -> u32 {
        self.test & !HELD
    }

    /// Whether the test held.
    pub(crate) fn held(self) -> bool {
        self.test & HELD != 0
    }

    /// What it found.
    pub(crate) fn found(self) -> Found {
        self.found
    }
}

/// One test evaluated; the `len` steps after it are its inner tests.
#[derive(Debug, Clone, Copy)]
pub(super) struct Step {
    pub(super) node: u32,
    pub(super) held: bool,
    pub(super) found: Found,
    pub(super) len: u32,
}

/// Tests with their nesting, as a trace shows them: built by replaying a decision's leaves
/// over the conditions' tree, or from a stored trace.
#[derive(Debug, Clone, Default)]
pub(crate) struct Steps {
    pub(super) steps: Vec<Step>,
}

impl Steps {
    /// Starts a test (or an `any` option); its inner tests follow until [`Steps::close`].
    pub(crate) fn open(&mut self, node: u32) -> usize {
        self.leaf(node, false, Found::NOTHING);
        self.steps.len() - 1
    }

    /// Adds a test without inner tests.
    pub(crate) fn leaf(&mut self, node: u32, held: bool, found: Found) {
        self.steps.push(Step {
            node,
            held,
            found,
            len: 0,
        });
    }

    /// Ends the test started at `at` with its result.
    pub(crate) fn close(&mut self, at: usize, held: bool, found: Found) {
        let len = (self.steps.len() - at - 1) as u32;
        self.steps[at] = Step {
            len,
            held,
            found,
            ..self.steps[at]
        };
    }
}
