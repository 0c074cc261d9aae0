"""A crowd of one user's open Items tabs, in a process of its own, so that what its tabs
receive costs the test's own tabs nothing (as another user's browser would not):
`python -m tests.live.crowd BASE_URL ACCESS_TOKEN COUNT` prints "ready" once every tab
shows its table, and closes them when its stdin closes."""

import asyncio
import sys

from tests.live.reflex_tab import ITEMS, Tab


async def main(base: str, token: str, count: int) -> None:
    async def items_tab() -> Tab:
        tab = Tab(base)
        await tab.open("/items", token)
        await tab.wait_for(ITEMS, "loaded", lambda loaded: loaded is True)
        # Only this process's memory would grow with what the tab receives.
        tab.updates.clear()
        return tab

    tabs = [await items_tab() for _ in range(count)]
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await asyncio.gather(*(tab.close() for tab in tabs))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
