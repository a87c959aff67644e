package dev.oomwatch.app;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.inference.FusionSettings;
import dev.oomwatch.inference.IncidentFusion;
import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.PodCgroupLocator;
import dev.oomwatch.operator.IncidentCache;
import dev.oomwatch.operator.OomIncidentReconciler;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.podreport.PodEventRecorder;
import dev.oomwatch.publish.IncidentPublisher;
import dev.oomwatch.source.Source;
import dev.oomwatch.source.SourceHealth;
import dev.oomwatch.source.cgroup.CgroupSource;
import dev.oomwatch.source.kmsg.KmsgSource;
import dev.oomwatch.source.pods.PodStatusSource;
import dev.oomwatch.source.pods.PodWatch;
import dev.oomwatch.source.runsc.RunscStateSource;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.RegisteredController;
import io.javaoperatorsdk.operator.health.InformerHealthIndicator;
import io.javaoperatorsdk.operator.health.InformerWrappingEventSourceHealthIndicator;
import io.javaoperatorsdk.operator.processing.retry.GenericRetry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that wires the agent: sources → detector (inference) → publisher → the JOSDK operator
 * whose reconciler reports each incident, plus the HTTP endpoints. {@link #start} builds and starts
 * everything and returns; {@link #close} stops it in reverse order and is idempotent. Thread-safe.
 */
public final class Agent implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

  private final AgentConfig config;
  private final KubernetesClient client;
  private final AgentMetrics metrics = new AgentMetrics();
  private final PodWatch podWatch;
  private final List<Source> sources = new ArrayList<>();
  private final RunscStateSource runsc;
  private final IncidentPublisher publisher;
  private final Detector detector;
  private final SourceSupervisor supervisor;
  private final Operator operator;
  private HttpEndpoints http;
  private boolean closed;

  private Agent(AgentConfig config, Clock clock, List<Source> extraSources) {
    this.config = config;
    this.client = kubernetesClient(config);
    this.podWatch = new PodWatch(client, config.nodeName(), config.runtimeHandler());
    PodEventRecorder events = new PodEventRecorder(client, config.nodeName(), clock);
    PodConditionWriter conditions = new PodConditionWriter(client);
    // the publisher retries each write itself, per entry: it writes through a client without fabric8's retries
    KubernetesClient publishing = IncidentPublisher.clientFor(client);
    // the controller's informer cache answers the publisher's same-kill question (no list per incident)
    IncidentCache incidentCache = new IncidentCache();
    this.publisher = new IncidentPublisher(publishing, new PodEventRecorder(publishing, config.nodeName(), clock),
        new PodConditionWriter(publishing), metrics, config.pendingCapacity(), config.incidentWritesPerSecond(),
        incidentCache);
    PodCgroupLocator locator = new PodCgroupLocator();
    FusionSettings fusionSettings = FusionSettings.forPollInterval(config.cgroupPollInterval(), config.nearOomShare(),
        config.nearOomFor(), config.nearOomRepeat());
    this.detector = new Detector(new IncidentFusion(config.nodeName(), clock, locator, fusionSettings), podWatch,
        locator, publisher, metrics, podWatch::hasSynced, clock, config.incidentTtl());
    Optional<KmsgSource> kmsg = config.kmsg().map(device -> new KmsgSource(device, config.bootIdPath()));
    CgroupSource cgroup = new CgroupSource(config.cgroupRoot(), () -> List.copyOf(podWatch.all()),
        config.cgroupPollInterval(), config.nearOomShare(), cgroupNotifications(config));
    this.runsc = RunscStateSource.builder()
        .runscRoot(config.runscRoot())
        .pollInterval(config.runscPollInterval())
        .cgroupRoot(config.cgroupRoot())
        .procRoot(config.procRoot())
        .metricsUrl(config.runscMetricsUrl())
        .runscBinary(config.runscBinary())
        .podMemoryLimit(uid -> podWatch.byUid(uid).map(p -> p.memoryLimitBytes()).orElse(OptionalLong.empty()))
        // the pod cgroup the cgroup source found (a MemoryLimitNotEnforced warning names it)
        .podCgroup(cgroup::podCgroupPath)
        .clock(clock)
        .build();
    metrics.registerPodOomKills(podWatch, cgroup::oomKillsCounted);
    kmsg.ifPresent(sources::add);
    sources.add(cgroup);
    sources.add(runsc);
    PodStatusSource podStatus = new PodStatusSource(client, podWatch);
    sources.add(podStatus);
    sources.addAll(extraSources);
    this.supervisor = new SourceSupervisor(sources, detector::accept);
    this.operator = new Operator(o -> o
        .withKubernetesClient(client)
        .withCloseClientOnStop(false)
        // plain merge/JSON patches: they work on every API server (and the test stand-in)
        .withUseSSAToPatchPrimaryResource(false)
        .withSSABasedCreateUpdateMatchForDependentResources(false)
        // an API server that is down at start is waited for (readiness says so), not a crash loop
        .withStopOnInformerErrorDuringStartup(false));
    OomIncidentReconciler reconciler = new OomIncidentReconciler(client, events, conditions, metrics, clock,
        config.incidentTtl(), incidentCache);
    RegisteredController<OOMIncident> controller = operator.register(reconciler, c -> c
        .withLabelSelector(OOMIncident.NODE_LABEL + "=" + OOMIncident.nodeLabelValue(config.nodeName()))
        // An incident must not be given up on: the framework retries a failed report (API down, a
        // conflict, 429, 5xx) with backoff from 1 s to 60 s for as long as it takes. A report the API
        // refuses for good (403, 422...) is not retried: the reconciler's updateErrorStatus marks the
        // incident Failed instead.
        .withRetry(new GenericRetry().setInitialInterval(1000).setIntervalMultiplier(2).setMaxInterval(60_000)
            .withoutMaxAttempts()));
    incidentCache.syncedWhen(() -> informersSyncedAndWatching(controller));
  }

  private static boolean informersSyncedAndWatching(RegisteredController<OOMIncident> controller) {
    List<InformerHealthIndicator> informers = new ArrayList<>();
    for (InformerWrappingEventSourceHealthIndicator<?> source
        : controller.getControllerHealthInfo().informerEventSourceHealthIndicators().values()) {
      informers.addAll(source.informerHealthIndicators().values());
    }
    return !informers.isEmpty() && informers.stream().allMatch(i -> i.hasSynced() && i.isWatching());
  }

  /**
   * Whether the cgroup source registers the kernel's memory-cgroup notifications: only without the kernel
   * log. With it, the kernel log is the instant path and the one that names the victim; a notified cgroup
   * poll would win that race and report the kill as "process unknown" before the kernel's record arrives.
   */
  private static boolean cgroupNotifications(AgentConfig config) {
    return config.cgroupNotify() && config.kmsg().isEmpty();
  }

  /** Builds and starts the agent. */
  public static Agent start(AgentConfig config, Clock clock) {
    return start(config, clock, List.of());
  }

  /** Builds and starts the agent with further sources beside the configured ones (embedding, tests). */
  public static Agent start(AgentConfig config, Clock clock, List<Source> extraSources) {
    Agent agent = new Agent(config, clock, extraSources);
    try {
      agent.startAll();
    } catch (RuntimeException e) {
      agent.close();
      throw e;
    }
    return agent;
  }

  private void startAll() {
    registerSourceMetrics();
    try {
      http = new HttpEndpoints(config.httpPort(), metrics, this::readiness, supervisor::liveness);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serve HTTP on port " + config.httpPort() + ": " + e.getMessage(), e);
    }
    podWatch.start();
    operator.start();
    supervisor.start();
    if (config.kmsg().isEmpty()) {
      LOG.info("kernel log reading is off (--kmsg=off): OOM kills are seen through cgroup counters only");
    }
    if (config.cgroupNotify() && config.kmsg().isPresent()) {
      LOG.info("cgroup notifications not used: the kernel log reports each kill at once and names its victim");
    } else if (!config.cgroupNotify()) {
      LOG.info("cgroup notifications are off (--cgroup-notify=off): OOM kills are seen at the next cgroup poll,"
          + " every {} ms", config.cgroupPollInterval().toMillis());
    }
    LOG.info("gvisor-oom-watcher agent started on node {} (runtime handler {}, kmsg {}, HTTP port {})",
        config.nodeName(), config.runtimeHandler(), config.kmsg().map(Object::toString).orElse("off"), http.port());
  }

  /** The current value of an unlabelled metric as {@code /metrics} shows it, or -1 when absent (tests, demo). */
  public double metricValue(String name) {
    return metrics.text().lines().filter(l -> l.startsWith(name + " "))
        .mapToDouble(l -> Double.parseDouble(l.substring(name.length() + 1).trim())).findFirst().orElse(-1);
  }

  private void registerSourceMetrics() {
    metrics.registerGauge("oomwatch_source_up",
        "1 when the source is live, 0 when it is starting, failed (and being retried) or disabled",
        List.of("source", "state"),
        samples -> sourceHealth().forEach(h -> samples.add(h.live() ? 1 : 0, h.source(), h.state().name())));
    metrics.registerCounter("oomwatch_source_start_retries", "Source starts that failed and were retried",
        supervisor::startRetries);
    metrics.registerGauge("oomwatch_oom_detection_up",
        "1 while at least one source that can see OOM kills (kernel log, cgroups) is live, else 0: the agent is deaf",
        List.of(), samples -> samples.add(supervisor.anyOomCapableLive() ? 1 : 0));
    metrics.registerBuildInfo(BuildInfo.version());
    sources.forEach(source -> source.registerMetrics(metrics));
  }

  /** The port of {@code /metrics}, {@code /healthz} and {@code /readyz}. */
  public int httpPort() {
    return http.port();
  }

  List<SourceHealth> sourceHealth() {
    List<SourceHealth> health = new ArrayList<>(supervisor.health());
    if (config.kmsg().isEmpty()) {
      health.add(new SourceHealth("kmsg", SourceHealth.State.DISABLED, "turned off with --kmsg=off"));
    }
    return health;
  }

  /**
   * Ready when the pod cache synced and is watching (the API server is reachable), the operator's
   * informers are healthy and an OOM-capable source is live.
   */
  public HttpEndpoints.Readiness readiness() {
    StringBuilder body = new StringBuilder();
    boolean podsSynced = podWatch.hasSynced();
    boolean apiReachable = podWatch.isWatching();
    boolean operatorHealthy = operator.getRuntimeInfo().isStarted() && operator.getRuntimeInfo().allEventSourcesAreHealthy();
    boolean oomSourceLive = supervisor.anyOomCapableLive();
    body.append("pod cache: ").append(podsSynced ? "synced" : "not synced").append('\n');
    body.append("OOMIncident informer: ").append(operatorHealthy ? "healthy" : "not healthy").append('\n');
    body.append("API server: ").append(apiReachable ? "watching" : "unreachable (observations are kept and"
        + " reported when it returns)").append('\n');
    body.append("pending incidents: ").append(publisher.pendingCount()).append('\n');
    body.append("host pids: ").append(runsc.hostPids().detail()).append('\n');
    for (SourceHealth h : sourceHealth()) {
      body.append("source ").append(h.source()).append(": ").append(h.state());
      if (h.detail() != null && !h.detail().isEmpty()) {
        body.append(" (").append(h.detail()).append(')');
      }
      body.append('\n');
    }
    boolean ready = podsSynced && apiReachable && operatorHealthy && oomSourceLive;
    if (!oomSourceLive) {
      body.append("not ready: no source that can see OOM kills is live\n");
    }
    return new HttpEndpoints.Readiness(ready, (ready ? "ready\n" : "not ready\n") + body);
  }

  private static KubernetesClient kubernetesClient(AgentConfig config) {
    KubernetesClientBuilder builder = new KubernetesClientBuilder().withHttpClientFactory(new JdkHttpClientFactory());
    config.kubeconfig().ifPresent(path -> {
      try {
        builder.withConfig(Config.fromKubeconfig(Files.readString(path)));
      } catch (IOException e) {
        throw new ConfigException("cannot read kubeconfig " + path + ": " + e.getMessage());
      }
    });
    return builder.build();
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    supervisor.close();
    detector.close();
    try {
      operator.stop();
    } catch (RuntimeException e) {
      LOG.debug("operator stop: {}", e.toString());
    }
    publisher.close();
    podWatch.close();
    if (http != null) {
      http.close();
    }
    client.close();
  }
}
