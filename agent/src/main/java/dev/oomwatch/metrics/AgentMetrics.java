package dev.oomwatch.metrics;

import dev.oomwatch.model.Verdict;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Collection;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The agent's Prometheus metrics, in a registry of its own (no global default registry). Every
 * recording method is cheap and thread-safe; callback metrics are read at scrape time. What another
 * part counts itself (a source's statistics, the health of the sources) that part registers, under a
 * name of its own, with {@link #registerCounter} or {@link #registerGauge}.
 */
public final class AgentMetrics {
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PodOomKillCounter podKills = new PodOomKillCounter();
  // counters, gauge and histogram without exemplars: there are no traces to link to, and an exemplar
  // sampler's first use searches the classpath for OpenTelemetry, on the way of the node's first incident
  private final Counter incidentsDetected = Counter.builder()
      .withoutExemplars()
      .name("oomwatch_incidents_detected_total")
      .help("OOM kills of gVisor sandboxes detected on this node, by the verdict they were first detected with"
          + " (each kill counted once; a later, stronger signal raises the incident's verdict, not this label)")
      .labelNames("verdict")
      .register(registry);
  private final Counter incidentsReported = Counter.builder()
      .withoutExemplars()
      .name("oomwatch_incidents_reported_total")
      .help("Incidents whose reconcile finished, by outcome (Reported: Event and pod condition written;"
          + " PodGone: the pod no longer existed)")
      .labelNames("outcome")
      .register(registry);
  private final Counter killsIgnored = Counter.builder()
      .withoutExemplars()
      .name("oomwatch_kernel_oom_kills_ignored_total")
      .help("Kernel OOM kills on this node that were not of a gVisor pod (kubelet reports those)")
      .register(registry);
  private final Counter killsExpired = Counter.builder()
      .withoutExemplars()
      .name("oomwatch_kernel_oom_kills_expired_total")
      .help("Kernel OOM kills of the replayed kernel log older than the incident TTL, not reported again")
      .register(registry);
  private final Counter publishFailures = Counter.builder()
      .withoutExemplars()
      .name("oomwatch_incident_publish_failures_total")
      .help("Failed attempts to create an OOMIncident (retried with backoff)")
      .register(registry);
  private final Counter publishRejected = Counter.builder()
      .withoutExemplars()
      .name("oomwatch_incident_publish_rejected_total")
      .help("Incident and warning writes the API refused for good (400, 403, 404, 422...), by HTTP code; each"
          + " dropped, not retried")
      .labelNames("code")
      .register(registry);
  private final Counter incidentsDropped = Counter.builder()
      .withoutExemplars()
      .name("oomwatch_incidents_dropped_total")
      .help("Incidents dropped because the pending queue was full (the API server was unreachable too long)")
      .register(registry);
  private final Counter incidentsSeenBefore = Counter.builder()
      .withoutExemplars()
      .name("oomwatch_incidents_seen_before_total")
      .help("Kills whose OOMIncident existed already (seen again, e.g. in the kernel log replayed after a restart)")
      .register(registry);
  private final Counter warnings = Counter.builder()
      .withoutExemplars()
      .name("oomwatch_warnings_total")
      .help("Warnings written on pods, by reason (NearOOM, MemoryLimitNotEnforced)")
      .labelNames("reason")
      .register(registry);
  private final Counter incidentsMerged = Counter.builder()
      .withoutExemplars()
      .name("oomwatch_incidents_merged_total")
      .help("Kills seen again with something new (evidence, a stronger verdict), merged into their OOMIncident")
      .register(registry);
  private final Counter incidentsRefused = Counter.builder()
      .withoutExemplars()
      .name("oomwatch_incidents_refused_total")
      .help("OOMIncidents labelled with this node that the reconciler refused to report on any pod, by reason"
          + " (invalid, foreign-node, not-owner, pod-not-on-node)")
      .labelNames("reason")
      .register(registry);
  private final Counter incidentsExpired = Counter.builder()
      .withoutExemplars()
      .name("oomwatch_incidents_expired_total")
      .help("OOMIncidents deleted because they were older than the TTL")
      .register(registry);
  private final Histogram detection = Histogram.builder()
      .withoutExemplars()
      .name("oomwatch_detection_seconds")
      .help("Time from an OOM kill (the kernel log's timestamp, or the cgroup poll that saw it) to the agent's"
          + " incident about it, for kills whose OOMIncident was then created (not those seen before)")
      .classicUpperBounds(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
      .classicOnly()
      .register(registry);
  private final Gauge pendingIncidents = Gauge.builder()
      .withoutExemplars()
      .name("oomwatch_incidents_pending")
      .help("Incidents detected but not yet created in the API")
      .register(registry);

  public AgentMetrics() {
    // every known label's series exists from the start at 0: increase() and rate() miss the first
    // increment of a series that appears with it (a dashboard's "by reason" panel would stay empty)
    for (Verdict verdict : Verdict.values()) {
      incidentsDetected.initLabelValues(verdict.display());
    }
  }

  /** Makes the series of each of these reconcile outcomes exist at 0 (the reconciler knows them). */
  public void reportOutcomes(Collection<String> outcomes) {
    outcomes.forEach(incidentsReported::initLabelValues);
  }

  /** Makes the series of each of these warning reasons exist at 0 (the publisher knows them). */
  public void warningReasons(Collection<String> reasons) {
    reasons.forEach(warnings::initLabelValues);
  }

  /** Makes the series of each of these refusal reasons exist at 0 (the reconciler knows them). */
  public void refusalReasons(Collection<String> reasons) {
    reasons.forEach(incidentsRefused::initLabelValues);
  }

  /**
   * Counts the kill reported as incident {@code incidentName} of {@code pod} in the pod's
   * {@code oomwatch_pod_oom_kills_total}, unless counted before (see {@link #registerPodOomKills}).
   */
  public void killOf(dev.oomwatch.model.PodRef pod, String incidentName) {
    podKills.killOf(pod, incidentName);
  }

  /**
   * Registers {@code oomwatch_pod_oom_kills_total{namespace,pod}}, one series per gVisor pod of
   * {@code pods}, counting the kills noted with {@link #killOf} and raised to what the pod's cgroups
   * count ({@code cgroupKills}, by pod uid). Once, at start.
   */
  public void registerPodOomKills(dev.oomwatch.model.GvisorPods pods,
      java.util.function.Function<String, java.util.OptionalLong> cgroupKills) {
    podKills.register(this, pods, cgroupKills);
  }

  public void incidentDetected(String verdict) {
    incidentsDetected.labelValues(verdict).inc();
  }

  /** An incident created for the first time, detected {@code latency} after its kill (skew below 0 counts as 0). */
  public void detectedAfter(java.time.Duration latency) {
    detection.observe(latency.isNegative() ? 0 : latency.toNanos() / 1e9);
  }

  /**
   * {@code oomwatch_build_info{version,java_version}} = 1: which build runs where (a gauge, by convention).
   *
   * @param version the agent's version, e.g. from its jar's manifest
   */
  public void registerBuildInfo(String version) {
    // an Info metric: the client appends _info and exports it as a gauge of 1 in the text format
    Info.builder()
        .name("oomwatch_build")
        .help("The agent's build: always 1, the version in the labels")
        .labelNames("version", "java_version")
        .register(registry)
        .addLabelValues(version, System.getProperty("java.runtime.version", "unknown"));
  }

  public void incidentReported(String outcome) {
    incidentsReported.labelValues(outcome).inc();
  }

  public void incidentSeenBefore() {
    incidentsSeenBefore.inc();
  }

  public void warningReported(String reason) {
    warnings.labelValues(reason).inc();
  }

  public void incidentMerged() {
    incidentsMerged.inc();
  }

  public void incidentRefused(String reason) {
    incidentsRefused.labelValues(reason).inc();
  }

  public void incidentExpired() {
    incidentsExpired.inc();
  }

  public void killIgnored() {
    killsIgnored.inc();
  }

  public void killExpired() {
    killsExpired.inc();
  }

  public void publishFailed() {
    publishFailures.inc();
  }

  public void publishRejected(int code) {
    publishRejected.labelValues(Integer.toString(code)).inc();
  }

  public void incidentDropped() {
    incidentsDropped.inc();
  }

  public void pendingIncidents(int count) {
    pendingIncidents.set(count);
  }

  /**
   * A gauge with labels whose samples are read at scrape time: {@code samples} is called on the scraping
   * thread and adds each sample, its label values in the order of {@code labelNames}. A name can be
   * registered once.
   */
  public void registerGauge(String name, String help, List<String> labelNames, Consumer<LabelledSamples> samples) {
    GaugeWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames(labelNames.toArray(String[]::new))
        .callback(cb -> samples.accept(cb::call))
        .register(registry);
  }

  /**
   * A counter read at scrape time, on the scraping thread, from its owner's own statistics ({@code _total}
   * is appended to {@code name}). A name can be registered once.
   */
  public void registerCounter(String name, String help, LongSupplier value) {
    CounterWithCallback.builder()
        .name(name)
        .help(help)
        .callback(cb -> cb.call(value.getAsLong()))
        .register(registry);
  }

  /**
   * A counter with labels whose samples are read at scrape time, like {@link #registerGauge} ({@code _total}
   * is appended to {@code name}). Each series must never fall while it exists.
   */
  public void registerLabelledCounter(String name, String help, List<String> labelNames,
      Consumer<LabelledSamples> samples) {
    CounterWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames(labelNames.toArray(String[]::new))
        .callback(cb -> samples.accept(cb::call))
        .register(registry);
  }

  /** Takes the samples of a labelled gauge during one scrape; used on the scraping thread only. */
  @FunctionalInterface
  public interface LabelledSamples {
    /** One sample: its value and its label values, in the order of the gauge's label names. */
    void add(double value, String... labelValues);
  }

  /**
   * Every metric in the Prometheus text format, as {@code /metrics} serves it: for the demo and the tests,
   * which read values back.
   */
  public String text() {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try {
      writeTo(out);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e); // a byte array does not fail
    }
    return out.toString(java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Writes every metric in the Prometheus text format. */
  public void writeTo(OutputStream out) throws IOException {
    new PrometheusTextFormatWriter(false).write(out, registry.scrape());
  }
}
