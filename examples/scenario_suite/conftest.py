"""The suite's own agent kind: a plain Python class, registered so scenario files can name it."""

from __future__ import annotations

from typing import Any

from cmu.scenarios import Field, register_agent
from cmu.scenarios.agents import HonestContributor


@register_agent
class NightShift(HonestContributor):
    """An honest contributor that only adds data between 22:00 and 06:00 of simulated time."""

    kind = "night_shift"
    FIELDS = (*HonestContributor.FIELDS, Field("night_start_h", "count", 22))

    def wants_to_contribute(self, world: Any) -> bool:
        hour = (world.now // 3_600) % 24
        night = hour >= self.params["night_start_h"] or hour < 6
        return night and super().wants_to_contribute(world)
