"""Agent-based scenario suites on the real runtime: scenario files, agents, a reproducible runner with
simulated time, metrics, plots and sweeps. Start with `load(path)` and `run(scenario)`.
"""

from cmu.scenarios.agents import Agent, register_agent
from cmu.scenarios.config import Scenario, load, parse
from cmu.scenarios.fields import Field, ScenarioError
from cmu.scenarios.runner import RunResult, run

__all__ = [
    "Agent", "Field", "RunResult", "Scenario", "ScenarioError", "load", "parse", "register_agent", "run",
]
