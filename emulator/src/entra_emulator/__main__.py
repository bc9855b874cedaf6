"""python -m entra_emulator: the same as the entra-emulator command."""

import sys

from .cli import main

sys.exit(main())
