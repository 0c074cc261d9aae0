"""The UI's Radix Themes setup: the theme, and only the CSS of the colours it uses."""

from typing import Any

import reflex as rx
from reflex_components_radix.plugin import RadixThemesPlugin

# Every colour the UI names: the accent, the greys (slate, and plain gray that base.css
# maps to it), and the color_scheme / rx.color values of app/ui. A new colour there needs
# its palette here, else it renders without colour.
PALETTES = ("teal", "slate", "gray", "red", "green", "grass", "amber")
THEME_CSS = "@radix-ui/themes"


class RadixThemes(RadixThemesPlugin):
    """Radix Themes with its tokens for PALETTES only, where the stock plugin imports
    styles.css: all 31 palettes, 177 KB of the first visit's 810 KB of CSS (Lighthouse
    counted about 600 KB of it unused)."""

    def get_stylesheet_paths(self, **context: Any) -> tuple[str, ...]:
        if not self.enabled:
            return ()
        return (
            f"{THEME_CSS}/tokens/base.css",
            *(f"{THEME_CSS}/tokens/colors/{palette}.css" for palette in PALETTES),
            f"{THEME_CSS}/components.css",
            f"{THEME_CSS}/utilities.css",
        )


def radix_themes() -> RadixThemes:
    """The plugin of rxconfig.py: a teal accent on slate greys."""
    return RadixThemes(theme=rx.theme(accent_color="teal", gray_color="slate", radius="medium"))
