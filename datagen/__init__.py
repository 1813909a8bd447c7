"""Generation of a legacy movie database, with the old system's layout and defects."""
