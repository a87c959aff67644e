package dev.oomwatch.app;

import dev.oomwatch.inference.GvisorPods;
import dev.oomwatch.inference.Inference;
import dev.oomwatch.inference.OomInference;
import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.Observation;
import dev.oomwatch.report.IncidentPublisher;
import dev.oomwatch.source.cgroup.PodCgroupLocator;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fans sources in: takes observations from any source thread, runs inference on its own single thread
 * once the pod cache has synced (observations that arrive earlier, such as the kernel log replayed at
 * start, wait for it), and hands incidents to the publisher. A kill in a pod cgroup whose pod is not in
 * the cache yet is looked at once more after {@link #POD_CACHE_GRACE} (the pod informer may lag the
 * kernel). {@link #accept} is thread-safe and never blocks.
 */
final class Detector implements AutoCloseable {
  static final Duration POD_CACHE_GRACE = Duration.ofSeconds(5);
  private static final Logger LOG = LoggerFactory.getLogger(Detector.class);

  private final OomInference inference;
  private final GvisorPods pods;
  private final PodCgroupLocator locator;
  private final IncidentPublisher publisher;
  private final AgentMetrics metrics;
  private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "detector");
    t.setDaemon(true);
    return t;
  });

  Detector(OomInference inference, GvisorPods pods, PodCgroupLocator locator, IncidentPublisher publisher,
      AgentMetrics metrics, BooleanSupplier podsSynced) {
    this.inference = inference;
    this.pods = pods;
    this.locator = locator;
    this.publisher = publisher;
    this.metrics = metrics;
    // Nothing runs on the detector thread before the pod cache is complete: a kill replayed from the
    // kernel log at start must not be judged against an empty cache.
    thread.execute(() -> awaitSync(podsSynced));
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
    if (observation instanceof KernelOomKill kill) {
      thread.execute(() -> judge(kill, true));
    }
  }

  private void judge(KernelOomKill kill, boolean firstLook) {
    Inference result = inference.infer(kill, pods);
    if (result.incident().isPresent()) {
      publisher.submit(result.incident().get());
      return;
    }
    if (firstLook && locator.podUid(kill.taskMemcg()).isPresent()) {
      thread.schedule(() -> judge(kill, false), POD_CACHE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      return;
    }
    metrics.killIgnored();
    LOG.debug("kernel OOM kill of {} pid {} (kmsg #{}) is not ours: {}", kill.task(), kill.pid(), kill.sequence(),
        result.ignoredBecause());
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
