//! Carts in Redis: one key per cart holding its JSON, one key per remembered AddItem call
//! holding its JSON with an expiry.
//!
//! Every document carries a `version`. A commit runs one Lua script, atomic on the server,
//! that checks every key still holds its expected version and only then writes them all,
//! so concurrent changes to a cart never lose one another. (WATCH/MULTI would need a
//! connection of its own per call; the script works on the shared multiplexed
//! [`ConnectionManager`], which reconnects by itself.)

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use super::{CartStore, Commit, RequestRecord};
use crate::domain::Cart;
use crate::error::CartError;

/// Writes every key if each still holds the expected version (0: absent).
/// ARGV, three per key: expected version, new JSON, expiry in ms (0: none).
const COMPARE_AND_SET: &str = r#"
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  local version = 0
  if current then version = cjson.decode(current)['version'] end
  if version ~= tonumber(ARGV[3 * i - 2]) then return 0 end
end
for i, key in ipairs(KEYS) do
  local ttl = tonumber(ARGV[3 * i])
  if ttl > 0 then
    redis.call('SET', key, ARGV[3 * i - 1], 'PX', ttl)
  else
    redis.call('SET', key, ARGV[3 * i - 1])
  end
end
return 1
"#;

/// Whether `url` names a Redis server.
pub fn is_redis_url(url: &str) -> bool {
    url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("redis+unix:")
}

/// Carts on a Redis server, through one multiplexed connection that reconnects by itself;
/// clones share it.
#[derive(Clone)]
pub struct RedisCartStore {
    connection: ConnectionManager,
    prefix: String,
    script: Script,
}

impl std::fmt::Debug for RedisCartStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCartStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisCartStore {
    /// Connects to the server of `client`; every key starts with `prefix`.
    pub async fn connect(client: redis::Client, prefix: &str) -> Result<Self, CartError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
            script: Script::new(COMPARE_AND_SET),
        })
    }

    fn cart_key(&self, owner: &str) -> String {
        format!("{}cart:{owner}", self.prefix)
    }

    /// Request ids hold no `:`, so the key is unambiguous whatever the owner id holds.
    fn request_key(&self, owner: &str, request_id: &str) -> String {
        format!("{}add-item:{owner}:{request_id}", self.prefix)
    }
}

#[async_trait::async_trait]
impl CartStore for RedisCartStore {
    async fn cart(&self, owner: &str) -> Result<Cart, CartError> {
        let mut connection = self.connection.clone();
        let json: Option<String> = connection.get(self.cart_key(owner)).await?;
        match json {
            Some(json) => Ok(serde_json::from_str(&json)?),
            None => Ok(Cart::default()),
        }
    }

    async fn request(
        &self,
        owner: &str,
        request_id: &str,
    ) -> Result<Option<RequestRecord>, CartError> {
        let mut connection = self.connection.clone();
        let json: Option<String> = connection.get(self.request_key(owner, request_id)).await?;
        Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
    }

    async fn commit(&self, commit: &Commit) -> Result<bool, CartError> {
        if commit.is_empty() {
            return Ok(true);
        }
        let mut invocation = self.script.prepare_invoke();
        for write in &commit.carts {
            invocation
                .key(self.cart_key(&write.owner))
                .arg(write.expected_version)
                .arg(serde_json::to_string(&write.cart)?)
                .arg(0_i64);
        }
        if let Some(write) = &commit.request {
            let ttl = (write.record.expires_at_ms - commit.now_ms).max(1);
            invocation
                .key(self.request_key(&write.owner, &write.request_id))
                .arg(write.expected_version)
                .arg(serde_json::to_string(&write.record)?)
                .arg(ttl);
        }
        let mut connection = self.connection.clone();
        let written: i64 = invocation.invoke_async(&mut connection).await?;
        Ok(written == 1)
    }

    /// Nothing to do: every record is written with a key expiry at its `expires_at_ms`.
    async fn sweep_requests(&self, _now_ms: i64, _limit: u32) -> Result<u64, CartError> {
        Ok(0)
    }

    async fn check(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut connection = self.connection.clone();
        let _: String = ::redis::cmd("PING").query_async(&mut connection).await?;
        Ok(())
    }

    async fn close(&self) {}
}
