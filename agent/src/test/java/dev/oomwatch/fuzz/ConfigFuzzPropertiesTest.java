package dev.oomwatch.fuzz;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.app.AgentConfig;
import dev.oomwatch.app.ConfigException;
import dev.oomwatch.app.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile configuration: random and mutated YAML files, environments and flags. {@link ConfigLoader#load}
 * must return a configuration within its documented ranges or throw {@link ConfigException}; any other
 * exception is a failure.
 *
 * <p>Environment and flag values never hold NUL here (a process cannot receive one in either); the YAML
 * file can, through YAML's {@code "\0"} and {@code "\x00"} escapes.
 */
@Tag("fuzz")
class ConfigFuzzPropertiesTest {

  @TempDir Path dir;

  private static final String SEED_YAML = """
      nodeName: node-a
      kubeconfig: /etc/kubernetes/kubelet.conf
      cgroupRoot: /sys/fs/cgroup
      cgroupPollInterval: 1s
      kmsg: /dev/kmsg
      bootIdPath: /proc/sys/kernel/random/boot_id
      runscRoot: /run/containerd/runsc/k8s.io
      runscPollInterval: 500ms
      runscMetricsUrl: http://127.0.0.1:1337/metrics
      runtimeHandler: runsc
      httpPort: 9464
      pendingCapacity: 10000
      incidentWritesPerSecond: 20
      incidentTtl: 7d
      nearOomShare: 0.9
      nearOomFor: 10s
      nearOomRepeat: 10m
      """;
  private static final List<byte[]> SEEDS = List.of(SEED_YAML.getBytes(UTF_8),
      "kmsg: 'off'\nhttpPort: 0\n".getBytes(UTF_8), "---\n".getBytes(UTF_8), "{}".getBytes(UTF_8));

  static final List<String> DICTIONARY = List.of(": ", ":", "\n", "  ", "- ", "---\n", "...\n", "&a ", "*a", "!!binary ",
      "!!str ", "!!int ", "!!float ", "!!map ", "!!timestamp ", "!!null ", "? ", "|\n  ", ">\n  ", "\"", "'", "\\0",
      "\\x00", "\\u0000", "\\ud800", "~", "null", "true", "yes", "off", "on", ".inf", "-.inf", ".nan", "0x1F", "0o17",
      "1_000", "{", "}", "[", "]", "#", "%YAML 1.2\n", "<<: *a\n", "\t");

  private static final List<String> VALUES = List.of("", " ", "0", "-1", "1", "65535", "65536", "2147483647",
      "2147483648", "-2147483649", "9223372036854775808", "1e3", "0.9", "1", "1.0", "0", "-0", "NaN", "Infinity",
      "1e-320", "0x1p-2", "1s", "0s", "49ms", "50ms", "10m", "11m", "24h", "7d", "3651d", "999999999d",
      "1000000000d", "PT10S", "PT-10S", "P999999999999D", "PT9223372036854775807S", "P1Y", "-P1D", "p7d", " 7d ",
      "off", "OFF", "/dev/kmsg", "relative/path", "http://127.0.0.1:1337/metrics", "https://[::1]:1/x", "http://",
      "ftp://x", "http://a b", "http://%zz", "::", "runsc", "RunSC", "a-", "-a", "a".repeat(64), "node-a",
      "node.a.b", "Node", "a".repeat(254), "/", ".", "..", "/proc/self/fd/0", "/bin/sh", "\u00e9", "\ud83d\ude00",
      "a\tb", "line\nbreak");
  private static final List<String> ENV_KEYS = List.of("NODE_NAME", "KUBECONFIG", "OOMWATCH_NODE_NAME",
      "OOMWATCH_CGROUP_ROOT", "OOMWATCH_HTTP_PORT", "OOMWATCH_INCIDENT_TTL", "OOMWATCH_NEAR_OOM_SHARE",
      "OOMWATCH_KMSG", "OOMWATCH_RUNSC_METRICS_URL", "OOMWATCH_RUNTIME_HANDLER", "OOMWATCH_RUNSC_BINARY",
      "OOMWATCH_PENDING_CAPACITY", "OOMWATCH_CGROUP_POLL_INTERVAL", "HOME");

  /** One load: the YAML file's bytes (null: no file), the environment and the flags. */
  record ConfigCase(byte[] yaml, Map<String, String> env, Map<String, String> flags) {
    @Override
    public String toString() {
      StringBuilder text = new StringBuilder();
      env.forEach((k, v) -> text.append("env ").append(k).append('=').append(Escape.text(v, 300)).append('\n'));
      flags.forEach((k, v) -> text.append("flag ").append(k).append('=').append(Escape.text(v, 300)).append('\n'));
      return text.append("yaml ").append(yaml == null ? "(none)" : Escape.bytes(yaml, 1_000)).toString();
    }
  }

  @Test
  void configLoadingOnlyEverThrowsConfigException() {
    Path yamlFile = dir.resolve("config.yaml");
    String validRoot = dir.toString();
    Fuzz.run("config", random -> {
      Mutator mutator = new Mutator(random, DICTIONARY, 8192);
      byte[] yaml = switch (random.nextInt(10)) {
        case 0 -> null;
        case 1, 2, 3 -> generatedYaml(random, mutator);
        case 4, 5, 6, 7, 8 -> mutator.mutatedOrRandom(SEEDS);
        default -> mutator.randomInput();
      };
      Map<String, String> env = new LinkedHashMap<>();
      int envCount = random.nextInt(4);
      for (int i = 0; i < envCount; i++) {
        env.put(ENV_KEYS.get(random.nextInt(ENV_KEYS.size())), value(random, mutator, false));
      }
      Map<String, String> flags = new LinkedHashMap<>();
      if (random.nextInt(3) > 0) {
        flags.put("nodeName", "node-a");
      }
      if (random.nextInt(3) > 0) {
        flags.put("cgroupRoot", validRoot);
      }
      int flagCount = random.nextInt(4);
      for (int i = 0; i < flagCount; i++) {
        flags.put(ConfigLoader.KEYS.get(random.nextInt(ConfigLoader.KEYS.size())), value(random, mutator, false));
      }
      return new ConfigCase(yaml, env, flags);
    }, ConfigCase::toString, c -> 1, c -> {
      Optional<Path> file = Optional.empty();
      if (c.yaml() != null) {
        Files.write(yamlFile, c.yaml());
        file = Optional.of(yamlFile);
      }
      AgentConfig config;
      try {
        config = ConfigLoader.load(file, c.env(), c.flags());
      } catch (ConfigException e) {
        assertNotNull(e.getMessage(), "a ConfigException without a message");
        return;
      }
      checkRanges(config);
    });
  }

  private static void checkRanges(AgentConfig c) {
    assertTrue(c.httpPort() >= 0 && c.httpPort() <= 65535, "httpPort " + c.httpPort());
    assertTrue(c.pendingCapacity() >= 1 && c.pendingCapacity() <= 1_000_000, "pendingCapacity");
    assertTrue(c.incidentWritesPerSecond() >= 1 && c.incidentWritesPerSecond() <= 10_000, "writes per second");
    assertTrue(c.nearOomShare() > 0 && c.nearOomShare() <= 1, "nearOomShare " + c.nearOomShare());
    assertTrue(!c.cgroupPollInterval().isNegative() && c.cgroupPollInterval().compareTo(Duration.ofMillis(50)) >= 0,
        "cgroup poll interval " + c.cgroupPollInterval());
    assertTrue(c.incidentTtl().compareTo(Duration.ofMinutes(1)) >= 0, "ttl " + c.incidentTtl());
    assertTrue(!c.nearOomFor().isNegative() && !c.nearOomRepeat().isNegative(), "negative near-OOM durations");
    assertNotNull(c.nodeName());
    assertTrue(c.runtimeHandler().matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?"), "handler " + c.runtimeHandler());
  }

  /** A YAML document of known and unknown keys with hostile values, anchors, tags and nesting. */
  private static byte[] generatedYaml(SplittableRandom random, Mutator mutator) {
    StringBuilder yaml = new StringBuilder();
    if (random.nextInt(10) == 0) {
      yaml.append("%YAML 1.1\n---\n");
    }
    int entries = random.nextInt(8);
    for (int i = 0; i < entries; i++) {
      String key = random.nextInt(8) == 0 ? pick(random, List.of("unknown", "NodeName", "\"nodeName\"", "? nodeName",
          "nodeName ", "'httpPort'", "<<", "~", "1", "[a]")) : pick(random, ConfigLoader.KEYS);
      yaml.append(key).append(": ");
      switch (random.nextInt(12)) {
        case 0 -> yaml.append('"').append(escapedForDoubleQuotes(value(random, mutator, true))).append('"');
        case 1 -> yaml.append('\'').append(value(random, mutator, false).replace("'", "''").replace("\n", " "))
            .append('\'');
        case 2 -> yaml.append("[").append(value(random, mutator, false).replace("\n", " ")).append(", 2]");
        case 3 -> yaml.append("{a: 1, b: [c]}");
        case 4 -> yaml.append("&x ").append(plain(value(random, mutator, false)));
        case 5 -> yaml.append("*x");
        case 6 -> yaml.append(pick(random, List.of("!!binary aGVsbG8=", "!!timestamp 2001-12-14", "!!float .inf",
            "!!int 0x7fffffffffffffff", "!!str 9464", "!!null ''", "!!set {a}", "!!omap [a: 1]", "!foo bar",
            "!!python/object:os.system ls", "!!java.io.File /")));
        case 7 -> yaml.append("|\n  ").append(value(random, mutator, false).replace("\n", "\n  "));
        case 8 -> yaml.append("[".repeat(random.nextInt(2_000))).append(random.nextBoolean() ? "1" : "");
        default -> yaml.append(plain(value(random, mutator, false)));
      }
      yaml.append('\n');
    }
    return yaml.toString().getBytes(random.nextInt(20) == 0 ? java.nio.charset.StandardCharsets.UTF_16 : UTF_8);
  }

  private static String plain(String value) {
    return value.replace("\n", " ");
  }

  private static String escapedForDoubleQuotes(String value) {
    StringBuilder out = new StringBuilder();
    for (char c : value.toCharArray()) {
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20 || (c >= 0xd800 && c < 0xe000)) {
        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /**
   * A value. With {@code hostile} (YAML only), anything, NUL and lone surrogates included; without, only
   * what a process can receive in its environment or arguments: text decoded from bytes, so neither a
   * NUL nor a lone surrogate.
   */
  private static String value(SplittableRandom random, Mutator mutator, boolean hostile) {
    String value = switch (random.nextInt(8)) {
      case 0 -> mutator.boundaryNumberText();
      case 1 -> mutator.text(mutator.randomInput());
      default -> pick(random, VALUES);
    };
    if (hostile && random.nextInt(6) == 0) {
      int at = random.nextInt(value.length() + 1);
      value = value.substring(0, at) + (random.nextBoolean() ? '\u0000' : '\ud800') + value.substring(at);
    }
    if (hostile) {
      return value;
    }
    // as the JVM decodes argv and the environment: malformed input becomes U+FFFD
    return new String(value.replace('\u0000', ' ').getBytes(UTF_8), UTF_8);
  }

  private static <T> T pick(SplittableRandom random, List<T> list) {
    return list.get(random.nextInt(list.size()));
  }
}
