"""The node's side of federation: its actors, discovery endpoints, and (later) inbox and
delivery, built on the protocol library in `federation/`."""
