-- Indexes for the joins and lookups of the ETL and the API, built once the
-- legacy data is in.

CREATE INDEX film_modified_idx ON film (modified);
CREATE INDEX genre_modified_idx ON genre (modified);
CREATE INDEX person_modified_idx ON person (modified);
CREATE INDEX person_legacy_id_person_idx ON person_legacy_id (person_id, source);
CREATE INDEX film_genre_genre_idx ON film_genre (genre_id, film_id);
CREATE INDEX film_person_person_idx ON film_person (person_id, role, film_id);
CREATE INDEX tombstone_deleted_idx ON tombstone (deleted_at);
