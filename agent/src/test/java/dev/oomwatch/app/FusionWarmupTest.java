package dev.oomwatch.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.inference.FusionSettings;
import dev.oomwatch.inference.IncidentFusion;
import dev.oomwatch.model.GvisorPods;
import dev.oomwatch.model.PodCgroupLocator;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The warm-up runs the path of a real kill (each made-up kill is found, so the code a first kill needs
 * ran) and leaves the agent's own fusion as it was.
 */
class FusionWarmupTest {
  @Test
  void everyMadeUpKillIsFoundAndTheAgentsFusionRemembersNothing() {
    IncidentFusion fusion = new IncidentFusion("node-a", Clock.systemUTC(), new PodCgroupLocator(),
        FusionSettings.forPollInterval(Duration.ofSeconds(1), 0.9, Duration.ofSeconds(30), Duration.ofMinutes(10)));

    assertEquals(FusionWarmup.PASSES, FusionWarmup.run(fusion));

    assertTrue(fusion.tick(GvisorPods.of()).isEmpty());
  }
}
