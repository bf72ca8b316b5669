"""The synth benchmark's decomposition: its three parts add up to the whole app's extra time."""

from __future__ import annotations

import pytest

from benchmarks.synth import VARIANTS, decompose

# Median process seconds per variant, in the shape measure_breakdown() produces.
SECONDS = {
    "full": 8.0,
    "no_nag": 7.4,
    "no_validation": 3.6,
    "no_nag_no_validation": 3.1,
    "one_bucket": 4.1,
    "one_bucket_no_validation": 1.05,
}


def figures(capsys) -> dict[str, float]:
    decompose(SECONDS)
    lines = capsys.readouterr().out.splitlines()
    return {name: float(value) for name, value in (line.split(": ") for line in lines)}


def test_the_variants_measured_are_the_ones_decomposed():
    assert set(SECONDS) == set(VARIANTS)


def test_the_three_parts_sum_to_the_extra_time(capsys):
    out = figures(capsys)
    parts = (
        out["breakdown_extra_l2_constructs_seconds"]
        + out["breakdown_extra_cdk_nag_seconds"]
        + out["breakdown_extra_template_validation_seconds"]
    )
    assert out["breakdown_extra_seconds_full_over_one_bucket"] == pytest.approx(8.0 - 4.1)
    assert parts == pytest.approx(out["breakdown_extra_seconds_full_over_one_bucket"], abs=2e-3)


def test_each_part_is_the_difference_it_names(capsys):
    out = figures(capsys)
    assert out["breakdown_extra_l2_constructs_seconds"] == pytest.approx(3.1 - 1.05)
    assert out["breakdown_extra_cdk_nag_seconds"] == pytest.approx(8.0 - 7.4)
    # the validator costs 7.4 - 3.1 on the whole app and 4.1 - 1.05 on one bucket
    assert out["breakdown_extra_template_validation_seconds"] == pytest.approx((7.4 - 3.1) - (4.1 - 1.05))
    assert out["breakdown_extra_allowed_by_target_seconds"] == pytest.approx(4.1)
    assert out["breakdown_ratio_full_to_one_bucket"] == pytest.approx(8.0 / 4.1, abs=1e-3)
