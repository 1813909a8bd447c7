"""What the store raises, whichever engine holds the catalogue."""


class DatabaseBusy(Exception):
    """A write waited longer than it may: for a lock, or for a slow statement."""


class DatabaseUnavailable(Exception):
    """The database cannot be reached, or has no connection free for this request."""
