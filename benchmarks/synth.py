"""Benchmark: wall time to synthesize the whole app vs a one-bucket CDK app.

What is measured: ``python app.py`` as a fresh subprocess (what ``cdk synth`` runs and a user waits for:
Python start, jsii/Node start-up and loading aws-cdk-lib, building the constructs, cdk-nag, the
built-in CloudFormation validator, writing cdk.out) against the same for an app with one stack and one
``s3.Bucket`` (also default ``App()``, so the built-in validator runs there too). The two alternate in
each round; the medians and their ratio are printed. A second comparison runs both through the
pinned CDK CLI (``cdk synth``, what ``make synth`` waits for: the CLI's start-up is then on both sides).

With ``--breakdown`` (on in full mode), each variant also runs in a child process that times its phases
in-process (imports incl. jsii start-up, building the constructs, ``app.synth()``) and variants switch
cdk-nag and/or the validator off, to show where the difference goes.

    .venv/bin/python benchmarks/synth.py --quick      # 2 rounds, no breakdown (< 1 min)
    .venv/bin/python benchmarks/synth.py              # 5 rounds + breakdown
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import REPO_ROOT, emit, load_average, machine, median

PYTHON = sys.executable
ONE_BUCKET_APP = """\
from aws_cdk import App, Stack, aws_s3 as s3
app = App()
s3.Bucket(Stack(app, "One"), "Bucket")
app.synth()
"""

# Variants of the child run: (one bucket?, cdk-nag on?, built-in validator on?)
VARIANTS = {
    "full": (False, True, True),
    "no_nag": (False, False, True),
    "no_validation": (False, True, False),
    "no_nag_no_validation": (False, False, False),
    "one_bucket": (True, False, True),
    "one_bucket_no_validation": (True, False, False),
}


def _env(outdir: str) -> dict[str, str]:
    env = dict(os.environ)
    env["CDK_OUTDIR"] = outdir
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    env.pop("CDK_VALIDATION", None)
    return env


def _timed_run(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds


def measure_apps(rounds: int, workdir: Path) -> tuple[list[float], list[float]]:
    one_app = workdir / "one_bucket_app.py"
    one_app.write_text(ONE_BUCKET_APP)
    full, one = [], []
    for i in range(rounds):
        # alternate which goes first, so a load spike does not always hit the same side
        order = ("full", "one") if i % 2 == 0 else ("one", "full")
        for which in order:
            outdir = tempfile.mkdtemp(prefix=f"synth-{which}-", dir=workdir)
            if which == "full":
                full.append(_timed_run([PYTHON, "app.py"], _env(outdir)))
            else:
                one.append(_timed_run([PYTHON, str(one_app)], _env(outdir)))
    return full, one


def measure_cli(rounds: int, workdir: Path) -> tuple[list[float], list[float]]:
    """Both apps through the pinned CLI: ``cdk synth`` (full app via cdk.json) vs ``--app one_bucket``."""
    cdk = str(REPO_ROOT / "node_modules" / ".bin" / "cdk")
    one_app = workdir / "one_bucket_app.py"
    one_app.write_text(ONE_BUCKET_APP)
    full, one = [], []
    for i in range(rounds):
        order = ("full", "one") if i % 2 == 0 else ("one", "full")
        for which in order:
            outdir = tempfile.mkdtemp(prefix=f"cli-{which}-", dir=workdir)
            env = {**_env(outdir), "CDK_DISABLE_CLI_TELEMETRY": "true"}
            env.pop("CDK_OUTDIR")
            argv = [cdk, "synth", "--all", "--quiet", "--no-notices", "--output", outdir]
            if which == "full":
                full.append(_timed_run(argv, env))
            else:
                one.append(_timed_run([*argv, "--app", f"{PYTHON} {one_app}"], env))
    return full, one


# -- breakdown: child processes timing their own phases ------------------------------------------------
def child(variant: str, outdir: str) -> None:
    """Run one variant in this process and print its phase timings as JSON on the last line."""
    one_bucket, nag, validation = VARIANTS[variant]
    t0 = time.perf_counter()
    import aws_cdk  # noqa: F401  (starts the jsii kernel: Node + aws-cdk-lib)

    t_import_cdk = time.perf_counter()
    phases: dict[str, float] = {"import_aws_cdk_seconds": t_import_cdk - t0}
    if one_bucket:
        from aws_cdk import App, Stack
        from aws_cdk import aws_s3 as s3

        t1 = time.perf_counter()
        app = App(outdir=outdir, builtin_cloud_formation_validation=validation)
        s3.Bucket(Stack(app, "One"), "Bucket")
    else:
        import cdk_nag  # noqa: F401

        import stacks.platform_app as platform_app

        if not nag:

            class _NoPlugins:
                @staticmethod
                def of(_scope):
                    return _NoPlugins()

                def add_plugins(self, *_plugins):
                    pass

            platform_app.Validations = _NoPlugins
            platform_app.AwsSolutionsChecks = lambda _app: None
        t1 = time.perf_counter()
        phases["import_stacks_and_cdk_nag_seconds"] = t1 - t_import_cdk
        app, _ = platform_app.build_app(outdir=outdir, cloudformation_validation=validation)
    t2 = time.perf_counter()
    app.synth()
    t3 = time.perf_counter()
    phases["build_constructs_seconds"] = t2 - t1
    phases["app_synth_seconds"] = t3 - t2
    print(json.dumps(phases))


def measure_breakdown(rounds: int, workdir: Path) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {v: {} for v in VARIANTS}
    for i in range(rounds):
        names = list(VARIANTS) if i % 2 == 0 else list(reversed(VARIANTS))
        for variant in names:
            outdir = tempfile.mkdtemp(prefix=f"bd-{variant}-", dir=workdir)
            started = time.perf_counter()
            proc = subprocess.run(
                [PYTHON, __file__, "--child", variant, "--outdir", outdir],
                cwd=REPO_ROOT,
                env=_env(outdir),
                capture_output=True,
                text=True,
            )
            total = time.perf_counter() - started
            if proc.returncode != 0:
                raise SystemExit(f"variant {variant} failed:\n{proc.stderr[-2000:]}")
            phases = json.loads(proc.stdout.strip().splitlines()[-1])
            phases["process_seconds"] = total
            for key, value in phases.items():
                results[variant].setdefault(key, []).append(value)
    return results


def decompose(seconds: dict[str, float]) -> None:
    """Split the whole app's extra time over the one-bucket app into its three causes.

    The parts add up to the difference exactly (differences of the variants' median process times):
    building the platform from L2 constructs (both checks off), cdk-nag, and validating the platform's
    templates beyond what validating one bucket costs. The 2.0 target holds when they sum to at most
    the one-bucket app's own time.
    """
    one = seconds["one_bucket"]
    constructs = seconds["no_nag_no_validation"] - seconds["one_bucket_no_validation"]
    nag = seconds["full"] - seconds["no_nag"]
    validator_full = seconds["no_nag"] - seconds["no_nag_no_validation"]
    validator_one = one - seconds["one_bucket_no_validation"]
    emit("breakdown_extra_seconds_full_over_one_bucket", seconds["full"] - one)
    emit("breakdown_extra_l2_constructs_seconds", constructs)
    emit("breakdown_extra_cdk_nag_seconds", nag)
    emit("breakdown_extra_template_validation_seconds", validator_full - validator_one)
    emit("breakdown_extra_allowed_by_target_seconds", one)
    emit("breakdown_validator_cost_full_app_seconds", validator_full)
    emit("breakdown_validator_cost_one_bucket_seconds", validator_one)
    emit("breakdown_ratio_full_to_one_bucket", seconds["full"] / one)
    emit("breakdown_ratio_no_nag_to_one_bucket", seconds["no_nag"] / one)
    emit(
        "breakdown_ratio_no_nag_no_validation_to_one_bucket_no_validation",
        seconds["no_nag_no_validation"] / seconds["one_bucket_no_validation"],
    )


def stack_facts(outdir: Path) -> None:
    """Size of what the full app writes: stacks, resources, assets."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    templates = sorted(outdir.glob("*.template.json"))
    resources = sum(len(json.loads(p.read_text()).get("Resources", {})) for p in templates)
    assets = [p for p in outdir.iterdir() if p.name.startswith("asset.")]
    emit("full_app_stacks", len(templates))
    emit("full_app_resources", resources)
    emit("full_app_assets", len(assets))
    emit("full_app_artifacts", len(manifest.get("artifacts", {})))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds, no breakdown")
    parser.add_argument("--rounds", type=int, help="rounds of the app-vs-app comparison (default 2 / 6)")
    parser.add_argument("--breakdown", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--breakdown-rounds", type=int, default=3)
    parser.add_argument("--child", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--outdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.outdir)
        return 0

    rounds = args.rounds or (2 if args.quick else 6)
    breakdown = (not args.quick) if args.breakdown is None else args.breakdown
    machine()
    with tempfile.TemporaryDirectory(prefix="dap-synth-bench-") as tmp:
        workdir = Path(tmp)
        full, one = measure_apps(rounds, workdir)
        emit("synth_rounds", rounds)
        emit("synth_measures", "python app.py subprocess (jsii start-up included), cdk-nag + validator on")
        emit("synth_full_app_seconds_median", median(full))
        emit("synth_full_app_seconds_min", min(full))
        emit("synth_one_bucket_app_seconds_median", median(one))
        emit("synth_one_bucket_app_seconds_min", min(one))
        ratio = median(full) / median(one)
        emit("synth_ratio_full_to_one_bucket", ratio)
        emit("synth_ratio_target_met", ratio <= 2.0)
        stack_facts(next(p for p in workdir.iterdir() if p.name.startswith("synth-full-")))
        cli_full, cli_one = measure_cli(rounds, workdir)
        emit("synth_cli_full_app_seconds_median", median(cli_full))
        emit("synth_cli_one_bucket_app_seconds_median", median(cli_one))
        cli_ratio = median(cli_full) / median(cli_one)
        emit("synth_cli_ratio_full_to_one_bucket", cli_ratio)
        emit("synth_cli_ratio_target_met", cli_ratio <= 2.0)
        if breakdown:
            results = measure_breakdown(args.breakdown_rounds, workdir)
            for variant, phases in results.items():
                for key, values in phases.items():
                    emit(f"breakdown_{variant}_{key}_median", median(values))
            decompose({v: median(phases["process_seconds"]) for v, phases in results.items()})
    emit("machine_load_average_1min_end", round(load_average(), 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
