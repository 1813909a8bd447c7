-- Clean the legacy tables into the normalised catalogue.
-- 'N/A' and empty strings become NULL or no row at all; comma lists become rows;
-- writers from both `writer` and `writers` merge, first occurrence first;
-- a person is identified by their normalised name (stable_id), so the same
-- person seen as actor, writer and director is one row with one stable id.

-- Films, with the rating typed and 'N/A' text turned into NULL.
INSERT INTO film (id, title, description, imdb_rating)
SELECT
    trim(id),
    coalesce(nullif(trim(title), 'N/A'), ''),
    nullif(nullif(trim(plot), 'N/A'), ''),
    CASE
        WHEN trim(imdb_rating) <> ''
         AND trim(imdb_rating) NOT GLOB '*[^0-9.]*'
         AND trim(imdb_rating) NOT GLOB '*.*.*'
         AND CAST(trim(imdb_rating) AS REAL) BETWEEN 0 AND 10
        THEN CAST(trim(imdb_rating) AS REAL)
    END
FROM movies
WHERE nullif(trim(id), '') IS NOT NULL;

-- Split the comma-separated genre and director columns into one row per item.
CREATE TEMP TABLE legacy_list_item (
    film_id  TEXT NOT NULL,
    kind     TEXT NOT NULL,
    item     TEXT NOT NULL,
    position INTEGER NOT NULL
);

WITH RECURSIVE split (film_id, kind, rest, item, position) AS (
    SELECT trim(id), 'genre', genre || ',', NULL, -1 FROM movies WHERE genre IS NOT NULL
    UNION ALL
    SELECT trim(id), 'director', director || ',', NULL, -1 FROM movies WHERE director IS NOT NULL
    UNION ALL
    SELECT
        film_id,
        kind,
        substr(rest, instr(rest, ',') + 1),
        trim(substr(rest, 1, instr(rest, ',') - 1)),
        position + 1
    FROM split
    WHERE rest <> ''
)
INSERT INTO legacy_list_item (film_id, kind, item, position)
SELECT
    film_id,
    kind,
    -- 'Olivia Mori(co-director)': the role note is not part of the name.
    CASE
        WHEN kind = 'director' AND item LIKE '%)' AND instr(item, '(') > 1
        THEN trim(substr(item, 1, instr(item, '(') - 1))
        ELSE item
    END,
    position
FROM split
WHERE item IS NOT NULL AND item <> '' AND upper(item) <> 'N/A';

-- Genres and their links, in the legacy order.
CREATE TEMP TABLE genre_name AS
SELECT name, stable_id('genre', name) AS genre_id
FROM (SELECT DISTINCT item AS name FROM legacy_list_item WHERE kind = 'genre');

INSERT INTO genre (id, name)
SELECT genre_id, min(name) FROM genre_name GROUP BY genre_id;

INSERT INTO film_genre (film_id, genre_id, position)
SELECT film_id, genre_id, row_number() OVER (PARTITION BY film_id ORDER BY first_position) - 1
FROM (
    SELECT i.film_id, g.genre_id, min(i.position) AS first_position
    FROM legacy_list_item AS i
    JOIN genre_name AS g ON g.name = i.item
    JOIN film AS f ON f.id = i.film_id
    WHERE i.kind = 'genre'
    GROUP BY i.film_id, g.genre_id
)
ORDER BY film_id, genre_id;

-- Every credit of every film: actors in legacy link order, writers from the
-- `writer` column first and then the `writers` JSON array, directors as listed.
CREATE TEMP TABLE credit (
    film_id  TEXT NOT NULL,
    role     TEXT NOT NULL,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL
);

INSERT INTO credit (film_id, role, name, position)
SELECT trim(ma.movie_id), 'actor', trim(a.name), ma.rowid
FROM movie_actors AS ma
JOIN actors AS a ON a.id = CAST(trim(ma.actor_id) AS INTEGER)
WHERE trim(ma.actor_id) <> '' AND trim(ma.actor_id) NOT GLOB '*[^0-9]*';

INSERT INTO credit (film_id, role, name, position)
SELECT trim(m.id), 'writer', trim(w.name), 0
FROM movies AS m
JOIN writers AS w ON w.id = trim(m.writer)
WHERE nullif(trim(m.writer), '') IS NOT NULL;

INSERT INTO credit (film_id, role, name, position)
SELECT trim(m.id), 'writer', trim(w.name), 1 + CAST(j.key AS INTEGER)
FROM movies AS m, json_each(m.writers) AS j
JOIN writers AS w ON w.id = trim(j.value ->> '$.id')
WHERE nullif(trim(m.writers), '') IS NOT NULL AND json_valid(m.writers)
  AND json_type(m.writers) = 'array';

INSERT INTO credit (film_id, role, name, position)
SELECT film_id, 'director', item, position
FROM legacy_list_item
WHERE kind = 'director';

DELETE FROM credit WHERE name = '' OR upper(name) = 'N/A';

-- People: everyone credited, and every legacy actor and writer even if no film
-- links them, so nothing of the old system is lost.
CREATE TEMP TABLE person_name (
    name TEXT PRIMARY KEY,
    person_id TEXT NOT NULL
) WITHOUT ROWID;

INSERT OR IGNORE INTO person_name (name, person_id)
SELECT name, stable_id('person', name)
FROM (
    SELECT name FROM credit
    UNION SELECT trim(name) FROM actors
    UNION SELECT trim(name) FROM writers
)
WHERE name IS NOT NULL AND name <> '' AND upper(name) <> 'N/A';

INSERT INTO person (id, full_name)
SELECT person_id, min(name) FROM person_name GROUP BY person_id ORDER BY person_id;

INSERT INTO person_legacy_id (source, legacy_id, person_id)
SELECT 'actor', CAST(a.id AS TEXT), p.person_id
FROM actors AS a JOIN person_name AS p ON p.name = trim(a.name)
ORDER BY CAST(a.id AS TEXT);

INSERT INTO person_legacy_id (source, legacy_id, person_id)
SELECT 'writer', trim(w.id), p.person_id
FROM writers AS w JOIN person_name AS p ON p.name = trim(w.name)
ORDER BY trim(w.id);

-- Links: one row per film, role and person, at its first position.
INSERT INTO film_person (film_id, person_id, role, position)
SELECT
    film_id, person_id, role,
    row_number() OVER (PARTITION BY film_id, role ORDER BY first_position, person_id) - 1
FROM (
    SELECT c.film_id, p.person_id, c.role, min(c.position) AS first_position
    FROM credit AS c
    JOIN person_name AS p ON p.name = c.name
    JOIN film AS f ON f.id = c.film_id
    GROUP BY c.film_id, c.role, p.person_id
);

DROP TABLE legacy_list_item;
DROP TABLE genre_name;
DROP TABLE credit;
DROP TABLE person_name;
