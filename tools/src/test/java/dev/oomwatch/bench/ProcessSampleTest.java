package dev.oomwatch.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessSampleTest {
  @Test
  void cpuTicksAreUtimePlusStimeEvenWithParenthesesInTheName() {
    String stat = "4242 (java (agent) x) S 1 4242 4242 0 -1 4194560 30000 0 12 0 1234 567 0 0 20 0 38 0 9000 0 0";
    assertEquals(1234 + 567, ProcessSample.parseCpuTicks(stat));
  }

  @Test
  void readsStatAndStatus(@TempDir Path proc) throws Exception {
    Files.writeString(proc.resolve("stat"), "7 (exe) S 1 7 7 0 -1 0 0 0 0 0 300 100 0 0 20 0 1 0 5 0 0\n");
    Files.writeString(proc.resolve("status"), String.join("\n", "Name:\texe", "VmHWM:\t  130000 kB",
        "VmRSS:\t  120000 kB", "RssAnon:\t   90000 kB", "RssFile:\t   30000 kB", "Threads:\t38", ""));
    ProcessSample sample = ProcessSample.read(proc, 1_000_000_000L);
    assertEquals(new ProcessSample(1_000_000_000L, 400, 120000, 90000, 130000, 38), sample);
    ProcessSample later = new ProcessSample(11_000_000_000L, 450, 120000, 90000, 130000, 38);
    assertEquals(5.0, later.cpuPercentSince(sample), 1e-9, "0.5 s of CPU in 10 s is 5 % of one core");
  }

  @Test
  void readsThisProcess() throws Exception {
    ProcessSample self = ProcessSample.of(ProcessHandle.current().pid());
    assertTrue(self.cpuTicks() > 0 && self.rssKiB() > 0 && self.rssAnonKiB() > 0 && self.threads() > 1, self.toString());
  }
}
