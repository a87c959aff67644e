package dev.oomwatch.fuzz;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Stream;

/** The real inputs the mutations start from: the project's test fixtures, read once. */
public final class Corpus {

  private Corpus() {}

  /** The test resource directory {@code name} ({@code kmsg}, {@code cgroup}, {@code runsc}). */
  public static Path resourceDir(String name) {
    URL url = Corpus.class.getResource("/" + name);
    if (url == null) {
      throw new IllegalStateException("missing test resources " + name);
    }
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Every file below the resource directory {@code name} that {@code wanted} accepts, by relative path. */
  public static Map<String, byte[]> files(String name, Predicate<Path> wanted) {
    Path root = resourceDir(name);
    Map<String, byte[]> files = new LinkedHashMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path file : walk.filter(Files::isRegularFile).filter(wanted).sorted().toList()) {
        files.put(root.relativize(file).toString(), Files.readAllBytes(file));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (files.isEmpty()) {
      throw new IllegalStateException("no fixtures in " + root);
    }
    return files;
  }

  /** The distinct contents of {@link #files}. */
  public static List<byte[]> distinct(Map<String, byte[]> files) {
    List<byte[]> out = new ArrayList<>();
    for (byte[] content : files.values()) {
      if (out.stream().noneMatch(known -> Arrays.equals(known, content))) {
        out.add(content);
      }
    }
    return out;
  }

  /** The kernel log fixtures. */
  public static final List<String> KMSG_FIXTURES = List.of(
      "kmsg-sandbox-oom.txt", "kmsg-plain-process-oom.txt", "kmsg-cgroupv2-kernel6.1-boot.txt");

  /**
   * The records of a kernel log fixture as the device hands them out, one per read: the record line
   * with its dictionary lines (those starting with a space), each ending in a newline.
   */
  public static List<byte[]> kmsgReads(String fixture) {
    String text;
    try {
      text = new String(Files.readAllBytes(resourceDir("kmsg").resolve(fixture)), ISO_8859_1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> reads = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.startsWith(" ") && !reads.isEmpty()) {
        reads.set(reads.size() - 1, reads.get(reads.size() - 1) + line + "\n");
      } else {
        reads.add(line + "\n");
      }
    }
    return reads.stream().map(r -> r.getBytes(ISO_8859_1)).toList();
  }

  public static List<byte[]> allKmsgReads() {
    List<byte[]> all = new ArrayList<>();
    KMSG_FIXTURES.forEach(f -> all.addAll(kmsgReads(f)));
    return all;
  }
}
