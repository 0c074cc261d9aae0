"""Browser tests of the Reflex UI (Playwright + Chromium) and its state handlers."""
