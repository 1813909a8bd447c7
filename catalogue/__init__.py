"""The core that every entry point stands on.

The HTTP API (``app``), the ETL (``etl``), the report jobs (``reports``) and
the data generator (``datagen``) all import it; it imports none of them. It
holds the settings (``catalogue.config``), the database and its transactions
(``catalogue.db``), the migrations and the legacy layout, the search interface
with both backends (``catalogue.search``), the data version that keys cached
answers (``catalogue.versions``), what goes into the indices and the
write-through of catalogue writes (``catalogue.indexing``), the thread helpers
and the circuit breaker.
"""
