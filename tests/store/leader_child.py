"""A controller's election alone, in a process of its own (killed with -9 by
tests/store/test_leadership.py): prints 'leading <epoch>' when it leads."""

from __future__ import annotations

import asyncio
import sys

from hotline.cluster.leader import Leadership


async def main(url: str, node: str) -> None:
    leadership = Leadership(url, node, poll=0.2, heartbeat=0.5)
    leadership.subscribe(lambda epoch: print(f"leading {epoch}" if epoch else "follower", flush=True))
    await leadership.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
