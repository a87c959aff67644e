package dev.oomwatch.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  @TempDir Path dir;

  private Map<String, String> base() {
    return Map.of("nodeName", "node-a", "cgroupRoot", dir.toString());
  }

  @Test
  void defaultsMatchTheDesign() {
    AgentConfig config = ConfigLoader.load(Optional.empty(), Map.of("NODE_NAME", "node-a"),
        Map.of("cgroupRoot", dir.toString()));
    assertEquals("node-a", config.nodeName());
    assertEquals(Optional.of(Path.of("/dev/kmsg")), config.kmsg());
    assertEquals(Path.of("/run/containerd/runsc/k8s.io"), config.runscRoot());
    assertEquals("runsc", config.runtimeHandler());
    assertEquals(9464, config.httpPort());
    assertEquals(Optional.empty(), config.runscMetricsUrl());
    assertTrue(config.cgroupNotify(), "kernel cgroup notifications where the mount allows");
  }

  @Test
  void cgroupNotificationsAreAutoOrOff() {
    var flags = new java.util.HashMap<>(base());
    flags.put("cgroupNotify", "off");
    assertEquals(false, ConfigLoader.load(Optional.empty(), Map.of(), flags).cgroupNotify());
    flags.put("cgroupNotify", "AUTO");
    assertEquals(true, ConfigLoader.load(Optional.empty(), Map.of(), flags).cgroupNotify());
    flags.put("cgroupNotify", "on");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(), Map.of(), flags));
    assertTrue(e.getMessage().contains("--cgroup-notify 'on' is neither auto"), e.getMessage());
  }

  @Test
  void flagsBeatEnvBeatYamlBeatDefaults() throws IOException {
    Path yaml = dir.resolve("config.yaml");
    Files.writeString(yaml, "nodeName: from-yaml\nhttpPort: 1000\nruntimeHandler: yaml-handler\nkmsg: 'off'\n");
    AgentConfig config = ConfigLoader.load(Optional.of(yaml),
        Map.of("NODE_NAME", "from-env", "OOMWATCH_HTTP_PORT", "2000"),
        Map.of("httpPort", "3000", "cgroupRoot", dir.toString()));
    assertEquals("from-env", config.nodeName());
    assertEquals(3000, config.httpPort());
    assertEquals("yaml-handler", config.runtimeHandler());
    assertEquals(Optional.empty(), config.kmsg());
  }

  @Test
  void metricsUrlIsParsed() {
    var flags = new java.util.HashMap<>(base());
    flags.put("runscMetricsUrl", "http://127.0.0.1:1337/metrics");
    assertEquals(Optional.of(URI.create("http://127.0.0.1:1337/metrics")),
        ConfigLoader.load(Optional.empty(), Map.of(), flags).runscMetricsUrl());
  }

  @Test
  void everyProblemIsReportedAtOnceWithWhatToDo() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(), Map.of(),
        Map.of("cgroupRoot", dir.resolve("missing").toString(), "httpPort", "70000", "runtimeHandler", "Bad_Handler",
            "runscMetricsUrl", "ftp://x")));
    String message = e.getMessage();
    assertTrue(message.contains("--node-name or set NODE_NAME"), message);
    assertTrue(message.contains("--cgroup-root"), message);
    assertTrue(message.contains("--http-port '70000'"), message);
    assertTrue(message.contains("--runtime-handler 'Bad_Handler'"), message);
    assertTrue(message.contains("--runsc-metrics-url 'ftp://x'"), message);
  }

  @Test
  void unknownYamlKeyIsRefused() throws IOException {
    Path yaml = dir.resolve("config.yaml");
    Files.writeString(yaml, "nodename: typo\n");
    ConfigException e = assertThrows(ConfigException.class,
        () -> ConfigLoader.load(Optional.of(yaml), Map.of(), base()));
    assertTrue(e.getMessage().contains("unknown key 'nodename'"), e.getMessage());
  }

  @Test
  void unreadableYamlIsReported() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> ConfigLoader.load(Optional.of(dir.resolve("nope.yaml")), Map.of(), base()));
    assertTrue(e.getMessage().contains("cannot read config file"), e.getMessage());
  }

  @Test
  void envKeysAreUpperSnake() {
    assertEquals("CGROUP_ROOT", ConfigLoader.upperSnake("cgroupRoot"));
    assertEquals("RUNSC_METRICS_URL", ConfigLoader.upperSnake("runscMetricsUrl"));
  }
}
