"""The live endpoint's input contract and when a champion can be scored on a challenger's rows."""

from __future__ import annotations

from recipe_texts import SMALL

from handlers.lifecycle.contract import breaks, new_columns, unscorable
from handlers.recipe.model import Recipe
from handlers.recipe.reader import read_recipe

UPLOAD = ("label", "n", "colour", "junk")


def recipe(text: str = SMALL) -> Recipe:
    return read_recipe(text.encode(), source="recipes/small.toml")


def with_size() -> Recipe:
    """Another recipe for the same target that also reads a numeric column `size`."""
    return recipe(SMALL.replace('numeric = ["n"]', 'numeric = ["n", "size"]'))


def test_a_champion_of_another_recipe_is_scored_when_the_rows_have_its_columns() -> None:
    assert unscorable(recipe(), with_size(), (*UPLOAD, "size"), 3, raw_rows=True) is None


def test_a_champion_reading_a_column_the_rows_lack_is_not_scored() -> None:
    why = unscorable(with_size(), recipe(), UPLOAD, 3, raw_rows=True)
    assert why is not None
    assert "version 3 (the champion) reads column(s) size" in why


def test_a_champion_of_another_target_is_not_scored() -> None:
    other = recipe(SMALL.replace('positive = "yes"', 'positive = "no"'))
    why = unscorable(other, recipe(), UPLOAD, 3, raw_rows=True)
    assert why is not None
    assert "predicts 'label'" in why


def test_a_champion_that_takes_encoded_rows_is_not_scored() -> None:
    why = unscorable(recipe(), recipe(), UPLOAD, 1, raw_rows=False)
    assert why is not None
    assert "before endpoints took raw rows" in why


def test_the_columns_a_challenger_adds_to_the_live_contract() -> None:
    assert new_columns(live=recipe(), challenger=with_size()) == ("size",)
    assert new_columns(live=with_size(), challenger=recipe()) == ()


def test_headerless_rows_read_in_another_order_break_the_clients_silently() -> None:
    live = ("n", "colour", "junk")
    moved = breaks(recipe(), recipe(), live, ("colour", "n", "junk"))
    assert len(moved) == 1
    assert "rows without a header in another column order" in moved[0]
    assert "colour, n moved" in moved[0]
    # Another width is refused loudly by the endpoint (the row's field count): no silent break.
    assert breaks(recipe(), recipe(), live, ("n", "colour", "junk", "extra")) == ()
    assert breaks(recipe(), recipe(), live, live) == ()


def test_a_new_column_is_a_break_said_as_a_reason() -> None:
    (reason,) = breaks(recipe(), with_size(), UPLOAD, UPLOAD)
    assert reason == "it needs column(s) size, which the live version does not read"
