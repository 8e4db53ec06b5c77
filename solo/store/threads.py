"""The replies below a post in reading order, for the thread page and the API's context."""

from __future__ import annotations

from solo.db import Database
from solo.store.statuses import descendant_pairs


def reply_order(pairs: list[tuple[int, int]], root: int) -> list[tuple[int, int]]:
    """Replies depth first, oldest first among siblings, as (id, depth from the root)."""
    children: dict[int, list[int]] = {}
    for child, parent in pairs:
        children.setdefault(parent, []).append(child)
    ordered: list[tuple[int, int]] = []
    stack = [(child, 1) for child in sorted(children.get(root, []), reverse=True)]
    while stack:
        node, depth = stack.pop()
        ordered.append((node, depth))
        stack.extend((child, depth + 1) for child in sorted(children.get(node, []), reverse=True))
    return ordered


async def replies_in_order(db: Database, root: int) -> list[tuple[int, int]]:
    """Every stored reply below `root`, as `reply_order` lays them out."""
    return reply_order(await descendant_pairs(db, root), root)
