package dev.oomwatch.app;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.oomwatch.metrics.AgentMetrics;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The agent's HTTP endpoints on one port: {@code /metrics} (Prometheus text format), {@code /healthz}
 * (200 while the process serves) and {@code /readyz} (200 when ready, 503 otherwise; the body says which
 * sources are live). Served by the JDK's HTTP server on one daemon thread; thread-safe.
 */
public final class HttpEndpoints implements AutoCloseable {
  /** Readiness at one moment, with a body listing what is and is not live. */
  public record Readiness(boolean ready, String body) {}

  private final HttpServer server;

  public HttpEndpoints(int port, AgentMetrics metrics, Supplier<Readiness> readiness) throws IOException {
    server = HttpServer.create(new InetSocketAddress(port), 0);
    server.setExecutor(Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "http");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/metrics", exchange -> {
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      metrics.writeTo(body);
      respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", body.toByteArray());
    });
    server.createContext("/healthz", exchange -> respond(exchange, 200, "text/plain", "ok\n".getBytes(StandardCharsets.UTF_8)));
    server.createContext("/readyz", exchange -> {
      Readiness now = readiness.get();
      respond(exchange, now.ready() ? 200 : 503, "text/plain; charset=utf-8", now.body().getBytes(StandardCharsets.UTF_8));
    });
    server.start();
  }

  /** The port actually bound (useful when started with port 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  private static void respond(HttpExchange exchange, int status, String contentType, byte[] body) throws IOException {
    try (exchange) {
      exchange.getResponseHeaders().set("Content-Type", contentType);
      boolean head = "HEAD".equals(exchange.getRequestMethod());
      exchange.sendResponseHeaders(status, head ? -1 : body.length);
      if (!head) {
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
