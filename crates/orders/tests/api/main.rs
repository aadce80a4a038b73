//! orders through its contract only: real gRPC on real sockets, started by the chassis's test
//! harness (`chassis::testing`) against in-process doubles of the services it calls
//! (`bazaar_doubles::checkout`), on a real SQLite file, and on PostgreSQL when
//! `BAZAAR_TEST_POSTGRES_URL` is set. Each topic is a module; every scenario runs on both
//! backends; `support` starts orders and holds the small tools the topics share.

mod access;
mod checkout;
mod events;
mod idempotency;
mod limits;
mod recovery;
mod support;
mod trust;

/// One test per backend for each scenario `module::name(backend)`.
macro_rules! on_both_backends {
    ($($module:ident :: $name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    crate::$module::$name(crate::support::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    crate::$module::$name(crate::support::Backend::Postgres).await
                }
            }
        )*
    };
}

on_both_backends!(
    checkout::a_checkout_places_the_order_charges_once_and_empties_the_cart,
    checkout::a_declined_card_fails_the_order_and_releases_the_stock,
    checkout::missing_stock_fails_the_order_before_any_charge,
    checkout::shipping_failing_after_the_charge_is_retried_until_placed,
    checkout::an_expired_reservation_is_made_again_before_commit,
    checkout::without_currency_the_order_is_priced_in_usd,
    checkout::problems_before_the_order_is_recorded_leave_nothing_behind,
    idempotency::a_retry_returns_the_same_order_and_never_charges_twice,
    idempotency::concurrent_calls_with_one_request_id_make_one_order,
    recovery::a_restart_after_the_charge_finishes_the_saga,
    recovery::a_saga_paused_for_a_shutdown_keeps_its_charge,
    recovery::a_restart_before_the_charge_fails_the_order_without_charging,
    recovery::a_charge_failing_for_too_long_fails_the_order,
    recovery::another_replica_takes_over_a_saga_whose_lease_ran_out,
    recovery::a_step_slower_than_the_lease_runs_in_one_replica_only,
    recovery::steps_that_together_outlast_the_lease_run_in_one_replica_only,
    events::events_stream_in_order_from_any_position,
    events::streams_end_cleanly_on_shutdown,
    events::events_of_every_replica_reach_every_stream,
    events::streams_beyond_the_cap_are_refused,
    events::open_streams_count_as_calls_in_progress,
    events::many_streams_share_one_reader,
    trust::a_charge_made_first_for_a_cent_does_not_place_the_order,
    trust::a_charge_in_another_currency_does_not_place_the_order,
    trust::a_charge_made_first_with_the_sagas_request_id_does_not_place_the_order,
    trust::the_orders_own_charge_found_at_payment_is_kept,
    trust::a_shipment_made_first_elsewhere_does_not_place_the_order,
    limits::a_caller_with_too_many_pending_orders_is_refused,
    limits::an_order_larger_than_a_charge_may_be_is_refused_before_reserving,
    limits::reservations_last_as_long_as_the_charge_may_take,
    access::callers_see_only_their_own_orders_newest_first,
    access::bad_requests_name_their_fields,
    access::missing_expired_and_forged_tokens_are_refused,
);
