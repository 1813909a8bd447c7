"""The composition root: the HTTP app with every ``flask`` command group attached.

Each layer defines its own commands beside the code they drive; only this
module knows them all, so no package imports another one's command line.
"""

from app import create_app
from app.resources.accounts.cli import users_cli
from catalogue.migrations import db_cli
from datagen.cli import data_cli
from etl.cli import etl_cli
from reports.cli import reports_cli

COMMAND_GROUPS = (db_cli, data_cli, etl_cli, users_cli, reports_cli)


def create_service(config=None):
    """Create the app (see ``app.create_app``) with the ``flask`` command groups."""
    app = create_app(config)
    for group in COMMAND_GROUPS:
        app.cli.add_command(group)
    return app
