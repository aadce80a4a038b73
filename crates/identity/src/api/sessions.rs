//! Sessions and keys: opening a session, refreshing it, checking it is open, and listing
//! the public keys that verify its access tokens.

use bazaar_contract::identity::v1 as pb;
use chassis::auth::Caller;
use chassis::error::{FieldViolation, Violations};
use chassis::page::{Paging, TimeAndId};

use super::{IdentityApi, Ready, internal, timestamp};
use crate::error::IdentityError;
use crate::keys::KEY_CACHE_TTL;
use crate::session;
use crate::store::{PublicKeyRecord, SessionRecord, UserRecord};

impl IdentityApi {
    /// The session answer for `session`, with a fresh access token.
    pub(super) fn session_to_pb(
        &self,
        ready: &Ready,
        user: &UserRecord,
        session: &SessionRecord,
        refresh_token: String,
    ) -> pb::Session {
        let (access_token, access_expire_ms) = session::access_token(
            &ready.keys,
            user,
            session,
            self.roles(user),
            self.clock.now_ms(),
        );
        pb::Session {
            access_token,
            access_token_expire_time: Some(timestamp(access_expire_ms)),
            refresh_token,
            expire_time: Some(timestamp(session.expire_ms)),
        }
    }

    /// Opens and stores a session for `user`.
    pub(super) async fn open_session(
        &self,
        ready: &Ready,
        user: &UserRecord,
    ) -> Result<pb::Session, IdentityError> {
        let (session, refresh_token) =
            session::open(user, self.clock.now_ms()).map_err(internal)?;
        ready
            .store
            .create_session(&session, &session::refresh_hash(&refresh_token))
            .await?;
        Ok(self.session_to_pb(ready, user, &session, refresh_token))
    }

    /// The caller's user, if the caller's session is still open; SESSION_ENDED otherwise.
    pub(super) async fn current_user(
        &self,
        ready: &Ready,
        caller: &Caller,
    ) -> Result<UserRecord, IdentityError> {
        ready
            .store
            .session(&caller.session_id)
            .await?
            .filter(|s| s.user_id == caller.user_id && s.is_open(self.clock.now_ms()))
            .ok_or(IdentityError::SessionEnded)?;
        ready
            .store
            .user(&caller.user_id)
            .await?
            .ok_or(IdentityError::SessionEnded)
    }

    /// RefreshSession: a new access token for an open session.
    pub(super) async fn refresh(
        &self,
        request: pb::RefreshSessionRequest,
    ) -> Result<pb::RefreshSessionResponse, IdentityError> {
        let refresh_token = request.refresh_token;
        if refresh_token.is_empty() {
            return Err(FieldViolation::new("refresh_token", "is required").into());
        }
        let ready = self.ready()?;
        let session = ready
            .store
            .session_by_refresh(&session::refresh_hash(&refresh_token))
            .await?
            .filter(|s| s.is_open(self.clock.now_ms()))
            .ok_or(IdentityError::SessionEnded)?;
        let user = ready
            .store
            .user(&session.user_id)
            .await?
            .ok_or(IdentityError::SessionEnded)?;
        tracing::Span::current().record("user", user.id.as_str());
        Ok(pb::RefreshSessionResponse {
            session: Some(self.session_to_pb(ready, &user, &session, refresh_token)),
        })
    }

    /// ListSigningKeys: a page of the stored public keys, newest first.
    pub(super) async fn list_keys(
        &self,
        request: pb::ListSigningKeysRequest,
    ) -> Result<pb::ListSigningKeysResponse, IdentityError> {
        let paging = Paging::of(&["signing-keys"]);
        let mut violations = Violations::new();
        // The position is the creation time and id of the last key of the previous page.
        let page = paging.parse_with(&request, &mut violations, |position| {
            TimeAndId::decode(position, ':')
        });
        let page = violations.finish(|| page).map_err(IdentityError::Invalid)?;
        let ready = self.ready()?;
        let mut keys = ready
            .store
            .public_keys(page.position.as_ref().map(TimeAndId::key), page.size + 1)
            .await?;
        let next_page_token = paging.next_token(&mut keys, page.size, |key| {
            TimeAndId::encode(key.create_ms, &key.key_id, ':')
        });
        Ok(pb::ListSigningKeysResponse {
            signing_keys: keys.into_iter().map(key_to_pb).collect(),
            next_page_token,
            cache_ttl: Some(prost_types::Duration {
                seconds: KEY_CACHE_TTL.as_secs() as i64,
                nanos: 0,
            }),
        })
    }
}

fn key_to_pb(key: PublicKeyRecord) -> pb::SigningKey {
    pb::SigningKey {
        key_id: key.key_id,
        algorithm: pb::KeyAlgorithm::Ed25519 as i32,
        public_key: key.public_key,
        create_time: Some(timestamp(key.create_ms)),
    }
}
