package dev.oomwatch.chart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.openshift.api.model.monitoring.v1.PodMetricsEndpoint;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.RelabelConfig;
import io.fabric8.openshift.api.model.monitoring.v1.Rule;
import io.fabric8.openshift.api.model.monitoring.v1.RuleGroup;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The chart's monitoring (PodMonitor, ServiceMonitor, PrometheusRule, Grafana dashboard): off by default,
 * rendered by {@code ci/monitoring-values.yaml} and {@code ci/podmonitor-values.yaml}; every PromQL
 * expression of the rules and the dashboard parsed with Prometheus's own grammar ({@link PromQl}) and
 * using only metrics the agent exports; alert annotations using only labels their expression keeps.
 */
class MonitoringChartTest {
  /**
   * Every metric the agent exports, with the labels it sets itself (Prometheus adds the scrape's: job,
   * instance, and with the chart's monitors node, namespace and pod of the agent unless the agent's own
   * win). The one list to update when the agent gains or loses a metric.
   */
  static final Map<String, Set<String>> AGENT_METRICS = Map.ofEntries(
      Map.entry("oomwatch_incidents_detected_total", Set.of("verdict")),
      Map.entry("oomwatch_incidents_reported_total", Set.of("outcome")),
      Map.entry("oomwatch_kernel_oom_kills_ignored_total", Set.of()),
      Map.entry("oomwatch_kernel_oom_kills_expired_total", Set.of()),
      Map.entry("oomwatch_incident_publish_failures_total", Set.of()),
      Map.entry("oomwatch_incident_publish_rejected_total", Set.of("code")),
      Map.entry("oomwatch_incidents_dropped_total", Set.of()),
      Map.entry("oomwatch_incidents_seen_before_total", Set.of()),
      Map.entry("oomwatch_warnings_total", Set.of("reason")),
      Map.entry("oomwatch_incidents_merged_total", Set.of()),
      Map.entry("oomwatch_incidents_refused_total", Set.of("reason")),
      Map.entry("oomwatch_incidents_expired_total", Set.of()),
      Map.entry("oomwatch_incidents_pending", Set.of()),
      Map.entry("oomwatch_source_up", Set.of("source", "state")),
      Map.entry("oomwatch_source_start_retries_total", Set.of()),
      Map.entry("oomwatch_kmsg_records_total", Set.of()),
      Map.entry("oomwatch_kmsg_malformed_records_total", Set.of()),
      Map.entry("oomwatch_kmsg_lost_records_total", Set.of()),
      Map.entry("oomwatch_runsc_state_parse_retries_total", Set.of()),
      Map.entry("oomwatch_runsc_sandbox_deaths_total", Set.of()),
      Map.entry("oomwatch_runsc_metric_scrape_failures_total", Set.of()),
      Map.entry("oomwatch_runsc_metric_bodies_too_large_total", Set.of()),
      Map.entry("oomwatch_cgroup_polls_total", Set.of()),
      Map.entry("oomwatch_cgroup_files_vanished_total", Set.of()),
      Map.entry("oomwatch_cgroup_parse_errors_total", Set.of()),
      Map.entry("oomwatch_cgroup_signals_total", Set.of()),
      Map.entry("oomwatch_pod_event_lookup_failures_total", Set.of()),
      Map.entry("oomwatch_pod_memory_usage_bytes", Set.of("namespace", "pod")),
      Map.entry("oomwatch_pod_memory_limit_bytes", Set.of("namespace", "pod")),
      Map.entry("oomwatch_pod_memory_near_limit", Set.of("namespace", "pod")),
      Map.entry("oomwatch_pod_oom_kills_total", Set.of("namespace", "pod")),
      Map.entry("oomwatch_container_memory_usage_bytes", Set.of("namespace", "pod", "container")),
      Map.entry("oomwatch_detection_seconds_bucket", Set.of("le")),
      Map.entry("oomwatch_detection_seconds_sum", Set.of()),
      Map.entry("oomwatch_detection_seconds_count", Set.of()),
      Map.entry("oomwatch_build_info", Set.of("version")),
      Map.entry("oomwatch_oom_detection_up", Set.of()));

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern LABEL_REFERENCE = Pattern.compile("\\$labels\\.([a-zA-Z_][a-zA-Z0-9_]*)");
  private static final Pattern LABEL_VALUES = Pattern.compile("^label_values\\((.*),\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\)$");

  static Stream<String> monitoringValues() {
    return Stream.of("ci/monitoring-values.yaml", "ci/podmonitor-values.yaml");
  }

  private static RenderedChart render(String valuesFile) {
    return RenderedChart.render("-f", ChartTools.chartDir().resolve(valuesFile).toString());
  }

  @Test
  void withTheDefaultsNoMonitoringObjectIsRendered() {
    RenderedChart chart = RenderedChart.render();

    assertEquals(List.of(), chart.all(PodMonitor.class));
    assertEquals(List.of(), chart.all(ServiceMonitor.class));
    assertEquals(List.of(), chart.all(PrometheusRule.class));
    assertEquals(List.of(), chart.all(Service.class));
    assertEquals(1, chart.all(ConfigMap.class).size(), "only the agent's config: no dashboard");
  }

  @Test
  void thePodMonitorScrapesTheAgentPodsWithTheirOwnLabelsAndTheirNode() {
    RenderedChart chart = render("ci/podmonitor-values.yaml");
    PodMonitor monitor = chart.one(PodMonitor.class);
    PodMetricsEndpoint endpoint = monitor.getSpec().getPodMetricsEndpoints().get(0);

    assertEquals(chart.daemonSet().getSpec().getSelector().getMatchLabels(),
        monitor.getSpec().getSelector().getMatchLabels());
    assertEquals(List.of("oomwatch-system"), monitor.getSpec().getNamespaceSelector().getMatchNames());
    assertEquals("metrics", endpoint.getPort());
    assertEquals("metrics", chart.agent().getPorts().get(0).getName());
    assertEquals("/metrics", endpoint.getPath());
    assertEquals(Boolean.TRUE, endpoint.getHonorLabels(), "the gVisor pod's namespace/pod must win over the agent's");
    assertSetsNode(endpoint.getRelabelings());
    assertEquals("15s", endpoint.getInterval());
    assertEquals(1, endpoint.getMetricRelabelings().size());
    assertEquals("kube-prometheus-stack", monitor.getMetadata().getLabels().get("release"));
    assertEquals(List.of(), chart.all(Service.class), "a PodMonitor needs no Service");
    assertEquals(List.of(), chart.all(ServiceMonitor.class));
  }

  @Test
  void theServiceMonitorAlsoKeepsTheAgentsLabelsAndAddsTheNode() {
    var endpoint = render("ci/monitoring-values.yaml").one(ServiceMonitor.class).getSpec().getEndpoints().get(0);

    assertEquals(Boolean.TRUE, endpoint.getHonorLabels(), "the gVisor pod's namespace/pod must win over the agent's");
    assertSetsNode(endpoint.getRelabelings());
  }

  @Test
  void aPodMonitorAndAServiceMonitorTogetherAreRefused() {
    ChartTools.Result result = ChartTools.templateResult(List.of("--set", "podMonitor.enabled=true",
        "--set", "service.enabled=true", "--set", "serviceMonitor.enabled=true"));

    assertFalse(result.ok());
    assertTrue(result.stderr().contains("enable one"), result.both());
  }

  @ParameterizedTest(name = "alerts parse and use the agent's metrics, {0}")
  @MethodSource("monitoringValues")
  void everyAlertParsesUsesOnlyTheAgentsMetricsAndAnnotatesWithLabelsItKeeps(String valuesFile) {
    List<Rule> rules = rules(render(valuesFile));
    List<PromQl.Expression> parsed = PromQl.parse(rules.stream().map(r -> r.getExpr().getStrVal()).toList());
    List<String> problems = new ArrayList<>();

    for (int i = 0; i < rules.size(); i++) {
      Rule rule = rules.get(i);
      PromQl.Expression expression = parsed.get(i);
      problems.addAll(unknownMetrics(rule.getAlert(), expression));
      Set<String> kept = PromQl.keptLabels(expression);
      if (kept == null) {
        problems.add(rule.getAlert() + ": its expression does not decide its labels (aggregate by the labels the"
            + " alert names, not by the scrape's): " + expression.text());
        continue;
      }
      assertTrue(rule.getAlert().matches("^(GVisorPod|OOMWatch)[A-Za-z]+$"), rule.getAlert());
      assertTrue(Set.of("info", "warning", "critical").contains(rule.getLabels().get("severity")), rule.getAlert());
      for (String annotation : List.of("summary", "description")) {
        String text = rule.getAnnotations().get(annotation);
        assertNotNull(text, rule.getAlert() + " has no " + annotation);
        Matcher reference = LABEL_REFERENCE.matcher(text);
        while (reference.find()) {
          if (!kept.contains(reference.group(1))) {
            problems.add(rule.getAlert() + "'s " + annotation + " uses $labels." + reference.group(1)
                + ", which its expression does not keep " + kept);
          }
        }
      }
      if (kept.containsAll(Set.of("namespace", "pod"))) {
        assertTrue(rule.getAnnotations().get("summary").contains("{{ $labels.namespace }}/{{ $labels.pod }}"),
            rule.getAlert() + " is about a pod: its summary names it");
      }
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void theAlertsAreThoseTheReadmeDescribesAndTheValuesTuneThem() throws IOException {
    List<Rule> rules = rules(render("ci/monitoring-values.yaml"));
    String readme = Files.readString(ChartTools.chartDir().resolve("README.md"));
    List<String> names = rules.stream().map(Rule::getAlert).toList();

    assertEquals(List.of("GVisorPodOOMKilled", "GVisorPodNearMemoryLimit", "GVisorPodMemoryLimitNotEnforced",
        "OOMWatchSourceDown", "OOMWatchOOMDetectionDown", "OOMWatchIncidentPublishFailing", "OOMWatchIncidentsRejected",
        "OOMWatchIncidentsDropped", "OOMWatchIncidentsPending"), names);
    names.forEach(name -> assertTrue(readme.contains("| `" + name + "` |"), name + " is not in the README's table"));

    List<Rule> tuned = rules(render("ci/podmonitor-values.yaml"));
    Rule near = tuned.stream().filter(r -> r.getAlert().equals("GVisorPodNearMemoryLimit")).findFirst().orElseThrow();
    assertTrue(near.getExpr().getStrVal().endsWith("> 0.8"), near.getExpr().getStrVal());
    assertEquals("2m", near.getFor());
    assertEquals("platform", near.getLabels().get("team"));
    assertTrue(tuned.stream().noneMatch(r -> r.getAlert().equals("OOMWatchIncidentsPending")), "disabled alert rendered");
  }

  @ParameterizedTest(name = "the dashboard is valid and its queries use the agent's metrics, {0}")
  @MethodSource("monitoringValues")
  void theDashboardIsValidJsonAndEveryQueryParsesAndUsesOnlyTheAgentsMetrics(String valuesFile) throws IOException {
    RenderedChart chart = render(valuesFile);
    ConfigMap configMap = dashboardConfigMap(chart);
    JsonNode dashboard = JSON.readTree(configMap.getData().get("gvisor-oom-watcher.json"));
    List<String> queries = new ArrayList<>();
    List<String> problems = new ArrayList<>();

    assertEquals(JSON.readTree(ChartTools.chartDir().resolve("dashboards/gvisor-oom-watcher.json").toFile()), dashboard,
        "the ConfigMap carries dashboards/gvisor-oom-watcher.json as is");
    JsonNode datasource = variable(dashboard, "datasource");
    assertEquals("datasource", datasource.path("type").asText());
    assertEquals("prometheus", datasource.path("query").asText());
    assertFalse(dashboard.path("uid").asText().isEmpty());
    for (JsonNode panel : dashboard.path("panels")) {
      String title = panel.path("title").asText();
      if (title.isBlank()) {
        problems.add("panel " + panel.path("id") + " has no title");
      }
      if (!panel.path("datasource").path("uid").asText().equals("${datasource}")) {
        problems.add(title + ": its datasource is not the ${datasource} variable");
      }
      if (panel.path("targets").isEmpty()) {
        problems.add(title + ": no query");
      }
      for (JsonNode target : panel.path("targets")) {
        if (!target.path("datasource").path("uid").asText().equals("${datasource}")) {
          problems.add(title + " " + target.path("refId").asText() + ": its datasource is not ${datasource}");
        }
        queries.add(PromQl.withGrafanaIntervals(target.path("expr").asText()));
      }
    }
    for (JsonNode variable : dashboard.path("templating").path("list")) {
      if (variable.path("type").asText().equals("query")) {
        assertEquals("${datasource}", variable.path("datasource").path("uid").asText(), variable.path("name").asText());
        Matcher labelValues = LABEL_VALUES.matcher(variable.path("query").path("query").asText());
        assertTrue(labelValues.matches(), "variable " + variable.path("name") + ": not label_values(query, label)");
        queries.add(labelValues.group(1));
      }
    }
    for (PromQl.Expression expression : PromQl.parse(queries)) {
      problems.addAll(unknownMetrics("dashboard", expression));
    }
    assertTrue(queries.stream().anyMatch(q -> q.contains("histogram_quantile(")), "no detection latency quantile");
    assertEquals(List.of(), problems);
  }

  @Test
  void theDashboardConfigMapIsLabelledForTheGrafanaSidecar() {
    ConfigMap byDefault = dashboardConfigMap(render("ci/monitoring-values.yaml"));
    ConfigMap tuned = dashboardConfigMap(render("ci/podmonitor-values.yaml"));

    assertEquals("1", byDefault.getMetadata().getLabels().get("grafana_dashboard"));
    assertEquals("oomwatch-system", byDefault.getMetadata().getNamespace());
    assertEquals("true", tuned.getMetadata().getLabels().get("grafana_dashboard"));
    assertEquals("monitoring", tuned.getMetadata().getNamespace());
    assertEquals("gVisor", tuned.getMetadata().getAnnotations().get("grafana_folder"));
  }

  @Test
  void theParserRejectsASyntaxErrorAndTheChecksReadTheTree() {
    assertFalse(PromQl.syntaxErrors("sum(rate(oomwatch_cgroup_polls_total[5m])").isEmpty());
    assertFalse(PromQl.syntaxErrors("rate(oomwatch_cgroup_polls_total[$__rate_interval])").isEmpty(),
        "Grafana's variables are not PromQL: the dashboard's queries are checked with them replaced");
    PromQl.Expression expression = PromQl.parse(List.of(
        "max by (node) ({__name__=\"oomwatch_incidents_pending\"}) > on (node) sum by (node, code) (rate(foo_total[5m]))"))
        .get(0);

    assertEquals(Set.of("foo_total", "oomwatch_incidents_pending"), PromQl.metricNames(expression));
    assertEquals(Set.of("node"), PromQl.keptLabels(expression));
    assertEquals(null, PromQl.keptLabels(PromQl.parse(List.of("oomwatch_incidents_pending > 0")).get(0)));
    assertEquals(List.of("dashboard: foo_total is not a metric the agent exports"),
        unknownMetrics("dashboard", expression));
  }

  private static List<String> unknownMetrics(String where, PromQl.Expression expression) {
    List<String> problems = new ArrayList<>();
    for (String metric : PromQl.metricNames(expression)) {
      if (!AGENT_METRICS.containsKey(metric)) {
        problems.add(where + ": " + metric + " is not a metric the agent exports");
      }
    }
    return problems;
  }

  private static void assertSetsNode(List<RelabelConfig> relabelings) {
    RelabelConfig first = relabelings.get(0);
    assertEquals(List.of("__meta_kubernetes_pod_node_name"), first.getSourceLabels());
    assertEquals("node", first.getTargetLabel());
    assertEquals("replace", first.getAction());
  }

  @Test
  void aGroupWithEveryAlertOffIsLeftOutNotRenderedEmpty() {
    RenderedChart chart = RenderedChart.render("-f", ChartTools.chartDir().resolve("ci/monitoring-values.yaml").toString(),
        "--set", "prometheusRule.alerts.oomKilled.enabled=false",
        "--set", "prometheusRule.alerts.nearMemoryLimit.enabled=false",
        "--set", "prometheusRule.alerts.memoryLimitNotEnforced.enabled=false");
    List<RuleGroup> groups = chart.one(PrometheusRule.class).getSpec().getGroups();
    assertEquals(List.of("gvisor-oom-watcher.agent"), groups.stream().map(RuleGroup::getName).toList());
    assertTrue(groups.stream().allMatch(g -> g.getRules() != null && !g.getRules().isEmpty()));
  }

  private static List<Rule> rules(RenderedChart chart) {
    PrometheusRule rule = chart.one(PrometheusRule.class);
    assertEquals("kube-prometheus-stack", rule.getMetadata().getLabels().get("release"));
    return rule.getSpec().getGroups().stream().map(RuleGroup::getRules).flatMap(List::stream).toList();
  }

  private static ConfigMap dashboardConfigMap(RenderedChart chart) {
    List<ConfigMap> dashboards = chart.all(ConfigMap.class).stream()
        .filter(c -> c.getData() != null && c.getData().containsKey("gvisor-oom-watcher.json")).toList();
    assertEquals(1, dashboards.size(), "one dashboard ConfigMap");
    return dashboards.get(0);
  }

  private static JsonNode variable(JsonNode dashboard, String name) {
    for (JsonNode variable : dashboard.path("templating").path("list")) {
      if (variable.path("name").asText().equals(name)) {
        return variable;
      }
    }
    throw new AssertionError("the dashboard has no variable " + name);
  }

}
