"""How every bench prints its rows (``{"measure", "value", "floor", "ratio"}``): each figure beside its floor."""
from __future__ import annotations

from typing import Any

WIDTH = 78  # of the measure column


def print_header(width: int = WIDTH) -> None:
    print(f"{'measure':{width}} {'value':>18}  {'floor / goal':<38} ratio")
    print("-" * (width + 66))


def print_rows(rows: list[dict[str, Any]], *, title: str | None = None, width: int = WIDTH) -> None:
    if title is not None:
        print(f"[{title}]")
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(f"{r['measure']:{width}} {r['value']:>18}  {r['floor']:<38} {ratio}", flush=True)


def print_table(rows: list[dict[str, Any]]) -> None:
    """A bench run on its own: the header, then its rows."""
    print_header()
    print_rows(rows)
