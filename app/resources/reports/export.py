"""A result as CSV: a header row, then the rows, streamed a batch at a time.

RFC 4180: fields holding a comma, a quote or a line break are quoted, quotes
doubled, lines end in CRLF; the text is UTF-8. A list (genres, directors) is
one field, its items joined by ``; ``.

Titles, names and genres are written by users and admins, and a spreadsheet
runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula (CSV injection). As OWASP advises, such a text cell gets a
leading single quote, which the spreadsheet shows as text; numbers stay
numbers, and the JSON results are not touched.
"""

import csv
import io

from catalogue.db import open_catalogue
from reports import jobs

LIST_SEPARATOR = "; "
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if isinstance(value, list):
        value = LIST_SEPARATOR.join("" if item is None else str(item) for item in value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_chunks(config, result_id):
    """Yield the CSV of a result as UTF-8 bytes, one chunk of rows at a time.

    The stream outlives its request's connection, so it reads on its own; each
    stored chunk of rows is one short query, and sending it yields.
    """
    conn = open_catalogue(config, readonly=True)
    try:
        yield from _chunks(conn, result_id)
    finally:
        conn.close()


def _chunks(conn, result_id):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(jobs.result_columns(conn, result_id))
    for rows in jobs.result_chunks(conn, result_id):
        writer.writerows([_cell(value) for value in row] for row in rows)
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")
