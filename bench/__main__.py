"""`python -m bench` (what `invoke bench` runs); see bench.run for the options."""

import sys

from bench.run import main

sys.exit(main())
