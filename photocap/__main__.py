"""`python -m photocap` is the same as the `photocap` command."""

import sys

from photocap.cli import main

sys.exit(main())
