"""`python -m endpoint --port N` runs the endpoint; see endpoint.cli for the commands."""

import sys

from .cli import main

sys.exit(main())
