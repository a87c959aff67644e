package dev.oomwatch.e2e.deployed;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the image built from the project's {@code Dockerfile} gives a container, read from its final
 * stage (no container engine runs here, so the image is never built): the {@code ENTRYPOINT} and
 * {@code CMD} (exec form), the {@code ENV}, the {@code USER} and where the packaged jar is copied to.
 * Read from the file, so that the test runs what the image would and a change there reaches it.
 * Immutable.
 */
record DockerImage(List<String> entrypoint, List<String> cmd, Map<String, String> env, Optional<String> user,
    String jarPath) {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern ENV_PAIR = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=(\"(?:[^\"\\\\]|\\\\.)*\"|\\S*)");

  /**
   * Reads the final stage of {@code dockerfile}; {@code jarName} is the packaged jar's file name, which
   * a {@code COPY} of that stage must copy into the image.
   */
  static DockerImage read(Path dockerfile, String jarName) throws IOException {
    List<String> stage = finalStage(instructions(Files.readString(dockerfile)));
    List<String> entrypoint = List.of();
    List<String> cmd = List.of();
    Map<String, String> env = new LinkedHashMap<>();
    Optional<String> user = Optional.empty();
    String jarPath = null;
    for (String instruction : stage) {
      String[] parts = instruction.split("\\s+", 2);
      String keyword = parts[0].toUpperCase(java.util.Locale.ROOT);
      String rest = parts.length > 1 ? parts[1].trim() : "";
      switch (keyword) {
        case "ENTRYPOINT" -> entrypoint = execForm(keyword, rest);
        case "CMD" -> cmd = execForm(keyword, rest);
        case "USER" -> user = Optional.of(rest);
        case "ENV" -> env.putAll(envPairs(rest));
        case "COPY", "ADD" -> {
          List<String> words = new ArrayList<>(List.of(rest.split("\\s+")));
          words.removeIf(w -> w.startsWith("--"));
          if (words.size() == 2 && Path.of(words.get(0)).getFileName().toString().equals(jarName)) {
            String destination = words.get(1);
            jarPath = destination.endsWith("/") ? destination + jarName : destination;
          }
        }
        default -> { }
      }
    }
    if (entrypoint.isEmpty()) {
      throw new AssertionError(dockerfile + ": the final stage has no ENTRYPOINT in exec form");
    }
    if (jarPath == null) {
      throw new AssertionError(dockerfile + ": the final stage copies no " + jarName + " into the image");
    }
    return new DockerImage(entrypoint, cmd, Map.copyOf(env), user, jarPath);
  }

  /** The instructions, continuation lines joined, comments and blank lines dropped. */
  private static List<String> instructions(String dockerfile) {
    List<String> instructions = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : dockerfile.split("\n")) {
      String trimmed = line.strip();
      if (current.isEmpty() && (trimmed.isEmpty() || trimmed.startsWith("#"))) {
        continue;
      }
      if (trimmed.startsWith("#")) {
        continue; // a comment inside a continued instruction
      }
      if (trimmed.endsWith("\\")) {
        current.append(trimmed, 0, trimmed.length() - 1).append(' ');
        continue;
      }
      current.append(trimmed);
      instructions.add(current.toString().strip());
      current.setLength(0);
    }
    if (!current.isEmpty()) {
      instructions.add(current.toString().strip());
    }
    return instructions;
  }

  private static List<String> finalStage(List<String> instructions) {
    int from = -1;
    for (int i = 0; i < instructions.size(); i++) {
      if (instructions.get(i).regionMatches(true, 0, "FROM ", 0, 5)) {
        from = i;
      }
    }
    if (from < 0) {
      throw new AssertionError("the Dockerfile has no FROM");
    }
    return instructions.subList(from + 1, instructions.size());
  }

  private static List<String> execForm(String keyword, String json) {
    try {
      return List.copyOf(JSON.readValue(json, new TypeReference<List<String>>() {}));
    } catch (IOException e) {
      throw new AssertionError(keyword + " is not in exec form (a JSON array): " + json, e);
    }
  }

  private static Map<String, String> envPairs(String text) {
    Map<String, String> pairs = new LinkedHashMap<>();
    Matcher pair = ENV_PAIR.matcher(text);
    while (pair.find()) {
      String value = pair.group(2);
      if (value.startsWith("\"")) {
        value = value.substring(1, value.length() - 1).replaceAll("\\\\(.)", "$1");
      }
      pairs.put(pair.group(1), value);
    }
    if (pairs.isEmpty()) {
      throw new AssertionError("ENV without KEY=value pairs: " + text);
    }
    return pairs;
  }
}
