"""Arguments the catalogue resources share: a sort key, the words to search, no blank."""

import marshmallow as ma

from catalogue.search import MAX_QUERY_LENGTH, Sort
from catalogue.search.analysis import analyse

# The spec's rule for a text that must not be blank: a character that Python's
# ``str.strip()`` keeps, each white space character named, since JSON Schema's
# ``\S`` (ECMAScript's) is another set: U+0085 and U+001C to U+001F pass it,
# and a title of U+0085 alone met the spec, then was refused as blank.
NOT_BLANK_PATTERN = (
    r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)


class SortField(ma.fields.String):
    """A sort key, ``field`` or ``-field`` for descending, loaded as a ``Sort``.

    Only the whitelisted ``fields`` are accepted (in both directions), so a sort
    never reaches the search backend unchecked.
    """

    def __init__(self, fields, **kwargs):
        self.choices = tuple(key for name in fields for key in (name, f"-{name}"))
        metadata = {"enum": list(self.choices), **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        key = super()._deserialize(value, attr, data, **kwargs)
        if key not in self.choices:
            name = self.data_key or self.name
            raise ma.ValidationError(
                f"{name} must be one of: {', '.join(self.choices)}; got {key!r}."
            )
        return Sort(key.removeprefix("-"), descending=key.startswith("-"))

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return f"{'-' if value.descending else ''}{value.field}"


class SearchTextField(ma.fields.String):
    """Required words to search for, loaded stripped.

    Refused like an empty text: a text of nothing but words too common to
    search for ("the", "of", "и"...) or punctuation, which could match nothing.
    """

    # What the pattern cannot say: the words too common to search for.
    RULE = (
        " It must hold a word to search for: a text of only words too common to"
        " search for (such as the, of, и) or punctuation is refused (422)."
    )

    def __init__(self, **kwargs):
        metadata = {
            "minLength": 1,
            "maxLength": MAX_QUERY_LENGTH,
            "pattern": NOT_BLANK_PATTERN,
            **kwargs.pop("metadata", {}),
        }
        metadata["description"] = metadata.get("description", "") + self.RULE
        super().__init__(
            required=True,
            error_messages={"required": "Required: the words to search for."},
            metadata=metadata,
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        sent = super()._deserialize(value, attr, data, **kwargs)
        name = self.data_key or self.name
        # The text as sent, white space and all, as the spec's maxLength counts it.
        if len(sent) > MAX_QUERY_LENGTH:
            raise ma.ValidationError(
                f"{name} must be at most {MAX_QUERY_LENGTH} characters long;"
                f" got {len(sent)}."
            )
        text = sent.strip()
        if not text:
            raise ma.ValidationError(
                f"{name} must hold at least one word to search for;"
                " it was empty or blank."
            )
        if not analyse(text):
            raise ma.ValidationError(
                f"{name} must hold a word to search for; it held only words too"
                " common to search for (such as the, of, и) or punctuation."
            )
        return text
