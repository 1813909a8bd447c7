"""The reports: one module each, defining ``REPORT`` (see ``reports.registry``)."""
