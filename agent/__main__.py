"""``python -m agent``: the same as the ``secrmm-agent`` command."""

import sys

from .cli import main

sys.exit(main())
