//! What the notification service remembers: every notification it sent, the rendered message
//! until it is safely in the Maildir, and how far it has read the order event stream. One
//! SQL schema, on SQLite or PostgreSQL, through sqlx's `Any` driver.
//!
//! [`NotificationStore::record`] is the heart of "exactly once": in one transaction it
//! inserts the notification (`ON CONFLICT (event_id, channel) DO NOTHING`, so a second
//! delivery of the event adds nothing) and advances the cursor past the event.
//! [`NotificationStore::start_delivery`] is what keeps replicas on one store from writing
//! one message together: the row stays locked while its message is written.

use sqlx::{AnyPool, Row};

/// The notification's migrations, both backends, same versions.
pub const MIGRATIONS: chassis::store::Migrations = chassis::migrations![
    1 => "notification", "0001_notification",
    2 => "notification owner", "0002_notification_owner",
];

/// The event stream whose position is kept (the row of `event_cursors`).
const ORDERS_STREAM: &str = "orders";

/// A notification as stored, without its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRecord {
    pub id: String,
    /// The order concerned.
    pub order_id: String,
    /// The shopper whose order it is (the order's `user_id`); empty for notifications
    /// recorded before owners were kept.
    pub user_id: String,
    /// The event that caused it.
    pub event_id: String,
    /// The channel's number.
    pub channel: i64,
    /// Where it was sent.
    pub recipient: String,
    pub subject: String,
    /// When it was sent, in ms since the epoch.
    pub send_time_ms: i64,
}

/// A notification to record, with its rendered message.
#[derive(Clone, Debug)]
pub struct NewNotification {
    pub record: NotificationRecord,
    /// The whole message, as it goes into the Maildir.
    pub message: String,
}

/// A recorded notification whose message is not known to be in the Maildir yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undelivered {
    pub id: String,
    /// When it was sent (part of its file name).
    pub send_time_ms: i64,
    /// The whole message, as it goes into the Maildir.
    pub message: String,
}

/// The notification service's store.
#[derive(Clone, Debug)]
pub struct NotificationStore {
    pool: AnyPool,
}

const COLUMNS: &str = "id, order_id, user_id, event_id, channel, recipient, subject, send_time_ms";

impl NotificationStore {
    /// Wraps a migrated pool.
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// The pool, for closing.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The sequence of the last order event fully handled (0: none yet).
    pub async fn cursor(&self) -> Result<i64, sqlx::Error> {
        sqlx::query("SELECT sequence FROM event_cursors WHERE stream = $1")
            .bind(ORDERS_STREAM)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)
    }

    /// Moves the cursor to `sequence`, never backwards.
    pub async fn advance(&self, sequence: i64) -> Result<(), sqlx::Error> {
        advance(&self.pool, sequence).await
    }

    /// Records `notification` as not yet delivered and moves the cursor to `sequence`, in
    /// one transaction. `false` when the event already had its notification on this channel
    /// (then only the cursor moves).
    pub async fn record(
        &self,
        notification: &NewNotification,
        sequence: i64,
    ) -> Result<bool, sqlx::Error> {
        let r = &notification.record;
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO notifications (id, order_id, user_id, event_id, channel, recipient, \
             subject, send_time_ms, message, delivered) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0) \
             ON CONFLICT (event_id, channel) DO NOTHING",
        )
        .bind(&r.id)
        .bind(&r.order_id)
        .bind(&r.user_id)
        .bind(&r.event_id)
        .bind(r.channel)
        .bind(&r.recipient)
        .bind(&r.subject)
        .bind(r.send_time_ms)
        .bind(&notification.message)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        advance(&mut *tx, sequence).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Up to `limit` notifications not yet known to be in the Maildir, oldest first.
    pub async fn undelivered(&self, limit: u32) -> Result<Vec<Undelivered>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, send_time_ms, message FROM notifications WHERE delivered = 0 \
             ORDER BY send_time_ms, id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Undelivered {
                    id: row.try_get("id")?,
                    send_time_ms: row.try_get("send_time_ms")?,
                    message: row.try_get("message")?,
                })
            })
            .collect()
    }

    /// Starts delivering notification `id`: marks it delivered in a transaction that stays
    /// open, holding the notification's row (and, on SQLite, the database's write lock),
    /// until [`Delivering::done`] commits it. `None` when it is delivered already, by this
    /// process or another replica; a replica delivering it meanwhile is waited for.
    ///
    /// So two replicas never write one message at the same time: the second finds it
    /// delivered once the first commits. A delivery that ends without `done` (an error, a
    /// crash) rolls back, and the notification is undelivered again.
    pub async fn start_delivery(&self, id: &str) -> Result<Option<Delivering>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let marked =
            sqlx::query("UPDATE notifications SET delivered = 1 WHERE id = $1 AND delivered = 0")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if marked.rows_affected() == 1 {
            Ok(Some(Delivering { tx }))
        } else {
            tx.rollback().await?;
            Ok(None)
        }
    }

    /// Notifications newest first (by send time, then id), only those of `owner` and of
    /// `order_id` if given, strictly after `after` (a send time and id) in that order, at
    /// most `limit`.
    pub async fn list(
        &self,
        owner: Option<&str>,
        order_id: Option<&str>,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, sqlx::Error> {
        let mut conditions = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if owner.is_some() {
            conditions.push(format!("user_id = ${}", next()));
        }
        if order_id.is_some() {
            conditions.push(format!("order_id = ${}", next()));
        }
        if after.is_some() {
            let (time, again, id) = (next(), next(), next());
            conditions.push(format!(
                "(send_time_ms < ${time} OR (send_time_ms = ${again} AND id < ${id}))"
            ));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM notifications {filter} \
             ORDER BY send_time_ms DESC, id DESC LIMIT ${}",
            next()
        );
        let mut query = sqlx::query(&sql);
        if let Some(owner) = owner {
            query = query.bind(owner);
        }
        if let Some(order_id) = order_id {
            query = query.bind(order_id);
        }
        if let Some((time, id)) = after {
            query = query.bind(time).bind(time).bind(id);
        }
        let rows = query.bind(i64::from(limit)).fetch_all(&self.pool).await?;
        rows.iter().map(record_from_row).collect()
    }

    /// One notification, if it is `owner`'s (any owner's when `None`).
    pub async fn get(
        &self,
        id: &str,
        owner: Option<&str>,
    ) -> Result<Option<NotificationRecord>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM notifications WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let record = row.as_ref().map(record_from_row).transpose()?;
        Ok(record.filter(|r| owner.is_none_or(|owner| r.user_id == owner)))
    }
}

/// A notification being delivered (see [`NotificationStore::start_delivery`]).
#[derive(Debug)]
pub struct Delivering {
    tx: sqlx::Transaction<'static, sqlx::Any>,
}

impl Delivering {
    /// Records that the notification is in the Maildir.
    pub async fn done(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

async fn advance<'e, E>(executor: E, sequence: i64) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("UPDATE event_cursors SET sequence = $1 WHERE stream = $2 AND sequence < $3")
        .bind(sequence)
        .bind(ORDERS_STREAM)
        .bind(sequence)
        .execute(executor)
        .await?;
    Ok(())
}

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<NotificationRecord, sqlx::Error> {
    Ok(NotificationRecord {
        id: row.try_get("id")?,
        order_id: row.try_get("order_id")?,
        user_id: row.try_get("user_id")?,
        event_id: row.try_get("event_id")?,
        channel: row.try_get("channel")?,
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        send_time_ms: row.try_get("send_time_ms")?,
    })
}
