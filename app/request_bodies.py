r"""JSON request bodies, read so that no body the API cannot use reaches a view.

Python's JSON reader takes some texts that no view can use, and answers them
with exceptions that are no ``JSONDecodeError``, which the argument parser
(webargs) does not expect, so they were 500s: arrays or objects nested
thousands deep (``RecursionError``), a whole number of more than 4,300 digits
(``ValueError``: Python refuses to convert it), and an escaped lone surrogate
such as ``"\udfff"``, which loads into a text that cannot be encoded, hashed
or stored, and an escaped NUL (``"\u0000"``), which no text of PostgreSQL
holds and no title, name or password contains. Each is refused here as a body
that is not readable JSON: 400 in the API's error shape, saying why, the body
never quoted.

Used by every ``arguments`` of the API's blueprints (:class:`ArgumentsParser`)
and by ``request.get_json()`` (:class:`JSONProvider`, the app's ``json``).
"""

import json
import re

from flask.json.provider import DefaultJSONProvider
from flask_smorest import abort
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

# An escape of a surrogate code point or of NUL: only such a text can load into
# a string that holds a lone surrogate (UTF-8 itself cannot carry one) or a NUL
# (the strict reader refuses raw control characters inside strings).
_UNUSABLE_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)")


class UnreadableBody(json.JSONDecodeError):
    """A body that parses as JSON, or nearly, but that no view can use."""

    def __init__(self, reason, doc):
        # JSONDecodeError's own fields; its message is only the reason.
        ValueError.__init__(self, reason)
        self.msg, self.doc, self.pos, self.lineno, self.colno = reason, doc, 0, 1, 1


def loads(text):
    """Return the value of the JSON ``text``; UnreadableBody if no view can use it.

    Raises json.JSONDecodeError for what is not JSON at all, as ``json.loads``.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise UnreadableBody("arrays or objects are nested too deep", text) from None
    except json.JSONDecodeError:
        raise
    except ValueError:
        # The only other refusal of json.loads: a number of too many digits.
        raise UnreadableBody(
            "a number has more digits than any field takes", text
        ) from None
    if _UNUSABLE_ESCAPE.search(text):
        reason = _unusable_text(value)
        if reason:
            raise UnreadableBody(reason, text)
    return value


def _unusable_text(value):
    """Why a text anywhere in ``value`` (keys too) is unusable; None if none is."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return "a text holds a NUL character (\\u0000)"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return (
                    "a text holds an unpaired surrogate escape (such as \\udfff),"
                    " which is no character"
                )
    return None


class ArgumentsParser(FlaskParser):
    """webargs' Flask parser reading JSON bodies with :func:`loads`."""

    def _raw_load_json(self, req):
        """Return the body's JSON, or ``missing`` if the request is not JSON."""
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError(
                f"Bytes decoding error : {exc.reason}", doc="x", pos=exc.start
            ) from None
        return loads(text)

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        """Answer 400 saying why the body cannot be read (never quoting it)."""
        reason = error.msg if isinstance(error, UnreadableBody) else None
        message = "Invalid JSON body" + (f": {reason}." if reason else ".")
        abort(400, message=message, messages={"json": [message]})


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading with :func:`loads` (``request.get_json()``)."""

    def loads(self, s, **kwargs):
        """Return the value of the JSON ``s``; ValueError if no view can use it."""
        if isinstance(s, bytes):
            s = s.decode("utf-8")
        return loads(s)
