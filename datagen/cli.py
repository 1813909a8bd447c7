"""``flask data generate``: write a legacy movie database at DATABASE_PATH.

The generator, and with it Faker, is imported only when the command runs: the
service (``service.py``) attaches this group, and must start without the tool's
dependencies.
"""

import os
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from tqdm import tqdm

data_cli = AppGroup("data", help="Generate test data in the legacy database layout.")

# Files SQLite keeps beside a database; a stale WAL would be replayed into the
# new file, so they go with the database they belong to.
SIDE_FILES = ("-wal", "-shm", "-journal")
REQUIREMENTS = "requirements-datagen.txt"


def load_generator():
    """Return the generator's ``generate``; a missing Faker is a user error."""
    try:
        from datagen.generator import generate
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "faker":
            raise
        raise click.ClickException(
            f"generating data needs Faker, a tool dependency the service does not"
            f" install: pip install -r {REQUIREMENTS}"
        ) from None
    return generate


@data_cli.command("generate")
@click.option(
    "--films",
    type=click.IntRange(min=1),
    default=200_000,
    show_default=True,
    help="Number of films to generate.",
)
@click.option(
    "--seed",
    type=int,
    default=42,
    show_default=True,
    help="Random seed: the same seed and film count give the same database.",
)
@click.option("--force", is_flag=True, help="Replace DATABASE_PATH if it exists.")
def generate_command(films, seed, force):
    """Write a legacy movie database, defects included, at DATABASE_PATH."""
    generate = load_generator()
    target = Path(current_app.config["DATABASE_PATH"])
    if target.exists() and not force:
        raise click.ClickException(
            f"{target} already exists; pass --force to replace it"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # Beside the target, so the final rename stays on one file system.
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    started = time.perf_counter()
    try:
        with tqdm(total=films, unit="film", disable=None) as bar:
            summary = generate(temporary, films=films, seed=seed, progress=bar.update)
        for suffix in SIDE_FILES:
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    click.echo(
        f"Generated {summary.films:,} films ({summary.russian_films:,} Russian), "
        f"{summary.actors:,} actors, {summary.writers:,} writers and "
        f"{summary.actor_links:,} actor links in {target} "
        f"({time.perf_counter() - started:.1f} s)"
    )
