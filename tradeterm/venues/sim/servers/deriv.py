"""`tradeterm sim-server deriv`: the Deriv API simulator for a person at a shell.

The first output line is the ws URL it listens on (`--port 0` picks a free port); point a config at
it with `--set venues.deriv.endpoint=URL`. Runs until interrupted (or `--duration` seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from tradeterm.venues.sim.servers.deriv_sim import DerivSimulator, FaultPlan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = free)")
    parser.add_argument("--speed", type=float, default=1.0, help="sim clock speed (1 = real time)")
    parser.add_argument("--seed", type=int, default=7, help="price path seed")
    parser.add_argument("--dialect", choices=("legacy", "new"), default="legacy")
    parser.add_argument("--history-hours", type=float, default=6.0, help="tick history kept")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after S seconds")
    f = parser.add_argument_group("faults")
    f.add_argument(
        "--drop-every",
        type=float,
        default=0.0,
        metavar="S",
        help="drop connections every S sim seconds",
    )
    f.add_argument(
        "--duplicate",
        type=float,
        default=0.0,
        metavar="P",
        help="duplicate stream frames with probability P",
    )
    f.add_argument(
        "--reorder",
        type=float,
        default=0.0,
        metavar="P",
        help="swap adjacent stream frames with probability P",
    )
    f.add_argument("--delay-ms", type=float, default=0.0, help="delay every reply")
    f.add_argument(
        "--rate-limit-every",
        type=int,
        default=0,
        metavar="N",
        help="answer every Nth request with RateLimit",
    )
    f.add_argument("--invalid-token", action="store_true", help="refuse every token (InvalidToken)")
    f.add_argument(
        "--stall-every",
        type=float,
        default=0.0,
        metavar="S",
        help="stall streams every S sim seconds",
    )
    f.add_argument(
        "--stall-for", type=float, default=0.0, metavar="S", help="stall length in sim seconds"
    )


def faults_of(args: argparse.Namespace) -> FaultPlan:
    for name in ("duplicate", "reorder"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            from tradeterm.errors import UserError

            raise UserError(f"--{name}: a probability between 0 and 1, got {getattr(args, name)}")
    return FaultPlan(
        drop_every_s=args.drop_every,
        duplicate_rate=args.duplicate,
        reorder_rate=args.reorder,
        delay_ms=args.delay_ms,
        rate_limit_every=args.rate_limit_every,
        invalid_token=args.invalid_token,
        stall_every_s=args.stall_every,
        stall_for_s=args.stall_for,
    )


def run(args: argparse.Namespace) -> int:
    if args.speed <= 0:
        from tradeterm.errors import UserError

        raise UserError(f"--speed: must be positive, got {args.speed}")
    sim = DerivSimulator(
        port=args.port,
        speed=args.speed,
        seed=args.seed,
        dialect=args.dialect,
        faults=faults_of(args),
        history_s=int(args.history_hours * 3600),
    )

    async def main() -> None:
        async with sim:
            print(sim.url, flush=True)
            if sim.otp is not None:
                print(f"OTP REST base: {sim.otp.base_url}", file=sys.stderr, flush=True)
            print(f"dialect {sim.dialect}, speed x{args.speed:g}", file=sys.stderr, flush=True)
            if args.duration > 0:
                await asyncio.sleep(args.duration)
            else:
                await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0
