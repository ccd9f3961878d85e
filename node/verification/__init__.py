"""Verification: authorisations granted to accounts by pluggable handlers (census, manual,
email domain), which component permissions (node.permissions) then require."""
