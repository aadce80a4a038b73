"""Call bazaar from Python.

The messages and stubs are compiled from the contract (proto/) into
`bazaar_client.generated` by scripts/gen-clients.sh. This package adds only what the
contract cannot say by itself:

- where each service listens (`connect.address`: the default ports, or
  `BAZAAR_<SERVICE>_ADDR`, or another host through `BAZAAR_ADDR_HOST`);
- TLS that trusts the shop's own CA (`data/pki/ca.crt`, which `bazaar up` writes, or
  `BAZAAR_TLS_CA`), a client certificate for operator calls (`BAZAAR_TLS_CERT`,
  `BAZAAR_TLS_KEY`), and plaintext for a `bazaar up --plaintext` shop
  (`BAZAAR_PLAINTEXT=1`): `connect.channel_credentials`;
- who is calling: `Bazaar.with_token` gives stubs that send
  `authorization: Bearer <token>` on every call, as user-scoped RPCs require;
- a deadline on every call unless the caller sets one;
- the rich error details of a failed call (`errors`).

    from bazaar_client import Bazaar
    from bazaar_client.generated.bazaar.catalog.v1 import catalog_pb2

    with Bazaar() as shop:
        guest = shop.with_token(shop.start_guest_session().access_token)
        page = guest.catalog.ListProducts(catalog_pb2.ListProductsRequest(page_size=5))
"""

from bazaar_client.connect import DEFAULT_PORTS, Bazaar, address, channel_credentials
from bazaar_client.errors import bad_request_fields, resource_info

__all__ = ["DEFAULT_PORTS", "Bazaar", "address", "bad_request_fields", "channel_credentials", "resource_info"]
