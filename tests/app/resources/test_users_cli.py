"""``flask users``: accounts made, promoted and listed from the command line."""

import pytest

from tests.fixtures.accounts import PASSWORD, make_account

pytestmark = pytest.mark.stores


def users(app, *args, password=None):
    return app.test_cli_runner().invoke(
        args=["users", *args], input=None if password is None else password + "\n"
    )


def login(app, username, password=PASSWORD):
    return app.test_client().post(
        "/login/", json={"username": username, "password": password}
    )


def test_create_reads_the_password_from_standard_input(accounts_app):
    result = users(accounts_app, "create", "alice", password=PASSWORD)

    assert result.exit_code == 0, result.output
    assert "created user alice" in result.output
    assert PASSWORD not in result.output
    assert login(accounts_app, "alice").status_code == 200


def test_create_an_admin(accounts_app):
    result = users(accounts_app, "create", "root", "--admin", password=PASSWORD)

    assert result.exit_code == 0, result.output
    assert "created admin root" in result.output


def test_create_refuses_a_bad_password_or_a_taken_name(accounts_app):
    short = users(accounts_app, "create", "alice", password="short")
    users(accounts_app, "create", "bob", password=PASSWORD)
    taken = users(accounts_app, "create", "BOB", password=PASSWORD)

    assert short.exit_code == 1
    assert "password must be 8 to 128 characters" in short.output
    assert taken.exit_code == 1
    assert "taken" in taken.output


def test_set_admin_and_list(accounts_app):
    make_account(accounts_app, "alice")
    make_account(accounts_app, "bob")

    promoted = users(accounts_app, "set-admin", "ALICE")
    missing = users(accounts_app, "set-admin", "nobody")
    listed = users(accounts_app, "list")

    assert promoted.exit_code == 0
    assert "alice is an admin" in promoted.output
    assert missing.exit_code == 1
    assert "no account" in missing.output
    rows = [line.split() for line in listed.output.splitlines()]
    assert [(row[1], row[2]) for row in rows] == [("alice", "admin"), ("bob", "user")]
