"""`make bench` / `python -m bench [startup|fanout|ingress|timelines|stampede …] [--profile] …`.

With no name, every benchmark runs in turn. See bench/README.md for what each one measures.
The run ends with one table: each figure, its target, MET/MISSED, and the cores Solo ran on
(`--cores 1`: a Pi-class core, where the two-core targets are marked not applied).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import traceback

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
args = parser.parse_args()
if args.cores:
    print(f"bench: {procs.pin_bench(args.cores)}")
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
        asyncio.run(fanout.run(burst=True, profile=args.profile))
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
