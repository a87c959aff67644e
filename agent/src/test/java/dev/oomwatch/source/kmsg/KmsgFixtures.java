package dev.oomwatch.source.kmsg;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;

/**
 * The real kernel logs in {@code src/test/resources/kmsg/} (copied byte for byte from the project's
 * shared fixtures, see the README there), and helpers to feed them to the code under test.
 */
final class KmsgFixtures {

  /** cgroup v1: the host kernel kills a gVisor sentry ({@code exe}, pid 7932) in a pod cgroup. */
  static final String SANDBOX_OOM = "kmsg-sandbox-oom.txt";
  /** cgroup v1: an ordinary process ({@code python3}) killed in a plain memory cgroup. */
  static final String PLAIN_PROCESS_OOM = "kmsg-plain-process-oom.txt";
  /** cgroup v2, Linux 6.1: a whole boot, four sandboxes killed, with dictionary lines. */
  static final String CGROUPV2_BOOT = "kmsg-cgroupv2-kernel6.1-boot.txt";

  static final String BOOT_ID = "0f7c6d2e-1111-4222-8333-444455556666";
  static final Instant BOOTED_AT = Instant.parse("2022-12-19T10:00:00Z");
  /** A fixed conversion: the machine booted at {@link #BOOTED_AT}. */
  static final LongFunction<Instant> WALL_CLOCK = micros -> BOOTED_AT.plus(micros, ChronoUnit.MICROS);

  private KmsgFixtures() {}

  static Path path(String name) {
    try {
      return Path.of(url(name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static String text(String name) {
    try (InputStream in = url(name).openStream()) {
      return new String(in.readAllBytes(), ISO_8859_1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The records, as the device would return them: each record line with its dictionary lines. */
  static List<String> deviceReads(String name) {
    List<String> reads = new ArrayList<>();
    for (String line : text(name).split("\n")) {
      if (line.startsWith(" ") && !reads.isEmpty()) {
        reads.set(reads.size() - 1, reads.get(reads.size() - 1) + line + "\n");
      } else {
        reads.add(line + "\n");
      }
    }
    return reads;
  }

  /** Every record of the fixture, parsed; fails if one does not parse. */
  static List<KmsgRecord> records(String name) {
    List<KmsgRecord> records = new ArrayList<>();
    for (String read : deviceReads(name)) {
      byte[] bytes = read.getBytes(ISO_8859_1);
      records.add(KmsgParser.parse(bytes, 0, bytes.length)
          .orElseThrow(() -> new AssertionError("fixture record does not parse: " + read)));
    }
    return records;
  }

  private static URL url(String name) {
    URL url = KmsgFixtures.class.getResource("/kmsg/" + name);
    if (url == null) {
      throw new IllegalStateException("missing test resource kmsg/" + name);
    }
    return url;
  }
}
