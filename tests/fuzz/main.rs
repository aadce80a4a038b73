//! Every RPC of every service, called with requests made at random from the contract's
//! descriptor set, through real sockets to the whole shop started in this process.
//!
//! For each method of each service in [`bazaar_contract::FILE_DESCRIPTOR_SET`], the test
//! sends [`DEFAULT_CASES`] bodies ([`generate`]: messages of the request type with values
//! from the edges of each field's type, unknown fields, and bytes that are no message at
//! all), each as one of five callers in turn: no caller, a guest, a signed-up user, the
//! administrator, and an `authorization` value of random text. Any answer the contract
//! allows is fine, refusals included (INVALID_ARGUMENT, NOT_FOUND, UNAUTHENTICATED,
//! PERMISSION_DENIED, ...). What fails the test:
//!
//! - a panic on any thread of the process (every service runs in it, so a handler that
//!   panics is seen where it happens, whatever the client got);
//! - a call that broke (a stream reset, a connection closed under it: the client makes up
//!   a status of some code, with the transport error as its source);
//! - INTERNAL, UNKNOWN, DATA_LOSS, CANCELLED or UNAVAILABLE from the server (a handler that
//!   failed), except INTERNAL with tonic's decode error for bytes that are indeed no
//!   message of the request type, which is what gRPC's status code table prescribes for a
//!   request that cannot be parsed;
//! - a call with no answer within 20 s;
//! - a service that does not answer health SERVING afterwards.
//!
//! `BAZAAR_FUZZ_SEED` replays a run (the seed is printed, and named in every failure);
//! `BAZAAR_FUZZ_CASES` sends more bodies per method; `BAZAAR_FUZZ_METHOD` keeps only the
//! methods whose full name contains it. The run on PostgreSQL needs
//! `BAZAAR_TEST_POSTGRES_URL` and says so when it is skipped.

mod generate;
mod wire;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, Once, PoisonError};

use bazaar_contract::identity::v1::SignUpRequest;
use bazaar_contract::identity::v1::identity_service_client::IdentityServiceClient;
use bazaar_testkit::Shop;
use bazaar_testkit::buyer::{self, Token};
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::generate::{Body, Generator, Rng};
use crate::wire::Outcome;

/// Bodies sent to each method unless `BAZAAR_FUZZ_CASES` says otherwise.
const DEFAULT_CASES: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_survives_random_requests_on_sqlite() {
    fuzz_the_shop("fuzz (sqlite)", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_survives_random_requests_on_postgres() {
    fuzz_the_shop("fuzz (postgres)", true).await;
}

/// Who a request claims to come from.
#[derive(Clone, Copy, Debug)]
enum Caller {
    Nobody,
    Guest,
    User,
    Admin,
    /// An `authorization` value of random printable text.
    Forged,
}

const CALLERS: [Caller; 5] = [
    Caller::Nobody,
    Caller::Guest,
    Caller::User,
    Caller::Admin,
    Caller::Forged,
];

/// The tokens of the callers that have one.
struct Tokens {
    guest: Token,
    user: Token,
    admin: Token,
}

impl Tokens {
    async fn of(shop: &Shop) -> Self {
        let session = IdentityServiceClient::new(wire::connect(shop, "identity"))
            .sign_up(SignUpRequest {
                email: format!("{}@bazaar.test", buyer::unique("fuzz")),
                password: "the password of a fuzzed shopper".to_owned(),
                display_name: "Fuzzed Shopper".to_owned(),
            })
            .await
            .expect("a shopper signs up")
            .into_inner()
            .session
            .expect("the response carries the session");
        Self {
            guest: buyer::guest(shop).await,
            user: Token(session.access_token),
            admin: buyer::admin(shop).await,
        }
    }

    /// The `authorization` value `caller` sends, if any.
    fn authorization(&self, caller: Caller, rng: &mut Rng) -> Option<String> {
        let bearer = |token: &Token| Some(format!("Bearer {}", token.0));
        match caller {
            Caller::Nobody => None,
            Caller::Guest => bearer(&self.guest),
            Caller::User => bearer(&self.user),
            Caller::Admin => bearer(&self.admin),
            Caller::Forged => {
                let len = rng.below(200);
                let text: String = (0..len)
                    .map(|_| char::from(b' ' + (rng.below(95) as u8)))
                    .collect();
                Some(match rng.below(3) {
                    0 => text,
                    // A token whose signature part was replaced.
                    1 => {
                        let token = &self.user.0;
                        let cut = token.rfind('.').unwrap_or(0);
                        format!("Bearer {}.{}", &token[..cut], text.replace(' ', "x"))
                    }
                    _ => format!("Bearer {text}"),
                })
            }
        }
    }
}

/// What one call broke, for the report.
struct Finding {
    method: String,
    case: usize,
    caller: Caller,
    problem: String,
    body: Body,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, bytes) = match &self.body {
            Body::Message(bytes) => ("message", bytes),
            Body::Garbage(bytes) => ("garbage", bytes),
        };
        let mut hex = String::new();
        for byte in bytes.iter().take(160) {
            let _ = write!(hex, "{byte:02x}");
        }
        let more = if bytes.len() > 160 { "..." } else { "" };
        write!(
            f,
            "{} case {} as {:?}: {}\n    {kind} of {} bytes: {hex}{more}",
            self.method,
            self.case,
            self.caller,
            self.problem,
            bytes.len()
        )
    }
}

async fn fuzz_the_shop(test: &str, postgres: bool) {
    catch_panics();
    let Some(shop) = Shop::builder(test).postgres_if(postgres).start().await else {
        return;
    };
    let seed = std::env::var("BAZAAR_FUZZ_SEED").map_or_else(
        |_| {
            let mut bytes = [0_u8; 8];
            getrandom::fill(&mut bytes).expect("randomness for the seed");
            u64::from_le_bytes(bytes)
        },
        |text| text.parse().expect("BAZAAR_FUZZ_SEED is a number"),
    );
    let cases = std::env::var("BAZAAR_FUZZ_CASES").map_or(DEFAULT_CASES, |text| {
        text.parse().expect("BAZAAR_FUZZ_CASES is a number")
    });
    let only = std::env::var("BAZAAR_FUZZ_METHOD").unwrap_or_default();
    eprintln!("{test}: seed {seed} (BAZAAR_FUZZ_SEED={seed} replays it), {cases} cases a method");

    let pool = DescriptorPool::decode(bazaar_contract::FILE_DESCRIPTOR_SET)
        .expect("the contract's descriptor set decodes");
    let tokens = Tokens::of(&shop).await;
    let root = Rng::new(seed);
    let mut findings = Vec::new();
    // Per method, per answer: how many, and the first message.
    let mut answers: BTreeMap<String, BTreeMap<String, (usize, String)>> = BTreeMap::new();
    let mut methods = 0;
    for service in pool.services() {
        let Some(name) = shop_service(service.full_name()) else {
            continue;
        };
        let channel = wire::connect(&shop, name);
        for method in service.methods() {
            if !method.full_name().contains(&only) {
                continue;
            }
            methods += 1;
            let mut rng = root.fork(method.full_name());
            let tally = answers.entry(method.full_name().to_owned()).or_default();
            for case in 0..cases {
                let caller = CALLERS[case % CALLERS.len()];
                let body = Generator::new(&mut rng).body(&method.input());
                let authorization = tokens.authorization(caller, &mut rng);
                let outcome = wire::call(
                    channel.clone(),
                    &path(&method),
                    method.is_server_streaming(),
                    body.bytes(),
                    authorization.as_deref(),
                )
                .await;
                let (count, _) = tally.entry(label(&outcome)).or_insert_with(|| {
                    let example = match &outcome {
                        Outcome::Refused(status) => status.message().chars().take(100).collect(),
                        Outcome::Answered | Outcome::Hung => String::new(),
                    };
                    (0, example)
                });
                *count += 1;
                if let Some(problem) = problem(&outcome, &body, &method.input()) {
                    findings.push(Finding {
                        method: method.full_name().to_owned(),
                        case,
                        caller,
                        problem,
                        body,
                    });
                }
            }
        }
    }
    for (method, tally) in &answers {
        eprintln!("{method}:");
        for (answer, (count, example)) in tally {
            eprintln!("    {answer} {count} {example:?}");
        }
    }

    let mut unhealthy = Vec::new();
    for spec in bazaar_testkit::grpc_services() {
        let status = chassis::testing::health(&wire::connect(&shop, spec.name), "").await;
        if !matches!(status, Ok(ServingStatus::Serving)) {
            unhealthy.push(format!("{}: {status:?}", spec.name));
        }
    }
    let panics = std::mem::take(&mut *PANICS.lock().unwrap_or_else(PoisonError::into_inner));
    shop.shutdown().await;

    assert!(methods > 0, "no method matches BAZAAR_FUZZ_METHOD={only:?}");
    // The first finding of each method, and how many it had.
    let mut report = String::new();
    let mut per_method: BTreeMap<&str, (usize, &Finding)> = BTreeMap::new();
    for finding in &findings {
        per_method.entry(&finding.method).or_insert((0, finding)).0 += 1;
    }
    for (count, first) in per_method.values() {
        let _ = writeln!(report, "  {count} in {first}");
    }
    for panic in &panics {
        let _ = writeln!(report, "  panic: {panic}");
    }
    for service in &unhealthy {
        let _ = writeln!(report, "  not SERVING afterwards: {service}");
    }
    assert!(
        report.is_empty(),
        "{test}, seed {seed} (BAZAAR_FUZZ_SEED={seed} replays it): {} findings, {} panics, \
         {} services not serving:\n{report}",
        findings.len(),
        panics.len(),
        unhealthy.len()
    );
}

/// The shop's name of the service `full_name` (`bazaar.catalog.v1.CatalogService` is
/// `catalog`); `None` for services of the descriptor set that the shop does not run.
fn shop_service(full_name: &str) -> Option<&'static str> {
    let package = full_name.strip_prefix("bazaar.")?.split('.').next()?;
    bazaar_testkit::grpc_services()
        .find(|spec| spec.name == package)
        .map(|spec| spec.name)
}

/// `/package.Service/Method`.
fn path(method: &MethodDescriptor) -> String {
    format!("/{}/{}", method.parent_service().full_name(), method.name())
}

/// The answer as counted in the summary: `OK`, the status code, or `hung`.
fn label(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Answered => "OK".to_owned(),
        Outcome::Refused(status) => format!("{:?}", status.code()),
        Outcome::Hung => "hung".to_owned(),
    }
}

/// What is wrong with `outcome` as the answer to `body`, if anything.
fn problem(outcome: &Outcome, body: &Body, input: &MessageDescriptor) -> Option<String> {
    let status = match outcome {
        Outcome::Answered => return None,
        Outcome::Hung => return Some("no answer within 20 s".to_owned()),
        Outcome::Refused(status) => status,
    };
    // A status the client made up from a broken stream or connection (an HTTP/2 reset, a
    // GOAWAY) is a failure whatever code it was given: the server never answered.
    if let Some(source) = std::error::Error::source(status) {
        return Some(format!(
            "the call broke ({:?}: {}): {source:?}",
            status.code(),
            status.message()
        ));
    }
    match status.code() {
        Code::Internal if is_unparseable(body, input) && is_decode_error(status) => None,
        Code::Internal | Code::Unknown | Code::DataLoss | Code::Cancelled | Code::Unavailable => {
            Some(format!("{:?}: {}", status.code(), status.message()))
        }
        _ => None,
    }
}

/// Whether `body` is bytes that do not decode as a request of type `input`.
fn is_unparseable(body: &Body, input: &MessageDescriptor) -> bool {
    matches!(body, Body::Garbage(bytes) if DynamicMessage::decode(input.clone(), bytes.clone()).is_err())
}

/// Whether `status` is tonic's answer to a request it could not decode.
fn is_decode_error(status: &tonic::Status) -> bool {
    status
        .message()
        .starts_with("failed to decode Protobuf message")
}

/// Panics seen on any thread since [`catch_panics`], with the thread's name.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records every panic of the process in [`PANICS`], then reports it as usual.
fn catch_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("unnamed").to_owned();
            // A failing assertion of one of these tests is its own report, not a finding
            // of the other.
            if !name.contains("every_rpc_survives") {
                PANICS
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(format!("on thread {name}: {info}"));
            }
            previous(info);
        }));
    });
}
