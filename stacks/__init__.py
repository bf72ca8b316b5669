"""CDK stacks of the platform, their constructs and the stage configuration."""
