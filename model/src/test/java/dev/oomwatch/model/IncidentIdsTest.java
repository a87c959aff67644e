package dev.oomwatch.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class IncidentIdsTest {
  private static final PodRef POD = new PodRef("default", "oom-demo", "2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d");

  @Test
  void sameKillSameNameAcrossCalls() {
    assertEquals(IncidentIds.forKill("boot-1", POD, 7932), IncidentIds.forKill("boot-1", POD, 7932));
  }

  @Test
  void anotherPidBootOrPodGivesAnotherName() {
    String name = IncidentIds.forKill("boot-1", POD, 7932);
    assertNotEquals(name, IncidentIds.forKill("boot-1", POD, 7933));
    assertNotEquals(name, IncidentIds.forKill("boot-2", POD, 7932));
    assertNotEquals(name, IncidentIds.forKill("boot-1", new PodRef("default", "oom-demo", "other-uid"), 7932));
  }

  @Test
  void nameIsAValidResourceNameEvenForLongPodNames() {
    String longName = "a".repeat(39) + "-" + "b".repeat(200);
    String name = IncidentIds.forKill("boot", new PodRef("ns", longName, "uid"), 1);
    assertTrue(name.matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?"), name);
    assertTrue(name.length() <= 63, name);
    assertTrue(name.startsWith("a".repeat(39) + "-oom-"), name);
  }

  @Test
  void byteSizesReadLikeKubernetesQuantities() {
    assertEquals("64Mi", ByteSizes.quantity(67108864));
    assertEquals("1536Mi", ByteSizes.quantity(1536L * 1024 * 1024));
    assertEquals("2Gi", ByteSizes.quantity(2L << 30));
    assertEquals("1000", ByteSizes.quantity(1000));
    assertEquals("5376Ki", ByteSizes.quantity(5376 * 1024));
  }
}
