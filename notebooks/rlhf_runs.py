"""Loads spark-rlhf run directories for the analysis notebooks.

A run directory is either a demo run (bin/rlhf demo: one sub-directory per stage, plus
summary.json, samples.jsonl and gold_curve.jsonl) or a single job's run (bin/rlhf ppo, reward, ...:
metrics/<stage>.jsonl directly inside). Everything is read from JSON lines, so a run copied from
HDFS (hdfs dfs -get RUN .) works the same. Missing inputs raise MissingInput saying what is missing
and how to produce it; optional inputs return None and the notebooks say what they skip.
"""
import glob
import json
import os

import pandas as pd

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGES = ("pretrain", "sft", "reward", "ppo", "grpo", "rloo", "dpo")
# a stage's job, where it differs: GRPO and RLOO are the PPO job with another ppo.advantage
JOBS = {"grpo": "ppo", "rloo": "ppo"}
METHOD_TITLES = {"ppo": "PPO", "grpo": "GRPO", "rloo": "RLOO", "dpo": "DPO", "rejection": "rejection sampling"}


class MissingInput(Exception):
    """A run lacks what a notebook needs; the message names the file and how to produce it."""


def newest_runs(root=None, count=1):
    """The newest run directories under runs/ (by modification time), newest first."""
    root = root or os.path.join(REPO, "runs")
    dirs = [d for d in glob.glob(os.path.join(root, "*")) if os.path.isdir(d)]
    return sorted(dirs, key=os.path.getmtime, reverse=True)[:count]


def run_dir(variable="RLHF_RUN"):
    """The run to analyse: the environment variable (a local path), else the newest run under runs/."""
    path = os.environ.get(variable)
    if not path:
        newest = newest_runs()
        if not newest:
            raise MissingInput(f"no run to analyse: set {variable}=/path/to/run, or create one with bin/rlhf demo "
                               f"(runs go under {os.path.join(REPO, 'runs')})")
        path = newest[0]
    path = path[len("file:"):] if path.startswith("file:") else path
    if not os.path.isabs(path) and not os.path.isdir(path):
        path = os.path.join(REPO, path)  # a relative path is taken from the repository root (the notebook runs in notebooks/)
    if not os.path.isdir(path):
        raise MissingInput(f"{variable}={path} is not a directory; for a run on HDFS, copy it first: hdfs dfs -get RUN_URI .")
    return path


def _stage_dir(run, stage):
    """Where a stage's files are: RUN/<stage> in a demo run, RUN itself for a single job's run."""
    nested = os.path.join(run, stage)
    if os.path.isdir(nested):
        return nested
    if os.path.exists(os.path.join(run, "metrics", f"{JOBS.get(stage, stage)}.jsonl")):
        return run
    return None


def _read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise MissingInput(f"{path}, line {number}: not JSON ({e}); the file is damaged or still being written")
    return pd.DataFrame(rows)


def metrics(run, stage, required=True):
    """Per-step (per-iteration for PPO) metrics of a stage as a DataFrame indexed by step."""
    d = _stage_dir(run, stage)
    path = os.path.join(d, "metrics", f"{JOBS.get(stage, stage)}.jsonl") if d else None
    if path is None or not os.path.exists(path):
        if required:
            raise MissingInput(f"{run} has no {stage} metrics (looked for {os.path.join(run, stage, 'metrics', stage + '.jsonl')} "
                               f"and {os.path.join(run, 'metrics', stage + '.jsonl')}); run bin/rlhf {stage} or bin/rlhf demo")
        return None
    df = _read_jsonl(path)
    if df.empty:
        raise MissingInput(f"{path} is empty: the {stage} run stopped before its first step was recorded")
    return df.drop_duplicates("step", keep="last").set_index("step").sort_index()


def optional_jsonl(run, name):
    """A JSON-lines file of the run (gold_curve.jsonl, samples.jsonl, ppo/samples.jsonl), or None."""
    path = os.path.join(run, name)
    return _read_jsonl(path) if os.path.exists(path) else None


def summary(run):
    """summary.json of a demo run, or None for a single job's run."""
    path = os.path.join(run, "summary.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def methods(summary):
    """The alignment methods a demo run ran, in order (runs from before the comparison ran PPO alone)."""
    return summary.get("methods", ["ppo"]) if summary else []


def comparison(summary):
    """One row per method of a demo run: the comparison table (comparison.json), or the single method's figures."""
    if summary is None:
        return None
    if "comparison" in summary:
        return pd.DataFrame(summary["comparison"]).set_index("method")
    rows = []
    for m in methods(summary):
        rows.append({"method": m, "gold_mean": summary[f"gold_{m}_mean"], "gold_gain_sd": summary.get(f"gold_gain_sd_{m}", summary.get("gold_gain_sd")),
                     "kl": summary[f"kl_{m}"], "proxy_mean": summary[f"proxy_{m}_mean"],
                     "kl_max_during_training": summary.get(f"kl_{m}_max_during_training")})
    return pd.DataFrame(rows).set_index("method")


def reward_evaluation(run):
    """The reward model's last held-out evaluation (reward/eval/reward-step-N.json), or None."""
    d = _stage_dir(run, "reward")
    files = glob.glob(os.path.join(d, "eval", "reward-step-*.json")) if d else []
    if not files:
        return None
    newest = max(files, key=lambda p: int(p.rsplit("-", 1)[1].split(".")[0]))
    with open(newest, encoding="utf-8") as f:
        evaluation = json.load(f)
    evaluation["file"] = newest
    return evaluation


def ppo_samples(run):
    """Rollouts recorded during PPO (a few per iteration), or None."""
    d = _stage_dir(run, "ppo")
    path = os.path.join(d, "samples.jsonl") if d else None
    return _read_jsonl(path) if path and os.path.exists(path) else None


def describe(run):
    """One line naming the run and what it holds."""
    present = [s for s in STAGES if metrics(run, s, required=False) is not None]
    extras = [n for n in ("summary.json", "gold_curve.jsonl", "samples.jsonl") if os.path.exists(os.path.join(run, n))]
    return f"run {run}: stages {', '.join(present) or 'none'}; {', '.join(extras) or 'no demo records'}"
