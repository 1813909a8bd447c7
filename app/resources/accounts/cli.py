"""``flask users create``, ``set-admin`` and ``list``: accounts from the command line."""

import sys

import click
from flask.cli import AppGroup

from app.resources.accounts import passwords, queries
from app.resources.accounts.schemas import RegistrationSchema

users_cli = AppGroup("users", help="Create accounts, make admins, list them.")


def _read_password():
    """Ask twice on a terminal, without echo; else read one line of standard input."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@users_cli.command("create")
@click.argument("username")
@click.option("--admin", is_flag=True, help="Make the account an admin.")
def create_command(username, admin):
    """Create an account; the password comes from a prompt or standard input."""
    password = _read_password()
    errors = RegistrationSchema().validate({"username": username, "password": password})
    if errors:
        raise click.ClickException(
            " ".join(message for field in errors.values() for message in field)
        )
    role = "admin" if admin else "user"
    try:
        account = queries.create_account(
            username, passwords.hash_password(password), role=role
        )
    except queries.UsernameLookalike:
        raise click.ClickException(
            f"the username {username!r} reads like one that is taken"
        ) from None
    except queries.UsernameTaken:
        raise click.ClickException(f"the username {username!r} is taken") from None
    click.echo(f"created {account.role} {account.username} (id {account.id})")


@users_cli.command("set-admin")
@click.argument("username")
def set_admin_command(username):
    """Make an existing account an admin."""
    account = queries.set_role(username, "admin")
    if account is None:
        raise click.ClickException(f"no account has the username {username!r}")
    click.echo(f"{account.username} is an admin")


@users_cli.command("list")
def list_command():
    """List the accounts: id, username, role, created."""
    for account in queries.list_accounts():
        click.echo(
            f"{account.id:>6}  {account.username:<30} {account.role:<6} {account.created}"
        )
