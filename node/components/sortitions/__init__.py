"""Sortitions: stratified selection of citizens' panels (panel.py) and, later, draws of proposals.

Not a registered component kind yet: the panel selection is reached through
`civicnode sortition panel` only.
"""
