"""`python -m photocap` is the same as the `photocap` command."""

import multiprocessing
import sys

from photocap.cli import main

if __name__ == "__main__":
    # The frozen app's child processes (teaching runs in one) start through this file: let
    # multiprocessing take them over before the app starts a second time.
    multiprocessing.freeze_support()
    sys.exit(main())
