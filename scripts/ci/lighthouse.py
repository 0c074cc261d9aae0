"""Lighthouse's check of every page (#26 part 5): accessibility, best practices and SEO
1.0, performance 0.9 (a page under it, or one Lighthouse failed to measure, is measured
again, twice at most: a shared machine has slow moments), on the one-port production
server, in Debian's Chromium, mobile defaults.

    python scripts/ci/lighthouse.py [--out FOLDER] [--performance gate|report]

Starts `reflex run --env prod` on a fresh SQLite database (migrated, with the first
superuser, one item), installs Lighthouse from the npm registry into .tools when it is
missing (the version pinned in devtools/lighthouse.py), runs scripts/ci/lighthouse.mjs
over the public pages and then, signed in as the superuser, the others; prints the
scores and first-visit figures per page and exits 1 if any page misses a target (with
`--performance report`, performance is printed and does not fail it). The signed-in
pages carry `noindex` on purpose (app/ui/components/layout.py PRIVATE_PAGE):
Lighthouse's `is-crawlable` audit is the one SEO audit they are allowed to fail.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from devtools.lighthouse import (  # noqa: E402
    app_server,
    install_lighthouse,
    page_entries,
    run_pages,
    sign_in,
    table,
)

TARGETS = {"accessibility": 1.0, "best-practices": 1.0, "seo": 1.0, "performance": 0.9}
ALLOWED_ON_PRIVATE = {"seo:is-crawlable"}
# A page Lighthouse could not measure (NO_NAVSTART now and then), or under the
# performance target when that gates, is measured again, at most this many times.
RETRIES = 2


def slow(result: dict[str, Any]) -> bool:
    return (result["scores"].get("performance") or 0) < TARGETS["performance"]


def misses(result: dict[str, Any], performance: bool) -> list[str]:
    """What keeps a page under the targets (performance's only if it gates); empty when
    it meets them all."""
    if result.get("error"):
        return [f"Lighthouse could not measure it: {result['error']}"]
    found = [
        f"{category} {result['scores'].get(category)} < {target}"
        for category, target in TARGETS.items()
        if category != "seo"
        and (performance or category != "performance")
        and (result["scores"].get(category) or 0) < target
    ]
    allowed = ALLOWED_ON_PRIVATE if result["private"] else set()
    found += [audit for audit in result["failed"] if audit not in allowed]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="keep the reports (JSON) in this folder")
    parser.add_argument(
        "--performance",
        choices=["gate", "report"],
        default="gate",
        help="fail under performance 0.9 (gate), or print it only (report)",
    )
    args = parser.parse_args()
    gate = args.performance == "gate"
    install_lighthouse()
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as temporary:
        work = Path(temporary)
        out = args.out or work / "reports"
        with app_server(work) as url:
            token, user_id = sign_in(url)
            paths = page_entries(user_id)
            results = run_pages(url, token, out, paths)
            for _ in range(RETRIES):
                again = [r for r in results if r.get("error") or (gate and slow(r))]
                if not again:
                    break
                why = ", ".join(f"{r['path']} ({r.get('error') or 'slow'})" for r in again)
                print(f"[lighthouse] measuring again: {why}")
                retried = {
                    r["path"]: r for r in run_pages(url, token, out, [r["entry"] for r in again])
                }
                results = [retried.get(r["path"], r) for r in results]
        (out / "summary.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    failing = {r["path"]: misses(r, gate) for r in results if misses(r, gate)}
    for path, reasons in failing.items():
        print(f"[lighthouse] {path}: {'; '.join(reasons)}")
    if not gate:
        under = ", ".join(r["path"] for r in results if slow(r)) or "none"
        print(f"[lighthouse] performance, printed only: under 0.9 on {under}")
    print("[lighthouse] " + ("FAILED" if failing else "all pages meet the targets"))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
