"""Statistics: paired intervals and tests, verdict rows and their outcomes, multiplicity families."""
