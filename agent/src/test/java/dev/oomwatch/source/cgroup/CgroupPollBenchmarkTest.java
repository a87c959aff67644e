package dev.oomwatch.source.cgroup;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Keeps {@link CgroupPollBenchmark} working; a few polls of a few pods, no time asserted. */
class CgroupPollBenchmarkTest {

  @ParameterizedTest
  @ValueSource(strings = {"v1", "v2"})
  void runs(String tree) throws Exception {
    String report = CgroupPollBenchmark.run(3, 5, tree);
    assertTrue(report.startsWith(tree + " tree, 3 pods (6 cgroups read per poll), 5 polls: "), report);
  }
}
