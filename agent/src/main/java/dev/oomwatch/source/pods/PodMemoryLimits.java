package dev.oomwatch.source.pods;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The memory limit kubelet gives a pod's cgroup, computed from the pod spec as kubelet does: the sum of
 * the app containers' limits (or the largest init container's, if larger) plus the RuntimeClass
 * overhead ({@code spec.overhead}, which gVisor runtime classes often set). Empty when any app container
 * has no memory limit: the pod cgroup is then unlimited; empty too for a spec no API server would send
 * (no containers, a null container, an unreadable quantity), so one odd pod cannot break the lookups of
 * the whole node. Stateless and thread-safe.
 */
final class PodMemoryLimits {
  private PodMemoryLimits() {}

  static OptionalLong of(PodSpec spec) {
    try {
      return limitOf(spec);
    } catch (RuntimeException unreadable) {
      return OptionalLong.empty(); // e.g. a quantity fabric8 cannot turn into a number
    }
  }

  private static OptionalLong limitOf(PodSpec spec) {
    if (spec.getContainers() == null || spec.getContainers().isEmpty()) {
      return OptionalLong.empty();
    }
    long sum = 0;
    for (Container container : spec.getContainers()) {
      OptionalLong limit = limitOf(container);
      if (limit.isEmpty()) {
        return OptionalLong.empty();
      }
      sum = saturatedAdd(sum, limit.getAsLong());
    }
    long largestInit = 0;
    for (Container init : nullSafe(spec.getInitContainers())) {
      largestInit = init == null ? largestInit : Math.max(largestInit, limitOf(init).orElse(0));
    }
    long overhead = memoryOf(spec.getOverhead()).orElse(0);
    return OptionalLong.of(saturatedAdd(Math.max(sum, largestInit), overhead));
  }

  private static OptionalLong limitOf(Container container) {
    if (container == null || container.getResources() == null) {
      return OptionalLong.empty();
    }
    return memoryOf(container.getResources().getLimits());
  }

  private static OptionalLong memoryOf(Map<String, Quantity> resources) {
    if (resources == null || resources.get("memory") == null) {
      return OptionalLong.empty();
    }
    java.math.BigDecimal bytes = resources.get("memory").getNumericalAmount();
    if (bytes.signum() < 0) {
      return OptionalLong.empty();
    }
    // an absurd quantity (say 16Ei) must not wrap around to a small limit
    return OptionalLong.of(bytes.compareTo(java.math.BigDecimal.valueOf(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE
        : bytes.longValue());
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
  }

  private static <T> List<T> nullSafe(List<T> list) {
    return list == null ? List.of() : list;
  }
}
