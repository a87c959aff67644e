package dev.oomwatch.inference;

import dev.oomwatch.model.ByteSizes;
import dev.oomwatch.model.Evidence;
import dev.oomwatch.model.IncidentIds;
import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.Verdict;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.source.cgroup.PodCgroupLocator;
import java.time.Clock;
import java.util.List;
import java.util.Optional;

/**
 * Decides whether a kernel OOM kill is an OOM of a gVisor pod on this node, and if so builds the
 * incident. A pure function of its inputs and the injected clock (used only for {@code detectedAt}):
 * the same kill and the same pods always give the same incident id and verdict. A kill in a pod that
 * is not a gVisor pod is not ours: kubelet reports those itself. Thread-safe (stateless).
 */
public final class OomInference {
  private static final int GVISOR_SANDBOX_UID = 65534;

  private final String nodeName;
  private final Clock clock;
  private final PodCgroupLocator locator;

  public OomInference(String nodeName, Clock clock, PodCgroupLocator locator) {
    this.nodeName = nodeName;
    this.clock = clock;
    this.locator = locator;
  }

  public Inference infer(KernelOomKill kill, GvisorPods pods) {
    // The victim's own cgroup decides whose sandbox died; oom_memcg is only whose limit was hit (it is
    // absent on a node-wide OOM, which still kills a pod's sandbox).
    Optional<String> podUid = locator.podUid(kill.taskMemcg());
    if (podUid.isEmpty()) {
      return Inference.ignored("victim cgroup " + kill.taskMemcg() + " is not a pod cgroup");
    }
    Optional<WatchedPod> pod = pods.byUid(podUid.get());
    if (pod.isEmpty()) {
      return Inference.ignored("pod " + podUid.get() + " is not a gVisor pod on this node");
    }
    return Inference.of(incidentFor(kill, pod.get()));
  }

  private OomIncident incidentFor(KernelOomKill kill, WatchedPod pod) {
    String memcg = kill.oomMemcg().orElse("(node: out of memory)");
    var limit = kill.limitBytes().isPresent() ? kill.limitBytes() : pod.memoryLimitBytes();
    Evidence kernel = new Evidence("kmsg", describe(kill), kill.killedAt());
    return new OomIncident(
        IncidentIds.forKill(kill.bootId(), pod.ref(), kill.pid()),
        pod.ref(),
        nodeName,
        Verdict.CONFIRMED,
        victim(kill),
        memcg,
        limit,
        kill.killedAt(),
        clock.instant(),
        List.of(kernel));
  }

  static String victim(KernelOomKill kill) {
    String role = kill.uid() == GVISOR_SANDBOX_UID && "exe".equals(kill.task()) ? ", gVisor sandbox" : "";
    return kill.task() + " (pid " + kill.pid() + ", uid " + kill.uid() + role + ")";
  }

  private static String describe(KernelOomKill kill) {
    StringBuilder text = new StringBuilder("kernel OOM kill (kmsg #").append(kill.sequence()).append("): ");
    text.append("constraint=").append(kill.constraint());
    kill.oomMemcg().ifPresent(m -> text.append(" oom_memcg=").append(m));
    text.append(" task_memcg=").append(kill.taskMemcg());
    text.append(" task=").append(kill.task()).append(" pid=").append(kill.pid()).append(" uid=").append(kill.uid());
    kill.limitBytes().ifPresent(l -> text.append(" limit=").append(ByteSizes.quantity(l)));
    kill.anonRssBytes().ifPresent(r -> text.append(" anon-rss=").append(ByteSizes.quantity(r)));
    return text.toString();
  }
}
