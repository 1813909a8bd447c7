"""The third-party provider's movies, passed through: ``/movies/``."""
