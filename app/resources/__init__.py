"""The API's resources: the blueprints the factory registers, in this order."""

from app.resources.client.routes import blp as client_blueprint
from app.resources.health.routes import blp as health_blueprint
from app.resources.video.routes import blp as video_blueprint

BLUEPRINTS = (video_blueprint, client_blueprint, health_blueprint)
