package dev.oomwatch.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The collections in a JVM's GC log written with {@link #jvmOption}: for each, when it ran and how much
 * heap was used before and after it (the {@code Heap before GC} / {@code Heap after GC} blocks of
 * {@code gc+heap=debug}, summed over the generations, in KiB; the same lines with Serial, Parallel and
 * G1).
 *
 * <p>How allocation is measured from it: heap use only grows by allocation and only shrinks by a
 * collection, so what a JVM allocated between two moments is the used heap at the end, minus the used
 * heap at the start, plus what every collection in between freed ({@code before - after}). The used heap
 * at the two moments comes from the JVM's perf data ({@link HsPerfData}); so a window holding no
 * collection at all is still measured. Stateless; thread-safe.
 */
final class GcLog {
  /** {@code -Xlog} for {@code file}: collections with the heap before and after, wall-clock milliseconds. */
  static String jvmOption(Path file) {
    return "-Xlog:gc,gc+heap=debug:file=" + file + ":timemillis";
  }

  private static final Pattern BLOCK = Pattern.compile("^\\[(\\d+)ms\\].*GC\\((\\d+)\\) Heap ([Bb]efore|[Aa]fter) GC"); // JDK 25 capitalises them
  private static final Pattern GENERATION = Pattern.compile("^\\[\\d+ms\\].*GC\\((\\d+)\\)\\s+\\S.*?\\s+total \\d+K, used (\\d+)K");

  /** One collection: wall-clock time of its start (ms since the epoch) and used heap around it. */
  record Collection(int id, long startedAtMillis, long usedBeforeKiB, long usedAfterKiB) {
    long freedBytes() {
      return Math.max(0, usedBeforeKiB - usedAfterKiB) * 1024;
    }
  }

  private GcLog() {}

  /** The complete collections (before and after both seen) in {@code file}; none if it does not exist. */
  static List<Collection> read(Path file) throws IOException {
    try {
      return parse(Files.readAllLines(file, StandardCharsets.ISO_8859_1));
    } catch (NoSuchFileException e) {
      return List.of();
    }
  }

  static List<Collection> parse(List<String> lines) {
    Map<Integer, long[]> byId = new LinkedHashMap<>(); // id -> {startedAt, before, after, afterSeen}
    int currentId = -1;
    boolean before = false;
    for (String line : lines) {
      Matcher block = BLOCK.matcher(line);
      if (block.find()) {
        currentId = Integer.parseInt(block.group(2));
        before = block.group(3).equalsIgnoreCase("before");
        long[] gc = byId.computeIfAbsent(currentId, id -> new long[] {0, 0, 0, 0});
        if (before) {
          gc[0] = Long.parseLong(block.group(1));
          gc[1] = 0;
        } else {
          gc[2] = 0;
          gc[3] = 1;
        }
        continue;
      }
      Matcher generation = GENERATION.matcher(line);
      if (generation.find() && Integer.parseInt(generation.group(1)) == currentId) {
        long[] gc = byId.get(currentId);
        gc[before ? 1 : 2] += Long.parseLong(generation.group(2));
      }
    }
    List<Collection> collections = new ArrayList<>();
    byId.forEach((id, gc) -> {
      if (gc[3] == 1) {
        collections.add(new Collection(id, gc[0], gc[1], gc[2]));
      }
    });
    return collections;
  }

  /**
   * Bytes allocated between two moments, given the used heap at each and the log's collections:
   * {@code usedEnd - usedStart + freed by the collections that started in [startMillis, endMillis)}.
   * Empty when the used heap at either end is unknown.
   */
  static OptionalLong allocatedBytes(List<Collection> collections, long startMillis, long endMillis,
      OptionalLong usedStart, OptionalLong usedEnd) {
    if (usedStart.isEmpty() || usedEnd.isEmpty()) {
      return OptionalLong.empty();
    }
    long freed = collections.stream()
        .filter(c -> c.startedAtMillis() >= startMillis && c.startedAtMillis() < endMillis)
        .mapToLong(Collection::freedBytes)
        .sum();
    return OptionalLong.of(Math.max(0, usedEnd.getAsLong() - usedStart.getAsLong() + freed));
  }

  static long countIn(List<Collection> collections, long startMillis, long endMillis) {
    return collections.stream().filter(c -> c.startedAtMillis() >= startMillis && c.startedAtMillis() < endMillis)
        .count();
  }
}
