package dev.oomwatch.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * A HotSpot JVM's performance counters, read from the memory-mapped file it keeps at
 * {@code <tmpdir>/hsperfdata_<user>/<pid>} (what {@code jstat} reads): no attach, no thread and no
 * work in the JVM looked at. The bench uses the heap's used bytes, the sum of every generation's
 * spaces, to bound its allocation windows (see {@link GcLog}). The file's layout is HotSpot's
 * {@code PerfDataPrologue} and {@code PerfDataEntry} ({@code perfMemory.hpp}). Stateless; thread-safe.
 */
final class HsPerfData {
  private static final int MAGIC = 0xcafec0c0;
  private static final Pattern SPACE_USED = Pattern.compile("sun\\.gc\\.generation\\.\\d+\\.space\\.\\d+\\.used");

  private HsPerfData() {}

  /** The perf data file of the JVM {@code pid} run by this user with the default temporary dir. */
  static Path fileOf(long pid) {
    return Path.of(System.getProperty("java.io.tmpdir"), "hsperfdata_" + System.getProperty("user.name"),
        Long.toString(pid));
  }

  /** Used heap bytes of the JVM {@code pid}, or empty when its perf data cannot be read. */
  static OptionalLong heapUsedBytes(long pid) {
    try {
      return heapUsedBytes(longCounters(Files.readAllBytes(fileOf(pid))));
    } catch (IOException | RuntimeException e) {
      return OptionalLong.empty();
    }
  }

  static OptionalLong heapUsedBytes(Map<String, Long> counters) {
    long used = 0;
    boolean found = false;
    for (Map.Entry<String, Long> counter : counters.entrySet()) {
      if (SPACE_USED.matcher(counter.getKey()).matches()) {
        used += counter.getValue();
        found = true;
      }
    }
    return found ? OptionalLong.of(used) : OptionalLong.empty();
  }

  /** Every scalar long counter ({@code 'J'}) in a perf data file, by name. */
  static Map<String, Long> longCounters(byte[] file) {
    ByteBuffer buffer = ByteBuffer.wrap(file).order(ByteOrder.BIG_ENDIAN);
    if (buffer.getInt(0) != MAGIC) {
      throw new IllegalArgumentException("not a hsperfdata file (magic " + Integer.toHexString(buffer.getInt(0)) + ")");
    }
    buffer.order(file[4] == 0 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
    int entryOffset = buffer.getInt(24);
    int entries = buffer.getInt(28);
    Map<String, Long> counters = new HashMap<>();
    int entry = entryOffset;
    for (int i = 0; i < entries && entry + 20 <= file.length; i++) {
      int length = buffer.getInt(entry);
      int nameOffset = buffer.getInt(entry + 4);
      int vectorLength = buffer.getInt(entry + 8);
      byte type = buffer.get(entry + 12);
      int dataOffset = buffer.getInt(entry + 16);
      if (length <= 0) {
        break;
      }
      if (type == 'J' && vectorLength == 0) {
        counters.put(cString(file, entry + nameOffset), buffer.getLong(entry + dataOffset));
      }
      entry += length;
    }
    return counters;
  }

  private static String cString(byte[] bytes, int start) {
    int end = start;
    while (end < bytes.length && bytes[end] != 0) {
      end++;
    }
    return new String(bytes, start, end - start, StandardCharsets.US_ASCII);
  }
}
