"""Server-side paging of a table: which window of rows is shown, and how many exist."""

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import reflex as rx
from reflex.event import EventSpec

from app.db.paging import PageKey
from app.models import TEXT_MAX_LENGTH, unstorable_text_error
from app.services.errors import BadRequest
from app.ui.state.event import event
from app.ui.state.failures import Events, reports_failures

# As the API's `q`: what a search can ask of a text column of that length.
SEARCH_MAX_LENGTH = TEXT_MAX_LENGTH

# A list's row as the services return it: a record with its created_at and id.
Row = TypeVar("Row", bound=Mapping[str, Any])
# A service's list call for one window: (skip, limit, after, before) -> (rows, total),
# where after/before is the key of a row on show (see db/paging.py).
FetchWindow = Callable[[int, int, PageKey | None, PageKey | None], Awaitable[tuple[list[Row], int]]]

PAGE_SIZES = (5, 10, 25, 50)
DEFAULT_PAGE_SIZE = 10


def page_count(total: int, page_size: int) -> int:
    return max(1, -(-total // page_size))


def clamp_page(page: int, total: int, page_size: int) -> int:
    return min(max(1, page), page_count(total, page_size))


def parse_page(value: str | None) -> int:
    """The `?page=` of the address; anything but a positive number is the first page."""
    try:
        return max(1, int(value or "1"))
    except ValueError:
        return 1


def parse_page_size(value: str) -> int:
    """A size from the "Rows per page" menu; anything else keeps the default."""
    try:
        size = int(value)
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


# A page as read: its number (clamped past the end), its rows and the list's total.
Window = tuple[int, list[Row], int]


async def read_window(
    fetch: FetchWindow[Row],
    page: int,
    page_size: int,
    after: PageKey | None = None,
    before: PageKey | None = None,
) -> Window[Row]:
    """Page `page`'s rows, read beside a row on show when given; past the end (rows
    deleted elsewhere), the last page's. Reads only: the live refreshes of several tabs
    showing the same page share one (app/ui/table/live.py)."""
    skip = (page - 1) * page_size
    rows, total = await fetch(skip, page_size, after, before)
    if (after or before) and len(rows) < page_size:
        # Rows went or came meanwhile: the page by its number after all.
        rows, total = await fetch(skip, page_size, None, None)
    if not rows and total and page > 1:
        page = clamp_page(page, total, page_size)
        rows, total = await fetch((page - 1) * page_size, page_size, None, None)
    return page, rows, total


class PagedTable(rx.State, mixin=True):
    """The paging vars a table page needs; the page's own state loads the rows."""

    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    total: int = 0
    # What the search box holds; each table's fetch decides what it matches.
    search: str = ""
    # True while a request for rows is out: pager buttons are disabled meanwhile.
    loading: bool = False
    # False until the first rows arrive: the table shows skeleton rows until then.
    loaded: bool = False
    # The sort keys of the first and last rows on show. The next or previous page is
    # read from there (keyset), so it costs the same on page 10,000 as on page 2.
    _first_key: PageKey | None = None
    _last_key: PageKey | None = None
    # Set by load_page for the fetch that follows: (page, page size, search, after,
    # before). Used only if that fetch is still for that page of that list: a load that
    # failed must not steer a later one.
    _beside: tuple[int, int, str, PageKey | None, PageKey | None] | None = None

    @rx.var
    def page_count(self) -> int:
        return page_count(self.total, self.page_size)

    @rx.var
    def first_row(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.page_size + 1

    @rx.var
    def last_row(self) -> int:
        return min(self.page * self.page_size, self.total)

    @rx.var
    def page_size_text(self) -> str:
        return str(self.page_size)

    @rx.var
    def shows_pager(self) -> bool:
        # As in the template, a single page needs no controls; a changed page size
        # keeps them, or the user could not go back to the default.
        return self.total > self.page_size or self.page_size != DEFAULT_PAGE_SIZE

    @rx.var
    def on_first_page(self) -> bool:
        return self.page <= 1

    @rx.var
    def on_last_page(self) -> bool:
        return self.page >= page_count(self.total, self.page_size)

    def _page_in_url(self) -> int:
        return parse_page(self.router.url.query_parameters.get("page"))

    def _show_page_in_url(self) -> EventSpec:
        """Put the page in the address (`?page=N`, none for the first) without navigating,
        so a reload or a shared link comes back to it. Reflex reads the live query
        string for later events, so on_load sees it too. Only on the table's own page:
        the user may have moved on while the rows were loading."""
        page = self.page if self.page > 1 else None
        path = self.router.url.path.rstrip("/")
        return rx.call_script(
            "(() => { const url = new URL(window.location.href);"
            f" if (url.pathname.replace(/\\/$/, '') !== {json.dumps(path)}) return;"
            f" {json.dumps(page)} === null ? url.searchParams.delete('page')"
            f" : url.searchParams.set('page', {json.dumps(page)});"
            " if (url.href !== window.location.href)"
            " window.history.replaceState(window.history.state, '', url); })()"
        )

    async def _fetch_window(self, fetch: FetchWindow[Row]) -> list[Row]:
        """The current page's rows; past the end (rows deleted elsewhere), the last page's."""
        beside, self._beside = self._beside, None
        after = before = None
        if beside and beside[:3] == (self.page, self.page_size, self.search):
            after, before = beside[3:]
        window = await read_window(fetch, self.page, self.page_size, after, before)
        return self._show_window(window)

    def _show_window(self, window: Window[Row]) -> list[Row]:
        """Take a window read for this table's page as the one on show."""
        self.page, rows, self.total = window
        self.loaded = True
        self._first_key = (rows[0]["created_at"], rows[0]["id"]) if rows else None
        self._last_key = (rows[-1]["created_at"], rows[-1]["id"]) if rows else None
        return rows

    def _search_term(self) -> str | None:
        return self.search.strip() or None

    async def _reload(self) -> None:
        """Fetch the current page's rows; each table's state says how (and whom it shows
        them to: a refused caller is sent away before any row is read)."""
        raise NotImplementedError

    def _forget_rows(self) -> None:
        """Drop the rows on show; each table's state holds its own list."""
        raise NotImplementedError

    if TYPE_CHECKING:
        # Provided by AuthState, which every table state also derives from.
        async def _forget_session(self) -> list[EventSpec]: ...

    @event
    @reports_failures(busy="loading")
    async def open_page(self) -> AsyncIterator[Events]:
        """on_load: a fresh read of the page in the address (nothing shown from an
        earlier visit or user); past the end, the last page."""
        self._forget_rows()
        self.loaded, self.page, self.search = False, self._page_in_url(), ""
        yield None
        await self._reload()
        yield self._show_page_in_url()

    @event
    @reports_failures(busy="loading")
    async def load_page(self, page: int) -> EventSpec:
        target = clamp_page(page, self.total, self.page_size)
        # The first and last pages are cheap by number (and exactly the first and last
        # rows, whatever changed meanwhile); a page between them, next to the one on
        # show, is read from that page's rows.
        if abs(target - self.page) == 1 and 1 < target < page_count(self.total, self.page_size):
            forward = target > self.page
            self._beside = (
                target,
                self.page_size,
                self.search,
                self._last_key if forward else None,
                None if forward else self._first_key,
            )
        self.page = target
        await self._reload()
        return self._show_page_in_url()

    @event
    @reports_failures(busy="loading")
    async def search_rows(self, text: str) -> EventSpec:
        # The API's rule for `q`, with its message (a NUL would reach the database).
        if unstorable := unstorable_text_error(text):
            raise BadRequest(unstorable)
        self.search, self.page = text[:SEARCH_MAX_LENGTH], 1
        await self._reload()
        return self._show_page_in_url()

    @event
    @reports_failures(busy="loading")
    async def change_page_size(self, size: str) -> EventSpec:
        self.page_size, self.page = parse_page_size(size), 1
        await self._reload()
        return self._show_page_in_url()
