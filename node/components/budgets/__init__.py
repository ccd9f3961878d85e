"""Participatory budgets: the Pabulib file format (pabulib.py) and the outcome rules (rules.py).

Not a registered component kind yet: the rules are reached through `civicnode pb outcome` only.
"""
