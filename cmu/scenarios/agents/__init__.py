"""Agent kinds for scenarios: plain Python classes registered by kind name (see agents.base)."""

from cmu.scenarios.agents.base import AGENT_KINDS, Agent, agent_class, agent_keypair, register_agent
from cmu.scenarios.agents.contributors import Contributor, FreeRider, HonestContributor, LabelFlipper, Spammer
from cmu.scenarios.agents.others import Owner, Reader, Reporter

__all__ = [
    "AGENT_KINDS", "Agent", "Contributor", "FreeRider", "HonestContributor", "LabelFlipper", "Owner",
    "Reader", "Reporter", "Spammer", "agent_class", "agent_keypair", "register_agent",
]
