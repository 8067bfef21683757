"""Reading /metrics as Prometheus does: the text format, parsed by prometheus-client's parser."""

from __future__ import annotations

from typing import Any

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    """One scrape's samples, by sample name (counters' `_total`, histograms' `_count`...)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = {family.name: family for family in text_string_to_metric_families(text)}
        self.samples: dict[str, list[tuple[dict[str, str], float]]] = {}
        for family in self.families.values():
            for sample in family.samples:
                self.samples.setdefault(sample.name, []).append((sample.labels, sample.value))

    def value(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples whose labels include `labels` (0 when there are none)."""
        return sum(
            value
            for found, value in self.samples.get(name, [])
            if all(found.get(key) == wanted for key, wanted in labels.items())
        )

    def labels(self, name: str, label: str) -> set[str]:
        return {found[label] for found, _ in self.samples.get(name, []) if label in found}


def scrape(client: Client | None = None, **extra: Any) -> Scrape:
    """GET /metrics (from loopback unless `client` or `extra` say otherwise); must answer 200."""
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    return Scrape(response.content.decode())
