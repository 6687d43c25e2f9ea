"""Markdown for the shipping benchmark: the case x strategy table, oracles, targets, auto's trials."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.shipping_cases import CASE_NAMES
from inc_core import TuningConfig

AUTO_TARGET_EVALS = 10
MIN_GAIN = TuningConfig.model_fields["min_gain"].default
"""The default ``min_gain`` the benchmark runs with."""
ORACLE_TARGET_EVALS = 6
MIN_SPEEDUP = {"efficientnet-onnx": 1.3, "efficientnet-torch-compile": 1.3, "bert-onnx": 1.5}
MAX_OVERHEAD = {"bert-onnx": 0.30}
OVERHEAD_NOTES = [
    "The tuner's own time is mostly fixed per model, not per evaluation. Before the first trial it builds "
    "the space (ORT's symbolic shape inference, 0.3-0.6 s), calibrates every activation once, builds one preset "
    "per mode through ONNX Runtime's quantizers (`quantize_static` of the static preset alone takes 1.4-1.6 s "
    "on EfficientNet and on the encoder, most of it ORT's per-channel loops in Python) and times the presets "
    "with fp32 in one round-robin (about 1 s; a preset more than 2x slower than fp32 in two warm rounds is "
    "timed no further). A passing trial adds a paired benchmark of its own (at most a quarter of an evaluation; "
    "two for a model under 1 ms per call).",
    "",
    "So the share depends on the eval function. On the encoder, auto spends about {bert_fixed} outside the eval "
    "function whatever the eval set: {bert_sweep} (`python benchmarks/shipping.py --cases bert-onnx --strategies "
    "auto --bert-eval-texts N --out /tmp/sweep.md`). The rows above use 3,000 texts, the size of a "
    "sentence-similarity test set (STS-B's has 2,758 sentences).",
    "",
    'The issue also asks the cost model for "a small fraction of one evaluation". It is not met on any case '
    "(the lines above): the evaluations the issue specifies are short (a few hundred EfficientNet crops: 0.5-2 s; "
    "the examples: milliseconds), shorter than ORT's `quantize_static` of one preset. The cost model is measured "
    "once per run directory and replayed on resume.",
]
"""The overhead section's text; the sweep numbers are filled in by `OVERHEAD_SWEEP`."""
OVERHEAD_SWEEP = {
    "bert_fixed": "4.5-5.5 s",
    "bert_sweep": "66% of the wall time with 480 texts (4.5 s outside, 2.3 s in 2 eval calls), 45% with 1,440 "
    "(5.5 s, 6.6 s), 26% with 3,000 (4.9 s, 13.8 s)",
}
"""Measured on 2026-12-04 with ``--bert-eval-texts`` 480 and 1440 and the default 3000 (see `OVERHEAD_NOTES`)."""
COST_MODEL_BUDGET = 0.25
"""The issue asks the cost model to take "a small fraction of one evaluation"; read here as a quarter."""
"""Share of the wall time the tuner may take outside the user's eval function."""
REPORTED_ONLY = {
    "efficientnet-torch": "eager PyTorch runs static int8 convs through reference quantize/dequantize ops, "
    "slower than fp32; the int8 kernels come with torch.compile (efficientnet-torch-compile)",
}
"""Cases shown for comparison, with why they carry no speed-up target."""


def _x(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}x"


def _speedup(row: dict[str, Any], threads: str) -> float | None:
    timing = row.get(threads)
    return timing["speedup"] if timing else None


def _speedup_cell(row: dict[str, Any], threads: str) -> str:
    """The median paired speed-up, with the range of the repeated measurements when there were several."""
    timing = row.get(threads)
    if not timing:
        return "—"
    spread = timing.get("speedup_range")
    return _x(timing["speedup"]) + (f" ({spread[0]:.2f}-{spread[1]:.2f})" if spread else "")


def _ordered(rows: list[dict[str, Any]], strategies: Sequence[str]) -> list[dict[str, Any]]:
    rank = {s: i for i, s in enumerate(strategies)}
    return sorted(rows, key=lambda r: (CASE_NAMES.index(r["case"]), rank.get(r["strategy"], len(rank)), r["strategy"]))


def table(rows: list[dict[str, Any]], strategies: Sequence[str]) -> list[str]:
    lines = [
        "| case | strategy | evals (cap) | met | score | speed-up 1 thread | speed-up 2 threads | size ratio "
        "| float ops | overhead (s: cost model / eval calls) | wall s | tuned config |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in _ordered(rows, strategies):
        evals = f"{r['evals']} ({r['max_trials']})" + (f", {r['failed']} failed" if r["failed"] else "")
        met = "yes" if r["met"] else "no"
        score = "—" if r["score"] is None else f"{r['score']:.4f}"
        floats = "—" if r["float_ops"] is None else f"{r['float_ops']}/{r['ops']}"
        overhead = "—" if r["overhead_share"] is None else f"{r['overhead_share']:.0%}"
        if r.get("cost_model_s") is not None:
            overhead += f" ({r['cost_model_s']:.1f} / {r['eval_s']:.1f} in {r['eval_calls']})"
        lines.append(
            f"| {r['case']} | {r['strategy']} | {evals} | {met} | {score} | {_speedup_cell(r, '1t')} "
            f"| {_speedup_cell(r, '2t')} | {_x(r['size_ratio'], 1)} | {floats} | {overhead} | {r['wall_s']:.0f} "
            f"| {r['best_config']} |"
        )
    return lines


def oracle_table(oracles: dict[str, Any]) -> list[str]:
    lines = [
        "| case | ops | fewest ops in fp32 | passing sets of that size | brute-force evaluations "
        "| oracle speed-up 1 / 2 threads |",
        "|---|---|---|---|---|---|",
    ]
    for name in CASE_NAMES:
        o = oracles.get(name)
        if o is None:
            continue
        sets = "; ".join("{" + ", ".join(s) + "}" if s else "{} (full int8)" for s in o["passing_sets"][:4])
        more = f" (+{len(o['passing_sets']) - 4} more)" if len(o["passing_sets"]) > 4 else ""
        lines.append(
            f"| {name} | {o['ops']} | {o['fewest_float_ops']} | {sets}{more} | {o['evaluations']} "
            f"| {_x(o['1t']['speedup'])} / {_x(o['2t']['speedup'])} |"
        )
    return lines


def targets(rows: list[dict[str, Any]], oracles: dict[str, Any]) -> list[str]:
    """The issue's targets, one line each, ``ok`` or ``MISSED``."""
    lines = []
    for r in [r for r in rows if r["strategy"] == "auto"]:
        name, speed = r["case"], _speedup(r, "2t")
        if name in REPORTED_ONLY:
            lines.append(f"- {name}: no target ({REPORTED_ONLY[name]}); auto met={r['met']} in {r['evals']} "
                         f"evaluations, speed-up {_x(speed)} at 2 threads")  # fmt: skip
            continue
        if name in oracles:
            bound, oracle_speed = oracles[name]["fewest_float_ops"], oracles[name]["2t"]["speedup"]
            if oracle_speed < 1.0 + MIN_GAIN:
                # int8 with the fewest ops in float is no faster than fp32 here, so fewer float ops is no
                # bar; a met verdict must still be a faster model (another mode may be: weight-only, fp16).
                ok = r["evals"] <= ORACLE_TARGET_EVALS and (not r["met"] or (speed is not None and speed >= 1.0))
                text = (f"the oracle config runs at {_x(oracle_speed)} of fp32 at 2 threads, so the "
                        f"fewest-float-ops bar does not apply; auto met={r['met']} in {r['evals']} evaluations "
                        f"(<= {ORACLE_TARGET_EVALS}), speed-up {_x(speed)} at 2 threads, "
                        f"{r['float_ops']} float ops (oracle {bound})")  # fmt: skip
            else:
                ok = r["met"] and r["evals"] <= ORACLE_TARGET_EVALS and (r["float_ops"] or 0) <= bound
                text = (f"auto met={r['met']} in {r['evals']} evaluations (<= {ORACLE_TARGET_EVALS}) with "
                        f"{r['float_ops']} float ops (oracle {bound})")  # fmt: skip
        else:
            need = MIN_SPEEDUP.get(name, 1.0)
            ok = r["met"] and r["evals"] <= AUTO_TARGET_EVALS and speed is not None and speed >= need
            text = (f"auto met={r['met']} in {r['evals']} evaluations (<= {AUTO_TARGET_EVALS}), "
                    f"speed-up {_x(speed)} at 2 threads (>= {need}x)")  # fmt: skip
        lines.append(f"- {name}: {text}: {'ok' if ok else 'MISSED'}")
    for r in [r for r in rows if r["strategy"] == "auto" and r["case"] in MAX_OVERHEAD]:
        need, share = MAX_OVERHEAD[r["case"]], r["overhead_share"]
        outside = r["wall_s"] - r["eval_s"]
        lines.append(
            f"- {r['case']}: tuner overhead {share:.0%} of the wall time (<= {need:.0%}): {outside:.1f} s outside "
            f"the eval function (cost model {r['cost_model_s']:.1f} s) against {r['eval_s']:.1f} s in "
            f"{r['eval_calls']} eval calls: {'ok' if share <= need else 'MISSED'}"
        )
    for r in [r for r in rows if r["strategy"] == "auto" and r.get("baseline_eval_s") and r["cost_model_s"]]:
        share = r["cost_model_s"] / r["baseline_eval_s"]
        verdict = "ok" if share <= COST_MODEL_BUDGET else "MISSED"
        lines.append(
            f"- {r['case']}: cost model {r['cost_model_s']:.1f} s = {share:.1f}x one fp32 evaluation "
            f"({r['baseline_eval_s']:.1f} s; <= {COST_MODEL_BUDGET}x): {verdict}"
        )
    slow = [
        f"{r['case']}/{r['strategy']} ({_x(_speedup(r, '2t'))})"
        for r in rows
        if r["met"] and (_speedup(r, "2t") is None or _speedup(r, "2t") < 1.0)  # type: ignore[operator]
    ]
    lines.append(f"- no strategy reports met with a model slower than fp32 (2 threads): "
                 f"{'MISSED: ' + ', '.join(slow) if slow else 'ok'}")  # fmt: skip
    return lines


def auto_trials(rows: list[dict[str, Any]]) -> list[str]:
    """Case by case, each of auto's trials: stage, config, score, passed/met, the tuner's speed-up."""
    lines = []
    for r in _ordered([r for r in rows if r["strategy"] == "auto"], ["auto"]):
        lines += [f"**{r['case']}** (target score {r['target_score']:.4f}; {r['stop_reason']}"
                  + (f"; {r['reason']}" if r["reason"] else "") + "):", ""]  # fmt: skip
        for t in r["trials"]:
            score = "—" if t["score"] is None else f"{t['score']:.4f}"
            verdict = "met" if t["met"] else ("passed" if t["passed"] else ("failed" if t["error"] else "below"))
            noise = f" ±{t['speedup_error']:.0%}" if t.get("speedup_error") else ""
            speed = "" if t["speedup"] is None else f", {t['speedup']:.2f}x{noise}"
            lines.append(f"{t['number']}. `{t['stage'] or '-'}` {t['config']} → {score} {verdict}{speed}")
        lines.append("")
    return lines


def render(results: dict[str, Any], strategies: Sequence[str]) -> str:
    rows, oracles, cases = results["rows"], results["oracles"], results["cases"]
    runs = results.get("runs", [])
    run_lines = [
        f"- {run['at']}: `python benchmarks/shipping.py {' '.join(run['argv'])}`, {run['seconds']} s, "
        f"load average {run['load_start'][0]:.1f} → {run['load_end'][0]:.1f} ({run['cpus']} CPUs)"
        for run in runs[-6:]
    ]
    case_lines = [f"- **{name}**: {info['title']}; " + ", ".join(f"{k} {v}" for k, v in info.items()
                  if k not in ("title", "framework")) for name, info in cases.items()]  # fmt: skip
    quick = any(r.get("quick") for r in rows)
    return "\n".join([
        "# Shipping benchmark: tuned models a user would ship",
        "",
        "Written by `benchmarks/shipping.py` (`nox -s bench_shipping`; raw numbers with every trial in "
        "`shipping.json`). Each row is one `autotune` run as a user would start it: 1% relative "
        "`tolerable_loss`, `timeout=0` (stop at the first config that meets the goal), the default "
        "`min_gain`, 2 intra-op threads for the eval function and the tuner, `max_trials` capped per case.",
        "",
        "*evals*: trials evaluated (cap); *met*: `TuningResult.met_goal`; *score*: the tuned model's metric "
        "(fp32 = 1.0); *speed-up*: fp32 latency / tuned latency measured by the benchmark after the run, both "
        "models timed round-robin in one process (`inc_core.measure.timing.interleaved_latency`, "
        "one calibration batch; ONNX sessions with intra-op spinning off, as the tuner times them), the "
        "median of 3 such measurements with fresh sessions (their range in "
        "brackets: on the sub-ms examples at 2 threads it spans tens of percent, so read those rows as "
        "\"about fp32\"); "
        "*size ratio*: fp32 bytes / tuned bytes; *float ops*: ops the tuned config leaves in a float dtype / "
        "ops in the space; *overhead*: share of the run's wall time spent outside the user's eval function "
        "(quantize, calibration, sensitivity, benchmarks, strategy), with the seconds of the cost model and of the "
        "eval function (number of calls, the fp32 baseline included). Rows whose best config is all fp32 show "
        "no speed-up. Identical tuned configs of one case share one timing.",
        "",
        *(["**Quick run (smaller eval sets and caps): not the reference numbers.**", ""] if quick else []),
        "Runs (the machine has 2 cores shared with other sessions; load average at start and end):",
        "",
        *run_lines,
        "",
        "Cases:",
        "",
        *case_lines,
        "",
        *table(rows, strategies),
        "",
        "## Oracles",
        "",
        "Brute force over fp32 fallback sets of increasing size from the default config "
        "(`benchmarks/shipping_oracle.py`): the fewest ops that must leave int8 for the accuracy goal.",
        "",
        *oracle_table(oracles),
        "",
        "## Targets",
        "",
        *targets(rows, oracles),
        "",
        "## Tuner overhead",
        "",
        *(line.format(**OVERHEAD_SWEEP) for line in OVERHEAD_NOTES),
        "",
        "## Where auto spent its evaluations",
        "",
        "Each trial: stage, config summary, score and verdict (*met*: passed and beat fp32 by `min_gain`; "
        "*passed*: accuracy only; *below*: under the target), and the tuner's own paired speed-up when measured.",
        "",
        *auto_trials(rows),
    ])  # fmt: skip
