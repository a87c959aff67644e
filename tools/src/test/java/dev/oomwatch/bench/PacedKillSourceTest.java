package dev.oomwatch.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.PodCgroupLocator;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.testing.Await;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class PacedKillSourceTest {
  @Test
  void emitsEveryKillOfTheStormRoundRobinEachOfANewSandbox() throws Exception {
    List<PodRef> pods = List.of(new PodRef("default", "a", "00000000-0000-0000-0000-00000000000a"),
        new PodRef("default", "b", "00000000-0000-0000-0000-00000000000b"));
    PacedKillSource storm = new PacedKillSource(pods, 6000, Duration.ofSeconds(1), "boot");
    List<Observation> seen = new CopyOnWriteArrayList<>();
    storm.start(seen::add);
    assertEquals(100, storm.planned(), "6,000 a minute for 1 s");
    long started = System.nanoTime();
    storm.fire();
    assertTrue(Await.until(() -> seen.size() == 100, Duration.ofSeconds(30), Duration.ofMillis(20)), seen.size() + "");
    assertTrue(System.nanoTime() - started >= Duration.ofMillis(950).toNanos(), "paced over the second, not a burst");
    List<KernelOomKill> kills = seen.stream().map(KernelOomKill.class::cast).toList();
    PodCgroupLocator locator = new PodCgroupLocator();
    assertEquals(List.of(pods.get(0).uid(), pods.get(1).uid()),
        kills.subList(0, 2).stream().map(k -> locator.podUid(k.taskMemcg()).orElseThrow()).toList());
    Set<String> sandboxes = kills.stream().map(k -> locator.sandboxId(k.taskMemcg()).orElseThrow())
        .collect(Collectors.toSet());
    assertEquals(100, sandboxes.size(), "each kill is of a sandbox of its own");
    assertTrue(kills.stream().allMatch(k -> k.task().equals("exe") && k.uid() == 65534
        && k.oomMemcg().orElseThrow().equals("/kubepods/burstable/pod" + locator.podUid(k.taskMemcg()).orElseThrow())));
    assertEquals(100, storm.emitted());
  }
}
