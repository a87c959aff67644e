package dev.oomwatch.app;

import dev.oomwatch.inference.Finding;
import dev.oomwatch.inference.IncidentFusion;
import dev.oomwatch.model.CgroupMemorySnapshot;
import dev.oomwatch.model.CgroupOomSignal;
import dev.oomwatch.model.CgroupPolled;
import dev.oomwatch.model.GvisorPods;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.WatchedPod;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * Runs, once at start, a made-up kill through blank copies of the fusion: the limit hit and the
 * {@code oom_kill} rise of a pod's cgroup that a notification brings, the poll after it, a tick. A node's
 * first real kill is otherwise judged by code the JVM never ran (measured with the bench: 20 ms from the
 * cgroup signal to the incident for the first kill after start, 0 to 10 ms for the ones after it). The
 * copies remember nothing of it and the incidents found are thrown away: nothing is published or counted.
 * Stateless; call from the detector's thread.
 */
final class FusionWarmup {
  /**
   * A few kills: what a first run pays for is loading and linking classes, which one pass does; 60
   * passes (enough for C1 to compile the path) were no faster in the bench and held 1 MiB more.
   */
  static final int PASSES = 3;
  private static final long LIMIT = 64L << 20;

  private FusionWarmup() {
  }

  /** The incidents the passes found (one per pass when the fusion works as it should). */
  static int run(IncidentFusion template) {
    int found = 0;
    for (int pass = 0; pass < PASSES; pass++) {
      String uid = String.format("00000000-0000-0000-0000-%012d", pass);
      WatchedPod pod = new WatchedPod(new PodRef("default", "oomwatch-warmup", uid), "gvisor", OptionalLong.of(LIMIT));
      GvisorPods onlyIt = GvisorPods.of(pod);
      IncidentFusion fusion = template.blank();
      Instant now = Instant.now();
      CgroupMemorySnapshot killed = new CgroupMemorySnapshot("/kubepods/burstable/pod" + uid, 1, now,
          OptionalLong.of(LIMIT), LIMIT - 4096, OptionalLong.of(LIMIT), OptionalLong.of(1), OptionalLong.of(1),
          OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), OptionalDouble.empty());
      Optional<String> sandbox = Optional.of(String.format("%064x", pass));
      List<Finding> findings = new ArrayList<>();
      findings.addAll(fusion.accept(new CgroupOomSignal(uid, sandbox, CgroupOomSignal.Kind.LIMIT_HIT, "failcnt", 0, 1,
          killed), onlyIt));
      findings.addAll(fusion.accept(new CgroupOomSignal(uid, sandbox, CgroupOomSignal.Kind.OOM_KILL, "oom_kill", 0, 1,
          killed), onlyIt));
      findings.addAll(fusion.accept(new CgroupPolled(now), onlyIt));
      findings.addAll(fusion.tick(onlyIt));
      found += (int) findings.stream().filter(Finding.IncidentFound.class::isInstance).count();
    }
    return found;
  }
}
