package dev.oomwatch.testing;

import dev.oomwatch.model.PodRef;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Real kernel log fixtures, rewritten to name a test's own pod, for agents fed from a file. */
public final class KernelLogs {
  /** The pod uid in {@code kmsg/kmsg-sandbox-oom.txt}. */
  public static final String FIXTURE_POD_UID = "1b2c3d4e-0000-4000-8000-00000000beef";
  /** Records in that fixture. */
  public static final int FIXTURE_RECORDS = 92;

  private KernelLogs() {}

  /** Writes the real cgroup v1 sandbox OOM log into {@code dir}, as if it had happened to {@code pod}. */
  public static Path sandboxOomOf(PodRef pod, Path dir) throws IOException {
    String log;
    try (InputStream in = KernelLogs.class.getResourceAsStream("/kmsg/kmsg-sandbox-oom.txt")) {
      log = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    }
    Path file = Files.createTempFile(dir, "kmsg", ".txt");
    Files.writeString(file, log.replace(FIXTURE_POD_UID, pod.uid()), StandardCharsets.ISO_8859_1);
    return file;
  }
}
