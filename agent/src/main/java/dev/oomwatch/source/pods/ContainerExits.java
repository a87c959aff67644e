package dev.oomwatch.source.pods;

import dev.oomwatch.model.ContainerExit;
import dev.oomwatch.model.PodRef;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Finds the container terminations a pod update reports: a container whose {@code state.terminated}
 * or {@code lastState.terminated} is new or has another {@code finishedAt} than before. Pure; stateless
 * and thread-safe.
 */
final class ContainerExits {
  private ContainerExits() {}

  static List<ContainerExit> between(Pod before, Pod after, PodRef ref) {
    Map<String, ContainerStateTerminated> known = new HashMap<>();
    for (ContainerStatus status : statuses(before)) {
      if (status == null) {
        continue;
      }
      terminated(status).forEach(t -> known.put(key(status.getName(), t), t));
    }
    List<ContainerExit> exits = new ArrayList<>();
    for (ContainerStatus status : statuses(after)) {
      if (status == null) {
        continue; // never from a real API server, but a status list is input like any other
      }
      for (ContainerStateTerminated t : terminated(status)) {
        if (!known.containsKey(key(status.getName(), t)) && t.getExitCode() != null) {
          exits.add(new ContainerExit(ref, status.getName(), t.getExitCode(), Objects.toString(t.getReason(), ""),
              parse(t.getFinishedAt()), status.getRestartCount() == null ? 0 : status.getRestartCount()));
        }
      }
    }
    return exits;
  }

  private static String key(String container, ContainerStateTerminated t) {
    return container + "/" + t.getFinishedAt() + "/" + t.getContainerID();
  }

  private static List<ContainerStateTerminated> terminated(ContainerStatus status) {
    List<ContainerStateTerminated> found = new ArrayList<>(2);
    if (status.getState() != null && status.getState().getTerminated() != null) {
      found.add(status.getState().getTerminated());
    }
    if (status.getLastState() != null && status.getLastState().getTerminated() != null) {
      found.add(status.getLastState().getTerminated());
    }
    return found;
  }

  private static List<ContainerStatus> statuses(Pod pod) {
    if (pod == null || pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
      return List.of();
    }
    return pod.getStatus().getContainerStatuses();
  }

  private static Instant parse(String time) {
    try {
      return time == null ? Instant.EPOCH : Instant.parse(time);
    } catch (RuntimeException e) {
      return Instant.EPOCH;
    }
  }
}
