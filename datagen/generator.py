"""Generate a legacy movie database: the old system's layout, its defects, their rates.

The rates below were measured on the legacy file (999 films); ``generate`` writes
a database of any size with the same layout and the same defects at the same
rates, identical for the same seed and film count. Faker supplies name lists and
places; everything else is composed with one ``random.Random(seed)``.
"""

import bisect
import json
import random
import sqlite3
import string
from dataclasses import dataclass
from pathlib import Path

from faker import Faker

from catalogue.legacy import create_legacy_tables
from datagen import vocabulary as en
from datagen import vocabulary_ru as ru

NOT_AVAILABLE = "N/A"
# The legacy file's "N/A" writer; every writer id there starts with this prefix.
NOT_AVAILABLE_WRITER_ID = "0b60f2f350405ece5ad187c866c105d7524104ba"
WRITER_ID_PREFIX = "0b60f2f3"

RUSSIAN_SHARE = 0.12
LONG_ID_RATE = 0.013  # ids like tt10277930, one digit longer than the rest
DUPLICATE_TITLE_RATE = 0.04  # titles shared by several films, per film
DUPLICATE_TITLE_GROUPS = {2: 24, 3: 7, 4: 6, 5: 1, 6: 1, 7: 1}
SEQUEL_RATE = 0.03

GENRES_PER_FILM = {1: 337, 2: 278, 3: 272, 4: 65, 5: 29, 6: 12, 7: 4, 8: 1, 9: 1}
SUBGENRE_RATE = 0.06  # films with one genre of the long tail among theirs
# Lists of several genres in the legacy order: Animation, Short, the rest sorted.
LEGACY_GENRE_ORDER_RATE = 0.83
GENRES_FIRST = ("Animation", "Short")

DIRECTOR_NA_RATE = 0.304
DIRECTOR_LIST_RATE = 0.088
DIRECTORS_PER_LIST = {2: 69, 3: 11, 4: 4, 5: 2, 7: 1, 10: 1}
CO_DIRECTOR_RATE = 0.057  # of the lists; most mark all but the first name
CO_DIRECTOR_SUFFIX = "(co-director)"
# Where a director's name comes from, tried in this order.
DIRECTOR_IS_OWN_WRITER = 0.55
DIRECTOR_IS_OWN_ACTOR = 0.06
DIRECTOR_IS_OTHER_WRITER = 0.03
DIRECTOR_IS_OTHER_ACTOR = 0.01
DIRECTOR_REUSED = 0.12

SINGLE_WRITER_RATE = 0.597  # the rest fill ``writers`` with a JSON list
NA_WRITER_RATE = 0.536  # of the single-writer films
WRITERS_PER_LIST = {
    2: 171, 3: 105, 4: 53, 5: 34, 6: 16, 7: 4, 8: 5, 9: 4, 10: 2, 12: 3, 13: 1,
    14: 2, 15: 1, 20: 1, 21: 1,
}  # fmt: skip
REPEATED_WRITER_RATE = 0.196  # lists that name the same id twice
NEW_WRITER_RATE = 0.75  # the rest are writers credited before
WRITER_IS_ACTOR_RATE = 0.08  # new writers who bear an actor's name

NA_ACTOR_RATE = 0.07  # films whose only actor is "N/A"
ACTORS_PER_FILM = {1: 66, 2: 42, 3: 33, 4: 788}
DOUBLED_CAST_RATE = 0.014  # films whose actor links are all inserted twice
NEW_ACTOR_RATE = 0.79

PLOT_NA_RATE = 0.249
PLOT_TRUNCATED_RATE = 0.088  # plots cut off with "..."
PLOT_SENTENCES = {
    1: 10, 2: 19, 3: 19, 4: 13, 5: 10, 6: 7, 7: 5, 8: 4.5, 10: 4.5, 12: 3, 15: 2.5,
    20: 1.5, 28: 1, 36: 0.4,
}  # fmt: skip
RATING_NA_RATE = 0.001
RATING_BETA = (5.5, 3.28)  # 1 + 9 * beta: mean 6.6, as in the legacy file

BATCH_FILMS = 5_000

# Person-name sources for films that are not Russian, with their shares.
NAME_LOCALES = {
    "en_US": 60,
    "en_GB": 10,
    "fr_FR": 7,
    "de_DE": 7,
    "es_ES": 8,
    "it_IT": 8,
}
FAKE_TOWNS = 300
IRISH_O_NAMES = {"Obrien", "Oconnell", "Oconnor", "Odonnell", "Oneal", "Oneill"}


@dataclass(frozen=True)
class Summary:
    """Row counts of a generated database."""

    films: int
    actors: int
    writers: int
    actor_links: int
    russian_films: int


class _Weighted:
    """Items drawn with given weights, fast: one random number and a bisection."""

    def __init__(self, weights):
        self.items = list(weights)
        self.cumulative = []
        total = 0.0
        for weight in weights.values():
            total += weight
            self.cumulative.append(total)
        self.total = total

    @classmethod
    def uniform(cls, items):
        return cls(dict.fromkeys(items, 1))

    def pick(self, rng):
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.total)]


def _credit_spelling(name):
    """Spell a Faker surname as credits do: "Mcdonald" as "McDonald", "Obrien"..."""
    if name.startswith("Mc") and len(name) > 3:
        return "Mc" + name[2:].capitalize()
    if name in IRISH_O_NAMES:
        return f"O'{name[1:].capitalize()}"
    return name


def _weighted_names(names):
    # Flattened frequencies: common names stay common, rare ones get their turn,
    # and a few hundred thousand distinct names still come quickly.
    if isinstance(names, dict):
        weights = {}
        for name, weight in names.items():
            weights[_credit_spelling(name)] = weight**0.5
        return _Weighted(weights)
    return _Weighted.uniform([_credit_spelling(name) for name in names])


class _Names:
    """Realistic person names for one language, from Faker's name lists."""

    def __init__(self, fake, locales):
        self.locales = _Weighted(locales)
        self.parts = {}
        for locale in locales:
            person = fake[locale].provider("faker.providers.person")
            if hasattr(person, "last_names_male"):
                lasts = (person.last_names_male, person.last_names_female)
                middles = (person.middle_names_male, person.middle_names_female)
            else:
                lasts = (person.last_names, person.last_names)
                middles = (None, None)
            firsts = (person.first_names_male, person.first_names_female)
            self.parts[locale] = [
                tuple(
                    _weighted_names(names) if names else None
                    for names in (firsts[gender], lasts[gender], middles[gender])
                )
                for gender in (0, 1)
            ]

    def character(self, rng):
        """Return ``(first name, gender)`` of a character in a plot."""
        gender = rng.random() < 0.5
        first, _, _ = self.parts[self.locales.pick(rng)][gender]
        return first.pick(rng), gender

    def name(self, rng, longer=False):
        """Return a full name; ``longer`` adds a middle initial or a patronymic."""
        first, last, middle = self.parts[self.locales.pick(rng)][rng.random() < 0.5]
        if not longer:
            return f"{first.pick(rng)} {last.pick(rng)}"
        if middle is None:
            initial = rng.choice(string.ascii_uppercase)
            return f"{first.pick(rng)} {initial}. {last.pick(rng)}"
        return f"{first.pick(rng)} {middle.pick(rng)} {last.pick(rng)}"

    def unique(self, rng, taken):
        """Return a name not in ``taken`` and add it there."""
        for attempt in range(1_000):
            name = self.name(rng, longer=attempt >= 3)
            if name not in taken:
                taken.add(name)
                return name
        raise RuntimeError("ran out of distinct person names")


class _Filler:
    """Fills ``{field}`` templates; each field has a function that draws a value."""

    def __init__(self, templates, draw):
        formatter = string.Formatter()
        if not isinstance(templates, dict):
            templates = dict.fromkeys(templates, 1)
        self.templates = _Weighted(
            {
                (
                    text,
                    tuple(field for _, field, _, _ in formatter.parse(text) if field),
                ): weight
                for text, weight in templates.items()
            }
        )
        self.draw = draw

    def fill(self, rng, known=None, template=None):
        """Return one template filled, its first letter capitalised."""
        known = known or {}
        text, fields = template or self.templates.pick(rng)
        values = {
            field: known[field] if field in known else self.draw[field](rng)
            for field in fields
        }
        sentence = text.format_map(values)
        return sentence[0].upper() + sentence[1:]

    def fill_many(self, rng, known, count):
        """Return ``count`` sentences; no template comes twice before all came once."""
        everything = self.templates.items
        templates = []
        while len(templates) < count:
            wanted = min(count - len(templates), len(everything))
            templates += rng.sample(everything, wanted)
        return [self.fill(rng, known, template) for template in templates]


def _indefinite(phrase):
    article = "an" if phrase[0] in "aeiou" else "a"
    return f"{article} {phrase}"


def _pick(items):
    return lambda rng: rng.choice(items)


class _English:
    """Titles and plots of English-language films."""

    code = "en"

    def __init__(self, fake, names):
        towns = [fake["en_US"].city() for _ in range(FAKE_TOWNS)]
        places = (*en.EN_PLACES, *towns)
        self.names = names
        nouns = en.EN_TITLE_NOUNS + en.EN_TITLE_PLURALS
        first_name = self._first_name
        self.titles = _Filler(
            en.EN_TITLE_TEMPLATES,
            {
                "adjective": _pick(en.EN_TITLE_ADJECTIVES),
                "adjective2": _pick(en.EN_TITLE_ADJECTIVES),
                "noun": _pick(en.EN_TITLE_NOUNS),
                "noun2": _pick(en.EN_TITLE_NOUNS),
                "any_noun": _pick(nouns),
                "any_noun2": _pick(nouns),
                "plural": _pick(en.EN_TITLE_PLURALS),
                "place": _pick(places),
                "preposition": _pick(en.EN_PREPOSITIONS),
                "verb_ing": _pick(en.EN_VERBS_ING),
                "number": _pick(en.EN_NUMBERS),
                "subtitle": _pick(en.EN_SUBTITLE_ARTICLES),
                "first_name": first_name,
                "first_name2": first_name,
                "sequel": _pick(en.EN_SEQUELS),
            },
        )
        self.openings, self.follow_ups = (
            _Filler(
                templates,
                {
                    "place": _pick(places),
                    "a_trait": lambda rng: _indefinite(rng.choice(en.EN_TRAITS)),
                    "role": _pick(en.EN_ROLES),
                    "event": _pick(en.EN_EVENTS),
                    "past_event": _pick(en.EN_PAST_EVENTS),
                    "goal": self._goal,
                    "threat": _pick(en.EN_THREATS),
                    "revelation": _pick(en.EN_REVELATIONS),
                    "deadline": _pick(en.EN_DEADLINES),
                    "start": _pick(en.EN_STARTS),
                    "turn": _pick(en.EN_TURNS),
                    "relation": _pick(en.EN_RELATIONS),
                    "side_action": _pick(en.EN_SIDE_ACTIONS),
                    "group": _pick(en.EN_GROUPS),
                    "group_action": _pick(en.EN_GROUP_ACTIONS),
                    "era": _pick(en.EN_ERAS),
                },
            )
            for templates in (en.EN_PLOT_OPENINGS, en.EN_PLOT_FOLLOW_UPS)
        )

    def cast(self, rng):
        """Return the fields that name a plot's characters."""
        name, female = self.names.character(rng)
        if rng.random() < 0.3:
            name = self.names.name(rng)
        he, his, him = ("she", "her", "her") if female else ("he", "his", "him")
        return {
            "name": name,
            "name2": self._first_name(rng),
            "he": he,
            "his": his,
            "him": him,
            "He": he.capitalize(),
        }

    def _first_name(self, rng):
        return self.names.character(rng)[0]

    @staticmethod
    def _goal(rng):
        if rng.random() < 0.5:
            return f"{rng.choice(en.EN_GOAL_VERBS_THREAT)} {rng.choice(en.EN_THREATS)}"
        return rng.choice(en.EN_QUESTS)


class _Russian:
    """Titles and plots of Russian-language films."""

    code = "ru"

    def __init__(self, names):
        self.names = names
        places = {
            f"place_{case}": lambda rng, index=index: rng.choice(ru.RU_PLACES)[index]
            for index, case in enumerate(("nom", "gen", "acc", "prep"))
        }
        self.titles = _Filler(
            ru.RU_TITLE_TEMPLATES,
            {
                "adjective_noun": self._adjective_noun,
                "noun": lambda rng: rng.choice(ru.RU_TITLE_NOUNS)[0],
                "noun2": lambda rng: rng.choice(ru.RU_TITLE_NOUNS)[0],
                "genitive": _pick(ru.RU_TITLE_GENITIVES),
                "sequel": _pick(ru.RU_SEQUELS),
                **places,
            },
        )
        self.openings, self.follow_ups = (
            _Filler(
                templates,
                {
                    "action": _pick(ru.RU_ACTIONS),
                    "event": _pick(ru.RU_EVENTS),
                    "past_event": _pick(ru.RU_PAST_EVENTS),
                    "goal": _pick(ru.RU_GOALS),
                    "threat": _pick(ru.RU_THREATS),
                    "revelation": _pick(ru.RU_REVELATIONS),
                    "deadline": _pick(ru.RU_DEADLINES),
                    "start": _pick(ru.RU_STARTS),
                    "turn": _pick(ru.RU_TURNS),
                    "side_action": _pick(ru.RU_SIDE_ACTIONS),
                    "group": _pick(ru.RU_GROUPS),
                    "group_action": _pick(ru.RU_GROUP_ACTIONS),
                    "era": _pick(ru.RU_ERAS),
                    **places,
                },
            )
            for templates in (ru.RU_PLOT_OPENINGS, ru.RU_PLOT_FOLLOW_UPS)
        )

    def cast(self, rng):
        """Return the fields that name a plot's characters, with agreeing roles."""
        name, female = self.names.character(rng)
        if rng.random() < 0.3:
            name = self.names.name(rng)
        name2, female2 = self.names.character(rng)
        roles = (ru.RU_ROLES_MALE, ru.RU_ROLES_FEMALE)
        return {
            "name": name,
            "name2": name2,
            "role": rng.choice(roles[female]),
            "role2": rng.choice(roles[female2]),
        }

    @staticmethod
    def _adjective_noun(rng):
        word, gender, _ = rng.choice(ru.RU_TITLE_NOUNS)
        forms = rng.choice(ru.RU_TITLE_ADJECTIVES)
        return f"{forms['mfn'.index(gender)]} {word}"


def _plot(rng, language, sentences):
    """Return a plot of a few sentences, sometimes cut off with "..."."""
    known = language.cast(rng)
    count = sentences.pick(rng)
    parts = [language.openings.fill(rng, known)]
    parts += language.follow_ups.fill_many(rng, known, count - 1)
    plot = " ".join(parts)
    if rng.random() < PLOT_TRUNCATED_RATE:
        start = len(plot) - len(parts[-1]) // 2
        cut = plot.find(" ", start)
        if cut > 0:
            plot = plot[:cut].rstrip(",.?!") + "..."
    return plot


def _title(rng, language):
    title = language.titles.fill(rng)
    if rng.random() < SEQUEL_RATE:
        title += language.titles.draw["sequel"](rng)
    return title


def _titles(rng, language, count, taken):
    """Return ``count`` titles in random order, some shared as in the legacy file."""
    groups = []
    planned = round(count * DUPLICATE_TITLE_RATE)
    sizes = _Weighted(DUPLICATE_TITLE_GROUPS)
    shared = 0
    for _ in range(planned):
        size = sizes.pick(rng)
        if shared + size > count:
            break
        groups.append(size)
        shared += size
    titles = []
    for repeat in groups + [1] * (count - shared):
        title = _title(rng, language)
        attempts = 1
        while title in taken:
            title = _title(rng, language)
            attempts += 1
            if attempts > 100:  # the phrases run out only for many millions
                title = f"{title} {attempts}"
        taken.add(title)
        titles += [title] * repeat
    rng.shuffle(titles)
    return titles


def _film_ids(rng, count):
    """Return ``count`` distinct IMDb-style ids, a few of them one digit longer."""
    seen = set()
    ids = []
    while len(ids) < count:
        if rng.random() < LONG_ID_RATE:
            number = rng.randrange(10_000_000, 12_000_000)
        else:
            number = rng.randrange(1, 10_000_000)
        if number not in seen:
            seen.add(number)
            ids.append(f"tt{number:07d}")
    return ids


class _Catalogue:
    """Composes films and the actors and writers they credit, in legacy rows."""

    def __init__(self, rng, fake):
        self.rng = rng
        names = {
            "en": _Names(fake, NAME_LOCALES),
            "ru": _Names(fake, {"ru_RU": 1}),
        }
        self.names = names
        self.languages = {
            "en": _English(fake, names["en"]),
            "ru": _Russian(names["ru"]),
        }
        self.genres = _Weighted(en.LEGACY_GENRES)
        self.genres_per_film = _Weighted(GENRES_PER_FILM)
        self.directors_per_list = _Weighted(DIRECTORS_PER_LIST)
        self.writers_per_list = _Weighted(WRITERS_PER_LIST)
        self.actors_per_film = _Weighted(ACTORS_PER_FILM)
        self.plot_sentences = _Weighted(PLOT_SENTENCES)
        # Every name made up so far: people share a name only where a rate says so.
        self.taken_names = {NOT_AVAILABLE}
        self.writer_names = {NOT_AVAILABLE}
        self.writer_ids = {NOT_AVAILABLE_WRITER_ID}
        # Rows not inserted yet, and how many rows each table has in all.
        self.new_actors = []
        self.new_writers = [(NOT_AVAILABLE_WRITER_ID, NOT_AVAILABLE)]
        self.actor_count = 0
        self.writer_count = 1
        self.na_actor = None
        # One entry per credit: drawing from these favours the busy people.
        self.actor_credits = {"en": [], "ru": []}
        self.writer_credits = {"en": [], "ru": []}
        self.director_credits = {"en": [], "ru": []}

    def film(self, film_id, language, title):
        """Return the ``movies`` row of one film and its ``movie_actors`` rows."""
        rng = self.rng
        actors = self._actors(language.code)
        links = [(film_id, str(actor_id)) for actor_id, _ in actors]
        if rng.random() < DOUBLED_CAST_RATE:
            links += links
        writer, writers, writer_names = self._writers(language.code)
        director = self._director(language.code, actors, writer_names)
        plot = (
            NOT_AVAILABLE
            if rng.random() < PLOT_NA_RATE
            else _plot(rng, language, self.plot_sentences)
        )
        row = (
            film_id,
            self._genre(),
            director,
            writer,
            title,
            plot,
            None,
            self._rating(),
            writers,
        )
        return row, links

    def take_new_people(self):
        """Return the actors and writers rows made since the last call."""
        actors, writers = self.new_actors, self.new_writers
        self.new_actors, self.new_writers = [], []
        return actors, writers

    def _genre(self):
        rng = self.rng
        count = self.genres_per_film.pick(rng)
        genres = []
        while len(genres) < count:
            genre = self.genres.pick(rng)
            if genre not in genres:
                genres.append(genre)
        if rng.random() < SUBGENRE_RATE:
            # A sub-genre takes the last pick's place: the count per film holds.
            genres[-1] = rng.choice(en.SUBGENRES)
        if rng.random() < LEGACY_GENRE_ORDER_RATE:
            genres.sort()
            first = [genre for genre in GENRES_FIRST if genre in genres]
            genres = first + [genre for genre in genres if genre not in first]
        else:
            rng.shuffle(genres)
        return ", ".join(genres)

    def _rating(self):
        rng = self.rng
        if rng.random() < RATING_NA_RATE:
            return NOT_AVAILABLE
        rating = 1 + 9 * rng.betavariate(*RATING_BETA)
        return f"{min(rating, 9.9):.1f}"

    def _new_actor(self, code, name=None):
        self.actor_count += 1
        name = name or self.names[code].unique(self.rng, self.taken_names)
        self.new_actors.append((self.actor_count, name))
        return self.actor_count, name

    def _actors(self, code):
        rng = self.rng
        if rng.random() < NA_ACTOR_RATE:
            if self.na_actor is None:
                self.na_actor = self._new_actor(code, NOT_AVAILABLE)
            return [self.na_actor]
        credits = self.actor_credits[code]
        cast = []
        for _ in range(self.actors_per_film.pick(rng)):
            actor = None
            if credits and rng.random() >= NEW_ACTOR_RATE:
                actor = rng.choice(credits)
            if actor is None or actor in cast:
                actor = self._new_actor(code)
            cast.append(actor)
        credits += cast
        return cast

    def _new_writer(self, code):
        rng = self.rng
        name = None
        actors = self.actor_credits[code]
        if actors and rng.random() < WRITER_IS_ACTOR_RATE:
            name = rng.choice(actors)[1]
        if name is None or name in self.writer_names:
            name = self.names[code].unique(rng, self.taken_names)
        self.writer_names.add(name)
        writer_id = NOT_AVAILABLE_WRITER_ID
        while writer_id in self.writer_ids:
            writer_id = f"{WRITER_ID_PREFIX}{rng.getrandbits(128):032x}"
        self.writer_ids.add(writer_id)
        self.writer_count += 1
        self.new_writers.append((writer_id, name))
        return writer_id, name

    def _writer(self, code, exclude):
        credits = self.writer_credits[code]
        writer = None
        if credits and self.rng.random() >= NEW_WRITER_RATE:
            writer = self.rng.choice(credits)
        if writer is None or writer in exclude:
            writer = self._new_writer(code)
        credits.append(writer)
        return writer

    def _writers(self, code):
        """Return ``(writer, writers, names)``: one column filled, the other ''."""
        rng = self.rng
        if rng.random() < SINGLE_WRITER_RATE:
            if rng.random() < NA_WRITER_RATE:
                return NOT_AVAILABLE_WRITER_ID, "", []
            writer_id, name = self._writer(code, ())
            return writer_id, "", [name]
        length = self.writers_per_list.pick(rng)
        repeated = rng.random() < REPEATED_WRITER_RATE
        chosen = []
        for _ in range(length - repeated):
            chosen.append(self._writer(code, chosen))
        ids = [writer_id for writer_id, _ in chosen]
        if repeated:
            ids.insert(rng.randrange(1, length), rng.choice(ids))
        listed = json.dumps([{"id": writer_id} for writer_id in ids])
        return "", listed, [name for _, name in chosen]

    def _director_name(self, code, actors, writer_names):
        """Return a director's name: often the film's writer, sometimes an actor."""
        rng = self.rng
        draw = rng.random()
        own_writer = DIRECTOR_IS_OWN_WRITER
        own_actor = own_writer + DIRECTOR_IS_OWN_ACTOR
        other_writer = own_actor + DIRECTOR_IS_OTHER_WRITER
        other_actor = other_writer + DIRECTOR_IS_OTHER_ACTOR
        writers, actors_before = self.writer_credits[code], self.actor_credits[code]
        if draw < own_writer and writer_names:
            return rng.choice(writer_names)
        if own_writer <= draw < own_actor and actors[0] is not self.na_actor:
            return rng.choice(actors)[1]
        if own_actor <= draw < other_writer and writers:
            return rng.choice(writers)[1]
        if other_writer <= draw < other_actor and actors_before:
            return rng.choice(actors_before)[1]
        directors = self.director_credits[code]
        if directors and rng.random() < DIRECTOR_REUSED:
            return rng.choice(directors)
        return self.names[code].unique(rng, self.taken_names)

    def _director(self, code, actors, writer_names):
        rng = self.rng
        draw = rng.random()
        if draw < DIRECTOR_NA_RATE:
            return NOT_AVAILABLE
        count = 1
        if draw < DIRECTOR_NA_RATE + DIRECTOR_LIST_RATE:
            count = self.directors_per_list.pick(rng)
        names = []
        for _ in range(count * 3):
            name = self._director_name(code, actors, writer_names)
            if name not in names:
                names.append(name)
            if len(names) == count:
                break
        self.director_credits[code].extend(names)
        if len(names) > 1 and rng.random() < CO_DIRECTOR_RATE:
            first = 1 if rng.random() < 0.7 else 0
            names[first:] = [name + CO_DIRECTOR_SUFFIX for name in names[first:]]
        return ", ".join(names)


def _connect(path):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -131072")
    return conn


def generate(path, films=200_000, seed=42, progress=None):
    """Write a legacy movie database of ``films`` films at ``path``; return counts.

    ``path`` must not hold tables yet. ``progress``, if given, is called with the
    number of films written since its previous call.
    """
    if films < 1:
        raise ValueError("films must be at least 1")
    rng = random.Random(seed)
    fake = Faker([*NAME_LOCALES, "ru_RU"])
    fake.seed_instance(seed)
    catalogue = _Catalogue(rng, fake)
    codes = ["ru" if rng.random() < RUSSIAN_SHARE else "en" for _ in range(films)]
    titles = {
        code: iter(_titles(rng, catalogue.languages[code], codes.count(code), set()))
        for code in ("en", "ru")
    }
    film_ids = _film_ids(rng, films)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = _connect(path)
    links_written = 0
    try:
        conn.execute("BEGIN")
        create_legacy_tables(conn)
        for start in range(0, films, BATCH_FILMS):
            movies, links = [], []
            for index in range(start, min(start + BATCH_FILMS, films)):
                language = catalogue.languages[codes[index]]
                row, film_links = catalogue.film(
                    film_ids[index], language, next(titles[codes[index]])
                )
                movies.append(row)
                links += film_links
            actors, writers = catalogue.take_new_people()
            conn.executemany("INSERT INTO actors (id, name) VALUES (?, ?)", actors)
            conn.executemany("INSERT INTO writers (id, name) VALUES (?, ?)", writers)
            conn.executemany(
                "INSERT INTO movies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", movies
            )
            conn.executemany("INSERT INTO movie_actors VALUES (?, ?)", links)
            links_written += len(links)
            if progress:
                progress(len(movies))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return Summary(
        films=films,
        actors=catalogue.actor_count,
        writers=catalogue.writer_count,
        actor_links=links_written,
        russian_films=codes.count("ru"),
    )
