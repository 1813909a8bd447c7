-- backup: movies actors writers movie_actors rating_agency
-- The legacy tables give way to views of the same names and columns over the
-- normalised catalogue, so that whatever still reads them by name (old reports,
-- old admin scripts) reads clean data: NULL instead of 'N/A', the writers of a
-- film in one form (the `writers` JSON list of legacy ids, `writer` always
-- NULL), each actor linked once to a film. The original rows are copied first
-- to the backup file beside the database (see the `backup:` line above and
-- `flask db upgrade`'s output). `rating_agency` holds no defect and stays.

DROP TABLE movies;
DROP TABLE actors;
DROP TABLE writers;
DROP TABLE movie_actors;

-- One legacy id a person is known by in each role (a person whose name two
-- legacy rows shared has two).
CREATE VIEW legacy_person_id (person_id, source, legacy_id) AS
SELECT person_id, source, min(legacy_id)
FROM person_legacy_id
GROUP BY person_id, source;

CREATE VIEW movies (
    id, genre, director, writer, title, plot, ratings, imdb_rating, writers
) AS
SELECT
    f.id,
    (SELECT group_concat(name, ', ') FROM (
        SELECT g.name FROM film_genre AS fg JOIN genre AS g ON g.id = fg.genre_id
        WHERE fg.film_id = f.id ORDER BY fg.position)),
    (SELECT group_concat(full_name, ', ') FROM (
        SELECT p.full_name FROM film_person AS fp JOIN person AS p ON p.id = fp.person_id
        WHERE fp.film_id = f.id AND fp.role = 'director' ORDER BY fp.position)),
    NULL,
    f.title,
    f.description,
    NULL,
    f.imdb_rating,
    (SELECT nullif(json_group_array(json_object('id', legacy_id)), '[]') FROM (
        SELECT l.legacy_id FROM film_person AS fp
        JOIN legacy_person_id AS l ON l.person_id = fp.person_id AND l.source = 'writer'
        WHERE fp.film_id = f.id AND fp.role = 'writer' ORDER BY fp.position))
FROM film AS f;

CREATE VIEW actors (id, name) AS
SELECT CAST(l.legacy_id AS INTEGER), p.full_name
FROM person_legacy_id AS l JOIN person AS p ON p.id = l.person_id
WHERE l.source = 'actor';

CREATE VIEW writers (id, name) AS
SELECT l.legacy_id, p.full_name
FROM person_legacy_id AS l JOIN person AS p ON p.id = l.person_id
WHERE l.source = 'writer';

CREATE VIEW movie_actors (movie_id, actor_id) AS
SELECT fp.film_id, l.legacy_id
FROM film_person AS fp
JOIN legacy_person_id AS l ON l.person_id = fp.person_id AND l.source = 'actor'
WHERE fp.role = 'actor';
