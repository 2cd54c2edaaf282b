"""What ``reportd worker`` hands to the ``dramatiq`` command: the broker, then the actors."""

from __future__ import annotations

from actors.broker import declare_actors, setup_broker
from service.config import Settings

broker = setup_broker(Settings())
declare_actors(broker)
