"""The reports API on a real queue and worker: embedded (SqliteHuey) and Redis."""

import copy
import csv
import io
import json
import time

import pytest

from app.resources.reports import export
from catalogue.db import open_catalogue
from reports import jobs, parameters, tasks
from tests.fixtures.reports import RunningConsumer, Users
from tests.waiting import wait_until

pytestmark = pytest.mark.stores

TOP_MOVIES = {"report_name": "top-movies-per-rating", "rating": {"gt": 7.5}}


def submit(client, headers, body):
    """POST a report; return the answer."""
    return client.post("/api/v1/reports", json=body, headers=headers)


def job_of(client, headers, job_id):
    """GET a job; return its JSON."""
    response = client.get(f"/api/v1/reports/{job_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def finished(client, headers, job_id):
    """Poll a job until it is completed or in error; return it."""
    states = []

    def done():
        states.append(job_of(client, headers, job_id))
        return states[-1]["status"] in ("completed", "error")

    wait_until(done)
    return states[-1]


def person_id(app, name):
    """The stable id the migration gave the person ``name``."""
    with open_catalogue(app.config) as conn:
        return conn.execute(
            "SELECT id FROM person WHERE full_name = ?", (name,)
        ).fetchone()[0]


def genre_id(app, name):
    """The id of the genre ``name``."""
    with open_catalogue(app.config) as conn:
        return conn.execute("SELECT id FROM genre WHERE name = ?", (name,)).fetchone()[
            0
        ]


def run(client, headers, body):
    """Submit a report and wait for it; return the finished job."""
    response = submit(client, headers, body)
    assert response.status_code == 202, response.get_json()
    return finished(client, headers, response.get_json()["id"])


def rows_of(client, headers, job_id, **query):
    """GET a page of a job's rows; return the answer."""
    return client.get(
        f"/api/v1/reports/{job_id}/results", query_string=query, headers=headers
    )


def test_a_report_is_queued_then_completed_by_the_worker(
    reports_app, users, report_worker
):
    client = reports_app.test_client()
    response = submit(client, users.headers["alice"], TOP_MOVIES)

    assert response.status_code == 202
    job = response.get_json()
    assert response.headers["Location"] == f"/api/v1/reports/{job['id']}"
    assert job["report_name"] == "top-movies-per-rating"
    assert job["status"] in ("queued", "running", "completed")
    assert job["parameters"]["rating"] == {"gt": 7.5}
    assert job["report_date"].endswith("Z")
    assert job["links"] == {
        "self": f"/api/v1/reports/{job['id']}",
        "results": f"/api/v1/reports/{job['id']}/results",
        "csv": f"/api/v1/reports/{job['id']}/results.csv",
    }
    assert job["reused"] is False
    assert response.headers["Cache-Control"] == "private, no-store"

    done = finished(client, users.headers["alice"], job["id"])
    assert done["status"] == "completed"
    assert done["row_count"] == 4
    assert done["started_at"] and done["completed_at"]
    assert done["attempts"] == 1
    assert done["message"] is None


def test_an_unfinished_job_says_when_to_poll_again(reports_app, users):
    client = reports_app.test_client()
    job_id = submit(client, users.headers["alice"], TOP_MOVIES).get_json()["id"]

    response = client.get(f"/api/v1/reports/{job_id}", headers=users.headers["alice"])

    assert response.get_json()["status"] == "queued"
    assert response.headers["Retry-After"] == "2"


def test_a_job_queued_before_any_worker_runs_once_one_starts(reports_app, users):
    client = reports_app.test_client()
    job_id = submit(client, users.headers["alice"], TOP_MOVIES).get_json()["id"]

    with RunningConsumer(reports_app):
        job = finished(client, users.headers["alice"], job_id)

    assert job["status"] == "completed"


def test_top_movies_per_rating_rows_best_first(reports_app, users, report_worker):
    client = reports_app.test_client()
    job = run(client, users.headers["alice"], TOP_MOVIES)

    response = rows_of(client, users.headers["alice"], job["id"])

    assert response.status_code == 200
    assert response.get_json() == [
        {
            "id": "tt0000001",
            "title": "Star Wars",
            "rating": 8.6,
            "genres": ["Action", "Sci-Fi"],
            "directors": ["George Lucas"],
        },
        {
            "id": "tt0000002",
            "title": "Звёздные войны: Новая надежда",
            "rating": 8.0,
            "genres": ["Sci-Fi"],
            "directors": ["Джордж Лукас"],
        },
        {
            "id": "tt0000003",
            "title": 'Crouching Tiger, "Hidden" Dragon',
            "rating": 7.9,
            "genres": ["Action", "Drama"],
            "directors": ["Ang Lee"],
        },
        {
            "id": "tt0000004",
            "title": "Brokeback Mountain",
            "rating": 7.7,
            "genres": ["Drama"],
            "directors": ["Ang Lee"],
        },
    ]
    assert json.loads(response.headers["X-Pagination"])["total"] == 4


def test_results_are_paginated(reports_app, users, report_worker):
    client = reports_app.test_client()
    job = run(client, users.headers["alice"], TOP_MOVIES)

    response = rows_of(client, users.headers["alice"], job["id"], page=2, page_size=3)

    assert [row["id"] for row in response.get_json()] == ["tt0000004"]
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination == {
        "total": 4,
        "total_pages": 2,
        "first_page": 1,
        "last_page": 2,
        "page": 2,
        "previous_page": 1,
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"rating": {"gte": 8.0, "lt": 8.6}}, ["tt0000002"]),
        ({"rating": {"lte": 7.7}}, ["tt0000004", "tt0000005"]),
        ({"rating": {"gt": 7.5}, "limit": 2}, ["tt0000001", "tt0000002"]),
        ({"directors": {"include": ["Ang Lee"]}}, ["tt0000003", "tt0000004"]),
        (
            {"rating": {"gt": 7.5}, "directors": {"exclude": ["Ang Lee"]}},
            ["tt0000001", "tt0000002"],
        ),
        ({"genres": ["Action"]}, ["tt0000001", "tt0000003"]),
        ({"actors": {"include": ["Mark Hamill"]}}, ["tt0000001"]),
        (
            {"rating": {"gt": 7.5}, "actors": {"exclude": ["Mark Hamill"]}},
            ["tt0000002", "tt0000003", "tt0000004"],
        ),
        ({"writers": {"include": ["George Lucas"]}}, ["tt0000001"]),
    ],
)
def test_top_movies_filters(reports_app, users, report_worker, filters, expected):
    filters = copy.deepcopy(filters)
    for role in ("directors", "actors", "writers"):
        for which, people in filters.get(role, {}).items():
            filters[role][which] = [person_id(reports_app, name) for name in people]
    if "genres" in filters:
        filters["genres"] = [genre_id(reports_app, name) for name in filters["genres"]]
    client = reports_app.test_client()
    job = run(
        client,
        users.headers["alice"],
        {"report_name": "top-movies-per-rating", **filters},
    )

    rows = rows_of(client, users.headers["alice"], job["id"]).get_json()

    assert [row["id"] for row in rows] == expected


def test_top_directors_per_movie_rating(reports_app, users, report_worker):
    client = reports_app.test_client()
    job = run(
        client,
        users.headers["alice"],
        {"report_name": "top-directors-per-movie-rating", "min_films": 2},
    )

    rows = rows_of(client, users.headers["alice"], job["id"]).get_json()

    assert rows == [
        {
            "id": person_id(reports_app, "Ang Lee"),
            "name": "Ang Lee",
            "films": 3,
            "rated_films": 2,
            "average_rating": 7.8,
            "best_film_id": "tt0000003",
            "best_film_title": 'Crouching Tiger, "Hidden" Dragon',
        },
        {
            "id": person_id(reports_app, "George Lucas"),
            "name": "George Lucas",
            "films": 2,
            "rated_films": 2,
            "average_rating": 6.8,
            "best_film_id": "tt0000001",
            "best_film_title": "Star Wars",
        },
    ]


def test_top_directors_thresholds_and_lists(reports_app, users, report_worker):
    client = reports_app.test_client()
    lucas = person_id(reports_app, "George Lucas")
    job = run(
        client,
        users.headers["alice"],
        {
            "report_name": "top-directors-per-movie-rating",
            "rating": {"gte": 7.0},
            "directors": {"exclude": [lucas]},
        },
    )

    rows = rows_of(client, users.headers["alice"], job["id"]).get_json()

    assert [row["name"] for row in rows] == ["Джордж Лукас", "Ang Lee"]


def test_genres_summary(reports_app, users, report_worker):
    client = reports_app.test_client()
    job = run(client, users.headers["alice"], {"report_name": "genres-summary"})

    rows = rows_of(client, users.headers["alice"], job["id"]).get_json()

    assert [(r["name"], r["films"], r["rated_films"]) for r in rows] == [
        ("Drama", 4, 3),
        ("Action", 2, 2),
        ("Sci-Fi", 2, 2),
    ]
    drama = rows[0]
    assert drama["average_rating"] == round((7.9 + 7.7 + 5.0) / 3, 2)
    assert drama["best_film_id"] == "tt0000003"


def test_the_csv_holds_every_row_quoted_in_utf8(reports_app, users, report_worker):
    client = reports_app.test_client()
    job = run(client, users.headers["alice"], TOP_MOVIES)

    response = client.get(
        f"/api/v1/reports/{job['id']}/results.csv", headers=users.headers["alice"]
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8; header=present"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="top-movies-per-rating-{job["id"]}.csv"'
    )
    assert response.is_streamed
    text = response.get_data().decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0] == "id,title,rating,genres,directors"
    assert lines[1] == "tt0000001,Star Wars,8.6,Action; Sci-Fi,George Lucas"
    assert lines[2] == "tt0000002,Звёздные войны: Новая надежда,8.0,Sci-Fi,Джордж Лукас"
    assert lines[3] == (
        'tt0000003,"Crouching Tiger, ""Hidden"" Dragon",7.9,Action; Drama,Ang Lee'
    )
    assert lines[-1] == ""
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert len(parsed) == 5
    assert parsed[3][1] == 'Crouching Tiger, "Hidden" Dragon'


FORMULAS = ("=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR")


@pytest.mark.parametrize(
    "body",
    [
        TOP_MOVIES,
        {"report_name": "top-directors-per-movie-rating"},
        {"report_name": "genres-summary"},
        {"report_name": "most-collected-movies"},
    ],
    ids=lambda body: body["report_name"],
)
def test_no_csv_cell_of_any_report_starts_a_formula(
    reports_app, users, report_worker, body
):
    client = reports_app.test_client()
    headers = users.headers["alice"]
    with open_catalogue(reports_app.config) as conn:
        conn.execute("UPDATE film SET title = ? WHERE id = 'tt0000001'", (FORMULAS[0],))
        conn.execute("UPDATE genre SET name = ? WHERE name = 'Sci-Fi'", (FORMULAS[1],))
        conn.execute(
            "UPDATE person SET full_name = ? WHERE full_name = 'George Lucas'",
            (FORMULAS[3],),
        )
        conn.execute("UPDATE film SET title = ? WHERE id = 'tt0000002'", (FORMULAS[4],))
    collect(
        client,
        headers,
        "Hostile",
        [(DUNE[0], FORMULAS[2]), (ALIEN[0], FORMULAS[5]), (HEAT[0], "Heat")],
    )
    job = run(client, headers, body)

    rows = rows_of(client, headers, job["id"], page_size=100).get_json()
    text = client.get(
        f"/api/v1/reports/{job['id']}/results.csv", headers=headers
    ).get_data(as_text=True)

    cells = [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULAS_STARTS)]
    values = {str(v) for row in rows for v in row.values() if v is not None}
    values |= {
        item for row in rows for v in row.values() if isinstance(v, list) for item in v
    }
    hostile = [f for f in FORMULAS if f in values]
    # Each report shows some of them; the JSON rows keep them exact.
    assert hostile
    for formula in hostile:
        assert any(cell.startswith("'" + formula) for cell in cells), formula
    numbers = [v for row in rows for v in row.values() if isinstance(v, int | float)]
    for number in numbers:
        assert str(number) in cells


FORMULAS_STARTS = tuple(formula[0] for formula in FORMULAS)


def test_rows_stored_in_many_chunks_are_paged_and_streamed_whole(
    reports_app, users, report_worker, monkeypatch
):
    monkeypatch.setattr(jobs, "CHUNK_ROWS", 2)
    client = reports_app.test_client()
    headers = users.headers["alice"]
    job = run(client, headers, TOP_MOVIES)
    with open_catalogue(reports_app.config) as conn:
        result_id = conn.execute(
            "SELECT result_id FROM report_job WHERE id = ?", (job["id"],)
        ).fetchone()[0]
        stored = conn.execute(
            "SELECT count(*) FROM report_chunk WHERE result_id = ?", (result_id,)
        ).fetchone()[0]

    assert stored == 2
    pages = [
        [
            row["id"]
            for row in rows_of(
                client, headers, job["id"], page=page, page_size=3
            ).get_json()
        ]
        for page in (1, 2)
    ]
    assert pages == [["tt0000001", "tt0000002", "tt0000003"], ["tt0000004"]]
    middle = rows_of(client, headers, job["id"], page=2, page_size=2).get_json()
    assert [row["id"] for row in middle] == ["tt0000003", "tt0000004"]
    chunks = list(export.csv_chunks(reports_app.config, result_id))
    # The header and the first chunk's two rows, then the second chunk's.
    assert len(chunks) == 2
    assert b"".join(chunks).decode().count("\r\n") == 5


def test_a_result_without_rows_is_a_csv_of_its_header(
    reports_app, users, report_worker
):
    client = reports_app.test_client()
    headers = users.headers["alice"]
    job = run(client, headers, {**TOP_MOVIES, "rating": {"gt": 9.9}})

    response = client.get(f"/api/v1/reports/{job['id']}/results.csv", headers=headers)

    assert job["row_count"] == 0
    assert response.get_data(as_text=True) == "id,title,rating,genres,directors\r\n"
    assert rows_of(client, headers, job["id"]).get_json() == []


def test_results_are_409_until_completed(reports_app, users):
    client = reports_app.test_client()
    job_id = submit(client, users.headers["alice"], TOP_MOVIES).get_json()["id"]

    for path in ("results", "results.csv"):
        response = client.get(
            f"/api/v1/reports/{job_id}/{path}", headers=users.headers["alice"]
        )
        assert response.status_code == 409
        body = response.get_json()
        assert body["code"] == 409
        assert "queued" in body["message"]
        assert response.headers["Retry-After"] == "2"


def test_someone_elses_job_is_404_and_an_admin_sees_it(
    reports_app, users, report_worker
):
    client = reports_app.test_client()
    job = run(client, users.headers["alice"], TOP_MOVIES)

    for path in ("", "/results", "/results.csv"):
        response = client.get(
            f"/api/v1/reports/{job['id']}{path}", headers=users.headers["bob"]
        )
        assert response.status_code == 404
        assert response.get_json()["code"] == 404
    assert (
        client.delete(
            f"/api/v1/reports/{job['id']}", headers=users.headers["bob"]
        ).status_code
        == 404
    )
    assert job_of(client, users.headers["admin"], job["id"])["id"] == job["id"]
    assert (
        client.get("/api/v1/reports/999999", headers=users.headers["alice"]).status_code
        == 404
    )


def test_reports_need_a_token(reports_app):
    client = reports_app.test_client()

    assert client.post("/api/v1/reports", json=TOP_MOVIES).status_code == 401
    assert client.get("/api/v1/reports").status_code == 401
    assert client.get("/api/v1/report-types").status_code == 401


def test_the_list_is_the_callers_jobs_newest_first(reports_app, users):
    client = reports_app.test_client()
    first = submit(client, users.headers["alice"], TOP_MOVIES).get_json()["id"]
    submit(client, users.headers["bob"], TOP_MOVIES)
    second = submit(
        client, users.headers["alice"], {"report_name": "genres-summary"}
    ).get_json()["id"]

    response = client.get("/api/v1/reports", headers=users.headers["alice"])
    everyone = client.get("/api/v1/reports", headers=users.headers["admin"])

    assert [job["id"] for job in response.get_json()] == [second, first]
    assert json.loads(response.headers["X-Pagination"])["total"] == 2
    assert len(everyone.get_json()) == 3
    paged = client.get(
        "/api/v1/reports",
        query_string={"page_size": 1, "page": 2},
        headers=users.headers["alice"],
    )
    assert [job["id"] for job in paged.get_json()] == [first]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"report_name": "top-movies-per-rating", "rating": {"gt": 11}}, "rating"),
        ({"report_name": "top-movies-per-rating", "rating": {"above": 7}}, "rating"),
        ({"report_name": "top-movies-per-rating", "colour": "red"}, "colour"),
        ({"report_name": "top-movies-per-rating", "limit": 0}, "limit"),
        ({"report_name": "genres-summary", "limit": "many"}, "limit"),
        (
            {"report_name": "top-directors-per-movie-rating", "min_films": -1},
            "min_films",
        ),
        (
            {"report_name": "top-movies-per-rating", "actors": {"include": "x"}},
            "actors",
        ),
        ({"rating": {"gt": 7}}, "report_name"),
        ({"report_name": "top-movies-per-rating", "limit": 1.5}, "limit"),
        ({"report_name": "top-movies-per-rating", "limit": "100"}, "limit"),
        ({"report_name": "genres-summary", "limit": True}, "limit"),
        ({"report_name": "genres-summary", "limit": 10_001}, "limit"),
        ({"report_name": "top-movies-per-rating", "limit": 10**40}, "limit"),
        (
            {"report_name": "top-movies-per-rating", "rating": {"gt": 8, "lt": 2}},
            "rating",
        ),
        (
            {"report_name": "top-movies-per-rating", "rating": {"gte": 7, "lt": 7}},
            "rating",
        ),
        (
            {
                "report_name": "top-directors-per-movie-rating",
                "rating": {"gt": 5, "lte": 5},
            },
            "rating",
        ),
        (
            {"report_name": "top-directors-per-movie-rating", "min_films": "2"},
            "min_films",
        ),
    ],
)
def test_bad_parameters_are_422_naming_them(reports_app, users, body, field):
    client = reports_app.test_client()

    response = submit(client, users.headers["alice"], body)

    assert response.status_code == 422
    error = response.get_json()
    assert set(error) == {"code", "status", "message", "errors"}
    assert field in error["errors"]["json"]
    assert field in error["message"]


def test_an_unknown_report_is_422_listing_the_known_ones(reports_app, users):
    client = reports_app.test_client()

    response = submit(client, users.headers["alice"], {"report_name": "nope"})

    assert response.status_code == 422
    message = response.get_json()["message"]
    assert "'nope'" in message
    for name in (
        "genres-summary",
        "most-collected-movies",
        "top-directors-per-movie-rating",
        "top-movies-per-rating",
    ):
        assert name in message
    assert "report_name" in response.get_json()["errors"]["json"]


def test_the_same_report_on_unchanged_data_is_reused(reports_app, users, report_worker):
    client = reports_app.test_client()
    first = run(client, users.headers["alice"], TOP_MOVIES)

    response = submit(client, users.headers["bob"], {**TOP_MOVIES, "genres": []})

    again = response.get_json()
    assert response.status_code == 202
    assert again["status"] == "completed"
    assert again["reused"] is True
    assert "reused" in again["message"]
    assert again["id"] != first["id"]
    assert "Retry-After" not in response.headers
    rows = rows_of(client, users.headers["bob"], again["id"]).get_json()
    assert rows == rows_of(client, users.headers["alice"], first["id"]).get_json()


def test_changed_data_runs_the_report_again(reports_app, users, report_worker):
    client = reports_app.test_client()
    run(client, users.headers["alice"], TOP_MOVIES)
    with open_catalogue(reports_app.config) as conn:
        conn.execute("UPDATE film SET imdb_rating = 9.9 WHERE id = 'tt0000004'")

    again = run(client, users.headers["alice"], TOP_MOVIES)

    assert again["reused"] is False
    rows = rows_of(client, users.headers["alice"], again["id"]).get_json()
    assert rows[0]["id"] == "tt0000004"


def test_a_queued_job_is_cancelled(reports_app, users):
    client = reports_app.test_client()
    job_id = submit(client, users.headers["alice"], TOP_MOVIES).get_json()["id"]

    response = client.delete(
        f"/api/v1/reports/{job_id}", headers=users.headers["alice"]
    )

    assert response.status_code == 204
    assert (
        client.get(
            f"/api/v1/reports/{job_id}", headers=users.headers["alice"]
        ).status_code
        == 404
    )
    # The worker that then takes its message finds nothing to run.
    with RunningWorkerUntilEmpty(reports_app):
        pass
    with open_catalogue(reports_app.config) as conn:
        assert conn.execute("SELECT count(*) FROM report_result").fetchone()[0] == 0


class RunningWorkerUntilEmpty:
    """Run a consumer until the queue is empty."""

    def __init__(self, app):
        from reports.queue import get_queue

        self.queue = get_queue(app)
        self.running = RunningConsumer(app)

    def __enter__(self):
        self.running.__enter__()
        wait_until(lambda: self.queue.pending() == 0)

    def __exit__(self, *exc_info):
        self.running.__exit__(*exc_info)


def test_a_finished_job_is_deleted(reports_app, users, report_worker):
    client = reports_app.test_client()
    job = run(client, users.headers["alice"], TOP_MOVIES)

    response = client.delete(
        f"/api/v1/reports/{job['id']}", headers=users.headers["alice"]
    )

    assert response.status_code == 204
    assert (
        client.get(
            f"/api/v1/reports/{job['id']}/results", headers=users.headers["alice"]
        ).status_code
        == 404
    )


def test_a_running_job_cannot_be_deleted(reports_app, users):
    client = reports_app.test_client()
    job_id = submit(client, users.headers["alice"], TOP_MOVIES).get_json()["id"]
    with open_catalogue(reports_app.config) as conn:
        conn.execute("UPDATE report_job SET status = 'running' WHERE id = ?", (job_id,))

    response = client.delete(
        f"/api/v1/reports/{job_id}", headers=users.headers["alice"]
    )

    assert response.status_code == 409
    assert "running" in response.get_json()["message"]


def test_report_types_list_every_report_with_its_json_schema(reports_app, users):
    client = reports_app.test_client()

    response = client.get("/api/v1/report-types", headers=users.headers["alice"])

    types = {item["name"]: item for item in response.get_json()}
    assert sorted(types) == [
        "genres-summary",
        "most-collected-movies",
        "top-directors-per-movie-rating",
        "top-movies-per-rating",
    ]
    top = types["top-movies-per-rating"]
    assert top["description"]
    assert top["columns"] == ["id", "title", "rating", "genres", "directors"]
    properties = top["parameters"]["properties"]
    assert set(properties) == {
        "limit",
        "rating",
        "genres",
        "actors",
        "directors",
        "writers",
    }
    assert properties["rating"]["properties"]["gt"]["maximum"] == 10
    assert top["parameters"]["additionalProperties"] is False


def test_every_report_is_in_the_openapi_spec(reports_app):
    spec = reports_app.test_client().get("/openapi.json").get_json()

    body = spec["paths"]["/api/v1/reports"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert sorted(schema["discriminator"]["mapping"]) == [
        "genres-summary",
        "most-collected-movies",
        "top-directors-per-movie-rating",
        "top-movies-per-rating",
    ]
    component = spec["components"]["schemas"]["TopMoviesPerRatingRequest"]
    assert {"report_name", "rating", "limit"} <= set(component["properties"])


def collect(client, headers, title, movies):
    """Create a collection of ``movies`` (uuid, title) pairs; return its uuid."""
    body = {
        "title": title,
        "movies": [
            {"uuid": uuid, "title": name, "description": "", "genres": ""}
            for uuid, name in movies
        ],
    }
    response = client.post("/collection/", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["collection_uuid"]


DUNE = ("7c3a6f64-2d5e-4a51-9d86-6f0a9d1e0b01", "Dune")
ALIEN = ("7c3a6f64-2d5e-4a51-9d86-6f0a9d1e0b02", "Alien")
HEAT = ("7c3a6f64-2d5e-4a51-9d86-6f0a9d1e0b03", "Heat")
MOST_COLLECTED = {"report_name": "most-collected-movies"}


def test_most_collected_movies_counts_users_and_collections(
    reports_app, users, report_worker
):
    client = reports_app.test_client()
    alice, bob = users.headers["alice"], users.headers["bob"]
    collect(client, alice, "Sci-fi", [DUNE, ALIEN])
    collect(client, alice, "Again", [DUNE, HEAT])
    collect(client, bob, "Mine", [ALIEN])

    job = run(client, alice, MOST_COLLECTED)

    rows = rows_of(client, alice, job["id"]).get_json()
    assert [(r["title"], r["users"], r["collections"]) for r in rows] == [
        ("Alien", 2, 2),
        ("Dune", 1, 2),
        ("Heat", 1, 1),
    ]
    assert rows[0]["uuid"] == ALIEN[0]


def test_most_collected_movies_runs_again_when_a_collection_changes(
    reports_app, users, report_worker
):
    client = reports_app.test_client()
    alice, bob = users.headers["alice"], users.headers["bob"]
    collect(client, alice, "Sci-fi", [DUNE])
    run(client, alice, MOST_COLLECTED)
    assert run(client, alice, MOST_COLLECTED)["reused"] is True

    mine = collect(client, bob, "Mine", [HEAT])
    after_create = run(client, alice, MOST_COLLECTED)
    response = client.delete(f"/collection/{mine}/", headers=bob)
    assert response.status_code == 204
    after_delete = run(client, alice, MOST_COLLECTED)

    assert after_create["reused"] is False
    assert after_delete["reused"] is False
    rows = rows_of(client, alice, after_delete["id"]).get_json()
    assert [row["title"] for row in rows] == ["Dune"]


def test_most_collected_movies_names_a_movie_as_most_of_its_users_do(
    reports_app, users, report_worker
):
    client = reports_app.test_client()
    alice, bob, admin = (users.headers[name] for name in ("alice", "bob", "admin"))
    collect(client, alice, "Mine", [DUNE])
    collect(client, alice, "Mine again", [(DUNE[0], "Dune (1984)")])
    collect(client, bob, "Bob's", [DUNE])
    collect(client, admin, "Hostile", [(DUNE[0], "=HYPERLINK(1)")])

    job = run(client, alice, MOST_COLLECTED)

    rows = rows_of(client, alice, job["id"]).get_json()
    assert rows == [{"uuid": DUNE[0], "title": "Dune", "collections": 4, "users": 3}]
    # Each collection still shows what its owner sent.
    mine = client.get("/collection/", headers=alice).get_json()["data"]
    assert [c["title"] for c in mine["collections"]] == ["Mine again", "Mine"]


def test_thresholds_that_meet_at_one_rating_are_accepted(reports_app, users):
    body = {"report_name": "top-movies-per-rating", "rating": {"gte": 7, "lte": 7}}

    response = submit(reports_app.test_client(), users.headers["alice"], body)

    assert response.status_code == 202


def test_contradictory_thresholds_say_why(reports_app, users):
    body = {"report_name": "top-movies-per-rating", "rating": {"gt": 8, "lt": 2}}

    response = submit(reports_app.test_client(), users.headers["alice"], body)

    assert response.get_json()["errors"]["json"]["rating"] == {
        "gt": ["No rating is above 8 and below 2: these thresholds match nothing."]
    }


def test_a_result_holds_at_most_the_largest_limit(
    reports_app, users, report_worker, monkeypatch
):
    monkeypatch.setattr(parameters, "MAX_LIMIT", 2)
    client = reports_app.test_client()

    job = run(client, users.headers["alice"], {"report_name": "genres-summary"})

    assert job["row_count"] == 2


def limited_app(make_app, reports_db, reports_settings, **bounds):
    """The reports app with bounds on the jobs; its users."""
    app = make_app(**reports_settings, **bounds)
    return app, Users(app)


def test_a_user_has_only_so_many_unfinished_jobs(
    make_app, reports_db, reports_settings
):
    app, users = limited_app(
        make_app, reports_db, reports_settings, REPORT_JOBS_PER_USER=2
    )
    client = app.test_client()
    alice, bob = users.headers["alice"], users.headers["bob"]
    done = submit(client, alice, {**TOP_MOVIES, "limit": 1}).get_json()
    tasks.run_job(app, done["id"])
    answers = [
        submit(client, alice, {**TOP_MOVIES, "limit": n}).status_code for n in (2, 3)
    ]

    refused = submit(client, alice, {**TOP_MOVIES, "limit": 4})

    assert answers == [202, 202]
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert set(refused.get_json()) == {"code", "status", "message", "errors"}
    assert "2 report jobs queued or running" in refused.get_json()["message"]
    # A reused result costs nothing, and other users have bounds of their own.
    reused = submit(client, alice, {**TOP_MOVIES, "limit": 1})
    assert reused.status_code == 202
    assert reused.get_json()["reused"] is True
    assert submit(client, bob, {**TOP_MOVIES, "limit": 4}).status_code == 202
    # A job that finished (here: cancelled) frees its place.
    jobs_of_alice = client.get("/api/v1/reports", headers=alice).get_json()
    queued = [job["id"] for job in jobs_of_alice if job["status"] == "queued"]
    client.delete(f"/api/v1/reports/{queued[0]}", headers=alice)
    assert submit(client, alice, {**TOP_MOVIES, "limit": 4}).status_code == 202
    with open_catalogue(app.config) as conn:
        (stored,) = conn.execute("SELECT count(*) FROM report_job").fetchone()
    assert stored == 5


def test_the_queue_holds_only_so_many_waiting_jobs(
    make_app, reports_db, reports_settings
):
    app, users = limited_app(
        make_app, reports_db, reports_settings, REPORT_QUEUE_LIMIT=2
    )
    client = app.test_client()
    assert submit(client, users.headers["alice"], TOP_MOVIES).status_code == 202
    assert submit(client, users.headers["bob"], TOP_MOVIES).status_code == 202

    refused = submit(client, users.headers["admin"], TOP_MOVIES)

    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) > 0
    assert "queue is full" in refused.get_json()["message"]


# --- the brief's spellings and what the data cannot serve ---------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"report_name": "top-movies-per-rating", "rating_threshold": {"gt": 7.5}},
        {"report_name": "top-movies-per-rating", "rating": {"$gt": 7.5}},
        {"report_name": "top-movies-per-rating", "rating_threshold": {"$gt": 7.5}},
    ],
    ids=["rating_threshold", "$gt", "both"],
)
def test_the_briefs_spellings_ask_for_the_same_report(
    reports_app, users, report_worker, body
):
    client = reports_app.test_client()
    headers = users.headers["alice"]
    first = run(client, headers, TOP_MOVIES)

    again = run(client, headers, body)

    assert again["parameters"] == first["parameters"]
    assert again["reused"] is True


def test_the_briefs_report_name_is_an_alias(reports_app, users, report_worker):
    client = reports_app.test_client()
    body = {
        "report_name": "top-directors-per-moving-rating",
        "rating_threshold": {"$gte": 7, "$lt": 9},
    }

    job = run(client, users.headers["alice"], body)

    assert job["report_name"] == "top-directors-per-movie-rating"
    assert job["parameters"]["rating"] == {"gte": 7, "lt": 9}
    types = client.get("/api/v1/report-types", headers=users.headers["alice"])
    (directors,) = [
        t for t in types.get_json() if t["name"] == "top-directors-per-movie-rating"
    ]
    assert directors["aliases"] == ["top-directors-per-moving-rating"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "report_name": "top-movies-per-rating",
                "rating": {"gt": 7},
                "rating_threshold": {"gt": 7},
            },
            "rating_threshold",
        ),
        (
            {"report_name": "top-movies-per-rating", "rating": {"gt": 7, "$gt": 7}},
            "rating",
        ),
        (
            {"report_name": "genres-summary", "rating_threshold": {"gt": 7}},
            "rating_threshold",
        ),
    ],
)
def test_an_alias_beside_its_name_or_where_it_means_nothing_is_422(
    reports_app, users, body, field
):
    response = submit(reports_app.test_client(), users.headers["alice"], body)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]["json"]


def test_paging_on_the_post_is_422_naming_the_form_to_use(reports_app, users):
    response = reports_app.test_client().post(
        "/api/v1/reports?page=0&page_size=10",
        json=TOP_MOVIES,
        headers=users.headers["alice"],
    )

    assert response.status_code == 422
    error = response.get_json()
    assert set(error["errors"]["query"]) == {"page", "page_size"}
    assert "/results?page=1&page_size=10" in error["message"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {**TOP_MOVIES, "movie_released_at": {"gt": "2000-01-01"}},
            "movie_released_at",
            "no release dates",
        ),
        (
            {**TOP_MOVIES, "comment_threshold": {"gt": 5}},
            "comment_threshold",
            "no comments",
        ),
        ({"report_name": "top-commented-movies"}, "report_name", "no comments"),
        ({"report_name": "comments-summary"}, "report_name", "no comments"),
    ],
)
def test_what_the_data_cannot_serve_is_422_saying_so(
    reports_app, users, body, field, words
):
    response = submit(reports_app.test_client(), users.headers["alice"], body)

    assert response.status_code == 422
    error = response.get_json()
    assert words in error["message"]
    assert words in error["errors"]["json"][field][0]


# --- Prefer: wait ----------------------------------------------------------------


def test_prefer_wait_answers_a_quick_job_finished(reports_app, users, report_worker):
    client = reports_app.test_client()
    headers = {**users.headers["alice"], "Prefer": "respond-async, wait=10"}

    response = client.post("/api/v1/reports", json=TOP_MOVIES, headers=headers)

    assert response.status_code == 202
    assert response.headers["Preference-Applied"] == "wait=10"
    assert response.get_json()["status"] == "completed"
    assert "Retry-After" not in response.headers


def test_prefer_wait_is_capped_and_answers_an_unfinished_job_in_time(
    make_app, reports_db, reports_settings
):
    app, users = limited_app(make_app, reports_db, reports_settings, REPORT_MAX_WAIT=1)
    client = app.test_client()
    headers = {**users.headers["alice"], "Prefer": "wait=600"}

    started = time.monotonic()
    posted = client.post("/api/v1/reports", json=TOP_MOVIES, headers=headers)
    waited = time.monotonic() - started
    job = client.get(f"/api/v1/reports/{posted.get_json()['id']}", headers=headers)

    assert 1 <= waited < 5
    assert posted.headers["Preference-Applied"] == "wait=1"
    assert posted.get_json()["status"] == "queued"
    assert posted.headers["Retry-After"] == "2"
    assert job.headers["Preference-Applied"] == "wait=1"
    assert job.get_json()["status"] == "queued"


def test_prefer_wait_sees_the_job_finish_while_it_waits(
    reports_app, users, report_worker
):
    client = reports_app.test_client()
    job_id = submit(client, users.headers["alice"], TOP_MOVIES).get_json()["id"]

    response = client.get(
        f"/api/v1/reports/{job_id}",
        headers={**users.headers["alice"], "Prefer": "wait=10"},
    )

    assert response.get_json()["status"] == "completed"


@pytest.mark.parametrize(
    "prefer", ["wait=x", "wait=-1", "wait", "respond-async", "wait=²"]
)
def test_a_preference_that_cannot_be_read_is_ignored(reports_app, users, prefer):
    response = reports_app.test_client().post(
        "/api/v1/reports",
        json=TOP_MOVIES,
        headers={**users.headers["alice"], "Prefer": prefer},
    )

    assert response.status_code == 202
    assert "Preference-Applied" not in response.headers
