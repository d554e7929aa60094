//! A [`Trace`] as text, the way `leadgate route` prints it: the scoring entries and rules with
//! their tests, the managers considered at each level, and the outcome.

use std::fmt;

use crate::routing::model::label::Label;
use crate::routing::model::outcome::Outcome;
use crate::routing::model::record::{EntryView, TestView};
use crate::routing::model::trace::{CandidateTrace, Eligibility, Trace};

/// What the text says of a manager's eligibility.
fn describe(status: Eligibility) -> &'static str {
    match status {
        Eligibility::Eligible => "eligible",
        Eligibility::Inactive => "not eligible: inactive",
        Eligibility::OffHours => "not eligible: outside working hours",
        Eligibility::DayOff => "not eligible: day off",
        Eligibility::Holiday => "not eligible: holiday",
        Eligibility::Full => "not eligible: at max_open",
        Eligibility::AlreadyHad => "not eligible: already had this lead",
        Eligibility::NotInRules => "not in the rules any more",
    }
}

fn write_tests<'t>(
    f: &mut fmt::Formatter<'_>,
    tests: impl Iterator<Item = TestView<'t>>,
    depth: usize,
) -> fmt::Result {
    for t in tests {
        write!(
            f,
            "{:w$}{} {}",
            "",
            if t.held() { "yes" } else { "no " },
            t.test(),
            w = depth * 2
        )?;
        if let Some(found) = t.found() {
            write!(f, " ({found})")?;
        }
        writeln!(f)?;
        write_tests(f, t.inner(), depth + 1)?;
    }
    Ok(())
}

fn write_entry(f: &mut fmt::Formatter<'_>, e: EntryView<'_>, verbose: bool) -> fmt::Result {
    write!(
        f,
        "  {} {:?} (line {})",
        if e.matched() { "+" } else { "-" },
        e.name(),
        e.line()
    )?;
    if e.points() != 0 && e.matched() {
        write!(f, " {:+}", e.points())?;
    }
    writeln!(f)?;
    if verbose || e.matched() {
        write_tests(f, e.tests(), 3)
    } else {
        // The last test evaluated is the one that failed.
        write_tests(f, e.tests().last().into_iter(), 3)
    }
}

fn write_candidate(f: &mut fmt::Formatter<'_>, c: &CandidateTrace) -> fmt::Result {
    writeln!(
        f,
        "      {:<16} {} open, {}",
        c.manager,
        c.open,
        describe(c.status)
    )
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rules version {}", self.rules_version)?;
        writeln!(f, "scoring: score {}", self.score)?;
        for e in self.scoring() {
            write_entry(f, e, false)?;
        }
        writeln!(f, "rules (first match wins):")?;
        for e in self.rules() {
            write_entry(f, e, true)?;
        }
        writeln!(
            f,
            "decided by {:?}; tags [{}]; ack within {}",
            self.rule.as_str(),
            self.tags
                .iter()
                .map(Label::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            self.ack_within
        )?;
        if let Some(p) = &self.pick {
            writeln!(f, "picking ({}):", p.strategy.as_str())?;
            if let Some(prev) = &p.previous_manager {
                writeln!(f, "    previous manager of this contact:")?;
                write_candidate(f, prev)?;
            }
            for l in &p.levels {
                writeln!(f, "    level {}, {}:", l.level, l.pool)?;
                for c in &l.candidates {
                    write_candidate(f, c)?;
                }
                match &l.picked {
                    Some(m) => writeln!(f, "    picked {m}")?,
                    None => writeln!(f, "    nobody eligible")?,
                }
            }
        }
        match &self.outcome {
            Outcome::Assign(p) => writeln!(
                f,
                "outcome: assigned to {} ({}, level {})",
                p.manager,
                p.strategy.as_str(),
                p.level
            ),
            Outcome::Hold { level } => writeln!(
                f,
                "outcome: held at level {level} until someone is eligible"
            ),
            Outcome::Drop { reason } => writeln!(f, "outcome: dropped: {reason}"),
        }
    }
}
