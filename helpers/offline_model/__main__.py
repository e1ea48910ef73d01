"""Command line: ``python -m helpers.offline_model {train,evaluate,card}``."""

import sys

USAGE = "usage: python -m helpers.offline_model {train,evaluate,card} [options]"


def main() -> None:
    """Dispatch to the sub-command's own argument parser."""
    if len(sys.argv) < 2 or sys.argv[1] not in ("train", "evaluate", "card"):
        sys.exit(USAGE)
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "train":
        from .train import main as run
    elif command == "evaluate":
        from .evaluate import main as run
    else:
        from .card import main as run
    run(rest)


main()
