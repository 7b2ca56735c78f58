"""Command line: ``python -m sandbox up|down|status|inventory|env|seed|prepare|fault``."""
import argparse
import sys
import time
from pathlib import Path
from typing import Callable

from . import faults, inventory, paths, status
from .engines import prepare
from .lifecycle import down, locked, up
from .model import Fleet
from .proc import SandboxError, log
from .seed import SCENARIOS, reset_host, seed_host


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Docker test hosts on this machine (state: $CW_SANDBOX_DIR).")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("up", help="bring hosts up (idempotent) and seed new ones")
    cmd.add_argument("--hosts", type=int, required=True, help="number of hosts h1..hN")
    cmd.add_argument("--engine", type=_csv, default=["stable"], help=f"engine or comma list cycled over hosts: {', '.join(paths.ENGINES)}")
    cmd.add_argument("--store", type=_csv, default=["overlay2"], help=f"image store or comma list: {', '.join(paths.STORES)}")
    cmd.add_argument("--seed", type=int, default=1, help="seed of the generated content")
    cmd.add_argument("--scenario", choices=SCENARIOS, default="basic")
    cmd.add_argument("--prefix", default=None, help="prefix of namespaces and links (default: by slot)")
    cmd = sub.add_parser("down", help="tear everything down (keeps the engine download cache)")
    cmd.add_argument("--prefix", default=None, help="prefix to clean when fleet.json is gone")
    sub.add_parser("status", help="table of hosts")
    cmd = sub.add_parser("inventory", help="Ansible INI inventory")
    cmd.add_argument("--output", type=Path, help="file to write (default: stdout)")
    cmd.add_argument("--group", default="sandbox")
    cmd.add_argument("--names", type=_csv, default=[], help="comma list of names for h1, h2, ... in order")
    cmd = sub.add_parser("env", help="print DOCKER_HOST for a host")
    cmd.add_argument("host")
    cmd = sub.add_parser("seed", help="seed a host's engine")
    cmd.add_argument("host")
    cmd.add_argument("--seed", type=int, default=1)
    cmd.add_argument("--scenario", choices=SCENARIOS, default="basic")
    cmd = sub.add_parser("reset", help="wipe a host's engine and seed it again")
    cmd.add_argument("host")
    cmd.add_argument("--seed", type=int, default=1)
    cmd.add_argument("--scenario", choices=SCENARIOS, default="basic")
    cmd = sub.add_parser("prepare", help="install/download engines only")
    cmd.add_argument("--engine", type=_csv, default=list(paths.ENGINES))
    cmd = sub.add_parser("fault", help="inject a fault")
    cmd.add_argument("fault", choices=faults.FAULTS)
    cmd.add_argument("host")
    return parser


def _seed(args: argparse.Namespace, action: Callable[..., object]) -> None:
    """Seed (or wipe and reseed) one host under the fleet lock, saving what it records."""
    with locked():
        fleet = Fleet.load()
        try:
            action(fleet.host(args.host), args.seed, args.scenario)
        finally:
            fleet.save()


def _inventory(args: argparse.Namespace) -> None:
    text = inventory.render(Fleet.load(), args.group, args.names)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        log(f"inventory written to {args.output}")
    else:
        sys.stdout.write(text)


def _dispatch(args: argparse.Namespace) -> None:
    if args.command == "up":
        up(args.hosts, args.engine, args.store, args.seed, args.scenario, args.prefix)
    elif args.command == "down":
        down(args.prefix)
    elif args.command == "status":
        sys.stdout.write(status.render(Fleet.load()))
    elif args.command == "inventory":
        _inventory(args)
    elif args.command == "env":
        print(f"DOCKER_HOST={Fleet.load().host(args.host).docker_host}")
    elif args.command == "seed":
        _seed(args, seed_host)
    elif args.command == "reset":
        _seed(args, reset_host)
    elif args.command == "prepare":
        for engine in prepare(args.engine):
            log(f"engine {engine.key}: ready (cli {engine.cli})")
    elif args.command == "fault":
        faults.inject(Fleet.load(), args.fault, args.host)


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status."""
    args = _parser().parse_args(argv)
    started = time.monotonic()
    try:
        _dispatch(args)
    except SandboxError as exc:
        print(f"sandbox {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sandbox {args.command}: interrupted", file=sys.stderr)
        return 130
    if args.command in ("up", "down", "seed", "prepare"):
        log(f"{args.command} finished in {time.monotonic() - started:.1f}s")
    return 0
