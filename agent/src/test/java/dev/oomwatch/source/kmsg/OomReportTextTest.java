package dev.oomwatch.source.kmsg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class OomReportTextTest {

  private static final String POD = "/kubepods/burstable/pod1b2c3d4e-0000-4000-8000-00000000beef";

  static Stream<Arguments> summaries() {
    return Stream.of(
        Arguments.of("memcg OOM, as Linux 6.18 logs it",
            "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=9f8e7d6c5b4a,mems_allowed=0,"
                + "oom_memcg=" + POD + ",task_memcg=" + POD + "/9f8e7d6c5b4a,task=exe,pid=7932,uid=65534",
            new OomSummary("CONSTRAINT_MEMCG", Optional.of(POD), POD + "/9f8e7d6c5b4a", "exe", 7932, 65534)),
        Arguments.of("node-wide OOM: global_oom is a bare flag and there is no oom_memcg",
            "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
                + "task_memcg=" + POD + "/9f8e7d6c5b4a,task=exe,pid=7932,uid=65534",
            new OomSummary("CONSTRAINT_NONE", Optional.empty(), POD + "/9f8e7d6c5b4a", "exe", 7932, 65534)),
        Arguments.of("keys in another order, unknown keys, no cpuset",
            "oom-kill:task=exe,uid=0,pid=1,future_key=whatever,task_memcg=/a,constraint=CONSTRAINT_MEMCG,"
                + "oom_memcg=/",
            new OomSummary("CONSTRAINT_MEMCG", Optional.of("/"), "/a", "exe", 1, 0)),
        Arguments.of("NUMA node lists contain commas",
            "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=0-1,3,cpuset=/,mems_allowed=0,2-3,oom_memcg=/p,"
                + "task_memcg=/p/s,task=exe,pid=42,uid=65534",
            new OomSummary("CONSTRAINT_MEMCG", Optional.of("/p"), "/p/s", "exe", 42, 65534)),
        Arguments.of("a comma in a cgroup path and in the task name",
            "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,b,task_memcg=/a,b/c,task=x,y,pid=5,uid=1",
            new OomSummary("CONSTRAINT_MEMCG", Optional.of("/a,b"), "/a,b/c", "x,y", 5, 1)),
        Arguments.of("a uid from 2^31 up, printed with %d",
            "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/p,task_memcg=/p/s,task=exe,pid=5,uid=-2",
            new OomSummary("CONSTRAINT_MEMCG", Optional.of("/p"), "/p/s", "exe", 5, -2)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("summaries")
  void parsesSummaries(String what, String text, OomSummary expected) {
    assertTrue(OomReportText.looksLikeSummary(text));
    assertEquals(Optional.of(expected), OomReportText.parseSummary(text));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "oom-kill:",
      "oom-kill:garbage",
      "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/p/s,task=exe,pid=x7932,uid=65534",
      "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/p/s,task=exe,pid=,uid=65534",
      "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/p/s,task=exe,pid=-7932,uid=65534",
      "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/p/s,task=exe,pid=0,uid=65534",
      "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/p/s,task=exe,pid=2147483648,uid=65534",
      "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/p/s,task=exe,pid=99999999999999999999,uid=0",
      "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/p/s,task=exe,pid=7932,uid=4294967294",
      "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/p/s,task=exe,pid=7932,uid=--1",
      "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/p/s,task=exe,pid=7932",
      "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/p/s,pid=7932,uid=0",
      "oom-kill:constraint=CONSTRAINT_MEMCG,task=exe,pid=7932,uid=0",
      "oom-kill:task_memcg=/p/s,task=exe,pid=7932,uid=0",
      "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=,task=exe,pid=7932,uid=0",
      "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=,task_memcg=/p/s,task=exe,pid=7932,uid=0",
      "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/p/s,task=exe,pid=7932,pid=7933,uid=0",
      "oom-kill:,constraint=CONSTRAINT_MEMCG,task_memcg=/p/s,task=exe,pid=7932,uid=0",
  })
  void rejectsMalformedSummaries(String text) {
    assertEquals(Optional.empty(), OomReportText.parseSummary(text));
  }

  @Test
  void onlyOomKillRecordsLookLikeSummaries() {
    assertFalse(OomReportText.looksLikeSummary("Memory cgroup out of memory: Killed process 1 (x)"));
    assertFalse(OomReportText.looksLikeSummary(" oom-kill:constraint=CONSTRAINT_MEMCG"));
    assertEquals(Optional.empty(), OomReportText.parseSummary("oom_reaper: reaped process 7932 (exe)"));
  }

  static Stream<Arguments> killedProcesses() {
    return Stream.of(
        Arguments.of("Memory cgroup out of memory: Killed process 7932 (exe) total-vm:1790264kB, "
                + "anon-rss:5376kB, file-rss:19584kB, shmem-rss:276kB, UID:65534 pgtables:176kB "
                + "oom_score_adj:0",
            Optional.of(new KilledProcess(7932, OptionalLong.of(5376L * 1024)))),
        Arguments.of("Out of memory: Killed process 2234 (python3) total-vm:221368kB, anon-rss:50788kB, "
                + "file-rss:6096kB, shmem-rss:0kB, UID:0 pgtables:164kB oom_score_adj:0",
            Optional.of(new KilledProcess(2234, OptionalLong.of(50788L * 1024)))),
        Arguments.of("Out of memory (oom_kill_allocating_task): Killed process 12 (a b) anon-rss:0kB",
            Optional.of(new KilledProcess(12, OptionalLong.of(0)))),
        Arguments.of("Memory cgroup out of memory: Killed process 7932 (exe) total-vm:1kB",
            Optional.of(new KilledProcess(7932, OptionalLong.empty()))),
        Arguments.of("Memory cgroup out of memory: Killed process 7932 (exe) anon-rss:12MB",
            Optional.of(new KilledProcess(7932, OptionalLong.empty()))),
        Arguments.of("Memory cgroup out of memory: Killed process 7 (exe) anon-rss:99999999999999999kB",
            Optional.of(new KilledProcess(7, OptionalLong.empty()))),
        Arguments.of("Memory cgroup out of memory: Killed process x (exe)", Optional.empty()),
        Arguments.of("Memory cgroup out of memory: Killed process 99999999999 (exe)", Optional.empty()),
        Arguments.of("oom_reaper: reaped process 7932 (exe), now anon-rss:0kB", Optional.empty()));
  }

  @ParameterizedTest
  @MethodSource("killedProcesses")
  void parsesKilledProcessRecords(String text, Optional<KilledProcess> expected) {
    assertEquals(expected, OomReportText.parseKilledProcess(text));
  }

  static Stream<Arguments> memoryLines() {
    return Stream.of(
        Arguments.of("memory: usage 65536kB, limit 65536kB, failcnt 40", OptionalLong.of(67108864)),
        Arguments.of("memory: usage 65536kB, limit 9007199254740988kB, failcnt 0",
            OptionalLong.of(9007199254740988L * 1024)),
        Arguments.of("memory: usage 1kB, limit 9007199254740992kB, failcnt 0", OptionalLong.empty()),
        Arguments.of("memory+swap: usage 65536kB, limit 65536kB, failcnt 0", OptionalLong.empty()),
        Arguments.of("kmem: usage 2000kB, limit 9007199254740988kB, failcnt 0", OptionalLong.empty()),
        Arguments.of("memory: usage 65536kB, limit kB, failcnt 40", OptionalLong.empty()),
        Arguments.of("memory: usage 65536kB", OptionalLong.empty()));
  }

  @ParameterizedTest
  @MethodSource("memoryLines")
  void readsTheLimitOfTheMemoryLine(String text, OptionalLong expected) {
    assertEquals(expected, OomReportText.memoryLimitBytes(text));
  }

  @Test
  void recognisesTheStartOfAReport() {
    assertTrue(OomReportText.startsReport(
        "exe invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0"));
    assertFalse(OomReportText.startsReport("oom-kill:constraint=CONSTRAINT_MEMCG"));
  }
}
