package dev.oomwatch.bench;

import dev.oomwatch.testing.Await;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * An agent in a JVM of its own, so that its CPU time, RSS and threads in {@code /proc} are its alone:
 * {@code java <jvm options> -Xlog:gc... -cp <jar> <main class> <args>}, output to a log file,
 * the GC log beside it (for the allocation rate, see {@link GcLog}). {@link #close} stops it with
 * SIGTERM (its shutdown hook closes the agent), then SIGKILL after 15 s. Not thread-safe, except
 * {@link #close}, which is idempotent and may run from a shutdown hook.
 */
final class AgentJvm implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final String label;
  private final Process process;
  private final int httpPort;
  private final Path log;
  private final Path gcLog;

  private AgentJvm(String label, Process process, int httpPort, Path log, Path gcLog) {
    this.label = label;
    this.process = process;
    this.httpPort = httpPort;
    this.log = log;
    this.gcLog = gcLog;
  }

  /** A TCP port free on the loopback interface now. */

  /**
   * Starts {@code java jvmOptions -cp classpath mainClass args}.
   *
   * @param java      the {@code java} launcher (this JDK's, or another to compare)
   * @param httpPort  the port the agent serves {@code /metrics} and {@code /readyz} on (part of its args)
   * @param dir       where the log and GC log go ({@code <label>.log}, {@code <label>-gc.log})
   */
  static AgentJvm start(String label, Path java, List<String> jvmOptions, String classpath, String mainClass,
      List<String> args, int httpPort, Path dir) throws IOException {
    return start(label, java, jvmOptions, classpath, mainClass, args, Map.of(), httpPort, dir);
  }

  /** As above, with {@code environment} added to the agent's (settings every jar reads, unknown ones ignored). */
  static AgentJvm start(String label, Path java, List<String> jvmOptions, String classpath, String mainClass,
      List<String> args, Map<String, String> environment, int httpPort, Path dir) throws IOException {
    Path log = dir.resolve(label + ".log");
    Path gcLog = dir.resolve(label + "-gc.log");
    List<String> command = new ArrayList<>();
    command.add(java.toString());
    command.addAll(jvmOptions);
    command.add(GcLog.jvmOption(gcLog));
    command.add("-cp");
    command.add(classpath);
    command.add(mainClass);
    command.addAll(args);
    Files.writeString(log, String.join(" ", command) + "\n\n");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    // the chart's options arrive as JDK_JAVA_OPTIONS; the bench sets them on the command line instead
    builder.environment().remove("JDK_JAVA_OPTIONS");
    builder.environment().remove("JAVA_TOOL_OPTIONS");
    builder.environment().putAll(environment);
    return new AgentJvm(label, builder.start(), httpPort, log, gcLog);
  }

  String label() {
    return label;
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  Path gcLog() {
    return gcLog;
  }

  Path log() {
    return log;
  }

  /** Waits until {@code /readyz} answers 200; false on timeout or if the JVM exited. */
  boolean awaitReady(Duration timeout) throws InterruptedException {
    return Await.until(() -> !process.isAlive() || get("/readyz").statusCode() == 200, timeout,
        Duration.ofMillis(100)) && process.isAlive();
  }

  /** The body of {@code /readyz} now (or why it could not be read). */
  String readiness() {
    try {
      return get("/readyz").body();
    } catch (RuntimeException e) {
      return "(no answer: " + e.getMessage() + ")";
    }
  }

  /** The sum of every series of metric {@code name}, or -1 when absent. */
  double metric(String name) {
    double sum = 0;
    boolean found = false;
    for (String line : get("/metrics").body().split("\n")) {
      if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1).strip());
        found = true;
      }
    }
    return found ? sum : -1;
  }

  ProcessSample sample() throws IOException {
    return ProcessSample.of(process.pid());
  }

  OptionalLong heapUsedBytes() {
    return HsPerfData.heapUsedBytes(process.pid());
  }

  /** Writes a line to the JVM's standard input (the storm agent waits for one). */
  void tell(String line) throws IOException {
    OutputStream in = process.getOutputStream();
    in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    in.flush();
  }

  /** The last {@code lines} lines of its log, for failure messages. */
  String logTail(int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private HttpResponse<String> get(String path) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException("agent " + label + " not answering on port " + httpPort + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
