#!/usr/bin/python3
"""Checks scripts/dashboard_png.py's substitution of Grafana's variables: every target of the chart's dashboard
becomes PromQL that Prometheus's grammar parses (promql-tree, installed by scripts/install-chart-tools.sh).

Run: /usr/bin/python3 scripts/test_dashboard_png.py
"""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboard_png  # noqa: E402

DASHBOARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "charts", "gvisor-oom-watcher",
                         "dashboards", "gvisor-oom-watcher.json")


class SubstitutionTest(unittest.TestCase):
    def setUp(self):
        with open(DASHBOARD) as f:
            self.dashboard = json.load(f)
        self.values = dashboard_png.grafana_variables(self.dashboard, 1000, 1150, 2)

    def test_grafana_values(self):
        self.assertEqual("8s", self.values["__rate_interval"])
        self.assertEqual("150s", self.values["__range"])
        self.assertEqual(".*", self.values["node"])
        self.assertEqual(".*", self.values["namespace"])

    def test_every_target_becomes_promql_that_parses(self):
        targets = [t["expr"] for _, t in dashboard_png.panel_targets(self.dashboard)]
        self.assertGreater(len(targets), 20)
        substituted = [dashboard_png.substitute(e, self.values) for e in targets]
        for expr in substituted:
            self.assertNotIn("$", expr)
        parsed = json.loads(subprocess.run(["promql-tree"], input=json.dumps(substituted), capture_output=True,
                                           text=True, check=True).stdout)
        for expr, result in zip(substituted, parsed):
            self.assertEqual([], result["errors"], expr)

    def test_an_unknown_variable_fails(self):
        with self.assertRaises(ValueError):
            dashboard_png.substitute("rate(x[$__nope])", self.values)
        self.assertEqual('x{a=~".*"}', dashboard_png.substitute('x{a=~"${node:regex}"}', self.values))


if __name__ == "__main__":
    unittest.main()
