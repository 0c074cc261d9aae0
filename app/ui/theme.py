"""The UI's Radix Themes setup: the theme, and only the CSS and JavaScript it uses."""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import reflex as rx
from reflex_base.registry import RegistrationContext
from reflex_base.utils.format import format_library_name
from reflex_components_radix.plugin import RADIX_THEMES_PACKAGE, RadixThemesPlugin

# Every colour the UI names: the accent, the greys (slate, and plain gray that base.css
# maps to it), and the color_scheme / rx.color values of app/ui. A new colour there needs
# its palette here, else it renders without colour.
PALETTES = ("teal", "slate", "gray", "red", "green", "grass", "amber")
THEME_CSS = "@radix-ui/themes"
# The PostCSS plugin that drops the rules of components no page renders (read it for how).
CSS_PURGE = Path(__file__).with_name("radix-css-purge.cjs")
POSTCSS_CONFIG = "postcss.config.js"
POSTCSS_IMPORT = '"postcss-import": {},'


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

    def get_static_assets(self, **context: Any) -> Sequence[tuple[Path, str | bytes]]:
        return [(Path(CSS_PURGE.name), CSS_PURGE.read_text())] if self.enabled else []

    def pre_compile(self, **context: Any) -> None:
        """Keeps Radix Themes out of `window.__reflex`. The stock plugin registers it
        there for dynamic components (`rx.dynamic`, none in this app), and root.jsx then
        imports the whole library as a namespace: every component's code (sliders,
        popovers, selects, menus) came with every first visit, whatever the page used
        (root 153 -> 42 KB raw, the shared chunk 255 -> 169 KB without it). Pages
        import the components they render by name, so the bundler keeps just those."""
        super().pre_compile(**context)
        libraries = RegistrationContext.ensure_context().bundled_libraries
        package = format_library_name(RADIX_THEMES_PACKAGE)
        libraries[:] = [library for library in libraries if library != package]
        if self.enabled:
            add_modify_task: Callable[[str, Callable[[str], str]], None] = context[
                "add_modify_task"
            ]
            add_modify_task(POSTCSS_CONFIG, with_css_purge)


def with_css_purge(config: str) -> str:
    """Reflex's postcss.config.js with the purge right after postcss-import. Reflex
    writes the file once, when it sets up .web, so a later compile finds it done."""
    purge = f'"./{CSS_PURGE.name}": {{}},'
    if purge in config:
        return config
    if POSTCSS_IMPORT not in config:
        # Fail the build rather than ship every component's CSS unnoticed.
        raise ValueError(f"{POSTCSS_CONFIG} has no `{POSTCSS_IMPORT}` any more")
    return config.replace(POSTCSS_IMPORT, f"{POSTCSS_IMPORT}\n    {purge}", 1)


def radix_themes() -> RadixThemes:
    """The plugin of rxconfig.py: a teal accent on slate greys."""
    return RadixThemes(theme=rx.theme(accent_color="teal", gray_color="slate", radius="medium"))
