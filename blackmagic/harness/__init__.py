"""LightningCLI wiring: the ``blackmagic`` subcommands, run folders, and fit-then-test."""
