-- The catalogue, as SQLite holds it after its own migrations (migrations_sql/):
-- the same tables, columns, keys and checks, filled by `flask db import` from
-- a cleaned legacy file. Times are text, UTC, millisecond ISO 8601, as in
-- SQLite, so that both stores compare and return them alike; they are taken
-- from the clock at each statement (clock_timestamp), not at the start of its
-- transaction, like SQLite's. Text compares byte by byte (COLLATE "C"), as
-- SQLite compares it, whatever the database's locale: ids, times and titles
-- sort alike on both stores.

CREATE FUNCTION utc_now() RETURNS text
LANGUAGE sql VOLATILE
AS $$ SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

CREATE TABLE film (
    id          text COLLATE "C" PRIMARY KEY,
    title       text COLLATE "C" NOT NULL,
    description text COLLATE "C",
    imdb_rating double precision
                CHECK (imdb_rating IS NULL OR imdb_rating BETWEEN 0 AND 10),
    created     text COLLATE "C" NOT NULL DEFAULT utc_now(),
    modified    text COLLATE "C" NOT NULL DEFAULT utc_now()
);

CREATE TABLE genre (
    id       text COLLATE "C" PRIMARY KEY,
    name     text COLLATE "C" NOT NULL UNIQUE,
    created  text COLLATE "C" NOT NULL DEFAULT utc_now(),
    modified text COLLATE "C" NOT NULL DEFAULT utc_now()
);

CREATE TABLE person (
    id        text COLLATE "C" PRIMARY KEY,
    full_name text COLLATE "C" NOT NULL,
    created   text COLLATE "C" NOT NULL DEFAULT utc_now(),
    modified  text COLLATE "C" NOT NULL DEFAULT utc_now()
);

-- The ids the old system gave actors (integers) and writers (40-hex strings):
-- the legacy API still returns them.
CREATE TABLE person_legacy_id (
    source    text COLLATE "C" NOT NULL CHECK (source IN ('actor', 'writer')),
    legacy_id text COLLATE "C" NOT NULL,
    person_id text COLLATE "C" NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    created   text COLLATE "C" NOT NULL DEFAULT utc_now(),
    modified  text COLLATE "C" NOT NULL DEFAULT utc_now(),
    PRIMARY KEY (source, legacy_id)
);

CREATE TABLE film_genre (
    film_id  text COLLATE "C" NOT NULL REFERENCES film (id) ON DELETE CASCADE,
    genre_id text COLLATE "C" NOT NULL REFERENCES genre (id) ON DELETE CASCADE,
    position integer NOT NULL,
    created  text COLLATE "C" NOT NULL DEFAULT utc_now(),
    modified text COLLATE "C" NOT NULL DEFAULT utc_now(),
    PRIMARY KEY (film_id, genre_id)
);

CREATE TABLE film_person (
    film_id   text COLLATE "C" NOT NULL REFERENCES film (id) ON DELETE CASCADE,
    person_id text COLLATE "C" NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    role      text COLLATE "C" NOT NULL CHECK (role IN ('actor', 'writer', 'director')),
    position  integer NOT NULL,
    created   text COLLATE "C" NOT NULL DEFAULT utc_now(),
    modified  text COLLATE "C" NOT NULL DEFAULT utc_now(),
    PRIMARY KEY (film_id, role, person_id)
);

-- Deleted films, genres and persons, for the incremental ETL to remove.
CREATE TABLE tombstone (
    entity     text COLLATE "C" NOT NULL CHECK (entity IN ('film', 'genre', 'person')),
    entity_id  text COLLATE "C" NOT NULL,
    deleted_at text COLLATE "C" NOT NULL DEFAULT utc_now(),
    PRIMARY KEY (entity, entity_id)
);

CREATE INDEX film_modified_idx ON film (modified);
CREATE INDEX genre_modified_idx ON genre (modified);
CREATE INDEX person_modified_idx ON person (modified);
CREATE INDEX person_legacy_id_person_idx ON person_legacy_id (person_id, source);
CREATE INDEX film_genre_genre_idx ON film_genre (genre_id, film_id);
CREATE INDEX film_person_person_idx ON film_person (person_id, role, film_id);
CREATE INDEX tombstone_deleted_idx ON tombstone (deleted_at);

-- Keep `modified` current and record deletions, as SQLite's triggers do
-- (migrations_sql/0004_change_tracking.sql): a change to a film's links
-- counts as a change to the film (and, for credits, to the person).
CREATE FUNCTION touch() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.modified IS NOT DISTINCT FROM OLD.modified THEN
        NEW.modified := utc_now();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER film_touch BEFORE UPDATE ON film
FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TRIGGER genre_touch BEFORE UPDATE ON genre
FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TRIGGER person_touch BEFORE UPDATE ON person
FOR EACH ROW EXECUTE FUNCTION touch();

-- A link written touches the row it names: touch_linked('film', 'film_id')
-- sets `modified` of the film whose id the link's film_id holds.
CREATE FUNCTION touch_linked() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    touch text := format('UPDATE %I SET modified = utc_now() WHERE id = $1', TG_ARGV[0]);
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE touch USING to_jsonb(OLD) ->> TG_ARGV[1];
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE touch USING to_jsonb(NEW) ->> TG_ARGV[1];
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER person_legacy_id_touch AFTER INSERT ON person_legacy_id
FOR EACH ROW EXECUTE FUNCTION touch_linked('person', 'person_id');
CREATE TRIGGER film_genre_touch AFTER INSERT OR UPDATE OR DELETE ON film_genre
FOR EACH ROW EXECUTE FUNCTION touch_linked('film', 'film_id');
CREATE TRIGGER film_person_touch_film AFTER INSERT OR UPDATE OR DELETE ON film_person
FOR EACH ROW EXECUTE FUNCTION touch_linked('film', 'film_id');
CREATE TRIGGER film_person_touch_person AFTER INSERT OR UPDATE OR DELETE ON film_person
FOR EACH ROW EXECUTE FUNCTION touch_linked('person', 'person_id');

CREATE FUNCTION record_deletion() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO tombstone (entity, entity_id) VALUES (TG_ARGV[0], OLD.id)
    ON CONFLICT (entity, entity_id) DO UPDATE SET deleted_at = excluded.deleted_at;
    RETURN NULL;
END
$$;

CREATE TRIGGER film_delete AFTER DELETE ON film
FOR EACH ROW EXECUTE FUNCTION record_deletion('film');
CREATE TRIGGER genre_delete AFTER DELETE ON genre
FOR EACH ROW EXECUTE FUNCTION record_deletion('genre');
CREATE TRIGGER person_delete AFTER DELETE ON person
FOR EACH ROW EXECUTE FUNCTION record_deletion('person');

-- The cleaned legacy files `flask db import` loaded, by fingerprint: the
-- same file imported again changes nothing.
CREATE TABLE catalogue_import (
    fingerprint text COLLATE "C" PRIMARY KEY,
    source      text COLLATE "C" NOT NULL,
    films       integer NOT NULL,
    imported_at text COLLATE "C" NOT NULL DEFAULT utc_now()
);
