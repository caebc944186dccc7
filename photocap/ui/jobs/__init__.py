"""Background work: lanes (dedicated QThreads) running generator jobs."""
