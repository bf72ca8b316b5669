"""Suite-wide fixtures. Expensive things (a SparkSession, a synthesized app) are built once."""

from __future__ import annotations

import os

import pytest

# jsii warns on every run that Node 20 is end-of-life; the value must name the major version.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for the whole suite (Glue 5.0 = Spark 3.5.4, UTC)."""
    from dap.spark import local_session

    session = local_session(app_name="vancouver-dap-tests")
    yield session
    session.stop()
