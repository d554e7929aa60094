//! One suite for the store's traits, written once and run against every backend: each test
//! drives a fresh store through [`Store`], [`StoreTx`], [`ConsoleStore`], [`FileStore`],
//! [`NotificationStore`] and [`PrivacyStore`] only, so a backend passes by behaving as the
//! traits say, not by holding the same tables.
//!
//! A backend joins with [`suite!`], given an `async fn() -> Fresh` that makes a store of its
//! own for one test (a temporary SQLite file, a PostgreSQL database), so tests run in
//! parallel.

mod delivery;
pub(crate) mod fixtures;
mod intake;
mod leases;
mod notices;
mod processing;
mod reading;
mod removal;

use super::*;
use std::future::Future;
use std::pin::Pin;

/// What removes a backend's store after its test (dropping its database).
pub(crate) type Cleanup = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A store made for one test, with what keeps it (a temporary directory) and what removes it.
pub(crate) struct Fresh {
    /// The store.
    pub(crate) store: Box<dyn Stores>,
    /// Kept alive for the test (a temporary directory).
    pub(crate) _keep: Box<dyn std::any::Any + Send>,
    /// Run after the test passed.
    pub(crate) cleanup: Option<Cleanup>,
}

impl Fresh {
    /// Runs the cleanup, if any.
    pub(crate) async fn finish(mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.await;
        }
    }
}

/// A fresh SQLite store in a temporary directory.
pub(crate) async fn fresh_sqlite() -> Fresh {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("t.db"))
        .await
        .expect("open a SQLite store");
    Fresh {
        store: Box::new(store),
        _keep: Box::new(dir),
        cleanup: None,
    }
}

/// Expands to one `#[tokio::test]` per conformance test, each on a store `$fresh` makes.
macro_rules! suite {
    ($fresh:path) => {
        $crate::store::conformance::suite!(@each $fresh;
            intake::intake_answers_each_item_new_or_the_stored_one_it_repeats,
            intake::pending_items_come_oldest_first_until_processing_finishes_them,
            intake::cursors_are_kept_inside_and_outside_a_transaction,
            intake::a_cursor_read_in_a_transaction_is_held_before_it_has_a_value,
            intake::stored_keys_are_found_by_source,
            leases::leases_pass_to_another_holder_only_when_given_up_or_run_out,
            leases::sources_a_replica_publishes_are_read_by_the_others_while_fresh,
            processing::reads_in_the_transaction_see_the_leads_it_keeps_back,
            processing::open_leads_are_kept_as_leads_are_written_moved_taken_and_erased,
            processing::held_leads_per_level_are_kept_as_leads_are_held_offered_and_erased,
            processing::conversations_read_ahead_answer_as_the_table_would,
            processing::follow_ups_add_keys_refs_and_activity_but_keep_the_routing,
            processing::follow_ups_in_one_transaction_read_back_as_the_last_one,
            processing::the_sla_sees_deadlines_and_takes_count_in_the_reports,
            processing::nothing_is_visible_before_the_commit,
            processing::an_item_another_transaction_finished_first_fails_the_whole_batch,
            delivery::a_sinks_rows_are_claimed_in_order_per_lead_under_a_lease,
            delivery::rows_behind_a_retry_are_due_no_earlier_than_it,
            delivery::attempts_are_recorded_and_dead_letters_replayed,
            delivery::preset_steps_keep_what_the_crm_answered,
            delivery::workers_claiming_at_once_never_take_the_same_row,
            delivery::an_owner_on_its_way_to_a_crm_is_known_until_delivered,
            notices::notifications_are_queued_once_claimed_and_recorded,
            notices::links_are_used_once_and_alerts_read_the_health_of_things,
            reading::lists_and_journeys_show_what_happened,
            reading::the_console_pages_searches_and_resends,
            reading::a_name_is_found_as_the_lead_stands_now,
            reading::kept_out_items_are_listed_counted_and_turned_into_leads,
            reading::the_reports_count_leads_items_and_deliveries_per_day,
            removal::forgetting_a_person_removes_their_leads_and_items,
            removal::forgetting_a_person_reaches_their_leads_known_only_by_a_messenger_account,
            removal::retention_sweeps_each_kind_by_age,
            removal::the_file_keeper_reads_processed_items_and_keeps_records_first_come,
            removal::the_file_keeper_finds_items_by_each_channels_signs,
        );
    };
    (@each $fresh:path; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let fresh = $fresh().await;
                $crate::store::conformance::$module::$name(&*fresh.store).await;
                fresh.finish().await;
            }
        )*
    };
}
pub(crate) use suite;

/// The suite on SQLite.
mod on_sqlite {
    super::suite!(super::fresh_sqlite);
}

/// The suite on PostgreSQL, each test in a database of its own.
mod on_postgres {
    super::suite!(crate::store::postgres::testing::fresh_postgres);
}
