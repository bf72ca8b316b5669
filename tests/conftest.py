"""Suite-wide fixtures. Expensive things (a SparkSession, a synthesized app) are built once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for the whole suite (Glue 5.0 = Spark 3.5.4, UTC)."""
    from dap.spark import local_session

    session = local_session(app_name="vancouver-dap-tests")
    yield session
    session.stop()
