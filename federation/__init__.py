"""ActivityPub protocol library used by civicnode. It imports nothing from `node`."""
