package dev.oomwatch.app;

import dev.oomwatch.inference.Finding;
import dev.oomwatch.inference.IncidentFusion;
import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.ContainerExit;
import dev.oomwatch.model.GvisorPods;
import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.PodCgroupLocator;
import dev.oomwatch.podreport.OomMessages;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.publish.IncidentPublisher;
import dev.oomwatch.support.DaemonThreads;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fans sources in: takes observations from any source thread and runs the fusion on its own single
 * thread — once the pod cache has synced (observations that arrive earlier, such as the kernel log
 * replayed at start, wait for it) — plus a tick every second for its time-based decisions; hands what
 * it finds to the publisher. A kernel kill in a pod cgroup that the fusion finds no watched pod for is
 * looked at once more after {@link #POD_CACHE_GRACE} (the pod informer may lag the kernel); a kill of a
 * pod that is still not a watched gVisor pod then is counted as ignored. A kernel kill older than the
 * incident TTL is skipped (counted, one DEBUG line): the kernel log is replayed from the start of its
 * ring buffer at every start, and such a kill's incident, if it had one, was deleted for its age, so it
 * would otherwise be reported again as new; so is a container status saying {@code OOMKilled} that old.
 * Before anything else the detector's thread warms the fusion up ({@link FusionWarmup}).
 * {@link #accept} is thread-safe and never blocks.
 */
final class Detector implements AutoCloseable {
  static final Duration POD_CACHE_GRACE = Duration.ofSeconds(5);
  private static final Logger LOG = LoggerFactory.getLogger(Detector.class);

  private final IncidentFusion fusion;
  private final GvisorPods pods;
  private final PodCgroupLocator locator;
  private final IncidentPublisher publisher;
  private final AgentMetrics metrics;
  private final Clock clock;
  private final Duration incidentTtl;
  private final ScheduledExecutorService thread = DaemonThreads.scheduler("detector");

  Detector(IncidentFusion fusion, GvisorPods pods, PodCgroupLocator locator, IncidentPublisher publisher,
      AgentMetrics metrics, BooleanSupplier podsSynced, Clock clock, Duration incidentTtl) {
    this.fusion = fusion;
    this.pods = pods;
    this.locator = locator;
    this.publisher = publisher;
    this.metrics = metrics;
    this.clock = clock;
    this.incidentTtl = incidentTtl;
    // Nothing runs on the detector thread before the pod cache is complete: a kill replayed from the
    // kernel log at start must not be judged against an empty cache. The warm-up takes that time.
    thread.execute(this::warmUp);
    thread.execute(() -> awaitSync(podsSynced));
    thread.scheduleWithFixedDelay(this::tick, 1, 1, TimeUnit.SECONDS);
  }

  private void warmUp() {
    long start = System.nanoTime();
    try {
      int found = FusionWarmup.run(fusion);
      LOG.debug("fusion warmed up in {} ms ({} made-up kills, {} found)", (System.nanoTime() - start) / 1_000_000,
          FusionWarmup.PASSES, found);
    } catch (RuntimeException e) {
      // only a warm-up: the first kill is judged more slowly without it, nothing else
      LOG.debug("fusion warm-up stopped: {}", e.toString());
    }
  }

  private static void awaitSync(BooleanSupplier podsSynced) {
    try {
      while (!podsSynced.getAsBoolean()) {
        Thread.sleep(100);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  void accept(Observation observation) {
    thread.execute(() -> judge(observation, true));
  }

  private void judge(Observation observation, boolean firstLook) {
    try {
      if (observation instanceof KernelOomKill kill && expired(kill)) {
        return;
      }
      if (observation instanceof ContainerExit exit && exit.oomKilled() && expired(exit)) {
        return;
      }
      List<Finding> findings = fusion.accept(observation, pods);
      if (!findings.isEmpty()) {
        findings.forEach(this::report);
        return;
      }
      if (observation instanceof KernelOomKill kill) {
        // No watched pod for a kill in a pod cgroup: the informer may lag the kernel. Look once more,
        // whatever the cache says now — asking it again here and trusting a second answer would drop a
        // kill whose pod the first lookup missed for a moment.
        if (firstLook && locator.podUid(kill.taskMemcg()).isPresent()) {
          thread.schedule(() -> judge(kill, false), POD_CACHE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
          return;
        }
        metrics.killIgnored();
        LOG.debug("kernel OOM kill of {} pid {} (kmsg #{}) in {} is not of a gVisor pod on this node", kill.task(),
            kill.pid(), kill.sequence(), kill.taskMemcg());
      }
    } catch (RuntimeException e) {
      // one odd observation must not stop the detector
      LOG.warn("could not judge {}: {}", observation.getClass().getSimpleName(), e.toString(), e);
    }
  }

  /** A kill older than the incident TTL: its incident, if any, was deleted for its age; not reported again. */
  private boolean expired(KernelOomKill kill) {
    Instant horizon = clock.instant().minus(incidentTtl);
    if (!kill.killedAt().isBefore(horizon)) {
      return false;
    }
    metrics.killExpired();
    LOG.debug("kernel OOM kill of {} pid {} (kmsg #{}) at {} is older than the incident TTL {}: not reported",
        kill.task(), kill.pid(), kill.sequence(), kill.killedAt(), incidentTtl);
    return true;
  }

  /**
   * Kubelet's OOMKilled older than the incident TTL (a pod's {@code lastState} keeps it for as long as the
   * pod lives, and every agent start sees it again): its incident, if any, was deleted for its age.
   */
  private boolean expired(ContainerExit exit) {
    if (!exit.finishedAt().isBefore(clock.instant().minus(incidentTtl))) {
      return false;
    }
    LOG.debug("container {} of pod {} OOMKilled at {}, older than the incident TTL {}: not reported",
        exit.container(), exit.pod(), exit.finishedAt(), incidentTtl);
    return true;
  }

  private void tick() {
    try {
      fusion.tick(pods).forEach(this::report);
    } catch (RuntimeException e) {
      LOG.warn("detector tick failed: {}", e.toString(), e);
    }
  }

  private void report(Finding finding) {
    if (finding instanceof Finding.IncidentFound found) {
      publisher.submit(found.incident());
    } else if (finding instanceof Finding.NearOom near) {
      publisher.submitWarning(near.pod().ref(), OomMessages.NEAR_OOM, OomMessages.nearOomMessage(near),
          "nearoom-" + near.pod().ref().uid() + "-" + near.since().toEpochMilli(), Optional.empty(), near.since());
    } else if (finding instanceof Finding.LimitNotEnforced unlimited) {
      var sandbox = unlimited.observation().sandbox();
      publisher.submitWarning(unlimited.pod().ref(), OomMessages.LIMIT_NOT_ENFORCED,
          OomMessages.limitNotEnforcedMessage(unlimited), "unlimited-" + sandbox.sandboxId(),
          Optional.of(PodConditionWriter.LIMIT_NOT_ENFORCED_TYPE), unlimited.seenAt());
    }
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
