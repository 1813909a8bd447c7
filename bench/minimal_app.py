"""A one-route Flask app: the framework's own ceiling under our gunicorn settings.

    gunicorn -c gunicorn.conf.py bench.minimal_app:app     # from the project root

``bench/connections.py`` serves it with the catalogue's gunicorn settings and the
same load, so the requests per second of Flask alone stand beside the catalogue's.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def ping():
    """Answer a small JSON document, touching nothing else."""
    return {"status": "ok"}
