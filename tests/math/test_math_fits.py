"""When a MATH stage counts as fit (``vbvf/pipeline/math_fits.py``), and the verifier's ranking
numbers on its training set against closed forms (``ranking_fit``)."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from vbvf.arms.math_training import ranking_fit
from vbvf.pipeline.math_fits import stage_fit, training_fits

CHECK = {"sft_min_relative_drop": 0.1, "verifier_min_auroc": 0.7}


def sft_fit(before: float, after: float) -> dict:
    return {"steps_run": 10, "train_set": {"examples": 5, "loss_before": before, "loss_after": after}}


def verifier_fit(auroc, after: float, prior_bce: float = 0.5) -> dict:
    return {"steps_run": 10, "train_set": {"examples": 8, "loss_before": 0.7, "loss_after": after, "positive_share": 0.25,
                                           "accuracy": 0.8, "auroc": auroc, "constant_bce": prior_bce}}


@pytest.mark.parametrize(("before", "after", "fits"), [(1.0, 0.85, True), (1.0, 0.9, True), (1.0, 0.95, False), (1.0, 1.2, False)])
def test_sft_stage_fits_when_its_training_loss_drops_enough(before, after, fits):
    entry, problems = stage_fit("math_vf", sft_fit(before, after), CHECK)
    assert entry["fit"] is fits and entry["relative_drop"] == pytest.approx(1 - after / before)
    assert bool(problems) is not fits
    if not fits:
        assert "fit_check.sft_min_relative_drop = 0.1" in problems[0]


@pytest.mark.parametrize(("auroc", "after", "fits", "says"), [
    (0.9, 0.3, True, None),
    (0.6, 0.3, False, "AUROC 0.600 on its training samples, under fit_check.verifier_min_auroc = 0.7"),
    (0.9, 0.55, False, "BCE 0.550 on its training samples, not under the label prior's 0.500"),
    (None, 0.1, False, "one class only"),
])
def test_verifier_fits_when_it_ranks_its_samples_and_beats_the_prior(auroc, after, fits, says):
    entry, problems = stage_fit("math_verifier", verifier_fit(auroc, after), CHECK)
    assert entry["fit"] is fits
    assert (says is None and not problems) or says in problems[0]


def test_stages_without_a_record_are_named_not_passed():
    table, warnings = training_fits({"math_format": None, "math_vf": sft_fit(1.0, 0.5), "math_base": sft_fit(1.0, 0.99)}, CHECK)
    assert table["math_format"] == {"fit": None} and table["math_vf"]["fit"] is True and table["math_base"]["fit"] is False
    assert [w.split(":")[0] for w in warnings] == ["math_format has no fit record", "math_base did not fit its data"]


def test_ranking_fit_against_closed_forms():
    logits = np.array([[2.0], [-1.0], [0.5], [-3.0], [1.0]])
    labels = np.array([1.0, 0.0, 0.0, 0.0, 1.0])
    got = ranking_fit(SimpleNamespace(predictions=logits, label_ids=labels))
    # positives 2.0, 1.0 outrank all three negatives: AUROC 1; accuracy at p = 0.5 (logit 0): 0.5 is a false positive
    assert got["auroc"] == 1.0 and got["accuracy"] == pytest.approx(4 / 5) and got["positive_share"] == pytest.approx(0.4)
    assert got["constant_bce"] == pytest.approx(-(0.4 * math.log(0.4) + 0.6 * math.log(0.6)))
    tie = SimpleNamespace(predictions=np.zeros((4, 1)), label_ids=np.array([1.0, 0.0, 1.0, 0.0]))
    assert ranking_fit(tie)["auroc"] == 0.5  # ties count one half
    one_class = SimpleNamespace(predictions=np.ones((3, 1)), label_ids=np.zeros(3))
    assert ranking_fit(one_class)["auroc"] is None and ranking_fit(one_class)["constant_bce"] == 0.0
