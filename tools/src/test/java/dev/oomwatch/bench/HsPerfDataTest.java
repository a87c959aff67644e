package dev.oomwatch.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class HsPerfDataTest {
  @Test
  void readsThisJvmsUsedHeapFromItsPerfData() throws Exception {
    long pid = ProcessHandle.current().pid();
    assumeTrue(Files.exists(HsPerfData.fileOf(pid)), "this JVM keeps no perf data file (-XX:-UsePerfData?)");
    Map<String, Long> counters = HsPerfData.longCounters(Files.readAllBytes(HsPerfData.fileOf(pid)));
    assertTrue(counters.containsKey("sun.gc.generation.0.space.0.used"), counters.keySet().toString());
    OptionalLong used = HsPerfData.heapUsedBytes(pid);
    long reported = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    assertTrue(used.isPresent() && used.getAsLong() > 0, used.toString());
    // the perf counters are sampled, the MXBean exact: the same order of magnitude is all that is asked
    assertTrue(used.getAsLong() < reported * 4 + (16 << 20), used + " vs " + reported);
  }

  @Test
  void anUnknownPidHasNone() {
    assertTrue(HsPerfData.heapUsedBytes(Long.MAX_VALUE).isEmpty());
  }
}
