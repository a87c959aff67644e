package dev.oomwatch.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class MemoryScopeTest {
  @Test
  void eachScopeReadsBackFromTheTextTheIncidentShows() {
    for (MemoryScope scope : new MemoryScope[] {MemoryScope.NODE, MemoryScope.UNKNOWN,
        MemoryScope.cgroup("/kubepods/burstable/pod1b2c3d4e-0000-4000-8000-00000000beef")}) {
      assertEquals(scope, MemoryScope.parse(scope.text()));
    }
  }

  @Test
  void theKernelsRootCgroupIsTheNodeAndAMissingFieldIsUnknown() {
    assertEquals(MemoryScope.NODE, MemoryScope.parse("/"));
    assertEquals(MemoryScope.UNKNOWN, MemoryScope.parse(null));
    assertEquals(MemoryScope.UNKNOWN, MemoryScope.parse(""));
  }

  @Test
  void onlyACgroupScopeCarriesAPath() {
    assertThrows(IllegalArgumentException.class, () -> new MemoryScope(MemoryScope.Kind.NODE, Optional.of("/x")));
    assertThrows(IllegalArgumentException.class, () -> new MemoryScope(MemoryScope.Kind.CGROUP, Optional.empty()));
  }
}
