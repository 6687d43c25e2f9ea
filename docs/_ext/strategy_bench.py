"""``{strategy-benchmarks} NAME``: the rows of docs/benchmarks/strategies.md for one strategy.

The benchmark table is written by ``benchmarks/strategies.py``; the strategy pages show
their own rows of it at build time, so they never go stale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive

TABLE = Path(__file__).resolve().parents[1] / "benchmarks" / "strategies.md"


def _rows(text: str) -> tuple[list[str], list[list[str]]]:
    header: list[str] = []
    rows: list[list[str]] = []
    for line in text.splitlines():
        if not line.startswith("|"):
            if header and rows:
                break  # the first table only
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not header:
            header = cells
        elif not set("".join(cells)) <= set("-: "):
            rows.append(cells)
    return header, rows


class StrategyBenchmarks(Directive):
    required_arguments = 1

    def run(self) -> list[Any]:
        name = self.arguments[0]
        text = TABLE.read_text(encoding="utf-8") if TABLE.exists() else ""
        header, rows = _rows(text)
        mine = [r for r in rows if r and r[0] == name]
        if not mine:
            return [nodes.paragraph(text=f"Not measured yet: {TABLE.name} has no rows for {name!r}.")]
        return [_table(header, mine)]


def _table(header: list[str], rows: list[list[str]]) -> nodes.table:
    width = len(header)
    group = nodes.tgroup(cols=width)
    group += [nodes.colspec(colwidth=1) for _ in header]

    def row(cells: list[str]) -> nodes.row:
        out = nodes.row()
        for cell in (cells + [""] * width)[:width]:
            entry = nodes.entry()
            entry += nodes.paragraph(text=cell)
            out += entry
        return out

    head, body = nodes.thead(), nodes.tbody()
    head += row(header)
    for cells in rows:
        body += row(cells)
    group += [head, body]
    table = nodes.table()
    table += group
    return table


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("strategy-benchmarks", StrategyBenchmarks)
    app.add_config_value("strategy_bench_table", str(TABLE), "env")
    return {"parallel_read_safe": True, "version": "1"}
