"""Small constructs the stacks compose: one concern per module."""
