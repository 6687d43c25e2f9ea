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
suppress_warnings = ["myst.xref_missing"]  # MyST links to repository files outside docs/ (examples/, packages/)

# Built with -n (nitpicky) in CI. What is ignored, and why:
nitpick_ignore_regex = [
    # Standard library and third-party types in signatures: no intersphinx, because the docs build
    # runs offline (CI reaches no documentation hosts), so these can never resolve.
    (
        "py:class",
        r"(pathlib|collections\.abc|enum|abc|typing|pydantic|pydantic_core|numpy|rich|onnx|onnxruntime|torch)\b.*",
    ),
    ("py:class", r"(Path|Console|ModelProto|InferenceSession|Module|Tensor)"),
    # Single backticks in docstrings name code (default_role below); they link when the target
    # has an API page and otherwise render as code: private modules and attributes have no page.
    ("py:obj", r".*"),
    # Names documented in prose only (internal classes seen in public signatures).
    ("py:class", r"(inc_core\.run\.runner\.)?TuningRun|(inc_core\.plugins\.manager\.)?IncPluginManager"),
    ("py:class", r"(inc_core\.plugins\.local\.)?T|(inc_core\.plugins\.view\.)?RunView|argparse\..*"),
    ("py:class", r"Constraint|EvalSpec|(inc_core\.measure\.cost\.)?CostModel|TrialCost|PreparedModel|NodeInfo"),
    ("py:class", r"(inc_core\.cli\.(run_schema|resolve_run)\.)?(RunFile|ResolvedRun)"),
    # pydantic's Annotated metadata of TuningConfig's number fields, split into "types" by autodoc
    # (the fields are documented by the table in api.md instead).
    ("py:class", r"func=.*|json_schema_input_type=.*|strict=True"),
    # napoleon reads the "Summary: more" first line of a property docstring as its return type.
    ("py:class", r".* .*"),
]

# API reference: docstrings use single backticks for names (rendered as code, linked when found).
default_role = "py:obj"
autodoc_mock_imports = [
    "torch",
    "torchao",
]  # the docs venv has no torch (a multi-GB install); inc_torch imports it lazily anyway
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
