"""A session's user agent in words ("Chrome on Windows"), as session pages show it."""

import re

# First match wins: Edge and Opera say "Chrome" too, Chrome says "Safari".
BROWSERS = (
    ("Edge", re.compile(r"\bEdg(e|A|iOS)?/")),
    ("Opera", re.compile(r"\b(OPR|Opera)/")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/")),
    ("Firefox", re.compile(r"\b(Firefox|FxiOS)/")),
    ("Chrome", re.compile(r"\b(HeadlessChrome|Chrome|Chromium|CriOS)/")),
    ("Safari", re.compile(r"\bVersion/[\d.]+.*\bSafari/")),
)
SYSTEMS = (
    ("iPhone", re.compile(r"\biPhone\b")),
    ("iPad", re.compile(r"\biPad\b")),
    ("Android", re.compile(r"\bAndroid\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("Linux", re.compile(r"\bLinux\b")),
)
# Programs that call the API, by the name their user agent starts with.
CLIENTS = (
    ("curl", re.compile(r"^curl/", re.I)),
    ("Python", re.compile(r"^(python-requests|python-httpx|python-urllib|aiohttp)", re.I)),
    ("Node.js", re.compile(r"^(node|axios|undici)", re.I)),
    ("Postman", re.compile(r"^PostmanRuntime/", re.I)),
    ("Wget", re.compile(r"^Wget/", re.I)),
)
UNKNOWN = "Unknown device"


def describe(user_agent: str) -> str:
    """The browser and system in words; an API client by its name; else UNKNOWN."""
    text = user_agent.strip()
    if not text:
        return UNKNOWN
    for name, pattern in CLIENTS:
        if pattern.search(text):
            return name
    browser = next((name for name, pattern in BROWSERS if pattern.search(text)), None)
    system = next((name for name, pattern in SYSTEMS if pattern.search(text)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or UNKNOWN
