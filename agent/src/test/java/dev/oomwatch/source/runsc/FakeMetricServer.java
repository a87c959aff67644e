package dev.oomwatch.source.runsc;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/** A stand-in for {@code runsc metric-server}: serves whatever page it is given on 127.0.0.1. */
final class FakeMetricServer implements AutoCloseable {

  private final HttpServer server;
  private final ExecutorService handlers = Executors.newCachedThreadPool(runnable -> {
    Thread thread = new Thread(runnable, "fake-metric-server");
    thread.setDaemon(true);
    return thread;
  });
  private final AtomicInteger requests = new AtomicInteger();
  private volatile byte[] page = new byte[0];
  private volatile int status = 200;
  private volatile long delayMillis;

  FakeMetricServer() {
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server.setExecutor(handlers);
    server.createContext("/metrics", exchange -> {
      requests.incrementAndGet();
      try {
        if (delayMillis > 0) {
          Thread.sleep(delayMillis);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      byte[] body = page;
      exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      } catch (IOException clientGone) {
        // the scraper gave up or refused the body
      }
      exchange.close();
    });
    server.start();
  }

  URI url() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/metrics");
  }

  FakeMetricServer serve(String text) {
    page = text.getBytes(UTF_8);
    return this;
  }

  FakeMetricServer serve(byte[] bytes) {
    page = bytes;
    return this;
  }

  FakeMetricServer status(int code) {
    status = code;
    return this;
  }

  FakeMetricServer delay(long millis) {
    delayMillis = millis;
    return this;
  }

  int requests() {
    return requests.get();
  }

  @Override
  public void close() {
    server.stop(0);
    handlers.shutdownNow();
  }
}
