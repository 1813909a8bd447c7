"""The movie catalogue service: the application factory."""

import logging

from flask import Flask
from flask_smorest import Api
from werkzeug.middleware.proxy_fix import ProxyFix

from app import (
    authentication,
    caching,
    docs,
    errors,
    rate_limits,
    request_bodies,
    request_id,
)
from app.extensions import smorest
from app.resources import BLUEPRINTS, CONVERTERS
from app.resources.accounts import tokens
from app.resources.movies import provider as movies_provider
from app.resources.request_count import counter as request_count
from catalogue import config as settings
from catalogue import db, search, versions
from catalogue.indexing import writethrough
from reports import registry as reports_registry

API_TITLE = "Movie catalogue"
API_VERSION = "1.0.0"
API_DESCRIPTION = (
    "Films, their people and genres, searchable in full text. Every answer carries"
    " an `X-Request-ID` header; errors share one JSON shape: `code`, `status`,"
    " `message` and `errors`.\n\n"
    "Before a request reaches the API, the HTTP server refuses, with its own"
    " short HTML answer and no `X-Request-ID`: a request line longer than 4,094"
    " bytes (`414`), a header longer than 8,190 bytes or more than 100 headers"
    " (`431` or `400`), and a malformed request, such as a raw CR, LF or NUL in a"
    " header (`400`). No search needs more: a search text is at most 200"
    " characters."
)


def create_app(config=None):
    """Create the app; ``config`` overrides settings read from the environment."""
    app = Flask(__name__)
    register_config(app, config)
    register_logging(app)
    register_extensions(app)
    register_api(app)
    return app


def register_config(app, overrides):
    """Load settings from the environment, then apply explicit overrides."""
    app.config.from_mapping(settings.from_environment())
    app.config.update(
        API_TITLE=API_TITLE,
        API_VERSION=API_VERSION,
        API_SPEC_OPTIONS={"info": {"description": API_DESCRIPTION}},
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=docs.SWAGGER_UI_URL,
        # No endpoint takes a body yet; anything larger than this is refused (413).
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    if overrides:
        app.config.update(overrides)
    settings.check_deployment(app.config)
    app.json = request_bodies.JSONProvider(app)
    app.json.sort_keys = False


def register_logging(app):
    """Log at LOG_LEVEL through the app's logger."""
    app.logger.setLevel(getattr(logging, app.config["LOG_LEVEL"], logging.INFO))


def register_extensions(app):
    """Trust the configured proxies, then initialise the extensions in order."""
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=proxies,
            x_proto=proxies,
            x_host=proxies,
            x_prefix=proxies,
        )
    request_id.init_app(app)
    db.init_app(app)
    search.init_app(app)
    versions.init_app(app)
    writethrough.init_app(app)
    caching.init_app(app)
    authentication.init_app(app)
    tokens.init_app(app)
    rate_limits.init_app(app)
    request_count.init_app(app)
    movies_provider.init_app(app)
    reports_registry.init_app(app)


def register_api(app):
    """Create the API, register its blueprints, error handlers and documentation."""
    plugins = [
        request_id.RequestIdHeaderPlugin(),
        # After flask-smorest's marshmallow plugin, which writes the parameters.
        smorest.PageDepthPlugin(app.config["MAX_RESULT_WINDOW"]),
        # After RequestIdHeaderPlugin: the server's own answers carry no request id.
        smorest.ServerRefusalsPlugin(),
    ]
    api = Api(app, spec_kwargs={"extra_plugins": plugins})
    smorest.init_spec(api)
    app.url_map.converters.update(CONVERTERS)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    errors.init_app(app)
    docs.init_app(app)
