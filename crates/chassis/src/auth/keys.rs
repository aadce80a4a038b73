//! Where a verifier gets keys: identity's `ListSigningKeys`, page by page.
//!
//! [`Verifier::from_identity`] takes any gRPC channel to identity: the chassis
//! [`Upstream`](crate::client::Upstream) in a service, a plain tonic channel in a test. Auth
//! therefore needs nothing from the outbound client, which itself depends on auth to carry
//! callers' tokens: the dependency between the two runs one way only.

use bazaar_contract::identity::v1::ListSigningKeysRequest;
use bazaar_contract::identity::v1::identity_service_client::IdentityServiceClient;
use ed25519_dalek::VerifyingKey;
use tonic::Status;
use tonic::client::GrpcService;
use tonic::codegen::{Body, Bytes, StdError};

use super::Verifier;

/// Keys asked for per page.
const PAGE_SIZE: i32 = 100;

impl Verifier {
    /// A verifier that fetches keys from identity through `identity` when it meets a key
    /// it does not know (at most every 30 s), and in the background with
    /// [`Verifier::spawn_refresher`].
    pub fn from_identity<T>(identity: T) -> Self
    where
        T: GrpcService<tonic::body::Body> + Clone + Send + Sync + 'static,
        T::Future: Send,
        T::Error: Into<StdError>,
        T::ResponseBody: Body<Data = Bytes> + Send + 'static,
        <T::ResponseBody as Body>::Error: Into<StdError> + Send,
    {
        Self::fetching(Box::new(move |verifier| {
            Box::pin(fetch_into(
                IdentityServiceClient::new(identity.clone()),
                verifier,
            ))
        }))
    }
}

/// Adds every key identity lists to `verifier`. Keys of the pages read before a failure
/// stay added.
async fn fetch_into<T>(
    mut client: IdentityServiceClient<T>,
    verifier: Verifier,
) -> Result<usize, Status>
where
    T: GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    let mut token = String::new();
    let mut added = 0;
    loop {
        let page = client
            .list_signing_keys(ListSigningKeysRequest {
                page_size: PAGE_SIZE,
                page_token: token,
            })
            .await?
            .into_inner();
        for key in page.signing_keys {
            let bytes: [u8; 32] = match key.public_key.as_slice().try_into() {
                Ok(bytes) => bytes,
                Err(_) => continue,
            };
            if let Ok(verifying) = VerifyingKey::from_bytes(&bytes) {
                verifier.add_key(key.key_id, verifying);
                added += 1;
            }
        }
        if page.next_page_token.is_empty() {
            return Ok(added);
        }
        token = page.next_page_token;
    }
}
