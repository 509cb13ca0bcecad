"""Results aggregation: per-seed result JSON -> tables (mean +- 95 % CI, markdown and LaTeX) and figures.

``make_report(results_dir)`` is ``biodyn report``; :mod:`.tables` collects and tabulates, :mod:`.plot` draws.
"""

from biodyn.report.tables import collect, latex_table, make_report, markdown_table

__all__ = ["collect", "latex_table", "make_report", "markdown_table"]
