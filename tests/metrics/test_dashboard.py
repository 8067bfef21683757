"""deploy/grafana-dashboard.json: valid, on a chosen Prometheus data source, and in step with
/metrics: every metric it queries exists, every figure /metrics gives has a panel."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.metrics.helpers import Scrape, scrape

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def queries(board: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]


def queried(board: dict[str, Any]) -> set[str]:
    return {name for expr in queries(board) for name in re.findall(r"\bwenzheng_[a-z0-9_]+", expr)}


def exposed(figures: Scrape) -> dict[str, set[str]]:
    """Each family's series names, from its type (a labelled family has no samples until used)."""
    return {
        family.name: {family.name + suffix for suffix in SUFFIXES[family.type]}
        for family in figures.families.values()
        if family.name.startswith("wenzheng_")
    }


def test_it_is_a_grafana_dashboard_on_a_prometheus_data_source_variable() -> None:
    board = dashboard()
    assert board["uid"] and board["title"] and isinstance(board["schemaVersion"], int)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]


@pytest.mark.django_db
def test_every_metric_it_queries_is_on_metrics_and_every_figure_has_a_panel() -> None:
    families = exposed(scrape())
    series = set().union(*families.values())
    board = queried(dashboard())
    assert board - series == set(), "the dashboard queries what /metrics does not give"
    assert {name for name, names in families.items() if not names & board} == set(), "figures without a panel"


@pytest.mark.django_db
def test_every_figure_is_documented() -> None:
    docs = (DASHBOARD.parents[1] / "docs" / "metrics.md").read_text(encoding="utf-8")
    for name, names in exposed(scrape()).items():
        shown = name + "_total" if f"{name}_total" in names else name
        assert f"`{shown}`" in docs, f"docs/metrics.md does not explain {shown}"
