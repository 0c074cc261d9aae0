"""The README and docs/: every relative link and image resolves, every script a command
names exists, every setting is documented.

A page moved or a heading renamed breaks links silently on GitHub; a script moved by a
reorganisation leaves a command nobody can run; a setting added to app/core/config.py
without a line in docs/configuration.md and .env.example is a setting nobody finds. All
three fail here instead.
"""

import re
from pathlib import Path

import pytest

from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
# A file of the project that a command or a sentence names: `bash scripts/run.sh`,
# `.venv/bin/python bench/seed.py`, `tests/live/reflex_tab.py`.
PROJECT_FILE = re.compile(
    r"(?<![\w./-])(?:\.ci/run|(?:app|bench|devtools|scripts|tests)/[\w./-]+\.(?:py|sh))"
)


def prose(text: str) -> str:
    """The text without code blocks and inline code, where brackets are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def anchors(page: Path) -> set[str]:
    """GitHub's ids for the page's headings: lower case, punctuation dropped, spaces
    to hyphens, a repeated id numbered."""
    seen: dict[str, int] = {}
    ids = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        ids.add(slug if count == 0 else f"{slug}-{count}")
    return ids


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not this test's business
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            broken.append(f"{target}: no heading with that id")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_links_and_images_resolve(page: Path) -> None:
    assert broken_links(page) == []


def test_the_check_finds_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## Some `code` here\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#some-code-here) [gone](missing.md) [bad](other.md#nope)\n"
        "[self](#top) `[not a link](missing.md)`\n\n# Top\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#nope: no heading with that id",
    ]


# The guide to the generator names the files its example writes (Project, `projects`).
GENERATED_BY_THE_EXAMPLE = re.compile(r"(^|[/_])(test_)?projects[._/]|0007_projects")


def missing_files(page: Path) -> list[str]:
    generated = page.name == "adding-an-entity.md"
    return sorted(
        {
            name
            for name in PROJECT_FILE.findall(page.read_text())
            if not (ROOT / name).exists()
            and not (generated and GENERATED_BY_THE_EXAMPLE.search(name))
        }
    )


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_files_named_exist(page: Path) -> None:
    assert missing_files(page) == []


def test_the_check_finds_a_moved_script(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```bash\nbash scripts/run.sh\nbash scripts/moved.sh --flag\n```\n")
    assert missing_files(page) == ["scripts/moved.sh"]


def test_every_setting_is_documented() -> None:
    configuration = (ROOT / "docs" / "configuration.md").read_text()
    example = (ROOT / ".env.example").read_text()
    missing = [
        f"{name} ({where})"
        for name in Settings.model_fields
        for where, text in (("docs/configuration.md", configuration), (".env.example", example))
        if not re.search(rf"\b{name}\b", text)
    ]
    assert missing == []
