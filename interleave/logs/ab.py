"""A/B logs of two policies: per-arm CTR, two-sample and sequential tests, SRM, off-policy IPS.

The per-partition step, :func:`ab_statistics`, reduces a frame in the ``ab`` layout
(:mod:`interleave.logs.schema`) to sums per (policy, period) and per (policy, item, position);
partitions :meth:`~ABStatistics.merge` exactly. :class:`ABResult` reads only those sums:

- per-policy click-through rate (clicks per shown row), the two-proportion z-test of the
  candidate against the baseline, and the mixture SPRT over periods (always-valid p-value);
- the sample-ratio check on shown rows (or on users when the log has ``user_id`` and each user
  sits in one partition);
- the off-policy estimate of each policy's CTR from the *other* policy's log: inverse propensity
  scoring (IPS) and self-normalised IPS (SNIPS), with normal intervals, set beside the policy's
  own on-policy CTR. The target policy's probability of showing an item in a slot is its
  empirical frequency in its own log (exact in expectation for context-free policies such as the
  Open Bandit Dataset's uniform random and Bernoulli Thompson sampling; an approximation for
  contextual ones).

IPS (Horvitz & Thompson 1952): ``V = mean(w_i c_i)``, ``w_i = pi_target(a_i) / p_i``;
SNIPS (Swaminathan & Joachims 2015): ``sum(w_i c_i) / sum(w_i)``, variance by the delta method.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl
from scipy import stats as scipy_stats

from interleave._checks import check_alpha
from interleave.errors import InvalidArgument
from interleave.logs.periods import period_of
from interleave.logs.schema import SUMMARY_SCHEMA, check_columns
from interleave.stats import MixtureSPRT, srm_test, two_proportions_test
from interleave.stats.sufficient import TwoProportions

__all__ = ["ABResult", "ABStatistics", "OffPolicyEstimate", "ab_statistics"]

_ACTION_SUMS = (
    "n_shown",
    "n_clicks",
    "sum_inverse_propensity",
    "sum_click_inverse_propensity",
    "sum_inverse_propensity_squared",
    "sum_click_inverse_propensity_squared",
)


@dataclasses.dataclass(frozen=True, eq=False)
class ABStatistics:
    """Sums of an A/B log that merge exactly across partitions.

    Attributes
    ----------
    by_policy_period
        ``policy``, ``period``, ``n_shown``, ``n_clicks`` (``period`` null without timestamps).
    by_action
        ``policy``, ``item_id``, ``position`` and the sums of ``1/p`` and ``click/p`` (and their
        squares) the off-policy estimators read; empty without propensities.
    users
        ``policy``, ``n_users`` (distinct users seen, exact when users do not span partitions).
    n_invalid_propensities
        Rows dropped from the off-policy sums because their propensity was not in (0, 1].
    """

    by_policy_period: pl.DataFrame
    by_action: pl.DataFrame
    users: pl.DataFrame
    n_invalid_propensities: int = 0

    def merge(self, other: ABStatistics) -> ABStatistics:
        """Both partitions together (exact)."""
        if not isinstance(other, ABStatistics):
            msg = f"`other` must be ABStatistics, got {type(other).__name__}"
            raise InvalidArgument(msg)

        def combine(a: pl.DataFrame, b: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
            frames = [f for f in (a, b) if f.height]
            if not frames:
                return a
            values = [c for c in a.columns if c not in keys]
            merged = pl.concat(frames, how="vertical_relaxed")
            return merged.group_by(keys).agg(pl.col(values).sum()).sort(keys, nulls_last=True)

        return ABStatistics(
            combine(self.by_policy_period, other.by_policy_period, ["policy", "period"]),
            combine(self.by_action, other.by_action, ["policy", "item_id", "position"]),
            combine(self.users, other.users, ["policy"]),
            self.n_invalid_propensities + other.n_invalid_propensities,
        )


def ab_statistics(log: pl.DataFrame, *, every: str = "1d") -> ABStatistics:
    """The per-partition step: an ``ab`` frame -> :class:`ABStatistics`.

    Examples
    --------
    >>> import polars as pl
    >>> log = pl.DataFrame({"policy": ["a", "a", "b"], "click": [1, 0, 1]})
    >>> ab_statistics(log).by_policy_period.select("policy", "n_shown", "n_clicks").rows()
    [('a', 2, 1), ('b', 1, 1)]
    """
    if not isinstance(log, pl.DataFrame):
        msg = f"`log` must be a polars DataFrame, got {type(log).__name__}"
        raise InvalidArgument(msg)
    check_columns(log.schema, "ab", source="the A/B log")
    click = pl.col("click").cast(pl.Int64)
    if log["click"].null_count():
        msg = f"`click` is null in {log['click'].null_count()} rows; every shown row needs 0 or 1"
        raise InvalidArgument(msg)
    bad = log.filter((click != 0) & (click != 1)).height
    if bad:
        msg = f"`click` must be 0/1 (or Boolean), but {bad} rows hold another value"
        raise InvalidArgument(msg)
    frame = log.with_columns(
        pl.col("policy").cast(pl.String),
        click.alias("click"),
        period_of(log, every).alias("period"),
    )
    by_period = (
        frame.group_by("policy", "period")
        .agg(pl.len().cast(pl.Int64).alias("n_shown"), pl.col("click").sum().alias("n_clicks"))
        .sort("policy", "period", nulls_last=True)
    )
    invalid = 0
    if {"propensity", "item_id", "position"} <= set(frame.columns):
        p = pl.col("propensity").cast(pl.Float64)
        valid = p.is_not_null() & (p > 0) & (p <= 1)
        invalid = frame.filter(~valid).height
        by_action = (
            frame.filter(valid)
            .with_columns(
                pl.col("item_id").cast(pl.String),
                pl.col("position").cast(pl.Int64),
                (1.0 / p).alias("_w"),
            )
            .group_by("policy", "item_id", "position")
            .agg(
                pl.len().cast(pl.Int64).alias("n_shown"),
                pl.col("click").sum().alias("n_clicks"),
                pl.col("_w").sum().alias("sum_inverse_propensity"),
                (pl.col("_w") * pl.col("click")).sum().alias("sum_click_inverse_propensity"),
                (pl.col("_w") ** 2).sum().alias("sum_inverse_propensity_squared"),
                (pl.col("_w") ** 2 * pl.col("click"))
                .sum()
                .alias("sum_click_inverse_propensity_squared"),
            )
            .sort("policy", "item_id", "position")
        )
    else:
        by_action = pl.DataFrame(
            schema={
                "policy": pl.String,
                "item_id": pl.String,
                "position": pl.Int64,
                "n_shown": pl.Int64,
                "n_clicks": pl.Int64,
                **{c: pl.Float64 for c in _ACTION_SUMS[2:]},
            }
        )
    if "user_id" in frame.columns:
        users = (
            frame.group_by("policy")
            .agg(pl.col("user_id").n_unique().cast(pl.Int64).alias("n_users"))
            .sort("policy")
        )
    else:
        users = pl.DataFrame(schema={"policy": pl.String, "n_users": pl.Int64})
    return ABStatistics(by_period, by_action, users, invalid)


@dataclasses.dataclass(frozen=True)
class OffPolicyEstimate:
    """One policy's CTR estimated from another policy's log, beside its on-policy CTR.

    Attributes
    ----------
    target, logging
        The policy evaluated and the policy whose log was read.
    estimator
        ``"ips"`` or ``"snips"``.
    estimate, low, high
        The estimate and its normal interval at ``confidence_level``.
    on_policy_ctr
        The target's CTR measured on its own log (what the estimate should cover).
    n_rows
        Rows of the logging policy's log used.
    """

    target: str
    logging: str
    estimator: str
    estimate: float
    low: float
    high: float
    confidence_level: float
    on_policy_ctr: float
    n_rows: int

    @property
    def covers_on_policy(self) -> bool:
        """Whether the interval holds the on-policy CTR."""
        return self.low <= self.on_policy_ctr <= self.high


@dataclasses.dataclass(frozen=True, eq=False)
class ABResult:
    """Two policies compared on their A/B logs, recomputable from the statistics.

    Parameters
    ----------
    statistics
        Merged :class:`ABStatistics`.
    baseline, candidate
        Policy names; by default the log's two policies in sorted order (the other one when
        only one is given).
    alpha
        Error rate of the tests; intervals at ``1 - alpha``.
    n_opt
        Where the mixture SPRT is tightest (shown rows in both arms).
    """

    statistics: ABStatistics
    baseline: str | None = None
    candidate: str | None = None
    alpha: float = 0.05
    n_opt: float = 10_000.0

    def __post_init__(self) -> None:
        check_alpha("alpha", self.alpha)
        found = sorted(self.statistics.by_policy_period["policy"].unique().to_list())
        if len(found) != 2:
            msg = (
                f"an A/B log compares exactly two policies, found {len(found)}: {found}; filter "
                "the log to two"
            )
            raise InvalidArgument(msg)
        baseline = (
            self.baseline
            if self.baseline is not None
            else (found[1] if self.candidate == found[0] else found[0])
        )
        candidate = (
            self.candidate
            if self.candidate is not None
            else (found[1] if baseline == found[0] else found[0])
        )
        for name, value in (("baseline", baseline), ("candidate", candidate)):
            if value not in found:
                msg = f"`{name}` must be one of the log's policies {found}, got {value!r}"
                raise InvalidArgument(msg)
        if baseline == candidate:
            msg = f"`baseline` and `candidate` must differ, got {baseline!r} for both"
            raise InvalidArgument(msg)
        object.__setattr__(self, "baseline", baseline)
        object.__setattr__(self, "candidate", candidate)

    @cached_property
    def per_policy(self) -> pl.DataFrame:
        """``policy``, ``n_shown``, ``n_clicks``, ``ctr`` (baseline first)."""
        frame = (
            self.statistics.by_policy_period.group_by("policy")
            .agg(pl.col("n_shown").sum(), pl.col("n_clicks").sum())
            .with_columns((pl.col("n_clicks") / pl.col("n_shown")).alias("ctr"))
        )
        order = {self.baseline: 0, self.candidate: 1}
        return frame.sort(pl.col("policy").replace_strict(order, return_dtype=pl.Int64))

    def _counts(self) -> tuple[int, int, int, int]:
        rows = {r["policy"]: r for r in self.per_policy.iter_rows(named=True)}
        a, b = rows[self.baseline], rows[self.candidate]
        return a["n_clicks"], a["n_shown"], b["n_clicks"], b["n_shown"]

    def two_proportions_test(self) -> Any:
        """z-test of the candidate's CTR minus the baseline's."""
        return two_proportions_test(*self._counts())

    def srm_test(self) -> Any:
        """Sample-ratio check (equal split expected) on users if known, else on shown rows."""
        users = self.statistics.users
        if users.height == 2:
            counts = {r["policy"]: r["n_users"] for r in users.iter_rows(named=True)}
        else:
            counts = {r["policy"]: r["n_shown"] for r in self.per_policy.iter_rows(named=True)}
        return srm_test([counts[self.baseline], counts[self.candidate]])

    @cached_property
    def over_time(self) -> pl.DataFrame:
        """Cumulative CTR per policy per period with the mixture SPRT's always-valid p-value."""
        frame = self.statistics.by_policy_period
        wide = (
            frame.with_columns(
                pl.when(pl.col("policy") == self.baseline)
                .then(pl.lit("a"))
                .otherwise(pl.lit("b"))
                .alias("arm")
            )
            .group_by("period")
            .agg(
                pl.col("n_shown").filter(pl.col("arm") == "a").sum().alias("n_shown_a"),
                pl.col("n_clicks").filter(pl.col("arm") == "a").sum().alias("n_clicks_a"),
                pl.col("n_shown").filter(pl.col("arm") == "b").sum().alias("n_shown_b"),
                pl.col("n_clicks").filter(pl.col("arm") == "b").sum().alias("n_clicks_b"),
            )
            .sort("period", nulls_last=True)
            .with_columns(pl.exclude("period").cum_sum())
        )
        data = TwoProportions(
            n_successes_a=wide["n_clicks_a"].to_numpy().astype(np.int64),
            n_trials_a=wide["n_shown_a"].to_numpy().astype(np.int64),
            n_successes_b=wide["n_clicks_b"].to_numpy().astype(np.int64),
            n_trials_b=wide["n_shown_b"].to_numpy().astype(np.int64),
        )
        monitored = MixtureSPRT(alpha=self.alpha, n_opt=self.n_opt).evaluate(data)
        return wide.select(
            "period",
            (pl.col("n_clicks_a") / pl.col("n_shown_a")).alias("ctr_baseline"),
            (pl.col("n_clicks_b") / pl.col("n_shown_b")).alias("ctr_candidate"),
            (pl.col("n_shown_a") + pl.col("n_shown_b")).alias("n_shown"),
        ).with_columns(pl.Series("pvalue", monitored.pvalue))

    def always_valid_interval(self) -> Any:
        """The mixture SPRT's confidence sequence for the CTR difference at the last look.

        ``None`` until both arms have a click-rate variance (the A/B statistic is 0 before).
        """
        n_a_clicks, n_a, n_b_clicks, n_b = self._counts()
        data = TwoProportions(
            n_successes_a=n_a_clicks, n_trials_a=n_a, n_successes_b=n_b_clicks, n_trials_b=n_b
        )
        if min(n_a_clicks, n_b_clicks) == 0 or n_a_clicks == n_a or n_b_clicks == n_b:
            return None
        state = MixtureSPRT(alpha=self.alpha, n_opt=self.n_opt).start(data)
        return state.confidence_interval()

    def off_policy(self, target: str, estimator: str = "snips") -> OffPolicyEstimate | None:
        """``target``'s CTR estimated from the other policy's log (``None`` without propensities).

        The target's probability of each (item, position) is its empirical frequency among its
        own shown rows at that position.
        """
        if estimator not in ("ips", "snips"):
            msg = f"`estimator` must be 'ips' or 'snips', got {estimator!r}"
            raise InvalidArgument(msg)
        if target not in (self.baseline, self.candidate):
            msg = f"`target` must be {self.baseline!r} or {self.candidate!r}, got {target!r}"
            raise InvalidArgument(msg)
        actions = self.statistics.by_action
        if actions.height == 0:
            return None
        logging = self.candidate if target == self.baseline else self.baseline
        own = actions.filter(pl.col("policy") == target).with_columns(
            (pl.col("n_shown") / pl.col("n_shown").sum().over("position")).alias("pi")
        )
        rows = (
            actions.filter(pl.col("policy") == logging)
            .join(own.select("item_id", "position", "pi"), on=["item_id", "position"], how="left")
            .with_columns(pl.col("pi").fill_null(0.0))
        )
        n = int(rows["n_shown"].sum())
        if n < 2:
            return None
        pi = rows["pi"].to_numpy()
        s_wc = float((pi * rows["sum_click_inverse_propensity"].to_numpy()).sum())
        s_w = float((pi * rows["sum_inverse_propensity"].to_numpy()).sum())
        s_w2c = float((pi**2 * rows["sum_click_inverse_propensity_squared"].to_numpy()).sum())
        s_w2 = float((pi**2 * rows["sum_inverse_propensity_squared"].to_numpy()).sum())
        z = float(scipy_stats.norm.ppf(1 - self.alpha / 2))
        if estimator == "ips":
            value = s_wc / n
            variance = max(s_w2c / n - value**2, 0.0) / (n - 1)
        else:
            if s_w == 0:
                return None
            value = s_wc / s_w
            # Delta method: sum w^2 (c - V)^2 / (sum w)^2, with c in {0, 1}.
            variance = (s_w2c * (1 - 2 * value) + value**2 * s_w2) / (s_w * s_w)
        half = z * math.sqrt(max(variance, 0.0))
        ctr = {r["policy"]: r["ctr"] for r in self.per_policy.iter_rows(named=True)}
        return OffPolicyEstimate(
            target,
            logging,
            estimator,
            value,
            value - half,
            value + half,
            1 - self.alpha,
            float(ctr[target]),
            n,
        )

    def summary(self) -> pl.DataFrame:
        """One row per quantity, every number from this object."""
        rows: list[dict[str, Any]] = []
        for r in self.per_policy.iter_rows(named=True):
            rows.append(
                {
                    "quantity": f"CTR of {r['policy']}",
                    "estimate": r["ctr"],
                    "low": None,
                    "high": None,
                    "pvalue": None,
                    "n": r["n_shown"],
                }
            )
        n_a_clicks, n_a, n_b_clicks, n_b = self._counts()
        if min(n_a, n_b) >= 2 and (n_a_clicks + n_b_clicks) > 0:
            test = self.two_proportions_test()
            ci = test.confidence_interval(1 - self.alpha)
            rows.append(
                {
                    "quantity": f"CTR {self.candidate} - {self.baseline} (z-test)",
                    "estimate": test.difference,
                    "low": ci.low,
                    "high": ci.high,
                    "pvalue": test.pvalue,
                    "n": n_a + n_b,
                }
            )
        last = self.over_time.row(-1, named=True)
        interval = self.always_valid_interval()
        rows.append(
            {
                "quantity": "CTR difference, always valid (mixture)",
                "estimate": last["ctr_candidate"] - last["ctr_baseline"],
                "low": None if interval is None else interval.low,
                "high": None if interval is None else interval.high,
                "pvalue": last["pvalue"],
                "n": last["n_shown"],
            }
        )
        srm = self.srm_test()
        rows.append(
            {
                "quantity": "sample ratio mismatch (chi-square)",
                "estimate": srm.statistic,
                "low": None,
                "high": None,
                "pvalue": srm.pvalue,
                "n": None,
            }
        )
        for target in (self.baseline, self.candidate):
            for estimator in ("ips", "snips"):
                est = self.off_policy(target, estimator)
                if est is None:
                    continue
                rows.append(
                    {
                        "quantity": f"CTR of {target} from {est.logging}'s log "
                        f"({estimator.upper()}; on-policy {est.on_policy_ctr:.5f})",
                        "estimate": est.estimate,
                        "low": est.low,
                        "high": est.high,
                        "pvalue": None,
                        "n": est.n_rows,
                    }
                )
        return pl.DataFrame(
            rows,
            schema=SUMMARY_SCHEMA,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of what the command prints."""
        off = [
            dataclasses.asdict(e) | {"covers_on_policy": e.covers_on_policy}
            for t in (self.baseline, self.candidate)
            for name in ("ips", "snips")
            if (e := self.off_policy(t, name)) is not None
        ]
        return {
            "kind": "ab",
            "baseline": self.baseline,
            "candidate": self.candidate,
            "alpha": self.alpha,
            "per_policy": self.per_policy.to_dicts(),
            "n_invalid_propensities": self.statistics.n_invalid_propensities,
            "summary": self.summary().to_dicts(),
            "off_policy": off,
            "over_time": self.over_time.with_columns(pl.col("period").cast(pl.String)).to_dicts(),
        }
