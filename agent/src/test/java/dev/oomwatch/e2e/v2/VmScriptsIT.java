package dev.oomwatch.e2e.v2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.testing.ProjectFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The shell scripts of the cgroup v2 VM test parse, checked in a second instead of a VM boot: the
 * guest's {@code init} and {@code init2} (test resources) and {@code scripts/vm/*.sh}. Untagged, so it
 * runs even with {@code -DexcludedGroups=sandbox}, and Failsafe writes its summary at every run: from
 * 3.3.1 on, an {@code integration-test} that runs no test leaves the previous run's
 * {@code failsafe-summary.xml} in place (SUREFIRE-2124), and {@code verify} would fail the build on a
 * stale failure.
 */
class VmScriptsIT {

  @Test
  void guestScriptsParse() throws Exception {
    for (String script : List.of("init", "init2")) {
      Path copy = Files.createTempFile("oomwatch-vm-" + script, ".sh");
      try (InputStream in = VmScriptsIT.class.getResourceAsStream("/vm/" + script)) {
        assertTrue(in != null, "test resource vm/" + script + " is missing");
        Files.copy(in, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertParses(copy);
      } finally {
        Files.deleteIfExists(copy);
      }
    }
  }

  @Test
  void hostScriptsParse() throws Exception {
    Path dir = ProjectFiles.resolve("scripts/vm");
    for (String script : List.of("kernel.sh", "runtime.sh", "build-initramfs.sh")) {
      assertParses(dir.resolve(script));
    }
  }

  private static void assertParses(Path script) throws IOException, InterruptedException {
    Process check = new ProcessBuilder("bash", "-n", script.toString()).redirectErrorStream(true).start();
    String output = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(check.waitFor(30, TimeUnit.SECONDS), "bash -n " + script + " did not finish");
    assertEquals(0, check.exitValue(), "bash -n " + script + ": " + output);
  }
}
