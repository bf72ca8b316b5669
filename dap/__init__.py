"""vancouver-dap operations: the local pipeline run and boto3 commands for the deployed platform."""
