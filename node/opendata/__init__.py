"""Open data: a space, or the whole node, as JSON or as CSV files in a zip, with the public
API's fields and its rules (published spaces and components only, support counts only where
the results-visibility policy shows them, no personal data beyond public names).

sources.py reads the rows, formats.py writes them as a stream, views.py serves them and
command.py is `civicnode export`."""
