"""The `solo` command's entry point (and `python -m solo`'s): Solo's modules are imported with the
cyclic garbage collector paused, and what they made is frozen out of its collections, before the
command runs with the collector on as usual."""

from __future__ import annotations

import gc


def main() -> int:
    # The imports make a few hundred thousand objects that live as long as the process, and no
    # garbage: the collector walking them again and again while they are made, then once more
    # after, took 11-13 % of the time to a first answer (0.611 → 0.528 s and 0.664 → 0.592 s,
    # medians of 7 starts each in turn; `python -m bench startup` measures the start).
    gc.disable()
    try:
        from solo.cli import main as run
    finally:
        gc.freeze()
        gc.enable()
    return run()
