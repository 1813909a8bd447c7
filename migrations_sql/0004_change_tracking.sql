-- Keep `modified` current and record deletions, so the incremental ETL sees
-- every change made after the initial load. A change to a film's links counts
-- as a change to the film (and, for credits, to the person).

CREATE TRIGGER film_touch AFTER UPDATE ON film
WHEN NEW.modified IS OLD.modified
BEGIN
    UPDATE film SET modified = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;

CREATE TRIGGER genre_touch AFTER UPDATE ON genre
WHEN NEW.modified IS OLD.modified
BEGIN
    UPDATE genre SET modified = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;

CREATE TRIGGER person_touch AFTER UPDATE ON person
WHEN NEW.modified IS OLD.modified
BEGIN
    UPDATE person SET modified = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;

CREATE TRIGGER person_legacy_id_touch AFTER INSERT ON person_legacy_id
BEGIN
    UPDATE person SET modified = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id = NEW.person_id;
END;

CREATE TRIGGER film_genre_insert AFTER INSERT ON film_genre
BEGIN
    UPDATE film SET modified = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.film_id;
END;

CREATE TRIGGER film_genre_update AFTER UPDATE ON film_genre
BEGIN
    UPDATE film SET modified = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id IN (OLD.film_id, NEW.film_id);
END;

CREATE TRIGGER film_genre_delete AFTER DELETE ON film_genre
BEGIN
    UPDATE film SET modified = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = OLD.film_id;
END;

CREATE TRIGGER film_person_insert AFTER INSERT ON film_person
BEGIN
    UPDATE film SET modified = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.film_id;
    UPDATE person SET modified = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id = NEW.person_id;
END;

CREATE TRIGGER film_person_update AFTER UPDATE ON film_person
BEGIN
    UPDATE film SET modified = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id IN (OLD.film_id, NEW.film_id);
    UPDATE person SET modified = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id IN (OLD.person_id, NEW.person_id);
END;

CREATE TRIGGER film_person_delete AFTER DELETE ON film_person
BEGIN
    UPDATE film SET modified = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = OLD.film_id;
    UPDATE person SET modified = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id = OLD.person_id;
END;

CREATE TRIGGER film_delete AFTER DELETE ON film
BEGIN
    INSERT OR REPLACE INTO tombstone (entity, entity_id) VALUES ('film', OLD.id);
END;

CREATE TRIGGER genre_delete AFTER DELETE ON genre
BEGIN
    INSERT OR REPLACE INTO tombstone (entity, entity_id) VALUES ('genre', OLD.id);
END;

CREATE TRIGGER person_delete AFTER DELETE ON person
BEGIN
    INSERT OR REPLACE INTO tombstone (entity, entity_id) VALUES ('person', OLD.id);
END;
