package dev.oomwatch.app;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Resolves {@link AgentConfig} from, in increasing precedence: defaults, the YAML file given with
 * {@code --config}, the environment ({@code NODE_NAME}, {@code KUBECONFIG}, and {@code OOMWATCH_<KEY>}
 * for every key, e.g. {@code OOMWATCH_CGROUP_ROOT}), and flags. Every problem is reported at once with a
 * message a user can act on, as a {@link ConfigException}. Stateless and thread-safe.
 */
public final class ConfigLoader {
  /** The YAML keys, in the order the README documents them. */
  public static final List<String> KEYS = List.of("nodeName", "kubeconfig", "cgroupRoot", "cgroupPollInterval",
      "cgroupNotify", "kmsg", "bootIdPath", "procRoot", "runscRoot", "runscPollInterval", "runscMetricsUrl", "runscBinary", "runtimeHandler",
      "httpPort", "pendingCapacity", "incidentWritesPerSecond", "incidentTtl", "nearOomShare", "nearOomFor",
      "nearOomRepeat");
  private static final Map<String, String> DEFAULTS = Map.ofEntries(
      Map.entry("cgroupRoot", "/sys/fs/cgroup"),
      Map.entry("cgroupPollInterval", "1s"),
      Map.entry("cgroupNotify", "auto"),
      Map.entry("kmsg", "/dev/kmsg"),
      Map.entry("bootIdPath", "/proc/sys/kernel/random/boot_id"),
      Map.entry("procRoot", "/proc"),
      Map.entry("runscRoot", "/run/containerd/runsc/k8s.io"),
      Map.entry("runscPollInterval", "1s"),
      Map.entry("runtimeHandler", "runsc"),
      Map.entry("httpPort", "9464"),
      Map.entry("pendingCapacity", "10000"),
      Map.entry("incidentWritesPerSecond", "20"),
      Map.entry("incidentTtl", "7d"),
      Map.entry("nearOomShare", "0.9"),
      Map.entry("nearOomFor", "10s"),
      Map.entry("nearOomRepeat", "10m"));
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");

  private ConfigLoader() {}

  /**
   * @param configFile the {@code --config} file, if given
   * @param env        the process environment
   * @param flags      the flags that were set, by YAML key
   */
  public static AgentConfig load(Optional<Path> configFile, Map<String, String> env, Map<String, String> flags) {
    Map<String, String> values = new LinkedHashMap<>(DEFAULTS);
    configFile.ifPresent(file -> values.putAll(readYaml(file)));
    values.putAll(fromEnv(env));
    values.putAll(flags);
    return validate(values);
  }

  private static Map<String, String> readYaml(Path file) {
    Map<String, Object> raw;
    try {
      raw = new ObjectMapper(new YAMLFactory()).readValue(Files.readAllBytes(file), new TypeReference<>() {});
    } catch (IOException e) {
      throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
    }
    Map<String, String> values = new HashMap<>();
    if (raw == null) {
      return values;
    }
    for (Map.Entry<String, Object> entry : raw.entrySet()) {
      if (!KEYS.contains(entry.getKey())) {
        throw new ConfigException("unknown key '" + entry.getKey() + "' in " + file + "; known keys: " + KEYS);
      }
      if (entry.getValue() != null) {
        values.put(entry.getKey(), entry.getValue().toString());
      }
    }
    return values;
  }

  private static Map<String, String> fromEnv(Map<String, String> env) {
    Map<String, String> values = new HashMap<>();
    putIfSet(values, "nodeName", env.get("NODE_NAME"));
    putIfSet(values, "kubeconfig", env.get("KUBECONFIG"));
    for (String key : KEYS) {
      putIfSet(values, key, env.get("OOMWATCH_" + upperSnake(key)));
    }
    return values;
  }

  static String upperSnake(String key) {
    return key.replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT);
  }

  private static void putIfSet(Map<String, String> values, String key, String value) {
    if (value != null && !value.isBlank()) {
      values.put(key, value.trim());
    }
  }

  private static AgentConfig validate(Map<String, String> v) {
    Problems problems = new Problems();
    String nodeName = v.get("nodeName");
    if (nodeName == null) {
      problems.add("the node name is not set: pass --node-name or set NODE_NAME (the chart sets it from the"
          + " downward API, spec.nodeName)");
    } else if (!DNS_SUBDOMAIN.matcher(nodeName).matches() || nodeName.length() > 253) {
      problems.add("node name '" + nodeName + "' is not a valid Kubernetes node name (lower-case DNS subdomain)");
    }
    Path cgroupRoot = problems.path(v, "cgroupRoot", "--cgroup-root");
    if (!Files.isDirectory(cgroupRoot)) {
      problems.add("cgroup root " + cgroupRoot + " is not a directory: mount the host's /sys/fs/cgroup"
          + " (read-only is enough) and pass its path with --cgroup-root");
    }
    String kmsg = v.get("kmsg");
    Optional<Path> kmsgPath = "off".equalsIgnoreCase(kmsg) ? Optional.empty()
        : Optional.of(problems.path(v, "kmsg", "--kmsg"));
    Optional<URI> metricsUrl = Optional.empty();
    if (v.get("runscMetricsUrl") != null) {
      try {
        URI uri = URI.create(v.get("runscMetricsUrl"));
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
          throw new IllegalArgumentException("not an http(s) URL");
        }
        metricsUrl = Optional.of(uri);
      } catch (IllegalArgumentException e) {
        problems.add("--runsc-metrics-url '" + v.get("runscMetricsUrl") + "' is not an http(s) URL such as"
            + " http://127.0.0.1:1337/metrics");
      }
    }
    String handler = v.get("runtimeHandler");
    if (!DNS_LABEL.matcher(handler).matches()) {
      problems.add("--runtime-handler '" + handler + "' is not a RuntimeClass handler name (a DNS label such as"
          + " runsc)");
    }
    int httpPort = problems.intIn(v, "httpPort", "--http-port", 0, 65535);
    int pendingCapacity = problems.intIn(v, "pendingCapacity", "--pending-capacity", 1, 1_000_000);
    int writesPerSecond = problems.intIn(v, "incidentWritesPerSecond", "--incident-writes-per-second", 1, 10_000);
    Duration cgroupPoll = problems.durationIn(v, "cgroupPollInterval", "--cgroup-poll-interval",
        Duration.ofMillis(50), Duration.ofMinutes(10));
    String notify = v.get("cgroupNotify");
    boolean cgroupNotify = "auto".equalsIgnoreCase(notify);
    if (!cgroupNotify && !"off".equalsIgnoreCase(notify)) {
      problems.add("--cgroup-notify '" + notify + "' is neither auto (use the kernel's cgroup notifications where the"
          + " mount allows) nor off (only poll)");
    }
    Duration runscPoll = problems.durationIn(v, "runscPollInterval", "--runsc-poll-interval",
        Duration.ofMillis(50), Duration.ofMinutes(10));
    Duration ttl = problems.durationIn(v, "incidentTtl", "--incident-ttl", Duration.ofMinutes(1), Duration.ofDays(3650));
    Duration nearOomFor = problems.durationIn(v, "nearOomFor", "--near-oom-for", Duration.ZERO, Duration.ofHours(24));
    Duration nearOomRepeat = problems.durationIn(v, "nearOomRepeat", "--near-oom-repeat", Duration.ZERO,
        Duration.ofDays(7));
    double nearOomShare = problems.shareIn(v, "nearOomShare", "--near-oom-share");
    Optional<Path> runscBinary = Optional.ofNullable(v.get("runscBinary"))
        .map(b -> problems.path(v, "runscBinary", "--runsc-binary"));
    runscBinary.filter(b -> !Files.isExecutable(b)).ifPresent(b ->
        problems.add("--runsc-binary " + b + " is not an executable file (or leave it unset: per-container memory is"
            + " then not sampled)"));
    Optional<Path> kubeconfig = Optional.ofNullable(v.get("kubeconfig"))
        .map(k -> problems.path(v, "kubeconfig", "--kubeconfig"));
    Path bootIdPath = problems.path(v, "bootIdPath", "bootIdPath (OOMWATCH_BOOT_ID_PATH)");
    Path procRoot = problems.path(v, "procRoot", "--proc-root");
    if (!Files.isDirectory(procRoot)) {
      problems.add("proc root " + procRoot + " is not a directory: mount the host's /proc read-only (the chart"
          + " mounts it at /host/proc) and pass its path with --proc-root");
    }
    Path runscRoot = problems.path(v, "runscRoot", "--runsc-root");
    problems.throwIfAny();
    return new AgentConfig(
        nodeName,
        kubeconfig,
        cgroupRoot,
        cgroupPoll,
        cgroupNotify,
        kmsgPath,
        bootIdPath,
        procRoot,
        runscRoot,
        runscPoll,
        metricsUrl,
        runscBinary,
        handler,
        httpPort,
        pendingCapacity,
        writesPerSecond,
        ttl,
        nearOomShare,
        nearOomFor,
        nearOomRepeat);
  }

  /** Collects every problem so the user fixes them all in one go. */
  private static final class Problems {
    private final StringBuilder text = new StringBuilder();

    void add(String problem) {
      text.append("\n  - ").append(problem);
    }

    int intIn(Map<String, String> v, String key, String flag, int min, int max) {
      String raw = v.get(key);
      try {
        int value = Integer.parseInt(raw);
        if (value >= min && value <= max) {
          return value;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      add(flag + " '" + raw + "' must be a whole number from " + min + " to " + max);
      return min;
    }

    Duration durationIn(Map<String, String> v, String key, String flag, Duration min, Duration max) {
      String raw = v.get(key);
      Optional<Duration> value = Durations.parse(raw);
      if (value.isPresent() && value.get().compareTo(min) >= 0 && value.get().compareTo(max) <= 0) {
        return value.get();
      }
      add(flag + " '" + raw + "' must be a duration such as 500ms, 10s, 5m, 24h or 7d, from " + min + " to " + max);
      return min;
    }

    Path path(Map<String, String> v, String key, String flag) {
      String raw = v.get(key);
      try {
        return Path.of(raw);
      } catch (java.nio.file.InvalidPathException e) {
        add(flag + " is not a usable path (" + e.getReason() + ")");
        return Path.of("/");
      }
    }

    double shareIn(Map<String, String> v, String key, String flag) {
      String raw = v.get(key);
      try {
        double value = Double.parseDouble(raw);
        if (value > 0 && value <= 1) {
          return value;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      add(flag + " '" + raw + "' must be a share of the limit above 0 and at most 1, such as 0.9");
      return 1;
    }

    void throwIfAny() {
      if (text.length() > 0) {
        throw new ConfigException("invalid configuration:" + text);
      }
    }
  }
}
