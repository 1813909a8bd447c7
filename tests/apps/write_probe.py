"""A WSGI app for gunicorn in the tests: the service, and two routes that a test
uses to race a write against a read on one gevent worker.

``POST /probe/write`` commits one row through ``catalogue.db.transaction``;
``GET /probe/read`` counts the rows. Both open the request's own connection to
DATABASE_PATH, as every view of the service does.
"""

from flask import Blueprint

from catalogue.db import get_db, transaction
from service import create_service

probe = Blueprint("probe", __name__, url_prefix="/probe")


@probe.post("/write")
def write():
    """Insert a row in one write transaction."""
    with transaction() as conn:
        conn.execute("INSERT INTO probe DEFAULT VALUES")
    return {"written": True}, 201


@probe.get("/read")
def read():
    """Count the rows."""
    return {"rows": get_db().execute("SELECT count(*) FROM probe").fetchone()[0]}


app = create_service()
app.register_blueprint(probe)
