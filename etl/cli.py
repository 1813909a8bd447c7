"""``flask etl run`` and ``flask etl status``: the ETL's command-line face."""

import os

import click
from flask import current_app
from flask.cli import AppGroup
from tqdm import tqdm

from catalogue.search import INDICES, SearchError, get_indexer
from etl import EtlError, runner

etl_cli = AppGroup("etl", help="Load the catalogue into the search backend.")


class TerminalProgress:
    """A progress bar per phase, with rate and ETA, on a terminal only."""

    def __init__(self):
        self.bar = None

    def start(self, phase, total):
        """Begin a bar for ``phase``."""
        self.bar = tqdm(
            total=total, desc=f"{phase:>8}", unit="doc", disable=None, leave=True
        )

    def update(self, count):
        """Advance the bar."""
        self.bar.update(count)

    def close(self):
        """Close the bar."""
        self.bar.close()


@etl_cli.command("run")
@click.option(
    "--full", is_flag=True, help="Rebuild every index and swap it in atomically."
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 50_000),
    default=None,
    help="Films or persons per batch (default: ETL_BATCH_SIZE).",
)
def run_command(full, batch_size):
    """Load what changed since the last run (everything with --full)."""
    os.nice(current_app.config["ETL_NICENESS"])
    try:
        summary = runner.run(
            full=full, batch_size=batch_size, progress=TerminalProgress()
        )
    except EtlError as exc:
        raise click.ClickException(str(exc)) from None
    except SearchError as exc:
        raise click.ClickException(f"search backend failed: {exc}") from None
    how = "resumed " if summary.resumed else ""
    target = get_indexer().describe()
    click.echo(f"{how}{summary.mode} run {summary.run_id} into {target}")
    for index, documents in summary.documents.items():
        click.echo(f"  {index:<8} {documents:>9} documents")
    if summary.removed:
        click.echo(f"  removed  {summary.removed:>9} documents")
    rate = summary.total / summary.seconds if summary.seconds else 0
    click.echo(
        f"  {summary.total} documents in {summary.seconds:.1f} s ({rate:,.0f}/s)"
    )


@etl_cli.command("status")
def status_command():
    """Show the last run and the document counts in the catalogue and the index."""
    try:
        conn = runner.open_for_etl(current_app.config)
    except EtlError as exc:
        raise click.ClickException(str(exc)) from None
    indexer = get_indexer()
    try:
        run = runner.last_run(indexer)
        if run is None:
            click.echo(f"no ETL run yet into {indexer.describe()}")
            return
        click.echo(
            f"last run {run.id}: {run.mode}, {run.state}, started {run.started_at},"
            f" finished {run.finished_at or '-'}, {run.documents} documents"
        )
        if run.error:
            click.echo(f"  error: {run.error}")
        sources = {
            "movies": "SELECT count(*) FROM film",
            "genres": "SELECT count(*) FROM genre",
            "persons": "SELECT count(*) FROM person",
        }
        for index in INDICES:
            in_store = conn.execute(sources[index]).fetchone()[0]
            try:
                in_index = indexer.count(index)
            except SearchError as exc:
                in_index = f"unavailable ({exc})"
            click.echo(f"  {index:<8} {conn.engine} {in_store:>9}  index {in_index}")
    finally:
        conn.close()
