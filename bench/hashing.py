"""How well the event loop keeps running while bcrypt hashes (app.core.security).

Hashing runs in a small thread pool; bcrypt releases the GIL, so the loop should keep
its timer ticks while passwords are hashed. This prints, for each bcrypt cost and a
number of concurrent hashes, the hashing time and how many 10 ms ticks the loop made
against how many it would make if nothing got in its way. A loop blocked by hashing
would score near 0 %.

    .venv/bin/python bench/hashing.py                  # costs 10 and 12, 1/2/4 at once
    .venv/bin/python bench/hashing.py --costs 12 --concurrency 8
"""

import argparse
import asyncio
import os
import platform
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TICK = 0.01


async def ticks_while_hashing(concurrency: int) -> tuple[float, int]:
    from app.core import security

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(TICK)
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.sleep(TICK)  # let the ticker start before the clock does
    ticks = 0
    started = time.perf_counter()
    await asyncio.gather(*(security.hash_password(f"pw-{n}") for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    task.cancel()
    return elapsed, ticks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--costs", default="10,12", help="bcrypt costs, comma-separated")
    parser.add_argument("--concurrency", default="1,2,4", help="hashes at once, comma-separated")
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
    from app.core.config import settings

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    print()
    print("| bcrypt cost | hashes at once | hashing ms | loop ticks | of expected | share |")
    print("|---|---|---|---|---|---|")
    for cost in (int(value) for value in args.costs.split(",")):
        settings.BCRYPT_ROUNDS = cost
        for concurrency in (int(value) for value in args.concurrency.split(",")):
            elapsed, ticks = asyncio.run(ticks_while_hashing(concurrency))
            expected = elapsed / TICK
            print(f"| {cost} | {concurrency} | {elapsed * 1000:.0f} | {ticks} | "
                  f"{expected:.0f} | {ticks / expected:.0%} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
