"""What ``reportd worker`` hands to the ``dramatiq`` command: the broker, then the actors."""

from __future__ import annotations

from actors.broker import declare_actors, setup_broker
from service.config import Settings
from service.logs import configure_logging

settings = Settings()
configure_logging(settings.log_level, json_lines=settings.log_json)
broker = setup_broker(settings, prometheus=True)
declare_actors(broker)
