package dev.oomwatch.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent in a JVM of its own, started as {@code agent}, so a test can {@code kill -9} it. Its classpath
 * is the agent jar's: the agent module's classes and runtime dependencies, as Maven passes them in
 * {@code oomwatch.agentClasspath} (no test support, no stand-in API server); outside Maven, the test's
 * own. Its output goes to a log file. Not thread-safe.
 */
public final class AgentProcess implements AutoCloseable {
  private final Process process;
  private final int httpPort;
  private final Path log;

  private AgentProcess(Process process, int httpPort, Path log) {
    this.process = process;
    this.httpPort = httpPort;
    this.log = log;
  }

  /** Starts {@code agent} with {@code args} (plus {@code --http-port}); output to {@code log}. */
  public static AgentProcess start(List<String> args, Path log) throws IOException {
    return start(List.of(), args, log);
  }

  /** As {@link #start(List, Path)}, in a JVM started with {@code jvmOptions} (the chart's, say). */
  public static AgentProcess start(List<String> jvmOptions, List<String> args, Path log) throws IOException {
    return launch(jvmOptions, List.of("-cp", agentClasspath(), "dev.oomwatch.cli.Main"), args, log);
  }

  /** As {@link #start(List, List, Path)}, from the packaged jar itself: {@code java <options> -jar <jar> agent}. */
  public static AgentProcess startJar(Path jar, List<String> jvmOptions, List<String> args, Path log)
      throws IOException {
    return launch(jvmOptions, List.of("-jar", jar.toString()), args, log);
  }

  private static AgentProcess launch(List<String> jvmOptions, List<String> entry, List<String> args, Path log)
      throws IOException {
    int port = LoopbackPorts.free();
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    command.addAll(entry);
    command.addAll(List.of("agent", "--http-port", Integer.toString(port)));
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    // the test gives the JVM its options itself, like the chart (JDK_JAVA_OPTIONS) does
    builder.environment().remove("JDK_JAVA_OPTIONS");
    builder.environment().remove("JAVA_TOOL_OPTIONS");
    return new AgentProcess(builder.start(), port, log);
  }

  /** The body of {@code path} ({@code /metrics}, {@code /healthz}, ...) and its status, as {@code "200 body"}. */
  public String fetch(String path) {
    HttpResponse<String> response = get(path);
    return response.statusCode() + " " + response.body();
  }

  /** The agent jar's runtime classpath when Maven gave it, else this JVM's. */
  public static String agentClasspath() {
    return System.getProperty("oomwatch.agentClasspath", System.getProperty("java.class.path"));
  }

  public boolean awaitReady(Duration timeout) throws InterruptedException {
    return Await.until(() -> get("/readyz").statusCode() == 200, timeout, Duration.ofMillis(100));
  }

  /** What {@code /readyz} says (status and body), or why it could not be asked. */
  public String readiness() {
    try {
      HttpResponse<String> ready = get("/readyz");
      return ready.statusCode() + " " + ready.body();
    } catch (IllegalStateException e) {
      return e.getMessage();
    }
  }

  /** The value of a metric without labels, or -1 when absent. */
  public double metric(String name) {
    return get("/metrics").body().lines().filter(l -> l.startsWith(name + " "))
        .mapToDouble(l -> Double.parseDouble(l.substring(name.length() + 1).trim())).findFirst().orElse(-1);
  }

  /** The agent JVM's process id (for {@code jcmd}, say). */
  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** SIGKILL: no shutdown hook, no cleanup, like {@code kill -9}. */
  public void killNine() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  public String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private HttpResponse<String> get(String path) {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException("agent not answering: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
        killNine();
      }
    }
  }
}
