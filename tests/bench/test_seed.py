"""bench/seed.py: the planned rows, loaded fast, with the list counts right."""

from decimal import Decimal

import bcrypt
import pytest
from sqlalchemy import create_engine, text

from bench import seed


def test_the_plan_is_loaded_with_exact_counts(fresh_database: str) -> None:
    seed.load(fresh_database, seed.Plan(users=4, items=30, owner_items=21))
    engine = create_engine(fresh_database)
    try:
        with engine.connect() as connection:
            per_owner: dict[str, int] = dict(
                connection.execute(
                    text(
                        'SELECT u.email, count(i.id) FROM "user" u LEFT JOIN item i'
                        " ON i.owner_id = u.id GROUP BY u.email"
                    )
                ).all()
            )
            # A sum is a Decimal on PostgreSQL, an int on SQLite.
            counted: dict[str, int | Decimal] = dict(
                connection.execute(
                    text(
                        'SELECT u.email, sum(c.n) FROM item_count c JOIN "user" u'
                        " ON u.id = c.owner_id GROUP BY u.email"
                    )
                ).all()
            )
            totals: dict[str, int | Decimal] = dict(
                connection.execute(
                    text("SELECT table_name, sum(n) FROM row_total GROUP BY 1")
                ).all()
            )
            owner_hash = connection.execute(
                text('SELECT hashed_password FROM "user" WHERE email = :e'),
                {"e": seed.OWNER_EMAIL},
            ).scalar_one()
            newest = connection.execute(
                text("SELECT title FROM item ORDER BY created_at DESC, id DESC LIMIT 1")
            ).scalar_one()
    finally:
        engine.dispose()
    # The owner's 21, then the other 9 round-robin over the three other users.
    assert per_owner == {
        seed.OWNER_EMAIL: 21,
        "user1@scale.example.com": 3,
        "user2@scale.example.com": 3,
        "user3@scale.example.com": 3,
    }
    assert counted == per_owner
    assert totals == {"item": 30, "user": 4}
    assert bcrypt.checkpw(seed.OWNER_PASSWORD.encode(), owner_hash.encode())
    # Inserted in time order: the last row is the newest.
    assert newest == "Item 29"


def test_every_hundred_thousandth_title_has_the_rare_word() -> None:
    titles = [row[0] for row in seed.item_rows(200_000, 0, [1, 2])]
    rare = [n for n, title in enumerate(titles) if seed.RARE_WORD in title]
    assert rare == [99_999, 199_999]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--users", "0"], "--users must be at least 1"),
        (["--items", "5", "--owner-items", "6"], "--owner-items must be between 0 and --items"),
    ],
)
def test_impossible_plans_are_refused(
    arguments: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.argv", ["seed.py", "--database-url", "sqlite://", *arguments])
    with pytest.raises(SystemExit) as exit_:
        seed.main()
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
