"""bazaar's currency service in Python: a second implementation of `bazaar.currency.v1`.

It answers exactly as the Rust service (crates/currency) does, from the same rate table
(crates/currency/data/rates.json): same rates, same rounding (half to even, once, to the
target's minor unit, in exact integer arithmetic), same validation, same status codes and
error details, same page tokens. What it shares with the Rust one is the contract only:
its messages and servicer bases come from `bazaar_client.generated`, compiled from proto/.

Layout: `money` and `table` are the rules (no I/O), `pages` the page tokens, `api` the gRPC
face, `server` the process (flags, health, reflection, limits, graceful stop).
"""
