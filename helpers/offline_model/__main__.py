"""Command line: ``python -m helpers.offline_model {train,evaluate} [options]``."""

import sys

USAGE = "usage: python -m helpers.offline_model {train,evaluate} [options]  (--help after either)"


def main() -> None:
    """Dispatch to the sub-command's own argument parser."""
    if len(sys.argv) < 2 or sys.argv[1] not in ("train", "evaluate"):
        sys.exit(USAGE)
    if sys.argv[1] == "train":
        from .train import main as run
    else:
        from .evaluate import main as run
    run(sys.argv[2:])


main()
