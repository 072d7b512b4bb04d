"""``secrmm-sim``: the simulator's command line.

Each area registers its own subcommands (``register(subcommands)``) and sets
``handler`` on its parser; this module only parses, configures logging and
dispatches. Library modules never configure logging; this is where it happens.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from . import demo
from .scenarios import cli as scenario_cli
from .usb import cli as usb_cli
from .workspace import cli as workspace_cli

__all__ = ["main"]

_AREAS = (workspace_cli, scenario_cli, demo, usb_cli)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="secrmm-sim",
        description="Simulated removable-storage world and mock Log Analytics workspace.",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="how much to log on stderr (default: WARNING)",
    )
    subcommands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND"
    )
    for area in _AREAS:
        area.register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        status: int = args.handler(args)
    except BrokenPipeError:
        # The reader went away (`secrmm-sim query ... | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return status


if __name__ == "__main__":
    raise SystemExit(main())
