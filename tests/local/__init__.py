"""Local-run tests: sample data, portal CSV checks, the DataBrew recipe runner (real local Spark)."""
