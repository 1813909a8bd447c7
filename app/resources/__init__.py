"""The API's resources: the blueprints the factory registers, in this order."""

from app.resources.accounts.routes import blp as accounts_blueprint
from app.resources.client.routes import blp as client_blueprint
from app.resources.collections.routes import blp as collections_blueprint
from app.resources.films.routes import FilmIdConverter
from app.resources.films.routes import blp as films_blueprint
from app.resources.genres.routes import blp as genres_blueprint
from app.resources.health.routes import blp as health_blueprint
from app.resources.movies.routes import blp as movies_blueprint
from app.resources.persons.routes import blp as persons_blueprint
from app.resources.reports.routes import blp as reports_blueprint
from app.resources.request_count.routes import blp as request_count_blueprint
from app.resources.video.routes import blp as video_blueprint

# The path converters the routes use, by name.
CONVERTERS = {"film_id": FilmIdConverter}
BLUEPRINTS = (
    video_blueprint,
    films_blueprint,
    genres_blueprint,
    persons_blueprint,
    client_blueprint,
    accounts_blueprint,
    request_count_blueprint,
    movies_blueprint,
    collections_blueprint,
    reports_blueprint,
    health_blueprint,
)
