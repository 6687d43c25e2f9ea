"""Sphinx configuration: MyST markdown pages, furo theme."""

project = "inc"
author = "the inc developers"
copyright = "2026, the inc developers"
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
html_theme = "furo"
html_title = "inc: accuracy-aware quantization tuning"
exclude_patterns = ["_build", "benchmarks/*.md", "requirements.txt"]
suppress_warnings = ["myst.xref_missing"]
