"""`python -m redisha.sentinel CONF`: see `redisha.sentinel.process`."""

import sys

from redisha.sentinel.process import main

sys.exit(main())
