//! Raw gRPC calls: request bytes in, response bytes out, through `tonic::client::Grpc` with a
//! codec that passes bytes through. No generated client is needed, so any method of the
//! descriptor set can be called with any body, including bodies no generated client could
//! encode.

use std::time::Duration;

use bazaar_testkit::Shop;
use prost::bytes::{Buf, BufMut, Bytes};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

/// How long one call may take before it counts as hung.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a server stream is read before the fuzzer hangs up: long enough for the first
/// message or error, and a stream that stays open is a fine answer.
const STREAM_LISTEN: Duration = Duration::from_millis(300);

/// The channel every fuzzed call goes through: TLS, showing the client certificate of the
/// caller the access table expects for `service`'s service-only RPCs (orders for payment,
/// shipping and inventory), else the operator's, so that fuzzed bodies get past the access
/// rules to the handlers. Calls without a certificate are covered by the access matrix.
pub(crate) fn connect(shop: &Shop, service: &str) -> Channel {
    let caller = bazaar_contract::access::trusted_caller(service).unwrap_or(chassis::pki::OPERATOR);
    shop.channel_with(service, &chassis::testing::client_tls(Some(caller)))
}

/// A codec whose messages are the encoded bytes themselves.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// What a call came to.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// An answer (for a stream: its first message, or no message within the listening time).
    Answered,
    /// A status from the server, or from the transport when the call broke.
    Refused(Status),
    /// No answer within [`CALL_TIMEOUT`].
    Hung,
}

/// Calls `path` (`/package.Service/Method`) with `body`, as `authorization` (a full
/// metadata value, `Bearer ...`) when given.
pub(crate) async fn call(
    channel: Channel,
    path: &str,
    server_streaming: bool,
    body: Bytes,
    authorization: Option<&str>,
) -> Outcome {
    let path: tonic::codegen::http::uri::PathAndQuery = match path.parse() {
        Ok(path) => path,
        Err(error) => panic!("{path} is not a gRPC path: {error}"),
    };
    let mut request = Request::new(body);
    if let Some(value) = authorization {
        match MetadataValue::try_from(value) {
            Ok(value) => {
                request.metadata_mut().insert("authorization", value);
            }
            Err(error) => panic!("{value:?} is not a metadata value: {error}"),
        }
    }
    let mut grpc = tonic::client::Grpc::new(channel);
    let call = async move {
        if let Err(error) = grpc.ready().await {
            return Outcome::Refused(Status::new(
                Code::Unavailable,
                format!("channel not ready: {error}"),
            ));
        }
        if server_streaming {
            match grpc.server_streaming(request, path, RawCodec).await {
                Ok(response) => {
                    let mut stream = response.into_inner();
                    match tokio::time::timeout(STREAM_LISTEN, stream.message()).await {
                        Ok(Err(status)) => Outcome::Refused(status),
                        Ok(Ok(_)) | Err(_) => Outcome::Answered,
                    }
                }
                Err(status) => Outcome::Refused(status),
            }
        } else {
            match grpc.unary(request, path, RawCodec).await {
                Ok(_) => Outcome::Answered,
                Err(status) => Outcome::Refused(status),
            }
        }
    };
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or(Outcome::Hung)
}
