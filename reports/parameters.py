"""Parameter schemas the reports share: limit, rating thresholds, people filters."""

import marshmallow as ma

MAX_IDS = 100
MAX_LIMIT = 1_000_000


class RatingSchema(ma.Schema):
    """Thresholds of a rating: every one given must hold."""

    class Meta:
        """Refuse unknown fields."""

        unknown = ma.RAISE

    gt = ma.fields.Float(
        validate=ma.validate.Range(0, 10, error="gt must be from 0 to 10."),
        metadata={"description": "Above this rating (0 to 10)."},
    )
    gte = ma.fields.Float(
        validate=ma.validate.Range(0, 10, error="gte must be from 0 to 10."),
        metadata={"description": "At least this rating (0 to 10)."},
    )
    lt = ma.fields.Float(
        validate=ma.validate.Range(0, 10, error="lt must be from 0 to 10."),
        metadata={"description": "Below this rating (0 to 10)."},
    )
    lte = ma.fields.Float(
        validate=ma.validate.Range(0, 10, error="lte must be from 0 to 10."),
        metadata={"description": "At most this rating (0 to 10)."},
    )


def _ids(what):
    return ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(1, 100)),
        load_default=list,
        validate=ma.validate.Length(
            max=MAX_IDS, error=f"At most {MAX_IDS} ids can be given."
        ),
        metadata={"description": what},
    )


class PeopleSchema(ma.Schema):
    """People (their ids) a film must have one of, and people it must have none of."""

    class Meta:
        """Refuse unknown fields."""

        unknown = ma.RAISE

    include = _ids("Person ids: keep only what has at least one of them.")
    exclude = _ids("Person ids: leave out what has any of them.")


class ReportParametersSchema(ma.Schema):
    """What every report takes: ``limit``; unknown fields are refused."""

    class Meta:
        """Refuse unknown fields."""

        unknown = ma.RAISE

    limit = ma.fields.Integer(
        validate=ma.validate.Range(
            1, MAX_LIMIT, error=f"limit must be a whole number from 1 to {MAX_LIMIT}."
        ),
        metadata={"description": "At most this many rows; every row without it."},
    )


def rating_conditions(column, rating):
    """Return SQL conditions on ``column`` and their arguments for ``rating``."""
    operators = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
    conditions, args = [], []
    for key, operator in operators.items():
        if rating and key in rating:
            conditions.append(f"{column} {operator} ?")
            args.append(rating[key])
    return conditions, args


# A LIMIT that both engines take and no report reaches (SQLite's -1 is its own).
NO_LIMIT = 2**63 - 1


def sql_limit(parameters):
    """Return the LIMIT argument: the report's ``limit``, or one never reached."""
    return parameters.get("limit", NO_LIMIT)
