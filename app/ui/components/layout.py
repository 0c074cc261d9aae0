"""Page shells: the signed-in layout (sidebar, header, footer) and the public split layout."""

import datetime

import reflex as rx

from app.core.config import settings
from app.ui.components.menus import appearance_icon_menu, appearance_menu, user_menu
from app.ui.state.auth import AuthState
from app.ui.state.layout import LayoutState
from app.ui.state.verification import ResendVerificationState

SIDEBAR_WIDTH = "16rem"
SIDEBAR_COLLAPSED_WIDTH = "3.75rem"
# Breakpoint indexes (rx breakpoints: initial, xs 30em, sm 48em, ...): the sidebar from sm up.
DESKTOP_ONLY = ["none", "none", "flex"]
MOBILE_ONLY = ["flex", "flex", "none"]
# The public pages' brand panel only from md (62em) up: below that the form needs the room.
WIDE_ONLY = ["none", "none", "none", "flex"]
NARROW_ONLY = ["flex", "flex", "flex", "none"]

# Simple Icons paths (CC0) for the footer's brand links; lucide ships no brand icons.
GITHUB_PATH = (
    "M12 .297c-6.63 0-12 5.373-12 12 0 5.303 3.438 9.8 8.205 11.385.6.113.82-.258.82-.577 "
    "0-.285-.01-1.04-.015-2.04-3.338.724-4.042-1.61-4.042-1.61C4.422 18.07 3.633 17.7 3.633 "
    "17.7c-1.087-.744.084-.729.084-.729 1.205.084 1.838 1.236 1.838 1.236 1.07 1.835 2.809 "
    "1.305 3.495.998.108-.776.417-1.305.76-1.605-2.665-.3-5.466-1.332-5.466-5.93 0-1.31.465-"
    "2.38 1.235-3.22-.135-.303-.54-1.523.105-3.176 0 0 1.005-.322 3.3 1.23.96-.267 1.98-.399 "
    "3-.405 1.02.006 2.04.138 3 .405 2.28-1.552 3.285-1.23 3.285-1.23.645 1.653.24 2.873.12 "
    "3.176.765.84 1.23 1.91 1.23 3.22 0 4.61-2.805 5.625-5.475 5.92.42.36.81 1.096.81 2.22 0 "
    "1.606-.015 2.896-.015 3.286 0 .315.21.69.825.57C20.565 22.092 24 17.592 24 12.297c0-6.627"
    "-5.373-12-12-12"
)
X_PATH = (
    "M18.901 1.153h3.68l-8.04 9.19L24 22.846h-7.406l-5.8-7.584-6.638 7.584H.474l8.6-9.83L0 "
    "1.154h7.594l5.243 6.932ZM17.61 20.644h2.039L6.486 3.24H4.298Z"
)
LINKEDIN_PATH = (
    "M20.447 20.452h-3.554v-5.569c0-1.328-.027-3.037-1.852-3.037-1.853 0-2.136 1.445-2.136 "
    "2.939v5.667H9.351V9h3.414v1.561h.046c.477-.9 1.637-1.85 3.37-1.85 3.601 0 4.267 2.37 "
    "4.267 5.455v6.286zM5.337 7.433a2.062 2.062 0 0 1-2.063-2.065 2.064 2.064 0 1 1 2.063 "
    "2.065zm1.782 13.019H3.555V9h3.564v11.452zM22.225 0H1.771C.792 0 0 .774 0 1.729v20.542C0 "
    "23.227.792 24 1.771 24h20.451C23.2 24 24 23.227 24 22.271V1.729C24 .774 23.2 0 22.222 "
    "0h.003z"
)
SOCIAL_ICONS = (
    ("GitHub", settings.SOCIAL_GITHUB_URL, GITHUB_PATH),
    ("X", settings.SOCIAL_X_URL, X_PATH),
    ("LinkedIn", settings.SOCIAL_LINKEDIN_URL, LINKEDIN_PATH),
)
SOCIAL_LINKS = tuple((name, str(url), path) for name, url, path in SOCIAL_ICONS if url)


def logo(show_name: bool | rx.Var[bool] = True, size: int = 32) -> rx.Component:
    mark = rx.center(
        rx.icon("layers", size=size * 9 // 16, color="white"),
        width=f"{size}px",
        height=f"{size}px",
        min_width=f"{size}px",
        border_radius="8px",
        background=f"linear-gradient(135deg, {rx.color('teal', 9)}, {rx.color('teal', 11)})",
        box_shadow="0 1px 2px rgba(0,0,0,0.12)",
    )
    name = rx.text(settings.PROJECT_NAME, size="3", weight="bold", white_space="nowrap")
    return rx.link(
        rx.hstack(mark, rx.cond(show_name, name, rx.fragment()), spacing="2", align="center"),
        href="/",
        underline="none",
        color="inherit",
        aria_label=settings.PROJECT_NAME,
    )


# Sidebar -------------------------------------------------------------------

NAV_ITEMS = (
    ("Dashboard", "/", "house"),
    ("Items", "/items", "briefcase"),
    # devtools.scaffold adds each new entity's page above this line.
)
ADMIN_ITEM = ("Admin", "/admin", "users")


def _is_current(href: str) -> rx.Var[bool]:
    path = AuthState.router.url.path
    return (path == href) | (path == f"{href}/")


def nav_link(
    label: str, href: str, icon: str, collapsed: bool | rx.Var[bool], in_drawer: bool
) -> rx.Component:
    current = _is_current(href)
    link = rx.link(
        rx.hstack(
            rx.icon(icon, size=18, min_width="18px"),
            rx.cond(collapsed, rx.fragment(), rx.text(label, size="2", weight="medium")),
            spacing="3",
            align="center",
        ),
        href=href,
        underline="none",
        aria_label=label,
        aria_current=rx.cond(current, "page", "false"),
        padding="8px 10px",
        border_radius="var(--radius-3)",
        width="100%",
        display="block",
        color=rx.cond(current, rx.color("accent", 11), rx.color("gray", 12)),
        background=rx.cond(current, rx.color("accent", 3), "transparent"),
        _hover={"background": rx.cond(current, rx.color("accent", 4), rx.color("gray", 3))},
        on_click=LayoutState.set_drawer_open(False) if in_drawer else None,
    )
    return rx.cond(collapsed, rx.tooltip(link, content=label, side="right"), link)


def sidebar_nav(collapsed: bool | rx.Var[bool], in_drawer: bool = False) -> rx.Component:
    links = [nav_link(*item, collapsed, in_drawer) for item in NAV_ITEMS]
    admin = nav_link(*ADMIN_ITEM, collapsed, in_drawer)
    return rx.el.nav(
        rx.vstack(
            rx.cond(
                collapsed,
                rx.fragment(),
                rx.text("Menu", size="1", weight="medium", color_scheme="gray", padding_x="10px"),
            ),
            *links,
            rx.cond(AuthState.user.is_superuser, admin, rx.fragment()),
            spacing="1",
            width="100%",
            align="stretch",
        ),
        aria_label="Main",
        width="100%",
    )


def sidebar_body(collapsed: bool | rx.Var[bool], in_drawer: bool = False) -> rx.Component:
    return rx.vstack(
        rx.box(logo(show_name=~rx.Var.create(collapsed)), padding="4px 6px 12px"),
        sidebar_nav(collapsed, in_drawer),
        rx.spacer(),
        rx.vstack(
            appearance_menu(collapsed),
            rx.separator(size="4"),
            user_menu(collapsed),
            spacing="2",
            width="100%",
            align="stretch",
        ),
        height="100%",
        padding="12px 10px",
        spacing="3",
        align="stretch",
    )


def sidebar() -> rx.Component:
    collapsed = LayoutState.sidebar_collapsed
    # A landmark, so that screen readers (and axe's `region` rule) find everything in it.
    return rx.el.aside(
        sidebar_body(collapsed),
        display=DESKTOP_ONLY,
        width=rx.cond(collapsed, SIDEBAR_COLLAPSED_WIDTH, SIDEBAR_WIDTH),
        min_width=rx.cond(collapsed, SIDEBAR_COLLAPSED_WIDTH, SIDEBAR_WIDTH),
        height="100vh",
        position="sticky",
        top="0",
        border_right=f"1px solid {rx.color('gray', 4)}",
        background=rx.color("gray", 2),
        transition="width 0.2s ease, min-width 0.2s ease",
        custom_attrs={"data-testid": "sidebar"},
    )


def mobile_drawer() -> rx.Component:
    """Below the sm breakpoint the sidebar lives in a drawer opened from the header."""
    return rx.drawer.root(
        rx.drawer.trigger(
            rx.icon_button(
                rx.icon("menu", size=20),
                variant="ghost",
                color_scheme="gray",
                aria_label="Open menu",
            )
        ),
        # In a portal: the sticky header's backdrop filter would otherwise be the
        # containing block of the fixed panel and clip it to the header's height.
        rx.drawer.portal(
            rx.drawer.overlay(z_index="40", background="rgba(0, 0, 0, 0.4)"),
            rx.drawer.content(
                rx.drawer.title("Menu", class_name="visually-hidden"),
                sidebar_body(False, in_drawer=True),
                position="fixed",
                top="0",
                left="0",
                height="100dvh",
                width="17rem",
                z_index="50",
                background=rx.color("gray", 2),
                border_right=f"1px solid {rx.color('gray', 4)}",
            ),
        ),
        direction="left",
        open=LayoutState.drawer_open,
        on_open_change=LayoutState.set_drawer_open,
    )


# Header and footer ---------------------------------------------------------


def header() -> rx.Component:
    return rx.el.header(
        rx.hstack(
            rx.box(
                rx.icon_button(
                    rx.icon("panel-left", size=18),
                    variant="ghost",
                    color_scheme="gray",
                    aria_label="Toggle Sidebar",
                    on_click=LayoutState.toggle_sidebar,
                ),
                display=DESKTOP_ONLY,
            ),
            rx.hstack(
                mobile_drawer(), logo(size=28), display=MOBILE_ONLY, align="center", spacing="2"
            ),
            align="center",
            height="56px",
            padding_x="16px",
        ),
        position="sticky",
        top="0",
        z_index="10",
        width="100%",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        background="color-mix(in srgb, var(--color-background) 85%, transparent)",
        backdrop_filter="blur(8px)",
    )


def social_link(name: str, href: str, path: str) -> rx.Component:
    return rx.link(
        rx.el.svg(
            rx.el.path(d=path),
            view_box="0 0 24 24",
            width="16",
            height="16",
            fill="currentColor",
            aria_hidden="true",
        ),
        href=href,
        is_external=True,
        aria_label=name,
        color=rx.color("gray", 10),
        _hover={"color": rx.color("gray", 12)},
    )


def footer() -> rx.Component:
    return rx.el.footer(
        rx.hstack(
            rx.text(
                f"{settings.PROJECT_NAME} - {datetime.date.today().year}",
                size="1",
                color_scheme="gray",
            ),
            rx.hstack(*(social_link(*link) for link in SOCIAL_LINKS), spacing="4"),
            justify="between",
            align="center",
            width="100%",
        ),
        padding="16px 24px",
        border_top=f"1px solid {rx.color('gray', 4)}",
    )


# Shells ----------------------------------------------------------------------


def loading_screen() -> rx.Component:
    return rx.center(rx.spinner(size="3"), height="100vh", width="100%")


def page_heading(title: str, subtitle: str, *actions: rx.Component) -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.heading(title, size="6", weight="bold"),
            rx.text(subtitle, size="2", color_scheme="gray"),
            spacing="1",
        ),
        rx.hstack(*actions, spacing="2"),
        justify="between",
        align=rx.breakpoints(initial="start", sm="center"),
        direction=rx.breakpoints(initial="column", sm="row"),
        gap="12px",
        width="100%",
    )


def send_verification_button(label: str, variant: str) -> rx.Component:
    """Mails the signed-in user a new verification link (the banner's, the profile's)."""
    return rx.button(
        label,
        size="1",
        variant=variant,
        loading=ResendVerificationState.sending,
        on_click=ResendVerificationState.resend,
    )


def verification_banner() -> rx.Component:
    """Above every signed-in page while REQUIRE_EMAIL_VERIFICATION holds the user back."""
    return rx.cond(
        AuthState.user.must_verify,
        rx.callout.root(
            rx.callout.icon(rx.icon("mail-warning")),
            rx.flex(
                rx.callout.text(
                    "Verify your email address to use the app: follow the link we sent to ",
                    rx.text.strong(AuthState.user.email),
                    ".",
                ),
                send_verification_button("Send a new link", "outline"),
                gap="3",
                align="center",
                wrap="wrap",
            ),
            color_scheme="amber",
            width="100%",
            custom_attrs={"data-testid": "verify-email-banner"},
        ),
        rx.fragment(),
    )


def app_shell(*content: rx.Component) -> rx.Component:
    """The signed-in layout; nothing of the page shows before the user is known."""
    return rx.cond(
        AuthState.signed_in,
        rx.flex(
            sidebar(),
            rx.flex(
                header(),
                rx.el.main(
                    rx.vstack(
                        verification_banner(),
                        *content,
                        spacing="5",
                        width="100%",
                        max_width="72rem",
                    ),
                    padding=rx.breakpoints(initial="20px 16px", sm="28px 32px"),
                    flex="1",
                    width="100%",
                ),
                footer(),
                direction="column",
                flex="1",
                min_width="0",
                min_height="100vh",
            ),
            width="100%",
        ),
        loading_screen(),
    )


def public_shell(*content: rx.Component) -> rx.Component:
    """The split layout of the public pages: the form, and a brand panel on wide screens."""
    return rx.flex(
        rx.flex(
            rx.el.header(
                rx.hstack(
                    rx.box(logo(), display=NARROW_ONLY),
                    rx.spacer(),
                    appearance_icon_menu(),
                    width="100%",
                    padding="16px 20px",
                    align="center",
                ),
            ),
            rx.el.main(
                rx.center(
                    rx.vstack(*content, spacing="5", width="100%", max_width="22rem"),
                    width="100%",
                    height="100%",
                    padding="24px 20px",
                ),
                flex="1",
                width="100%",
                display="flex",
            ),
            footer(),
            direction="column",
            flex="1",
            min_height="100vh",
        ),
        rx.el.aside(
            rx.vstack(
                logo(size=56, show_name=False),
                rx.heading(settings.PROJECT_NAME, size="7", color="white", as_="h2"),
                rx.text(
                    "A full-stack template in Python: a Reflex UI and a FastAPI API "
                    "over one set of rules.",
                    size="3",
                    color="rgba(255, 255, 255, 0.85)",
                    text_align="center",
                    max_width="22rem",
                ),
                align="center",
                spacing="4",
            ),
            display=WIDE_ONLY,
            align_items="center",
            justify_content="center",
            flex="1",
            min_height="100vh",
            # Fixed colours: the panel looks the same in light and dark mode.
            background="linear-gradient(160deg, #12a594 0%, #0b7d71 45%, #0a3a36 100%)",
        ),
        width="100%",
    )


def page_title(name: str) -> str:
    """`<Page> - <project>`, the template's title pattern."""
    return f"{name} - {settings.PROJECT_NAME}"


# The pages behind the login: a search engine would index a spinner (the content needs a
# session), and the pages' names tell an attacker nothing a crawler should spread. The
# public pages stay indexable (assets/robots.txt allows all, so crawlers see this tag).
PRIVATE_PAGE = [{"name": "robots", "content": "noindex, nofollow"}]


def form_heading(title: str, subtitle: str = "") -> rx.Component:
    """The heading block above a public page's form (the template's has no subtitle)."""
    return rx.vstack(
        rx.heading(title, size="7", weight="bold"),
        *([rx.text(subtitle, size="2", color_scheme="gray")] if subtitle else []),
        spacing="2",
        width="100%",
    )
