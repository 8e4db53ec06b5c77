"""The sleep-until-next loop that timed work shares (poll ends, scheduled posts, retention, the
Server page's samples): run a step, which does what is due and says how long until the next thing
is, then sleep that long, woken early when something new is stored, never longer than the step's
answer (a restart or a clock change costs at most the step's longest sleep). A sleep of a minute
or more ends at the shared wakeup of `solo.ticks` before it, so that idle timers coalesce.

`StepLoop` runs one such loop per Federation, started and stopped by the app's lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from solo.federation.context import Federation
from solo.federation.per_federation import PerFederation, cancel_all
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


@dataclass
class _Running:
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


@dataclass(frozen=True, eq=False)
class StepLoop:
    """`run_steps` over `step(federation)` as a background task of each Federation started.

    `name` is the scheduler's in the log, `task_name` the asyncio task's; the first step waits
    `start_delay` seconds."""

    step: Callable[[Federation], Awaitable[float]]
    name: str
    task_name: str
    max_sleep: float
    start_delay: float = 0.0
    _running_of: PerFederation[_Running] = field(
        default_factory=lambda: PerFederation(_Running), init=False, repr=False
    )

    def start(self, federation: Federation) -> None:
        """Run the loop until `stop` (the app's lifespan)."""
        running = self._running_of(federation)
        task = asyncio.create_task(self._run(federation, running.wake), name=self.task_name)
        running.tasks.add(task)

    def wake(self, federation: Federation) -> None:
        """Something new was stored: the next step runs now."""
        self._running_of(federation).wake.set()

    async def stop(self, federation: Federation) -> None:
        running = self._running_of(federation)
        await cancel_all(running.tasks)
        running.tasks.clear()

    async def _run(self, federation: Federation, wake: asyncio.Event) -> None:
        if self.start_delay:
            await asyncio.sleep(self.start_delay)
        await run_steps(
            lambda: self.step(federation), wake, name=self.name, max_sleep=self.max_sleep
        )
