//! The gRPC face of the notification service: read-only views of what was sent.
//!
//! Handlers stay thin: fields are parsed first (a bad one becomes an `INVALID_ARGUMENT`
//! naming it), the store answers, and every failure goes through
//! [`NotificationError`]'s single mapping to a `Status`. Every call needs a caller's token
//! (the chassis refuses a call without one before it gets here): a shopper sees only the
//! notifications of their own orders, whose owner the follower recorded from the order
//! event; another shopper's notification is NOT_FOUND, as if it did not exist. A token with
//! the admin role sees every notification.

use bazaar_contract::notification::v1::{
    self as pb, notification_service_server::NotificationService,
};
use bazaar_contract::values::calendar::timestamp;
use chassis::error::{AtField, Violations};
use chassis::page::{Paging, TimeAndId};
use chassis::store::StoreCell;
use tonic::{Request, Response, Status};

use crate::domain::NotificationId;
use crate::error::NotificationError;
use crate::store::{NotificationRecord, NotificationStore};

/// What separates the send time from the id in a page position.
const POSITION_SEPARATOR: char = '.';

/// The notification service.
#[derive(Clone, Debug)]
pub struct NotificationApi {
    store: StoreCell<NotificationStore>,
}

impl NotificationApi {
    /// A service that answers from `store` once it is open.
    pub fn new(store: StoreCell<NotificationStore>) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl NotificationService for NotificationApi {
    #[tracing::instrument(skip_all, fields(order = %request.get_ref().order_id, user))]
    async fn list_notifications(
        &self,
        request: Request<pb::ListNotificationsRequest>,
    ) -> Result<Response<pb::ListNotificationsResponse>, Status> {
        let owner = owner(&request)?;
        let request = request.into_inner();
        let mut violations = Violations::new();
        // The owner is part of the query, so a page token of one caller is refused to another.
        let paging = Paging::of(&[
            "notifications",
            owner.as_deref().unwrap_or("*"),
            &request.order_id,
        ]);
        // The position is the send time and id of the last notification of the page before.
        let page = paging.parse_with(&request, &mut violations, |position| {
            TimeAndId::decode(position, POSITION_SEPARATOR)
        });
        let page = violations
            .finish(|| page)
            .map_err(NotificationError::Invalid)?;
        let store = self.store.get()?;
        let order = (!request.order_id.is_empty()).then_some(request.order_id.as_str());
        // One more than asked tells whether another page follows.
        let mut records = store
            .list(
                owner.as_deref(),
                order,
                page.position.as_ref().map(TimeAndId::key),
                page.size + 1,
            )
            .await
            .map_err(NotificationError::from)?;
        let next_page_token = paging.next_token(&mut records, page.size, |r| {
            TimeAndId::encode(r.send_time_ms, &r.id, POSITION_SEPARATOR)
        });
        Ok(Response::new(pb::ListNotificationsResponse {
            notifications: records.into_iter().map(to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(notification = %request.get_ref().notification_id, user))]
    async fn get_notification(
        &self,
        request: Request<pb::GetNotificationRequest>,
    ) -> Result<Response<pb::GetNotificationResponse>, Status> {
        let owner = owner(&request)?;
        let id = NotificationId::parse(&request.get_ref().notification_id)
            .at("notification_id")
            .map_err(NotificationError::from)?;
        let store = self.store.get()?;
        let record = store
            .get(id.as_str(), owner.as_deref())
            .await
            .map_err(NotificationError::from)?
            .ok_or_else(|| NotificationError::NotFound(id.as_str().to_owned()))?;
        Ok(Response::new(pb::GetNotificationResponse {
            notification: Some(to_pb(record)),
        }))
    }
}

/// Whose notifications the caller may see: their own (`Some` of their user id), or every
/// one (`None`) for an admin.
fn owner<T>(request: &Request<T>) -> Result<Option<String>, Status> {
    let caller = chassis::auth::caller(request)?;
    tracing::Span::current().record("user", caller.user_id.as_str());
    Ok((!caller.is_admin()).then_some(caller.user_id))
}

fn to_pb(record: NotificationRecord) -> pb::Notification {
    pb::Notification {
        id: record.id,
        order_id: record.order_id,
        event_id: record.event_id,
        channel: i32::try_from(record.channel).unwrap_or_default(),
        recipient: record.recipient,
        subject: record.subject,
        send_time: Some(timestamp(record.send_time_ms)),
    }
}
