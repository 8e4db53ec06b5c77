"""Conversations on the web between two instances: the list with who is in it, the last
message and the unread mark; opening one shows its messages and marks it read; a reply in
place reaches the other side; removing one takes it off the list."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_web_federation import copy_of, populated
from tests.test_web_pages import send


async def test_conversations_page_open_reply_and_remove(
    tmp_path: Path, template_root: Path
) -> None:
    async with populated(tmp_path, template_root) as (_, alice, bob):
        empty = await alice.client.get("/conversations")
        assert empty.status_code == 200 and "No conversations yet." in empty.text
        await send(
            bob.client,
            "/statuses",
            text="@alice@alice.test are we still on for Friday?",
            visibility="direct",
            back="/",
        )
        await copy_of(alice, "still on for Friday")

        listed = await alice.client.get("/conversations")
        assert 'class="conversation card unread"' in listed.text
        assert ">New</span>" in listed.text and "are we still on for Friday?" in listed.text
        assert "bob" in listed.text
        found = re.search(r'href="/conversations/(\d+)"', listed.text)
        assert found
        page_path = f"/conversations/{found.group(1)}"
        nav = await alice.client.get("/")
        assert 'href="/conversations"' in nav.text

        opened = await alice.client.get(page_path)
        assert opened.status_code == 200
        assert "are we still on for Friday?" in opened.text
        assert '<option value="direct" selected>' in opened.text
        assert "@bob@bob.test </textarea>" in opened.text
        last = re.search(r'name="in_reply_to" value="(\d+)"', opened.text)
        assert last
        after = await alice.client.get("/conversations")
        assert "conversation card unread" not in after.text and ">New</span>" not in after.text

        answered = await send(
            alice.client,
            "/statuses",
            text="@bob@bob.test yes, see you then",
            visibility="direct",
            in_reply_to=last.group(1),
            back=page_path,
        )
        assert answered.status_code == 303 and answered.headers["location"] == page_path
        shown = await alice.client.get(page_path)
        assert shown.text.index("still on for Friday") < shown.text.index("see you then")
        await copy_of(bob, "see you then")
        at_bob = await bob.client.get("/conversations")
        assert "see you then" in at_bob.text and 'class="conversation card unread"' in at_bob.text
        assert "You: " not in at_bob.text
        mine = (await alice.client.get("/conversations")).text
        assert re.search(r"You: @bob\S* yes, see you then", mine), mine

        removed = await send(alice.client, f"{page_path}/remove", back="/conversations")
        assert removed.status_code == 303
        gone = await alice.client.get("/conversations")
        assert "No conversations yet." in gone.text and "it comes back" in gone.text

        assert (await alice.client.get("/conversations/999999")).status_code == 404
        assert (await alice.client.get("/conversations/abc")).status_code == 400
        missing = await send(alice.client, "/conversations/999999/remove")
        assert missing.status_code == 404
