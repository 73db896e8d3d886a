"""Whether each trained stage of the MATH arms fit its data (``fit_check``), judged from its ``fit.json``.

SFT stages (format SFT, heterogeneity SFT, VF) by their loss on their whole training set before
and after training; the verifier by its AUROC on its training samples and its BCE against the
label prior's (the best constant score). The table goes to results.json (``training``); each stage
that misses, in words, to ``training_warnings`` and the log.
"""

from __future__ import annotations


def stage_fit(stage: str, fit: dict | None, check: dict) -> tuple[dict, list[str]]:
    """One stage's record (``fit``: True, False, or None without a record) and why it missed, if it did."""
    record = (fit or {}).get("train_set")
    if record is None:
        return {"fit": None}, ["a stage cached before fit.json held train_set; delete it from the cache to retrain and measure it"]
    before, after = record["loss_before"], record["loss_after"]
    entry = {"steps": fit["steps_run"], **record, "relative_drop": 1.0 - after / before if before > 0 else 0.0}
    problems = []
    if stage == "math_verifier":
        auroc = record["auroc"]
        if auroc is None:
            problems.append("its training samples hold one class only, so it cannot learn to rank them")
        else:
            if auroc < check["verifier_min_auroc"]:
                problems.append(f"AUROC {auroc:.3f} on its training samples, under fit_check.verifier_min_auroc = {check['verifier_min_auroc']}")
            if after >= record["constant_bce"]:
                problems.append(f"BCE {after:.3f} on its training samples, not under the label prior's {record['constant_bce']:.3f}")
    elif after > (1.0 - check["sft_min_relative_drop"]) * before:
        problems.append(f"loss on its training set {before:.3f} → {after:.3f} ({entry['relative_drop']:.0%} lower), "
                        f"under fit_check.sft_min_relative_drop = {check['sft_min_relative_drop']}")
    return entry | {"fit": not problems}, problems


def training_fits(fits: dict[str, dict | None], check: dict) -> tuple[dict, list[str]]:
    """Per trained stage (``MathArms.fits``) its fit entry; and one warning per stage that did not fit."""
    table, warnings = {}, []
    for stage, fit in fits.items():
        table[stage], problems = stage_fit(stage, fit, check)
        if problems:
            verdict = "has no fit record" if table[stage]["fit"] is None else "did not fit its data"
            warnings.append(f"{stage} {verdict}: " + "; ".join(problems))
    return table, warnings
