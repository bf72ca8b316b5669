"""boto3 access to the deployed platform: stack outputs, clients, and AWS errors as one-line messages."""
