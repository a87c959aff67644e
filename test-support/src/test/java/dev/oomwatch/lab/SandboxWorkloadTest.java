package dev.oomwatch.lab;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class SandboxWorkloadTest {
  @Test
  void allocationWaitsThenWritesIntoTheDevTmpfs() {
    String command = SandboxWorkload.allocatePastLimit(256, Duration.ofMillis(1500)).shellCommand();

    assertTrue(command.startsWith("/bin/busybox sleep 1.500; "), command);
    assertTrue(command.contains("dd if=/dev/zero of=/dev/hog bs=1M count=256;"), command);
  }

  @Test
  void defaultDelayIsOneSecond() {
    assertTrue(SandboxWorkload.allocatePastLimit(8).shellCommand().startsWith("/bin/busybox sleep 1; "));
  }

  @Test
  void rejectsNothingToAllocate() {
    assertThrows(IllegalArgumentException.class, () -> SandboxWorkload.allocatePastLimit(0));
  }
}
