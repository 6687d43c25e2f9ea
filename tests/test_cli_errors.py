"""Bad input to `inc tune`: one clear message each, exit status 2, nothing written.

Each case edits a valid run file and checks the whole message (with the temporary
folder shown as ``<tmp>``), so a change in wording is a deliberate test change.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

VALID = """\
model:
  factory: inc_core.testing:SyntheticModel
  args: {n_ops: 30, profile: few_sensitive, seed: 2}
evaluation:
  function: inc_core.testing:synthetic_accuracy
tuning:
  strategy: toy
  tolerable_loss: 0.01
  max_trials: 5
run_dir: out
"""


def inc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inc_core.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def message(done: subprocess.CompletedProcess[str], tmp_path: Path) -> str:
    return done.stderr.replace(str(tmp_path.resolve()), "<tmp>").strip()


CASES = [
    # (id, (old, new) edit of VALID, expected stderr)
    (
        "yaml-syntax",
        ("  args: {n_ops", "  args: [n_ops"),
        "inc: error: run.yaml:3:52: invalid YAML: expected ',' or ']', but got '}' (while parsing a flow sequence)",
    ),
    (
        "unknown-top-key",
        ("run_dir: out", "run_dri: out"),
        "inc: error: run.yaml:10: unknown key 'run_dri'; did you mean 'run_dir'?",
    ),
    (
        "unknown-nested-key",
        ("  function: inc_core", "  fuction: inc_core"),
        "inc: error: run.yaml:4: missing required key 'evaluation.function'\n"
        "inc: error: run.yaml:5: unknown key 'evaluation.fuction'; did you mean 'function'?",
    ),
    (
        "unknown-tuning-key",
        ("  max_trials: 5", "  max_trial: 5"),
        "inc: error: run.yaml:9: unknown key 'tuning.max_trial'; did you mean 'max_trials'?",
    ),
    (
        "wrong-type",
        ("max_trials: 5", "max_trials: many"),
        "inc: error: run.yaml:9: tuning.max_trials: expected an integer (got 'many')",
    ),
    (
        "out-of-range",
        ("max_trials: 5", "max_trials: 0"),
        "inc: error: run.yaml:9: tuning.max_trials: input should be greater than or equal to 1 (got 0)",
    ),
    (
        "not-a-number",
        ("tolerable_loss: 0.01", "tolerable_loss: lots"),
        "inc: error: run.yaml:8: tuning.tolerable_loss: must be a number (got 'lots')",
    ),
    (
        "bad-literal",
        ("tolerable_loss: 0.01", "tolerable_loss: 0.01\n  criterion: relativ"),
        "inc: error: run.yaml:9: tuning.criterion: input should be 'relative' or 'absolute' (got 'relativ')",
    ),
    (
        "bad-objective",
        ("tolerable_loss: 0.01", "tolerable_loss: 0.01\n  objectives: {speed: 1}"),
        "inc: error: run.yaml:9: tuning.objectives: unknown objective 'speed'; valid: ['latency', 'model_size']",
    ),
    (
        "bad-executor",
        ("tolerable_loss: 0.01", "tolerable_loss: 0.01\n  executor: gpu"),
        "inc: error: run.yaml:9: tuning.executor: expected one of inline, threads, process, dask, "
        "dask://HOST:PORT, tls://HOST:PORT, mpi (got 'gpu')",
    ),
    (
        "run-dir-in-tuning",
        ("tolerable_loss: 0.01", "tolerable_loss: 0.01\n  run_dir: x"),
        "inc: error: run.yaml:9: tuning.run_dir: cannot be set in a run file (set the top-level 'run_dir')",
    ),
    (
        "missing-section",
        ("evaluation:\n  function: inc_core.testing:synthetic_accuracy\n", ""),
        "inc: error: run.yaml: missing required key 'evaluation'",
    ),
    (
        "duplicate-key",
        ("  max_trials: 5", "  max_trials: 5\n  max_trials: 6"),
        "inc: error: run.yaml:10: duplicate key 'tuning.max_trials' (first given on line 9)",
    ),
    (
        "path-and-factory",
        ("model:\n", "model:\n  path: m.onnx\n"),
        "inc: error: run.yaml:1: model: give exactly one of 'path' (a model file) or 'factory' (module:function)",
    ),
    (
        "module-does-not-import",
        ("function: inc_core.testing:synthetic_accuracy", "function: nowhere.module:fn"),
        "inc: error: run.yaml:5: evaluation.function: cannot import 'nowhere.module': "
        "ModuleNotFoundError: No module named 'nowhere'",
    ),
    (
        "no-such-attribute",
        ("function: inc_core.testing:synthetic_accuracy", "function: inc_core.testing:nothing_here"),
        "inc: error: run.yaml:5: evaluation.function: module 'inc_core.testing' has no attribute 'nothing_here'",
    ),
    (
        "not-callable",
        ("function: inc_core.testing:synthetic_accuracy", "function: inc_core.testing.synthetic:PROFILES"),
        "inc: error: run.yaml:5: evaluation.function: 'inc_core.testing.synthetic:PROFILES' is not callable "
        "(it is a tuple)",
    ),
    (
        "not-a-reference",
        ("function: inc_core.testing:synthetic_accuracy", "function: synthetic_accuracy"),
        "inc: error: run.yaml:5: evaluation.function: 'synthetic_accuracy' is not a 'module:function' reference",
    ),
    (
        "eval-args-do-not-fit",
        (
            "function: inc_core.testing:synthetic_accuracy",
            "function: inc_core.testing:synthetic_accuracy\n  args: {k: 1}",
        ),
        "inc: error: run.yaml:6: evaluation.args: synthetic_accuracy(model: 'SyntheticModel') -> 'float' "
        "cannot take them: got an unexpected keyword argument 'k'",
    ),
    (
        "factory-fails",
        ("profile: few_sensitive", "profile: nonsense"),
        "inc: error: run.yaml:2: model.factory: SyntheticModel.profile must be one of "
        "('flat', 'few_sensitive', 'many_mild'), got 'nonsense'",
    ),
    (
        "unknown-strategy",
        ("strategy: toy", "strategy: nope"),
        "inc: error: run.yaml:7: tuning.strategy: unknown strategy 'nope'; installed: ",
    ),
    (
        "unknown-strategy-option",
        ("strategy: toy", "strategy: toy\n  strategy_kwargs: {depth: 3}"),
        "inc: error: run.yaml:8: tuning.strategy_kwargs: strategy 'toy': unknown option 'depth'; valid options: none",
    ),
    (
        "unknown-framework",
        ("  args: {n_ops", "  framework: tensorflow\n  args: {n_ops"),
        "inc: error: run.yaml:3: model.framework: unknown adaptor 'tensorflow'; installed: ",
    ),
    (
        "unknown-recipe",
        ("tolerable_loss: 0.01", "tolerable_loss: 0.01\n  recipes: {nope: 1}"),
        "inc: error: run.yaml:9: tuning.recipes: unknown recipe 'nope'; this adaptor offers ['calib_sampling_size']",
    ),
    (
        "constraint-the-model-cannot-meet",
        ("tolerable_loss: 0.01", "tolerable_loss: 0.01\n  op_type_dict: {Softmax: {dtype: fp32}}"),
        "inc: error: run.yaml:9: tuning.op_type_dict: no op of type 'Softmax' in the model; "
        "types present: ['Add', 'Conv', 'Gemm', 'MatMul']",
    ),
    (
        "missing-model-file",
        (
            "  factory: inc_core.testing:SyntheticModel\n  args: {n_ops: 30, profile: few_sensitive, seed: 2}",
            "  path: m.onnx",
        ),
        "inc: error: run.yaml:2: model.path: no such file <tmp>/m.onnx",
    ),
    (
        "missing-calibration-file",
        ("run_dir: out", "run_dir: out\ncalibration: calib.npz"),
        "inc: error: run.yaml:11: calibration.path: no such file <tmp>/calib.npz",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_run_file(tmp_path: Path, edit: tuple[str, str], expected: str) -> None:
    assert edit[0] in VALID
    (tmp_path / "run.yaml").write_text(VALID.replace(*edit))
    done = inc("tune", "run.yaml", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    got = message(done, tmp_path)
    if expected.endswith(": "):  # the rest lists installed plugins or echoes a library's message
        assert got.startswith(expected), got
    else:
        assert got == expected
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.yaml"], "bad input must write nothing"


def test_missing_run_file(tmp_path: Path) -> None:
    done = inc("tune", "absent.yaml", cwd=tmp_path)
    assert done.returncode == 2 and message(done, tmp_path) == "inc: error: absent.yaml: no such run file"


def test_not_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text("- model\n- evaluation\n")
    done = inc("tune", "run.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert message(done, tmp_path) == (
        "inc: error: run.yaml: expected a mapping with keys model, evaluation, calibration, tuning, run_dir (got list)"
    )


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            ["--executor", "gpu"],
            "inc: error: --executor: expected one of inline, threads, process, dask, dask://HOST:PORT, "
            "tls://HOST:PORT, mpi (got 'gpu')",
        ),
        (["--workers", "0"], "inc: error: --workers: input should be greater than or equal to 1 (got 0)"),
        (
            ["--resume"],
            "inc: error: --resume: no tuning history to resume in <tmp>/out (expected <tmp>/out/history.sqlite)",
        ),
    ],
)
def test_bad_flags(tmp_path: Path, flags: list[str], expected: str) -> None:
    (tmp_path / "run.yaml").write_text(VALID)
    done = inc("tune", "run.yaml", *flags, cwd=tmp_path)
    assert done.returncode == 2 and message(done, tmp_path) == expected
    assert not (tmp_path / "out").exists()


def test_existing_run_directory_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(VALID)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    done = inc("tune", "run.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert message(done, tmp_path) == (
        "inc: error: run directory <tmp>/out already exists; pass --resume to continue it, "
        "or choose another run_dir (or --run-dir)"
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["notes.txt"]


def test_model_file_no_adaptor_accepts(tmp_path: Path) -> None:
    (tmp_path / "model.xyz").write_text("not a model")
    text = VALID.replace(
        "  factory: inc_core.testing:SyntheticModel\n  args: {n_ops: 30, profile: few_sensitive, seed: 2}",
        "  path: model.xyz",
    )
    (tmp_path / "run.yaml").write_text(textwrap.dedent(text))
    done = inc("tune", "run.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert message(done, tmp_path).startswith(
        "inc: error: run.yaml:2: model.path: no installed adaptor accepts <tmp>/model.xyz; installed adaptors: "
    )
    assert not (tmp_path / "out").exists()


def test_json_mode_reports_bad_input_on_stdout_too(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(VALID.replace("max_trials: 5", "max_trials: many"))
    done = inc("tune", "run.yaml", "--json", cwd=tmp_path)
    assert done.returncode == 2
    assert json.loads(done.stdout) == {
        "exit_status": 2,
        "errors": ["run.yaml:9: tuning.max_trials: expected an integer (got 'many')"],
    }


BROKEN_EVAL = """\
def accuracy(model):
    raise RuntimeError("the eval data is missing")
"""


def test_an_eval_function_that_fails_on_the_baseline_leaves_only_the_log(tmp_path: Path) -> None:
    (tmp_path / "brokeneval.py").write_text(BROKEN_EVAL)
    (tmp_path / "run.yaml").write_text(
        VALID.replace("function: inc_core.testing:synthetic_accuracy", "function: brokeneval:accuracy")
    )
    done = inc("tune", "run.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert message(done, tmp_path) == (
        "inc: error: run.yaml:5: evaluation.function: evaluating the fp32 baseline failed: "
        "RuntimeError: the eval data is missing (details in <tmp>/out/tuning.log)"
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tuning.log"]
    # fixed, the same command runs: a folder holding only the log is not a run to protect
    (tmp_path / "brokeneval.py").write_text("from inc_core.testing import synthetic_accuracy as accuracy\n")
    again = inc("tune", "run.yaml", cwd=tmp_path)
    assert again.returncode in (0, 1), again.stderr
