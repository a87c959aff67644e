package dev.oomwatch.source.runsc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class MemoryCgroupTest {

  /** A real sentry's /proc/<pid>/cgroup on this machine: cgroup v1 with a cgroup2 mount beside it. */
  static final String HYBRID_SENTRY = """
      9:name=systemd:/probe-parent/probe1
      8:pids:/probe-parent/probe1
      7:blkio:/probe-parent/probe1
      6:freezer:/probe-parent/probe1
      5:devices:/probe-parent/probe1
      4:memory:/probe-parent/probe1
      3:cpuset:/probe-parent/probe1
      2:cpuacct:/probe-parent/probe1
      1:cpu:/probe-parent/probe1
      0::/
      """;

  static Stream<Arguments> files() {
    String pod = "/kubepods/burstable/podc9611c80-7e7e-4c28-a30f-6ca723600e4a/aaaa1111bbbb2222";
    return Stream.of(
        Arguments.of(HYBRID_SENTRY,
            Optional.of(new MemoryCgroup(MemoryCgroup.Version.V1, "/probe-parent/probe1"))),
        Arguments.of("0::" + pod + "\n", Optional.of(new MemoryCgroup(MemoryCgroup.Version.V2, pod))),
        // controllers mounted together, in any order
        Arguments.of("3:cpu,memory:/a\n0::/b\n",
            Optional.of(new MemoryCgroup(MemoryCgroup.Version.V1, "/a"))),
        Arguments.of("0::/b\n3:memory,pids:/a\n",
            Optional.of(new MemoryCgroup(MemoryCgroup.Version.V1, "/a"))),
        // a path may hold ':'
        Arguments.of("0::/a:b\n", Optional.of(new MemoryCgroup(MemoryCgroup.Version.V2, "/a:b"))),
        // outside the reader's cgroup namespace
        Arguments.of("0::/../../kubepods.slice/x.scope\n",
            Optional.of(new MemoryCgroup(MemoryCgroup.Version.V2, "/../../kubepods.slice/x.scope"))),
        Arguments.of("4:memoryx:/a\n", Optional.empty()),
        Arguments.of("1:cpu:/a\n", Optional.empty()),
        Arguments.of("1::/a\n", Optional.empty()),
        Arguments.of("x:memory:/a\n", Optional.empty()),
        Arguments.of("4:memory:relative\n", Optional.empty()),
        Arguments.of("garbage", Optional.empty()),
        Arguments.of("", Optional.empty()),
        Arguments.of(null, Optional.empty()));
  }

  @ParameterizedTest
  @MethodSource("files")
  void findsTheMemoryCgroup(String content, Optional<MemoryCgroup> expected) {
    assertEquals(expected, MemoryCgroup.parse(content));
  }
}
