package dev.oomwatch.app;

import dev.oomwatch.app.NonBlockingHttpServer.Limits;
import dev.oomwatch.app.NonBlockingHttpServer.Response;
import dev.oomwatch.app.NonBlockingHttpServer.Route;
import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.support.DaemonThreads;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The agent's HTTP endpoints on one port: {@code /metrics} (Prometheus text format), {@code /healthz}
 * (200 unless a source that sees OOM kills has stopped for good, 503 with the reason then: the agent
 * would be deaf, and only a restart helps) and {@code /readyz} (200 when ready, 503 otherwise; the body
 * says which sources are live). GET and HEAD on these exact paths; anything else gets 404 or 405.
 *
 * <p>Stalled clients, slow readers and floods of connections cannot keep the probes from being
 * answered: the network side is {@link NonBlockingHttpServer} (one non-blocking I/O thread, per
 * connection deadlines, bounded request heads and connection count), and the answers are computed on
 * two single-thread lanes, one for the probes and one for {@code /metrics}, so a burst of scrapes does
 * not queue ahead of a probe. Thread-safe; the suppliers are called from the lanes' threads.
 */
public final class HttpEndpoints implements AutoCloseable {
  /** Readiness at one moment, with a body listing what is and is not live. */
  public record Readiness(boolean ready, String body) {}

  /** Liveness at one moment: false when the agent can no longer do its job without a restart. */
  public record Liveness(boolean live, String body) {}

  /** Writes the Prometheus text exposition, as {@link AgentMetrics#writeTo} does. */
  @FunctionalInterface
  interface MetricsWriter {
    void writeTo(OutputStream out) throws IOException;
  }

  private final ExecutorService probes;
  private final ExecutorService scrapes;
  private final NonBlockingHttpServer server;

  public HttpEndpoints(int port, AgentMetrics metrics, Supplier<Readiness> readiness, Supplier<Liveness> liveness)
      throws IOException {
    this(port, metrics::writeTo, readiness, liveness, Limits.DEFAULT);
  }

  HttpEndpoints(int port, MetricsWriter metrics, Supplier<Readiness> readiness, Supplier<Liveness> liveness,
      Limits limits) throws IOException {
    probes = lane("http-probes", limits.maxConnections());
    scrapes = lane("http-metrics", limits.maxConnections());
    Map<String, Route> routes = Map.of(
        "/metrics", new Route(scrapes, () -> {
          ByteArrayOutputStream body = new ByteArrayOutputStream();
          metrics.writeTo(body);
          return new Response(200, "text/plain; version=0.0.4; charset=utf-8", body.toByteArray());
        }),
        "/healthz", new Route(probes, () -> {
          Liveness now = liveness.get();
          return new Response(now.live() ? 200 : 503, "text/plain", now.body().getBytes(StandardCharsets.UTF_8));
        }),
        "/readyz", new Route(probes, () -> {
          Readiness now = readiness.get();
          return Response.text(now.ready() ? 200 : 503, now.body());
        }));
    try {
      server = new NonBlockingHttpServer(new InetSocketAddress(port), routes, limits);
    } catch (IOException | RuntimeException e) {
      probes.shutdownNow();
      scrapes.shutdownNow();
      throw e;
    }
    server.start();
  }

  /** The port actually bound (useful when started with port 0). */
  public int port() {
    return server.port();
  }

  /** How many client connections are open now (tests). */
  int openConnections() {
    return server.openConnections();
  }

  /**
   * One worker thread; its queue holds at most one task per open connection (one request per
   * connection), so a full queue means handlers are stuck, and the server answers 503.
   */
  private static ExecutorService lane(String name, int capacity) {
    return new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(capacity), DaemonThreads.factory(name));
  }

  @Override
  public void close() {
    server.close();
    probes.shutdownNow();
    scrapes.shutdownNow();
  }
}
