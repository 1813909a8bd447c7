"""A WSGI app for gunicorn in the tests: the service, and a route whose query is slow.

``GET /probe/slow`` holds its database connection in ``pg_sleep(1)``; a test
asks for it and, meanwhile, for another page on the same gevent worker.
"""

from flask import Blueprint

from catalogue.db import get_db
from service import create_service

probe = Blueprint("probe", __name__, url_prefix="/probe")


@probe.get("/slow")
def slow():
    """Wait a second in PostgreSQL."""
    get_db().execute("SELECT pg_sleep(1)")
    return {"slept": True}


app = create_service()
app.register_blueprint(probe)
