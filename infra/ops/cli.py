"""``python -m infra.ops``: what an operator does by hand on a stage, against real AWS or ``make run``.

    python -m infra.ops --prefix dutybridge-prod dlq list
    python -m infra.ops --prefix dutybridge-prod dlq replay --all
    python -m infra.ops --local members import people.csv      # the embedded AWS of ``make run``
    python -m infra.ops --local members link --all
    python -m infra.ops --local health [INTEGRATION_ID]

AWS is found as by the bootstrap: boto3's usual credentials and region, ``AWS_ENDPOINT_URL`` for an emulator.
Exit status: 0 done, 1 something was refused or bad (listed), 2 wrong usage.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console

from infra.ops import dlq, health, linking, members_csv

LOCAL_PREFIX = "dutybridge-local"  # devkit.runtime.PREFIX, without importing moto here


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.ops", description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--prefix", help="resource prefix of the stage (default: DUTYBRIDGE_PREFIX)")
    where.add_argument("--local", action="store_true",
                       help="the embedded AWS of make run (EMBEDDED_AWS_PORT, default 4566)")
    commands = parser.add_subparsers(dest="command", required=True)

    dlq_parser = commands.add_parser("dlq", help="dead-lettered messages").add_subparsers(dest="action", required=True)
    dlq_parser.add_parser("list", help="every DLQ's messages with the error of their last attempt")
    replay = dlq_parser.add_parser("replay", help="send messages back to their queue, then drop them from the DLQ")
    chosen = replay.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--id", action="append", dest="ids", metavar="MESSAGE_ID", help="repeatable")
    chosen.add_argument("--all", action="store_true")

    members = commands.add_parser("members", help="members").add_subparsers(dest="action", required=True)
    load = members.add_parser("import", help="create members from a CSV file (header: id,name,email,mobile)")
    load.add_argument("file", type=Path)
    link = members.add_parser("link", help="link members by mobile on an integration, or on every one")
    target = link.add_mutually_exclusive_group(required=True)
    target.add_argument("integration_id", nargs="?")
    target.add_argument("--all", action="store_true")

    shown = commands.add_parser("health", help="integrations' health (one in full, or a summary of all)")
    shown.add_argument("integration_id", nargs="?")
    return parser


def _use_stage(args: argparse.Namespace) -> None:
    """Point chalicelib at the chosen stage (its cached settings and clients forgotten when that changed)."""
    before = dict(os.environ)
    if args.local:
        os.environ.update({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{os.environ.get('EMBEDDED_AWS_PORT', '4566')}",
                           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                           "AWS_DEFAULT_REGION": "us-east-1", "DUTYBRIDGE_PREFIX": LOCAL_PREFIX})
    elif args.prefix:
        os.environ["DUTYBRIDGE_PREFIX"] = args.prefix
    if os.environ != before:
        from chalicelib.common import aws, config
        config.reset()
        aws.reset()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not (args.local or args.prefix or os.environ.get("DUTYBRIDGE_PREFIX")):
        parser.error("say which stage: --prefix dutybridge-dev, --local, or DUTYBRIDGE_PREFIX")
    _use_stage(args)
    console = Console()
    if args.command == "dlq":
        return dlq.show(console) if args.action == "list" else dlq.replay(console, args.ids)
    if args.command == "members":
        if args.action == "import":
            return members_csv.load(console, args.file)
        return linking.link(console, None if args.all else args.integration_id)
    return health.show(console, args.integration_id)
