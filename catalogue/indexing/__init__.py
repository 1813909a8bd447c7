"""What the search indices hold, read from the catalogue.

``extract`` reads the catalogue's rows (in batches for the ETL, by id for a
write) and ``transform`` builds search documents of them; the ETL and the
write-through of the API's writes (``writethrough``) share both.
"""
