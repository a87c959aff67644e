package dev.oomwatch.source.runsc;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Parses a runsc state file ({@code <cid>_sandbox:<sid>.state} in the runsc root dir; see the fixture
 * {@code runsc-root-state-file.json}), and, defensively, the shorter JSON {@code runsc state} prints
 * (top-level {@code pid} and {@code annotations}), which is all some captures have.
 *
 * <p>runsc rewrites these files in place (truncate, then write), so a reader can see an empty or cut
 * off file: anything that is not one complete JSON object naming this container gives
 * {@link Unusable} (read it again later), never an exception. Unknown fields are ignored; input over
 * {@link #MAX_BYTES} is refused unparsed. Where runsc keeps the cgroup:
 *
 * <ul>
 *   <li>{@code sandbox.cgroup.cgroupv1.name} on cgroup v1;
 *   <li>{@code sandbox.cgroup.cgroupv2.path} on cgroup v2 with cgroupfs, except that with the
 *       {@code dev.gvisor.spec.cgroup-parent} annotation the processes sit in the child cgroup
 *       {@code compatCgroup.cgroupv2.path} (a v2 cgroup with children may not hold processes);
 *   <li>{@code sandbox.cgroup.cgroupsystemd.path} with the systemd driver (runsc rewrites it from
 *       {@code slice:prefix:name} to the unit's path).
 * </ul>
 *
 * Stateless and thread-safe.
 */
final class RunscStateFileParser {

  /** Larger input is refused: a real state file is a few KiB (the OCI spec is most of it). */
  static final int MAX_BYTES = 1024 * 1024;
  /** Linux's largest pid ({@code PID_MAX_LIMIT} on 64-bit). */
  static final long PID_MAX = 4L * 1024 * 1024;

  static final String CONTAINER_TYPE = "io.kubernetes.cri.container-type";
  static final String CONTAINER_NAME = "io.kubernetes.cri.container-name";
  static final String SANDBOX_ID = "io.kubernetes.cri.sandbox-id";
  static final String SANDBOX_UID = "io.kubernetes.cri.sandbox-uid";
  static final String SANDBOX_NAME = "io.kubernetes.cri.sandbox-name";
  static final String SANDBOX_NAMESPACE = "io.kubernetes.cri.sandbox-namespace";

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();

  /** What came of parsing one file. */
  sealed interface Outcome permits Parsed, Unusable {}

  /** The file was complete. */
  record Parsed(RunscStateFile file) implements Outcome {}

  /** The file was empty, cut off, not JSON, not a state file, or too large: {@code reason}. */
  record Unusable(String reason) implements Outcome {}

  private RunscStateFileParser() {}

  /** Parses {@code bytes}, the content of the state file called {@code name}. Never throws. */
  static Outcome parse(StateFileName name, byte[] bytes) {
    if (bytes == null || bytes.length == 0) {
      return new Unusable("empty");
    }
    if (bytes.length > MAX_BYTES) {
      return new Unusable("larger than " + MAX_BYTES + " bytes");
    }
    JsonNode root;
    try {
      root = JSON.readTree(bytes);
    } catch (JacksonException e) {
      return new Unusable("not complete JSON: " + firstLine(e.getOriginalMessage()));
    } catch (IOException | RuntimeException e) {
      return new Unusable("not readable as JSON: " + e.getClass().getSimpleName());
    }
    if (root == null || !root.isObject()) {
      return new Unusable("not a JSON object");
    }
    try {
      return interpret(name, root);
    } catch (RuntimeException e) {
      // Defensive: the tree walk below does not throw, but no input may ever break the poller.
      return new Unusable("unexpected shape: " + e);
    }
  }

  private static Outcome interpret(StateFileName name, JsonNode root) {
    Optional<String> id = text(root.get("id"));
    if (id.isEmpty()) {
      return new Unusable("no container id");
    }
    if (!id.get().equals(name.containerId())) {
      return new Unusable("names container " + id.get() + ", not " + name.containerId());
    }
    JsonNode sandbox = root.get("sandbox");
    boolean stateFileShape = sandbox != null && sandbox.isObject();
    if (!stateFileShape && !root.has("pid")) {
      return new Unusable("neither a sandbox nor a pid: not a runsc state");
    }
    if (stateFileShape) {
      Optional<String> sandboxId = text(sandbox.get("id"));
      if (sandboxId.isPresent() && !sandboxId.get().equals(name.sandboxId())) {
        return new Unusable("names sandbox " + sandboxId.get() + ", not " + name.sandboxId());
      }
    }
    JsonNode annotations = stateFileShape
        ? path(root, "spec", "annotations")
        : root.get("annotations");
    Map<String, String> notes = annotations(annotations);
    RunscStateFile.Kind kind = kind(notes.get(CONTAINER_TYPE), name);
    OptionalLong sentryPid = pid(stateFileShape ? sandbox.get("pid") : root.get("pid"));
    OptionalLong goferPid = pid(root.get("goferPid"));
    Optional<String> cgroup = stateFileShape
        ? cgroupPath(sandbox.get("cgroup"), root.get("compatCgroup"))
        : Optional.empty();
    return new Parsed(new RunscStateFile(
        name.containerId(),
        name.sandboxId(),
        kind,
        kind == RunscStateFile.Kind.CONTAINER ? nonBlank(notes.get(CONTAINER_NAME)) : Optional.empty(),
        nonBlank(notes.get(SANDBOX_ID)),
        nonBlank(notes.get(SANDBOX_UID)),
        nonBlank(notes.get(SANDBOX_NAME)),
        nonBlank(notes.get(SANDBOX_NAMESPACE)),
        text(root.get("status")).orElse(""),
        sentryPid,
        goferPid,
        cgroup));
  }

  private static RunscStateFile.Kind kind(String containerType, StateFileName name) {
    if ("sandbox".equals(containerType)) {
      return RunscStateFile.Kind.SANDBOX;
    }
    if ("container".equals(containerType)) {
      return RunscStateFile.Kind.CONTAINER;
    }
    // Not started by containerd's CRI plugin: runsc's root container is the sandbox.
    return name.containerId().equals(name.sandboxId())
        ? RunscStateFile.Kind.SANDBOX
        : RunscStateFile.Kind.CONTAINER;
  }

  /** The cgroup the processes are in, from runsc's {@code CgroupJSON} of the sandbox. */
  private static Optional<String> cgroupPath(JsonNode cgroup, JsonNode compat) {
    if (cgroup == null || !cgroup.isObject()) {
      return Optional.empty();
    }
    Optional<String> v1 = text(path(cgroup, "cgroupv1", "name"));
    if (v1.isPresent()) {
      return v1;
    }
    Optional<String> v2 = text(path(cgroup, "cgroupv2", "path"));
    if (v2.isPresent()) {
      Optional<String> child = compat == null ? Optional.empty()
          : text(path(compat, "cgroupv2", "path"));
      return child.isPresent() ? child : v2;
    }
    Optional<String> systemd = text(path(cgroup, "cgroupsystemd", "path"));
    if (systemd.isPresent()) {
      return systemd;
    }
    // A shape of a runsc version not known here: take the one member's path or name, if any.
    for (Map.Entry<String, JsonNode> member : cgroup.properties()) {
      JsonNode value = member.getValue();
      if (value != null && value.isObject()) {
        Optional<String> found = text(value.get("path")).or(() -> text(value.get("name")));
        if (found.isPresent()) {
          return found;
        }
      }
    }
    return Optional.empty();
  }

  private static Map<String, String> annotations(JsonNode node) {
    if (node == null || !node.isObject()) {
      return Map.of();
    }
    Map<String, String> notes = new HashMap<>();
    for (Map.Entry<String, JsonNode> member : node.properties()) {
      if (member.getValue().isTextual()) {
        notes.put(member.getKey(), member.getValue().textValue());
      }
    }
    return notes;
  }

  private static OptionalLong pid(JsonNode node) {
    if (node == null || !node.isIntegralNumber() || !node.canConvertToLong()) {
      return OptionalLong.empty();
    }
    long pid = node.longValue();
    return pid > 0 && pid <= PID_MAX ? OptionalLong.of(pid) : OptionalLong.empty();
  }

  private static JsonNode path(JsonNode node, String... names) {
    JsonNode current = node;
    for (String name : names) {
      if (current == null || !current.isObject()) {
        return null;
      }
      current = current.get(name);
    }
    return current;
  }

  private static Optional<String> text(JsonNode node) {
    return node != null && node.isTextual() ? nonBlank(node.textValue()) : Optional.empty();
  }

  private static Optional<String> nonBlank(String value) {
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(value);
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    int newline = message.indexOf('\n');
    String line = newline < 0 ? message : message.substring(0, newline);
    return line.length() > 200 ? line.substring(0, 200) : line;
  }
}
