"""Personal collections of the provider's movies: ``/collection/``."""
