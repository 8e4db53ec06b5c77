"""`make bench` / `python -m bench [startup|fanout|ingress|timelines|stampede …] [--profile] …`.

With no name, every benchmark runs in turn. See bench/README.md for what each one measures.
The run ends with one table: each figure, its target, MET/MISSED, and the cores Solo ran on
(`--cores 1`: a Pi-class core, where the two-core targets are marked not applied).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import traceback
from types import ModuleType

from bench import (
    api,
    archive,
    backup,
    coldkeys,
    fanout,
    filters,
    ingress,
    lists_tags,
    media,
    procs,
    sdcard,
    search,
    stampede,
    startup,
    summary,
    timelines,
    wire,
)

NAMES = (
    "startup",
    "fanout",
    "ingress",
    "coldkeys",
    "burst",
    "timelines",
    "media",
    "api",
    "filters",
    "archive",
    "lists",
    "backup",
    "search",
    "stampede",
    "wire",
    "sdcard",
)

parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
parser.add_argument(
    "names", nargs="*", metavar="NAME", help=f"of {', '.join(NAMES)} (default: all)"
)
parser.add_argument("--profile", action="store_true", help="py-spy Solo; print its top functions")
parser.add_argument(
    "--delay", type=float, default=0.0, help="fanout, coldkeys: fleet answers held back this long"
)
parser.add_argument(
    "--servers",
    type=int,
    default=0,
    help="fanout: one case of this many servers (a quick run: 2000), its target scaled",
)
parser.add_argument(
    "--concurrency", type=int, default=64, help="ingress: connections of the sustained phase"
)
parser.add_argument(
    "--cores",
    type=int,
    default=0,
    help="pin Solo to this many cores (1: a Pi-class core), the load generator to the others",
)
parser.add_argument(
    "--quick",
    action="store_true",
    help="smaller sizes for development (the summary says so); the default is the issue's",
)
parser.add_argument(
    "--loop",
    choices=["asyncio", "uvloop"],
    default="asyncio",
    help="the event loop Solo serves on: asyncio's (what `make run` installs) or uvloop's"
    " (the optional `solo[fast]`)",
)
args = parser.parse_args()
os.environ["SOLO_EVENT_LOOP"] = args.loop  # every `solo` the benchmarks start inherits it
if args.cores:
    print(f"bench: {procs.pin_bench(args.cores)}")

# --quick: the sizes that make the full run long, cut to a fifth or so. The targets stay those of
# the sizes, so the figures only show that everything runs and roughly where it stands.
QUICK: dict[tuple[ModuleType, str], float] = {
    (startup, "RUNS"): 3,
    (startup, "IDLE_WINDOW"): 15.0,
    (timelines, "STATUSES"): 20_000,
    (ingress, "BACKLOG"): 6_000,
    (archive, "POSTS"): 2_000,
    (archive, "IMAGES"): 400,
    (backup, "TARGET_BYTES"): 200 * 1024**2,
    (sdcard, "IDLE_SECONDS"): 15.0,
    (sdcard, "RETENTION_POSTS"): 100_000,
    (sdcard, "RETENTION_MORE"): 50_000,
}
QUICK_SERVERS = 2_000
if args.quick:
    os.environ["SOLO_BENCH_QUICK"] = "1"
    for (module, name), value in QUICK.items():
        setattr(module, name, type(getattr(module, name))(value))
    args.servers = args.servers or QUICK_SERVERS
unknown = [name for name in args.names if name not in NAMES]
if unknown:
    parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(NAMES)}")


def run(name: str) -> None:
    if name == "startup":
        startup.main()
    elif name == "fanout":
        asyncio.run(fanout.main(profile=args.profile, delay=args.delay, servers=args.servers))
    elif name == "ingress":
        asyncio.run(ingress.run(profile=args.profile, concurrency=args.concurrency))
    elif name == "coldkeys":
        coldkeys.main(profile=args.profile, delay=args.delay)
    elif name == "burst":
        case = fanout.cases(args.servers, 0.0)[0] if args.quick else fanout.TEN_THOUSAND
        asyncio.run(fanout.run(case, burst=True, profile=args.profile))
    elif name == "timelines":
        asyncio.run(timelines.run(profile=args.profile))
    elif name == "media":
        media.main()
    elif name == "api":
        asyncio.run(api.run(profile=args.profile))
    elif name == "filters":
        asyncio.run(filters.run())
    elif name == "archive":
        archive.main()
    elif name == "lists":
        asyncio.run(lists_tags.run())
    elif name == "backup":
        asyncio.run(backup.run())
    elif name == "search":
        asyncio.run(search.run())
    elif name == "stampede":
        asyncio.run(stampede.run(profile=args.profile))
    elif name == "wire":
        asyncio.run(wire.run())
    elif name == "sdcard":
        asyncio.run(sdcard.run(profile=args.profile))


began = time.monotonic()
for name in args.names or NAMES:
    summary.begin(name)
    try:
        run(name)
    except KeyboardInterrupt:
        break
    except Exception as error:  # noqa: BLE001 - one failing must not lose the others' figures
        traceback.print_exc()
        summary.failed(name, error)
    sys.stdout.flush()
print()
print(summary.table(time.monotonic() - began))
print(summary.machine_speed())
