"""Genres: all of them with their film counts, and one by one."""
