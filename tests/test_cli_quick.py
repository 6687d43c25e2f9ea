"""``inc tune MODEL --eval ... --calib ...`` without a run file, ``inc apply``, ``--overwrite``, ``--version``,
``inc history --trial``, adaptor options and the end summary, in real subprocesses on the ONNX digits example."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from inc_core.cli.args import resume_command
from inc_core.cli.run_file import load_run_file

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "examples" / "onnx_digits"
MODEL = str(DIGITS / "digits_cnn.onnx")
EVAL = f"{DIGITS / 'evaluate.py'}:accuracy"
CALIB = str(DIGITS / "calib.npz")
QUICK = (MODEL, "--eval", EVAL, "--calib", CALIB, "--objective", "model_size", "--max-trials", "6")


def inc(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inc_core.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("inc: error:")]


def test_version() -> None:
    done = inc("--version", cwd=ROOT)
    assert done.returncode == 0
    assert done.stdout.startswith("inc 0.1.0 (") and "inc-core 0.1.0" in done.stdout


@pytest.mark.slow
def test_tune_a_model_file_then_apply_history_and_overwrite(tmp_path: Path) -> None:
    done = inc("tune", *QUICK, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "inc_runs" / "digits_cnn"
    # the flags became a run spec, written as a valid run file
    run = load_run_file(run_dir / "run.yaml").spec
    assert run.model.path == MODEL and run.evaluation.function == EVAL
    assert run.tuning["objectives"] == {"model_size": 1.0} and run.tuning["max_trials"] == 6
    # the end summary: verdict, accuracy delta, size ratio vs fp32
    assert "goal met with trial" in done.stderr
    assert "accuracy 0.9916 (fp32) ->" in done.stderr and "target >= 0.9817" in done.stderr
    assert "x smaller (150.3 KiB ->" in done.stderr
    # ONNX Runtime's INFO lines (int4 MatMulNBits) go to tuning.log, not to the terminal
    assert "matmul_nbits_quantizer" not in done.stderr
    assert "matmul_nbits_quantizer" in (run_dir / "tuning.log").read_text()

    history = inc("history", str(run_dir), cwd=tmp_path)
    assert history.returncode == 0 and max(len(line) for line in history.stdout.splitlines()) <= 100
    trial = inc("history", str(run_dir), "--trial", "1", cwd=tmp_path)
    assert trial.returncode == 0 and "config:" in trial.stdout and "conv1:" in trial.stdout
    assert json.loads(inc("history", str(run_dir), "--json", cwd=tmp_path).stdout)["trials"][0]["number"] == 1
    missing = inc("history", str(run_dir), "--trial", "99", cwd=tmp_path)
    assert missing.returncode == 2 and error_lines(missing)[0].startswith("inc: error: --trial: no trial 99")

    applied = inc("apply", str(run_dir), MODEL, "-o", "out/q.onnx", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    model = onnx.load(str(tmp_path / "out" / "q.onnx"))
    onnx.checker.check_model(model)
    best = onnx.load(str(run_dir / "best_model.onnx"))
    assert sorted(n.op_type for n in model.graph.node) == sorted(n.op_type for n in best.graph.node)

    other = str(ROOT / "examples" / "onnx_outlier_mlp" / "outlier_mlp.onnx")
    wrong = inc("apply", str(run_dir / "best_config.yaml"), other, "-o", "out/wrong.onnx", cwd=tmp_path)
    assert wrong.returncode == 2 and len(error_lines(wrong)) == 1
    assert "op 'conv1' is not in the model" in wrong.stderr and not (tmp_path / "out" / "wrong.onnx").exists()

    again = inc("tune", *QUICK, cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    replaced = inc("tune", *QUICK, "--overwrite", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert (tmp_path / "out" / "q.onnx").is_file()  # --overwrite replaced the run directory only


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            ("--eval", "no_such_module:accuracy"),
            "inc: error: --eval: cannot import 'no_such_module': ModuleNotFoundError",
        ),
        (
            ("--eval", EVAL, "--calib", str(DIGITS / "eval.npz")),
            "calibration data file " + str(DIGITS / "eval.npz") + ": no data for model input",
        ),
        (
            ("--eval", EVAL, "--calib", CALIB, "--provider", "NoSuchProvider"),
            "inc: error: --provider: unknown execution",
        ),
        (("--eval", EVAL, "--threads", "x"), "error: argument --threads: invalid int value"),
        (("--eval", EVAL, "--adaptor-option", "thread=2"), "inc: error: --adaptor-option thread: the onnx adaptor has"),
        ((), "inc: error: " + MODEL + ": not a run file (.yaml); to tune this model directly give --eval"),
    ],
)
def test_bad_flags_give_one_message_and_write_nothing_but_the_log(tmp_path: Path, flags, expected) -> None:
    done = inc("tune", MODEL, *flags, "--max-trials", "2", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    problems = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(problems) == 1 and expected in problems[0], problems
    run_dir = tmp_path / "inc_runs" / "digits_cnn"
    assert not run_dir.exists() or sorted(p.name for p in run_dir.iterdir()) == ["tuning.log"]


def test_adaptor_options_in_a_run_file(tmp_path: Path) -> None:
    base = (DIGITS / "run.yaml").read_text().replace("calibration: calib.npz", f"calibration: {CALIB}")
    base = base.replace("path: digits_cnn.onnx", f"path: {MODEL}").replace("evaluate:accuracy", EVAL)
    (tmp_path / "typo.yaml").write_text(base.replace("tuning:", "adaptor:\n  thread: 2\ntuning:"))
    done = inc("tune", "typo.yaml", "--run-dir", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert error_lines(done) == [
        "inc: error: typo.yaml:9: adaptor.thread: the onnx adaptor has no option 'thread'; did you mean 'threads'?"
    ]
    (tmp_path / "model_key.yaml").write_text(base.replace(f"  path: {MODEL}", f"  path: {MODEL}\n  threads: 2"))
    done = inc("tune", "model_key.yaml", "--run-dir", "out", cwd=tmp_path)
    assert done.returncode == 2 and "adaptor options go under the top-level 'adaptor' key" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_adaptor_options_and_config_set_from_a_run_file_reach_the_run(tmp_path: Path) -> None:
    text = (DIGITS / "run.yaml").read_text()
    text = text.replace("calibration: calib.npz", f"calibration: {CALIB}").replace("evaluate:accuracy", EVAL)
    text = text.replace("path: digits_cnn.onnx", f"path: {MODEL}")
    text = text.replace("  strategy: auto\n", "  strategy: sequential\n  config_set: [{mode: static}]\n")
    text = text.replace("tuning:", "adaptor:\n  threads: 2\n  providers: [CPUExecutionProvider]\ntuning:")
    (tmp_path / "run.yaml").write_text(text)
    done = inc("tune", "run.yaml", "--run-dir", "out", "--adaptor-option", "repetitions=4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    resolved = load_run_file(tmp_path / "out" / "run.yaml").spec
    assert resolved.adaptor == {"threads": 2, "providers": ["CPUExecutionProvider"], "repetitions": 4}
    assert resolved.tuning["config_set"] == [{"mode": "static"}]
    config = (tmp_path / "out" / "best_config.yaml").read_text()
    assert "mode: static" in config and "mode: dynamic" not in config


def test_the_resume_hint_repeats_every_option() -> None:
    argv = ["-v", "tune", "m.onnx", "--eval", "e:f", "--calib", "c.npz", "--threads", "2", "--overwrite"]
    assert resume_command(argv, Path("/runs/x")) == (
        "inc -v tune m.onnx --eval e:f --calib c.npz --threads 2 --run-dir /runs/x --resume"
    )
    assert resume_command(["tune", "r.yaml", "--run-dir", "rel", "--workers", "2"], Path("/abs/rel")) == (
        "inc tune r.yaml --workers 2 --run-dir /abs/rel --resume"
    )


@pytest.mark.slow
def test_apply_a_torch_run_from_the_folder_of_its_modules(tmp_path: Path) -> None:
    """``inc apply RUN_DIR module:function -o OUT`` for a torch run: MODEL, calibration and example
    inputs are ``module:function`` references, imported from the current directory."""
    import shutil

    import numpy as np
    import torch

    from inc_torch import TorchAdaptor

    shutil.copytree(ROOT / "examples" / "torch_digits", tmp_path, dirs_exist_ok=True)
    tuned = inc("tune", "run.yaml", "--run-dir", "run", cwd=tmp_path)
    assert tuned.returncode == 0, tuned.stderr
    applied = inc("apply", "run", "digits:trained_model", "-o", "q", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert "wrote" in applied.stdout and (tmp_path / "q.pt2").is_file()
    adaptor = TorchAdaptor()
    x = torch.tensor(np.load(tmp_path / "digits.npz")["test_x"][:16, None] / 16.0, dtype=torch.float32)
    with torch.no_grad():
        ours = adaptor.load(tmp_path / "q.pt2")(x)
        best = adaptor.load(tmp_path / "run" / "best_model.pt2")(x)
    assert torch.equal(ours.argmax(1), best.argmax(1))
