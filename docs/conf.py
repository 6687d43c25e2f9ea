"""Sphinx configuration: MyST markdown pages, furo theme, API reference from docstrings."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "inc"
author = "the inc developers"
copyright = "2026, the inc developers"
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "strategy_bench",
]
source_suffix = {".md": "markdown"}
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
html_theme = "furo"
html_title = "inc: accuracy-aware quantization tuning"
exclude_patterns = ["_build", "_ext", "benchmarks/*.md", "requirements.txt"]
suppress_warnings = ["myst.xref_missing"]

# API reference: docstrings use single backticks for names (rendered as code, linked when found).
default_role = "py:obj"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
