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


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Fake credentials, stage dev's region (ca-central-1), moto's default account (123456789012) as
    the stage's account, and no real profile files: boto3 code under moto never reaches a real account."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    empty = tmp_path / "empty-aws-file"
    empty.write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ca-central-1")
    monkeypatch.setenv("DAP_ACCOUNT_ID", "123456789012")
