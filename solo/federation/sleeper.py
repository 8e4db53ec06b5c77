"""The sleep-until-next loop that timed work shares (poll ends, scheduled posts): run a step,
which does what is due and says how long until the next thing is, then sleep that long, woken
early when something new is stored, never longer than the step's answer (a restart or a clock
change costs at most the step's longest sleep). A sleep of a minute or more ends at the shared
wakeup of `solo.ticks` before it, so that idle timers coalesce."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from solo.ticks import next_tick

log = logging.getLogger(__name__)


async def run_steps(
    step: Callable[[], Awaitable[float]], wake: asyncio.Event, *, name: str, max_sleep: float
) -> None:
    """Forever: `step()`, then sleep its answer or until `wake` is set. A failing step is
    logged and tried again after `max_sleep`: nobody awaits this loop."""
    while True:
        wake.clear()
        try:
            delay = await step()
        except Exception:
            log.exception("the %s scheduler's step failed", name)
            delay = max_sleep
        try:
            async with asyncio.timeout(next_tick(delay)):
                await wake.wait()
        except TimeoutError:
            pass
