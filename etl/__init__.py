"""ETL: the cleaned SQLite catalogue into the search backend (see ``etl.runner``)."""


class EtlError(Exception):
    """The ETL cannot run; the message says what to do."""
