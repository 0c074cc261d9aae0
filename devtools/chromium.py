"""Debian's Chromium, as every tool here launches it through Playwright.

`playwright install` cannot download browsers on these machines, so the tools point
Playwright at the system package; the flags keep it from phoning home or sandboxing
(which needs privileges a container may lack).
"""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
