"""One real local Spark session (local[2]) for the whole test session; skipped, saying which part
is missing, where pyspark or Java is absent (CI installs the `spark` extra; Java 17 is there)."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark", reason="the Spark engine tests need the `spark` extra (pyspark)")
    if shutil.which("java") is None:
        pytest.skip("the Spark engine tests need Java (17 or newer) on PATH")
    from interleave.logs.spark import session

    spark = session("local[2]", app_name="interleave-tests")
    yield spark
    spark.stop()
