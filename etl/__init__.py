"""ETL: the cleaned SQLite catalogue into the search backend."""
