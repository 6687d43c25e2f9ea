"""``python -m inc_core.cli``."""

import sys

from inc_core.cli.main import main

sys.exit(main())
