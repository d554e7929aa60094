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

pub(crate) async fn sources_a_replica_publishes_are_read_by_the_others_while_fresh(s: &dyn Stores) {
    use crate::store::SourceState;
    let state = |name: &str, state: &str, error: Option<&str>| SourceState {
        name: name.into(),
        state: state.into(),
        last_success: Some(at(1)),
        last_error: error.map(str::to_string),
    };
    let failing = state("imap:box:INBOX", "failing", Some("login refused"));
    let ok = state("source:feed", "ok", None);
    (s.publish_sources("a", &[failing.clone(), ok.clone()], at(5))
        .await)
        .expect("publish");
    let seen = (s.published_sources("b", at(5)).await).expect("read");
    assert_eq!(seen, [failing.clone(), ok.clone()], "b reads what a runs");
    let own = (s.published_sources("a", at(5)).await).expect("read");
    assert!(
        own.is_empty(),
        "a reads its own sources from its own health"
    );
    assert!(
        (s.published_sources("b", at(6)).await)
            .expect("read")
            .is_empty(),
        "a state published before `since` is stale: its replica stopped publishing"
    );
    // The mailbox's lease moved to b, which publishes it now: a reads it from b.
    let recovered = state("imap:box:INBOX", "ok", None);
    (s.publish_sources("b", std::slice::from_ref(&recovered), at(7))
        .await)
        .expect("publish");
    assert_eq!(
        (s.published_sources("a", at(6)).await).expect("read"),
        [recovered]
    );
    assert_eq!((s.published_sources("b", at(5)).await).expect("read"), [ok]);
}
