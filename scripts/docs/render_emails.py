"""Render the emails with sample data and screenshot them in Chromium.

.venv/bin/python scripts/docs/render_emails.py   # writes docs/images/email-*.png
"""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "screenshot-only-secret-key-not-used-for-anything")
os.environ.setdefault("FIRST_SUPERUSER_PASSWORD", "screenshot-only")

from playwright.sync_api import sync_playwright  # noqa: E402

from app.core.security import create_reset_token, create_verify_token  # noqa: E402
from app.emails import (  # noqa: E402
    build_new_account_email,
    build_reset_password_email,
    build_test_email,
    build_verify_email,
)
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def main() -> int:
    token = create_reset_token(1)
    messages = {
        "email-reset-password": build_reset_password_email("jane@example.com", token),
        "email-new-account": build_new_account_email("jane@example.com", token),
        "email-test": build_test_email("jane@example.com"),
        "email-verify": build_verify_email(
            "jane@example.com", create_verify_token(1, "jane@example.com")
        ),
    }
    out = ROOT / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 680, "height": 600})
        for name, message in messages.items():
            html = Path(folder) / f"{name}.html"
            html.write_text(message.html)
            page.goto(html.as_uri())
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            print(f"wrote docs/images/{name}.png ({message.subject})")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
