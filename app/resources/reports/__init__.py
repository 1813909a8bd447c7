"""Reports: ask for a report by name, follow its job, read or download its rows."""
