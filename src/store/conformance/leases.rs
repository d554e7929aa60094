//! Leases: work that must run on one replica at a time passes to another holder only when
//! its holder gives it up or stops renewing it.

use super::Stores;
use super::fixtures::at;

fn names(of: &[&str]) -> Vec<String> {
    of.iter().map(|n| n.to_string()).collect()
}

pub(crate) async fn leases_pass_to_another_holder_only_when_given_up_or_run_out(s: &dyn Stores) {
    let both = names(&["imap:box:INBOX", "process"]);
    let held = s
        .hold_leases("a", &both, at(0), at(10))
        .await
        .expect("hold");
    assert_eq!(held, both, "free leases are taken");
    let held = s
        .hold_leases("b", &both, at(5), at(15))
        .await
        .expect("hold");
    assert!(held.is_empty(), "a live lease is not taken: {held:?}");
    let held = (s.hold_leases("a", &names(&["process"]), at(5), at(15)))
        .await
        .expect("renew");
    assert_eq!(held, ["process"], "the holder renews its own lease");
    // At 10 the mailbox's lease ran out (a stopped renewing it); processing's runs to 15.
    let held = s
        .hold_leases("b", &both, at(10), at(20))
        .await
        .expect("hold");
    assert_eq!(
        held,
        ["imap:box:INBOX"],
        "a lease that ran out is taken over"
    );
    let held = s
        .hold_leases("a", &both, at(11), at(21))
        .await
        .expect("hold");
    assert_eq!(
        held,
        ["process"],
        "the old holder keeps only what it renewed in time"
    );
    s.release_lease("b", "process").await.expect("release");
    let held = s
        .hold_leases("b", &both, at(12), at(22))
        .await
        .expect("hold");
    assert_eq!(held, ["imap:box:INBOX"], "only the holder gives a lease up");
    s.release_lease("a", "process").await.expect("release");
    let held = s
        .hold_leases("b", &both, at(12), at(22))
        .await
        .expect("hold");
    assert_eq!(held, both, "a lease given up is taken at once");
}
