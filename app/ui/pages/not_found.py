"""The 404 page, for every path no page serves."""

import reflex as rx

from app.ui.components.layout import PRIVATE_PAGE, page_title


@rx.page(
    route="404",
    title=page_title("Not Found"),
    description="The page you are looking for was not found.",
    meta=PRIVATE_PAGE,
)
def not_found() -> rx.Component:
    return rx.el.main(
        rx.center(
            rx.vstack(
                rx.heading("404", size="9", weight="bold", color=rx.color("accent", 10)),
                rx.heading("Oops!", size="6"),
                rx.text(
                    "The page you are looking for was not found.", size="3", color_scheme="gray"
                ),
                rx.link(rx.button("Go Back", size="3", margin_top="12px"), href="/"),
                align="center",
                spacing="3",
                text_align="center",
            ),
            height="100vh",
            width="100%",
            padding="24px",
            custom_attrs={"data-testid": "not-found"},
        )
    )
