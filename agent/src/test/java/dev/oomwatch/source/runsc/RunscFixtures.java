package dev.oomwatch.source.runsc;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** The real runsc captures in {@code src/test/resources/runsc/} (see the README there). */
final class RunscFixtures {

  /** The v1 capture's sandbox: id, pod uid, sentry and gofer pid, cgroup. */
  static final String V1_SANDBOX_ID = "4a5b6c7d8e9f0a1b";
  static final String V1_POD_UID = "2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d";
  static final long V1_SENTRY_PID = 8679;
  static final long V1_GOFER_PID = 8675;
  static final String V1_CGROUP =
      "/kubepods/burstable/pod2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d/4a5b6c7d8e9f0a1b";
  /** The v2 captures' pod. */
  static final String V2_POD_UID = "c9611c80-7e7e-4c28-a30f-6ca723600e4a";

  static final String STATE_FILE = "cgroupv1/runsc-root-state-file.json";
  static final String LISTING = "cgroupv1/runsc-root-listing.txt";
  static final String STATE_RUNNING = "cgroupv1/runsc-state-running.json";
  static final String STATE_AFTER_OOM = "cgroupv1/runsc-state-after-oom.json";
  static final String EVENTS_STATS = "cgroupv1/runsc-events-stats.json";
  static final String EVENTS_STATS_RUNNING = "cgroupv1/runsc-events-stats-running.json";

  private RunscFixtures() {}

  static byte[] bytes(String name) {
    try (InputStream in = url(name).openStream()) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path path(String name) {
    try {
      return Path.of(url(name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code cgroupv2/<layout>/runsc-state-running.json}. */
  static String v2State(String layout) {
    return "cgroupv2/" + layout + "/runsc-state-running.json";
  }

  private static URL url(String name) {
    URL url = RunscFixtures.class.getResource("/runsc/" + name);
    if (url == null) {
      throw new IllegalStateException("missing test resource runsc/" + name);
    }
    return url;
  }
}
