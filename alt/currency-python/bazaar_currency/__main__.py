"""`python -m bazaar_currency [flags]`: runs the service (see `bazaar_currency.server`)."""

import sys

from bazaar_currency.server import main

sys.exit(main())
