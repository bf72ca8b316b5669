"""Sample business-licence data in the portal export format, and its generator."""
