"""Routing: a flagged conversation's queue, priority and next-step advice, from declarative rules.

    rules = RoutingRules.load()                 # the shipped rules.yaml, checked and compiled once
    route = rules.route(RoutingInput(message, score, risk, topic="refunds"))
    flag = route.flag(routed) if route else None  # None: below the flag level
"""

from pipeline.routing.rules import DEFAULT_RULES, Route, RoutingInput, RoutingRules, RulesFile

__all__ = ["DEFAULT_RULES", "Route", "RoutingInput", "RoutingRules", "RulesFile"]
