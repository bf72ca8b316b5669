"""Shared, pure DataFrame logic for the dataset Glue jobs: any declared dataset (``datasets/<id>/``).

Shipped to Glue as a zip with ``--extra-py-files`` and installed locally by the project, so the
code the tests exercise is the code that runs in AWS. Nothing here may import ``awsglue``.
"""
