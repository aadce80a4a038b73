//! The checkout saga's engine: runs each order's steps ([`steps`], then [`compensation`]
//! after a business failure) in the background, stores what a restarted saga could not make
//! again before going on (see [`may_defer`]), retries technical failures with capped
//! exponential backoff, and resumes unfinished sagas after a restart.
//!
//! Ownership: a saga runs in one process at a time, the holder of its lease (columns
//! `lease_owner`, `lease_until_ms`). The runner renews the lease with every write, while
//! steps run (a third of the lease after the last write, and every third from then on, so
//! a step slower than the lease, or steps that together outlast it, are not taken for
//! abandoned) and while it waits between retries; every write is conditional on it, so a
//! process that stalled past its lease cannot overwrite a saga another process took over.
//! On shutdown a saga stops between steps (a Charge in flight is always waited for, so
//! that no charge is ever in doubt because of a stop), stores what it got to and gives its
//! lease up at once, so a restarted process resumes it from there without waiting. A
//! crashed process's sagas are taken over once their leases run out, by
//! [`Sagas::recover`], which looks for them at start and periodically.
//!
//! The card and the shopper's token live only in memory, with the saga that PlaceOrder
//! started ([`Secrets`]). A saga resumed after a restart has neither: it cannot charge (the
//! order then fails, after checking with payment that no charge was made, see [`steps`])
//! and it leaves the cart as it is (emptying it is best effort).
//!
//! When traces are exported, a saga runs in a span of the trace of the call that placed its
//! order, and each step in a span of its own ([`trace`]).
//!
//! What a step works with and answers ([`context`]) is apart from the engine and the steps,
//! so the steps and compensations depend on it and not on each other's callers.

pub mod compensation;
pub mod context;
pub mod steps;
mod trace;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bazaar_contract::orders::v1::{OrderEventType, OrderState};
use chassis::Shutdown;
use chassis::backoff::{Backoff, Jitter};
use chassis::store::StoreCell;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::Status;
use tracing::Instrument;

use self::context::{Outcome, StepContext};
use crate::clients::Clients;
use crate::clock::Clock;
use crate::config::{Limits, Timing};
use crate::domain::{ChargeStatus, OrderRecord, Step};
use crate::ids::{LEASE_OWNER, new_id};
use crate::store::{OrdersStore, Saved};

pub use self::context::Secrets;

/// Runs sagas; cheap to clone.
#[derive(Clone, Debug)]
pub struct Sagas {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: StoreCell<OrdersStore>,
    clients: Clients,
    clock: Arc<dyn Clock>,
    timing: Timing,
    limits: Limits,
    /// This process's name in leases.
    owner: String,
    stop: Shutdown,
    /// The sagas running here, with their latest stored state.
    running: Mutex<HashMap<String, watch::Receiver<OrderRecord>>>,
    tasks: Mutex<JoinSet<()>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks leaves plain data behind, still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Sagas {
    /// An engine over `store` (once open) and `clients`, stopping on `stop`.
    pub fn new(
        store: StoreCell<OrdersStore>,
        clients: Clients,
        clock: Arc<dyn Clock>,
        timing: Timing,
        limits: Limits,
        stop: Shutdown,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clients,
                clock,
                timing,
                limits,
                owner: new_id(&LEASE_OWNER),
                stop,
                running: Mutex::new(HashMap::new()),
                tasks: Mutex::new(JoinSet::new()),
            }),
        }
    }

    /// The store, or `UNAVAILABLE` while it is not open.
    pub fn store(&self) -> Result<&OrdersStore, Status> {
        self.inner.store.get()
    }

    /// The clients of the services orders calls.
    pub fn clients(&self) -> &Clients {
        &self.inner.clients
    }

    /// The saga's timing settings.
    pub fn timing(&self) -> &Timing {
        &self.inner.timing
    }

    /// The caps on what callers may hold.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Now, in ms since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// This process's name in leases.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// The stop signal of this process.
    pub fn stop(&self) -> &Shutdown {
        &self.inner.stop
    }

    /// Runs the saga of `order` (leased to this process) in the background.
    pub fn start(&self, order: OrderRecord, secrets: Secrets) {
        let id = order.id.clone();
        let (progress, watcher) = watch::channel(order.clone());
        {
            let mut running = lock(&self.inner.running);
            if running.contains_key(&id) {
                return;
            }
            running.insert(id.clone(), watcher);
        }
        let this = self.clone();
        let mut tasks = lock(&self.inner.tasks);
        while tasks.try_join_next().is_some() {}
        // The order is accepted: every call of its saga, fresh or resumed after a restart,
        // continues that work and goes before new work at a busy callee.
        tasks.spawn(chassis::priority::continuation(async move {
            this.drive(order, secrets, progress).await;
            lock(&this.inner.running).remove(&id);
        }));
    }

    /// Waits up to `bound` for the saga of `order_id`, if it runs here, to finish, and
    /// returns the order as its last write stored it if it did.
    pub async fn wait(&self, order_id: &str, bound: Duration) -> Option<OrderRecord> {
        let mut watcher = lock(&self.inner.running).get(order_id).cloned()?;
        tokio::select! {
            done = tokio::time::timeout(bound, watcher.wait_for(OrderRecord::is_done)) => {
                done.ok()?.ok().map(|order| order.clone())
            }
            () = self.inner.stop.wait() => None,
        }
    }

    /// Resumes unfinished sagas that no process owns, at once and then every recovery
    /// interval, until stopped. Waits for the store first.
    pub async fn recover(self) {
        let stop = self.inner.stop.clone();
        loop {
            if self.inner.store.get().is_ok() {
                match self.resume_orphans().await {
                    Ok(0) => {}
                    Ok(count) => tracing::info!(count, "resumed unfinished sagas"),
                    Err(error) => tracing::warn!(
                        error = %chassis::error::chain(&error),
                        "cannot look for unfinished sagas"
                    ),
                }
            }
            let wait = if self.inner.store.get().is_ok() {
                self.inner.timing.recovery_interval
            } else {
                Duration::from_millis(50)
            };
            tokio::select! {
                () = stop.wait() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn resume_orphans(&self) -> Result<usize, sqlx::Error> {
        let Ok(store) = self.inner.store.get() else {
            return Ok(0);
        };
        let now = self.now_ms();
        let mut resumed = 0;
        for id in store.orphaned_sagas(now, 100).await? {
            if lock(&self.inner.running).contains_key(&id)
                || !store
                    .take_over(
                        &id,
                        &self.inner.owner,
                        now,
                        now + self.inner.timing.lease_ms,
                    )
                    .await?
            {
                continue;
            }
            if let Some(order) = store.get_order(&id).await? {
                tracing::info!(order_id = %id, step = order.step.as_str(), "resuming saga");
                self.start(order, Secrets::default());
                resumed += 1;
            }
        }
        Ok(resumed)
    }

    /// After a stop: waits up to `grace` for every saga to stop and give its lease up.
    pub async fn drain(&self, grace: Duration) {
        let mut tasks = std::mem::take(&mut *lock(&self.inner.tasks));
        let drained =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!(
                left = tasks.len(),
                "sagas still running after the grace period"
            );
            tasks.shutdown().await;
        }
    }

    /// Runs one saga to its end, or until stopped or its lease is lost; when traces are
    /// exported, in a span of the trace of the call that placed the order, whether it runs
    /// right after that call or is resumed after a restart.
    async fn drive(
        &self,
        order: OrderRecord,
        secrets: Secrets,
        progress: watch::Sender<OrderRecord>,
    ) {
        let Ok(store) = self.inner.store.get().cloned() else {
            return;
        };
        let span = trace::saga_span(&store, &order.id).await;
        self.run_steps(store, order, secrets, progress)
            .instrument(span)
            .await;
    }

    async fn run_steps(
        &self,
        store: OrdersStore,
        mut order: OrderRecord,
        secrets: Secrets,
        progress: watch::Sender<OrderRecord>,
    ) {
        let timing = self.inner.timing;
        let owner = self.inner.owner.as_str();
        let stop = &self.inner.stop;
        let mut backoff =
            Backoff::new(timing.retry_initial, timing.retry_max).with_jitter(Jitter::Equal);
        let mut attempt: u32 = 0;
        let mut steps_timed = crate::metrics::StepTimer::start();
        // What the store holds, and the event to write with the next write: a forward step
        // that a re-run reproduces is not stored on its own ([`may_defer`]).
        let mut stored = order.clone();
        let mut unwritten_event = None;
        // The lease was taken or renewed by the write that handed the saga here.
        let mut renewed = tokio::time::Instant::now();
        while !order.is_done() {
            if stop.is_triggered() {
                self.pause(&store, &order, &mut stored, &mut unwritten_event)
                    .await;
                return;
            }
            let cx = StepContext {
                clients: &self.inner.clients,
                now_ms: self.now_ms(),
                timing: &timing,
                secrets: &secrets,
            };
            let step = steps::run(&cx, &order).instrument(trace::step_span(&order));
            let step = self.renewing_lease(&store, &order.id, &mut renewed, step);
            let outcome = if order.step == Step::Charge {
                step.await
            } else {
                tokio::select! {
                    outcome = step => outcome,
                    () = stop.wait() => {
                        self.pause(&store, &order, &mut stored, &mut unwritten_event)
                            .await;
                        return;
                    }
                }
            };
            let problem = match outcome {
                Outcome::Next(mut next, event) => {
                    // `update_time` says when the order as shown last changed, not the
                    // saga's bookkeeping.
                    let now = self.now_ms();
                    if next.to_pb() != order.to_pb() {
                        next.update_time_ms = now.max(order.update_time_ms);
                    }
                    unwritten_event = event.or(unwritten_event);
                    let written = if may_defer(&stored, &next) {
                        Ok(Saved::Saved)
                    } else {
                        let lease_until = now + timing.lease_ms;
                        store
                            .save(&next, owner, lease_until, unwritten_event)
                            .await
                            .inspect(|saved| {
                                if *saved == Saved::Saved {
                                    stored = (*next).clone();
                                    unwritten_event = None;
                                    renewed = tokio::time::Instant::now();
                                }
                            })
                    };
                    match written {
                        Ok(Saved::Saved) => {
                            steps_timed.saved(&order, &next);
                            tracing::info!(order_id = %next.id, from = order.step.as_str(),
                                to = next.step.as_str(), "saga step done");
                            order = *next;
                            progress.send_replace(order.clone());
                            backoff.reset();
                            attempt = 0;
                            continue;
                        }
                        Ok(Saved::LeaseLost) => {
                            tracing::warn!(order_id = %order.id, "saga taken over elsewhere; stopping here");
                            return;
                        }
                        Err(error) => format!("orders store: {}", chassis::error::chain(&error)),
                    }
                }
                Outcome::Retry(problem) => problem,
            };
            attempt += 1;
            crate::metrics::step_retried(order.step);
            let delay = backoff.next_delay();
            tracing::warn!(order_id = %order.id, step = order.step.as_str(), attempt,
                retry_in_ms = delay.as_millis() as u64, %problem, "saga step failed; will retry");
            // What the saga got to is stored before it waits, with the lease renewed.
            match self
                .keep(&store, &order, &mut stored, &mut unwritten_event)
                .await
            {
                Ok(true) => renewed = tokio::time::Instant::now(),
                Ok(false) => {
                    tracing::warn!(order_id = %order.id, "saga taken over elsewhere; stopping here");
                    return;
                }
                Err(error) => tracing::warn!(order_id = %order.id,
                    error = %chassis::error::chain(&error),
                    "cannot store the saga's progress; trying again"),
            }
            tokio::select! {
                () = stop.wait() => {}
                () = tokio::time::sleep(delay) => {}
            }
        }
        tracing::info!(order_id = %order.id, state = ?order.state, "saga finished");
    }

    /// Runs `step`, renewing the saga's lease a third of it after it was last `renewed`
    /// (which it moves on with each renewal) and every third of it from then on, so that a step slower than the lease (a callee
    /// answering slowly, within its deadline), or steps that together outlast it between two
    /// writes, are not taken for abandoned and run a second time by another process. If the
    /// lease turns out to be lost, the step still ends here; the write after it then finds
    /// the lease lost.
    async fn renewing_lease<T>(
        &self,
        store: &OrdersStore,
        order_id: &str,
        renewed: &mut tokio::time::Instant,
        step: impl Future<Output = T>,
    ) -> T {
        let lease_ms = self.inner.timing.lease_ms;
        let every = Duration::from_millis(u64::try_from(lease_ms / 3).unwrap_or(1).max(1));
        let renew = async {
            let mut due = *renewed + every;
            loop {
                tokio::time::sleep_until(due).await;
                let started = tokio::time::Instant::now();
                due = started + every;
                let lease_until = self.now_ms() + lease_ms;
                match store
                    .renew_lease(order_id, &self.inner.owner, lease_until)
                    .await
                {
                    Ok(true) => *renewed = started,
                    Ok(false) => {
                        tracing::warn!(%order_id, "saga taken over elsewhere during a step");
                        return;
                    }
                    Err(error) => tracing::warn!(%order_id,
                        error = %chassis::error::chain(&error),
                        "cannot renew the saga's lease; trying again"),
                }
            }
        };
        tokio::pin!(step);
        tokio::select! {
            outcome = &mut step => outcome,
            () = renew => step.await,
        }
    }

    /// Stores `order` as the saga got to it, with the event still to be written, if the
    /// store holds less (`stored`), or else renews the lease; `false` if this process no
    /// longer holds the lease.
    async fn keep(
        &self,
        store: &OrdersStore,
        order: &OrderRecord,
        stored: &mut OrderRecord,
        event: &mut Option<OrderEventType>,
    ) -> Result<bool, sqlx::Error> {
        let owner = self.inner.owner.as_str();
        let lease_until = self.now_ms() + self.inner.timing.lease_ms;
        if order == stored {
            return store.renew_lease(&order.id, owner, lease_until).await;
        }
        let saved = store.save(order, owner, lease_until, *event).await? == Saved::Saved;
        if saved {
            stored.clone_from(order);
            *event = None;
        }
        Ok(saved)
    }

    /// Stops the saga for a shutdown: stores what it got to, so that whoever resumes it
    /// starts from there, and gives the lease up.
    async fn pause(
        &self,
        store: &OrdersStore,
        order: &OrderRecord,
        stored: &mut OrderRecord,
        event: &mut Option<OrderEventType>,
    ) {
        match self.keep(store, order, stored, event).await {
            Ok(false) => return,
            Ok(true) => {}
            Err(error) => tracing::warn!(order_id = %order.id,
                error = %chassis::error::chain(&error),
                "cannot store the saga's progress before pausing; it resumes from the last"),
        }
        self.give_up_lease(store, &order.id).await;
    }

    async fn give_up_lease(&self, store: &OrdersStore, order_id: &str) {
        match store.release_lease(order_id, &self.inner.owner).await {
            Ok(()) => tracing::info!(%order_id, "saga paused for shutdown"),
            Err(error) => tracing::warn!(%order_id, error = %chassis::error::chain(&error),
                "cannot give the saga's lease up; it resumes when the lease runs out"),
        }
    }
}

/// Whether the saga may go on from `next` without storing it first: a forward step of the
/// placing path (to the shipment, to the commit, to emptying the cart) once the store holds
/// the charge's mark. A process that resumes the saga from the last stored state makes the
/// same calls again with the same request ids and gets the same answers: payment finds the
/// charge (or, without the card, the order finds it through payment), shipping the
/// shipment, and a committed reservation commits again unchanged. The event of the commit
/// is written with the next write, after the cart is emptied (best effort, and never
/// undone). Everything else is stored before the saga goes on: the charge's mark before
/// the Charge is sent, a failure and each compensation, a reservation made again, the end.
fn may_defer(stored: &OrderRecord, next: &OrderRecord) -> bool {
    next.failure.is_none()
        && matches!(
            stored.charge_status,
            ChargeStatus::Attempting | ChargeStatus::Charged
        )
        && match next.step {
            Step::Ship | Step::Commit => next.state == OrderState::Pending,
            Step::EmptyCart => next.state == OrderState::Placed,
            _ => false,
        }
}
