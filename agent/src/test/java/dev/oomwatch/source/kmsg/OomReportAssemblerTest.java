package dev.oomwatch.source.kmsg;

import static dev.oomwatch.source.kmsg.KmsgFixtures.BOOT_ID;
import static dev.oomwatch.source.kmsg.KmsgFixtures.WALL_CLOCK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.KernelOomKill;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The assembler's states on made-up logs; see {@link OomReportAssemblerFixturesTest} for real ones. */
class OomReportAssemblerTest {

  private static final String INVOKED =
      "exe invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0";
  private static final String MEMORY_64_MIB = "memory: usage 65536kB, limit 65536kB, failcnt 40";
  private static final String MEMORY_32_MIB = "memory: usage 32768kB, limit 32768kB, failcnt 1";

  private final OomReportAssembler assembler = new OomReportAssembler(BOOT_ID, WALL_CLOCK);
  private final List<KernelOomKill> released = new ArrayList<>();
  private long nextSequence = 100;

  private static String summary(String podSandbox, int pid) {
    return "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=s,mems_allowed=0,"
        + "oom_memcg=/kubepods/" + podSandbox.split("/")[0] + ",task_memcg=/kubepods/" + podSandbox
        + ",task=exe,pid=" + pid + ",uid=65534";
  }

  private static String killed(int pid, int anonRssKib) {
    return "Memory cgroup out of memory: Killed process " + pid + " (exe) total-vm:1790264kB, "
        + "anon-rss:" + anonRssKib + "kB, file-rss:19584kB, shmem-rss:276kB, UID:65534 "
        + "pgtables:176kB oom_score_adj:0";
  }

  /** Feeds the kernel's next record; returns the kill it released. */
  private Optional<KernelOomKill> kernel(String text) {
    return feed(0, text);
  }

  /** Feeds a record userspace wrote into /dev/kmsg (facility LOG_USER). */
  private Optional<KernelOomKill> user(String text) {
    return feed(1, text);
  }

  private Optional<KernelOomKill> feed(int facility, String text) {
    long sequence = nextSequence++;
    Optional<KernelOomKill> kill =
        assembler.accept(new KmsgRecord(6, facility, sequence, 1000 + sequence * 10, '-', text));
    kill.ifPresent(released::add);
    return kill;
  }

  private void report(String podSandbox, int pid, String memoryLine) {
    kernel(INVOKED);
    kernel("CPU: 1 UID: 65534 PID: " + pid + " Comm: exe Not tainted 6.18.44 #1");
    kernel(memoryLine);
    kernel("Tasks state (memory values in pages):");
    kernel(summary(podSandbox, pid));
  }

  @Test
  void aKillWaitsForItsKilledProcessRecord() {
    report("pod-a/sandbox-a", 7932, MEMORY_64_MIB);
    assertEquals(OptionalLong.of(104), assembler.pendingSequence());
    assertTrue(released.isEmpty());

    KernelOomKill kill = kernel(killed(7932, 5376)).orElseThrow();

    assertEquals("/kubepods/pod-a/sandbox-a", kill.taskMemcg());
    assertEquals(Optional.of("/kubepods/pod-a"), kill.oomMemcg());
    assertEquals(OptionalLong.of(67108864), kill.limitBytes());
    assertEquals(OptionalLong.of(5376L * 1024), kill.anonRssBytes());
    assertEquals(104, kill.sequence());
    assertEquals(WALL_CLOCK.apply(kill.monotonicMicros()), kill.killedAt());
    assertEquals(OptionalLong.empty(), assembler.pendingSequence());
    assertEquals(Optional.empty(), assembler.flushPending());
  }

  @Test
  void withoutAKilledProcessRecordTheFlushReleasesTheKillOnce() {
    report("pod-a/sandbox-a", 7932, MEMORY_64_MIB);

    KernelOomKill kill = assembler.flushPending().orElseThrow();

    assertEquals(OptionalLong.of(67108864), kill.limitBytes());
    assertEquals(OptionalLong.empty(), kill.anonRssBytes());
    assertEquals(Optional.empty(), assembler.flushPending());
    assertEquals(Optional.empty(), kernel(killed(7932, 5376)), "a late Killed process record");
    assertTrue(released.isEmpty());
  }

  @Test
  void anyOtherRecordReleasesTheKillAsItIs() {
    report("pod-a/sandbox-a", 7932, MEMORY_64_MIB);

    KernelOomKill kill = kernel("oom_reaper: reaped process 7932 (exe), now anon-rss:0kB").orElseThrow();

    assertEquals(OptionalLong.empty(), kill.anonRssBytes());
    assertEquals(Optional.empty(), kernel(killed(7932, 5376)));
    assertEquals(Optional.empty(), assembler.flushPending());
    assertEquals(List.of(kill), released);
  }

  @Test
  void aKilledProcessRecordOfAnotherPidReleasesTheKillAsItIs() {
    report("pod-a/sandbox-a", 7932, MEMORY_64_MIB);

    KernelOomKill kill = kernel(killed(7933, 100)).orElseThrow();

    assertEquals(7932, kill.pid());
    assertEquals(OptionalLong.empty(), kill.anonRssBytes());
  }

  @Test
  void furtherKilledProcessRecordsOfTheSameReportAreIgnored() {
    report("pod-a/sandbox-a", 7932, MEMORY_64_MIB);
    kernel(killed(7932, 5376)).orElseThrow();
    // memory.oom.group: the kernel then kills the cgroup's other tasks
    kernel("Tasks in /kubepods/pod-a are going to be killed due to memory.oom.group set");
    kernel(killed(7952, 0));
    assertEquals(1, released.size());
    assertEquals(Optional.empty(), assembler.flushPending());
  }

  @Test
  void unrelatedRecordsInsideTheReportChangeNothing() {
    kernel(INVOKED);
    user("systemd[1]: Started something.");
    kernel("eth0: link up");
    kernel(MEMORY_64_MIB);
    kernel("memory+swap: usage 65536kB, limit 9007199254740988kB, failcnt 0");
    user(MEMORY_32_MIB);
    kernel(MEMORY_32_MIB);
    kernel(summary("pod-a/sandbox-a", 7932));

    KernelOomKill kill = kernel(killed(7932, 5376)).orElseThrow();

    assertEquals(OptionalLong.of(67108864), kill.limitBytes(), "the report's first memory line");
    assertEquals(OptionalLong.of(5376L * 1024), kill.anonRssBytes());
  }

  @Test
  void twoReportsBackToBack() {
    report("pod-a/sandbox-a", 10, MEMORY_64_MIB);
    kernel(killed(10, 1));
    report("pod-b/sandbox-b", 20, MEMORY_32_MIB);
    kernel(killed(20, 2));

    assertEquals(2, released.size());
    assertEquals("/kubepods/pod-a/sandbox-a", released.get(0).taskMemcg());
    assertEquals(OptionalLong.of(64L << 20), released.get(0).limitBytes());
    assertEquals("/kubepods/pod-b/sandbox-b", released.get(1).taskMemcg());
    assertEquals(OptionalLong.of(32L << 20), released.get(1).limitBytes());
  }

  @Test
  void theNextReportReleasesAKillThatHadNoKilledProcessRecord() {
    report("pod-a/sandbox-a", 10, MEMORY_64_MIB);
    KernelOomKill first = kernel(INVOKED).orElseThrow();
    kernel(MEMORY_32_MIB);
    kernel(summary("pod-b/sandbox-b", 20));
    KernelOomKill second = kernel(killed(20, 2)).orElseThrow();

    assertEquals(10, first.pid());
    assertEquals(OptionalLong.of(64L << 20), first.limitBytes());
    assertEquals(20, second.pid());
    assertEquals(OptionalLong.of(32L << 20), second.limitBytes());
    assertEquals(List.of(first, second), released);
  }

  @Test
  void twoSummariesInARowReleaseTheFirst() {
    report("pod-a/sandbox-a", 10, MEMORY_64_MIB);
    KernelOomKill first = kernel(summary("pod-b/sandbox-b", 20)).orElseThrow();
    assertEquals(10, first.pid());
    assertEquals(OptionalLong.empty(), assembler.flushPending().orElseThrow().limitBytes(),
        "the second summary had no report of its own");
  }

  @Test
  void aMemoryLineFromBeforeTheReportIsNotTaken() {
    kernel(MEMORY_64_MIB);
    kernel(summary("pod-a/sandbox-a", 10));
    assertEquals(OptionalLong.empty(), kernel(killed(10, 1)).orElseThrow().limitBytes());

    kernel(INVOKED);
    kernel("Mem-Info:");
    kernel(summary("pod-b/sandbox-b", 20));
    kernel(MEMORY_32_MIB);
    assertEquals(OptionalLong.empty(), released.get(1).limitBytes(), "a memory line after the summary");
  }

  @Test
  void aNodeWideOom() {
    kernel("kworker/u4:1 invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), "
        + "order=0, oom_score_adj=0");
    kernel("Mem-Info:");
    kernel("active_anon:1 inactive_anon:2 isolated_anon:0");
    kernel("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
        + "task_memcg=/kubepods/burstable/pod-a/sandbox-a,task=exe,pid=4242,uid=65534");
    KernelOomKill kill = kernel("Out of memory: Killed process 4242 (exe) total-vm:1790264kB, "
        + "anon-rss:2048kB, file-rss:0kB, shmem-rss:0kB, UID:65534 pgtables:176kB oom_score_adj:0")
        .orElseThrow();

    assertEquals("CONSTRAINT_NONE", kill.constraint());
    assertEquals(Optional.empty(), kill.oomMemcg());
    assertEquals("/kubepods/burstable/pod-a/sandbox-a", kill.taskMemcg());
    assertEquals(OptionalLong.empty(), kill.limitBytes());
    assertEquals(OptionalLong.of(2048L * 1024), kill.anonRssBytes());
  }

  @Test
  void userspaceCannotForgeAKill() {
    user(INVOKED);
    user(MEMORY_64_MIB);
    user(summary("pod-a/sandbox-a", 10));
    user(killed(10, 1));
    assertEquals(OptionalLong.empty(), assembler.pendingSequence());
    assertEquals(Optional.empty(), assembler.flushPending());
    assertTrue(released.isEmpty());
  }

  @Test
  void aMalformedSummaryIsCountedAndOtherwiseIgnored() {
    report("pod-a/sandbox-a", 10, MEMORY_64_MIB);
    KernelOomKill held = kernel("oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/p/s,task=exe,"
        + "pid=notanumber,uid=65534").orElseThrow();
    assertEquals(10, held.pid(), "the malformed record released the kill held before it");
    assertEquals(1, assembler.malformedSummaries());
    assertEquals(OptionalLong.empty(), assembler.pendingSequence());

    report("pod-b/sandbox-b", 20, MEMORY_32_MIB);
    assertEquals(20, kernel(killed(20, 2)).orElseThrow().pid());
    assertEquals(1, assembler.malformedSummaries());
  }

  @Test
  void aGapInTheSequenceForgetsTheReport() {
    kernel(INVOKED);
    kernel(MEMORY_64_MIB);
    nextSequence += 5;
    kernel(summary("pod-a/sandbox-a", 10));
    assertEquals(OptionalLong.empty(), kernel(killed(10, 1)).orElseThrow().limitBytes());
  }

  @Test
  void aGapInTheSequenceReleasesAHeldKill() {
    report("pod-a/sandbox-a", 10, MEMORY_64_MIB);
    nextSequence += 5;
    KernelOomKill kill = kernel(killed(10, 1)).orElseThrow();
    assertEquals(OptionalLong.empty(), kill.anonRssBytes(), "records are missing in between");
    assertEquals(List.of(kill), released);
  }

  @Test
  void readingTheLogAgainFromItsStartReleasesAHeldKillAndFindsItAgain() {
    long start = nextSequence;
    report("pod-a/sandbox-a", 10, MEMORY_64_MIB);
    nextSequence = start;
    KernelOomKill first = kernel(INVOKED).orElseThrow();
    kernel("CPU: 1 UID: 65534 PID: 10 Comm: exe Not tainted 6.18.44 #1");
    kernel(MEMORY_64_MIB);
    kernel("Tasks state (memory values in pages):");
    kernel(summary("pod-a/sandbox-a", 10));
    KernelOomKill again = kernel(killed(10, 1)).orElseThrow();

    assertEquals(first.sequence(), again.sequence());
    assertEquals(OptionalLong.of(64L << 20), again.limitBytes());
  }
}
