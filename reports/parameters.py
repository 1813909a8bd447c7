"""Parameter schemas the reports share: limit, rating thresholds, people filters."""

import marshmallow as ma

MAX_IDS = 100
# The most rows one result holds, asked for or not: as deep as a list's pages
# reach (MAX_RESULT_WINDOW's default), and a bound on what one job stores.
MAX_LIMIT = 10_000
RATING_BOUNDS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
RATING_ALIASES = (
    " Also accepted as `rating_threshold`, and each operator as `$gt`, `$gte`,"
    " `$lt`, `$lte`."
)


def _renamed(data, aliases):
    """Return ``data`` with each alias's value under its own name.

    An alias given beside its name is refused, naming both.
    """
    if not isinstance(data, dict):
        return data
    data = dict(data)
    for alias, name in aliases.items():
        if alias in data:
            if name in data:
                raise ma.ValidationError(
                    f"{alias} is another spelling of {name}; give only one.", alias
                )
            data[name] = data.pop(alias)
    return data


class RatingSchema(ma.Schema):
    """Thresholds of a rating: every one given must hold.

    Thresholds that no rating can meet together (a lower bound at or above an
    upper one, such as gt 8 and lt 2) are refused (422). The operators may also
    be written as MongoDB writes them: ``$gt``, ``$gte``, ``$lt``, ``$lte``.
    """

    class Meta:
        """Refuse unknown fields."""

        unknown = ma.RAISE

    @ma.pre_load
    def operators_with_a_dollar(self, data, **kwargs):
        """Read ``$gt`` as ``gt``, and so on."""
        return _renamed(data, {f"${key}": key for key in RATING_BOUNDS})

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

    @ma.validates_schema
    def thresholds_that_can_hold(self, data, **kwargs):
        """Refuse thresholds no rating can meet, such as ``{"gt": 8, "lt": 2}``."""
        lower = [(data[key], key) for key in ("gt", "gte") if key in data]
        upper = [(data[key], key) for key in ("lt", "lte") if key in data]
        for low, low_key in lower:
            for high, high_key in upper:
                if low < high or (
                    low == high and (low_key, high_key) == ("gte", "lte")
                ):
                    continue
                message = (
                    f"No rating is {RATING_WORDS[low_key]} {low:g} and"
                    f" {RATING_WORDS[high_key]} {high:g}: these thresholds"
                    " match nothing."
                )
                raise ma.ValidationError(message, low_key)


RATING_WORDS = {
    "gt": "above",
    "gte": "at least",
    "lt": "below",
    "lte": "at most",
}


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


LIMIT_RULE = f"limit must be a whole number from 1 to {MAX_LIMIT}."


class ReportParametersSchema(ma.Schema):
    """What every report takes: ``limit``; unknown fields are refused.

    A report with ``rating`` thresholds also reads them as ``rating_threshold``.
    """

    class Meta:
        """Refuse unknown fields."""

        unknown = ma.RAISE

    @ma.pre_load
    def rating_threshold_is_rating(self, data, **kwargs):
        """Read ``rating_threshold`` as ``rating``, for a report that has it."""
        if "rating" not in self.fields:
            return data
        return _renamed(data, {"rating_threshold": "rating"})

    limit = ma.fields.Integer(
        strict=True,
        validate=ma.validate.Range(1, MAX_LIMIT, error=LIMIT_RULE),
        error_messages={"invalid": LIMIT_RULE},
        metadata={
            "description": f"At most this many rows, 1 to {MAX_LIMIT} (a JSON"
            f" whole number, not a text); without it, the first {MAX_LIMIT}."
        },
    )


def rating_conditions(column, rating):
    """Return SQL conditions on ``column`` and their arguments for ``rating``."""
    conditions, args = [], []
    for key, operator in RATING_BOUNDS.items():
        if rating and key in rating:
            conditions.append(f"{column} {operator} ?")
            args.append(rating[key])
    return conditions, args


def sql_limit(parameters):
    """Return the LIMIT argument: the report's ``limit``, or MAX_LIMIT."""
    return parameters.get("limit", MAX_LIMIT)
