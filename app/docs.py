"""API documentation: Swagger UI's files from the swagger-ui-bundle package, no CDN.

With ``DOCS_ONLY`` the app answers only the documentation (and liveness): it opens
no database and asks no search engine, so the docs can be served anywhere.
"""

from flask import Blueprint, redirect, request
from flask_smorest import abort
from swagger_ui_bundle import swagger_ui_path

# Where Swagger UI's scripts and styles are served; OPENAPI_SWAGGER_UI_URL points here.
SWAGGER_UI_URL = "/docs/static/"
# Blueprints a docs-only app serves: flask-smorest's spec and page, and the files.
_DOCS_BLUEPRINTS = ("api-docs", "swagger-ui")
_ALWAYS_SERVED_PATHS = ("/healthz",)

swagger_ui = Blueprint(
    "swagger-ui",
    __name__,
    static_folder=str(swagger_ui_path),
    static_url_path=SWAGGER_UI_URL.rstrip("/"),
)


@swagger_ui.get("/docs/")
def docs_with_a_slash():
    """Send ``/docs/`` to Swagger UI at ``/docs``."""
    return redirect("/docs", code=308)


def refuse_all_but_docs():
    """In docs-only mode, answer 404 to everything but the documentation."""
    if request.blueprint in _DOCS_BLUEPRINTS or request.path in _ALWAYS_SERVED_PATHS:
        return
    abort(
        404,
        message="This instance serves only the API documentation: see /docs.",
    )


def init_app(app):
    """Serve Swagger UI's files; in docs-only mode, serve nothing else."""
    app.register_blueprint(swagger_ui)
    if app.config["DOCS_ONLY"]:
        app.before_request(refuse_all_but_docs)
        app.logger.info("DOCS_ONLY: serving only the API documentation")
