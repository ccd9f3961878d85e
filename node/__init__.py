"""civicnode: a federated, self-hostable citizen-participation node."""

__version__ = "0.1.0"
