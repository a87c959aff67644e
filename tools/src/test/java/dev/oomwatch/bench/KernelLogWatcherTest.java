package dev.oomwatch.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.source.kmsg.KmsgParser;
import dev.oomwatch.source.kmsg.KmsgRecord;
import dev.oomwatch.testing.ProjectFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class KernelLogWatcherTest {
  @Test
  void findsTheKillInTheCapturedSandboxOom() throws Exception {
    List<Map.Entry<String, KernelLogWatcher.Kill>> kills = Files.readAllLines(
            ProjectFiles.agentFixture("kmsg/kmsg-sandbox-oom.txt"), StandardCharsets.ISO_8859_1).stream()
        .map(KmsgParser::parse).flatMap(Optional::stream)
        .map(KernelLogWatcher::killIn).flatMap(Optional::stream)
        .toList();
    assertEquals(1, kills.size(), kills.toString());
    assertEquals("1b2c3d4e-0000-4000-8000-00000000beef", kills.get(0).getKey(), "not 's' of kubepods/");
    KernelLogWatcher.Kill kill = kills.get(0).getValue();
    assertEquals(454076993L, kill.monotonicMicros());
    assertEquals(454076993_000L, kill.monotonicNanos());
    assertEquals("exe", kill.task());
    assertEquals(7932, kill.pid());
    assertEquals("/kubepods/burstable/pod1b2c3d4e-0000-4000-8000-00000000beef/9f8e7d6c5b4a", kill.taskMemcg());
  }

  @Test
  void systemdSlicesGiveTheUidWithDashes() {
    KmsgRecord record = KmsgParser.parse("6,5,100,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=x,"
        + "mems_allowed=0,oom_memcg=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podc9611c80_7e7e.slice,"
        + "task_memcg=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podc9611c80_7e7e.slice/"
        + "cri-containerd-eeee.scope,task=exe,pid=9,uid=65534").orElseThrow();
    assertEquals("c9611c80-7e7e", KernelLogWatcher.killIn(record).orElseThrow().getKey());
  }

  @Test
  void onlyKernelOomKillsInPodCgroupsCount() {
    assertTrue(KernelLogWatcher.killIn(KmsgParser.parse("12,6,100,-;oom-kill:oom_memcg=/kubepods/podX,task=exe")
        .orElseThrow()).isEmpty(), "written by userspace (facility 1)");
    assertTrue(KernelLogWatcher.killIn(KmsgParser.parse("6,7,100,-;oom-kill:constraint=CONSTRAINT_NONE,"
        + "oom_memcg=/,task_memcg=/system.slice/x.service,task=x,pid=1,uid=0").orElseThrow()).isEmpty());
    assertTrue(KernelLogWatcher.killIn(KmsgParser.parse("6,8,100,-;Memory cgroup out of memory: Killed process 1")
        .orElseThrow()).isEmpty());
  }
}
