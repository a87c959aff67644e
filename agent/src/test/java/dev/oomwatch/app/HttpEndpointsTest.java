package dev.oomwatch.app;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.app.HttpEndpoints.Liveness;
import dev.oomwatch.app.HttpEndpoints.Readiness;
import dev.oomwatch.app.NonBlockingHttpServer.Limits;
import dev.oomwatch.testing.Await;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP endpoints under hostile or broken clients. Every probe is made as kubelet makes it: a fresh
 * connection, {@code GET}, and the chart's probe timeout (2 s) as its deadline for connecting and for
 * every read; a probe that misses it is what makes kubelet restart the agent. These deadlines are what
 * the probe contract says, not a performance benchmark.
 */
class HttpEndpointsTest {
  /** The chart's {@code livenessProbe.timeoutSeconds} and {@code readinessProbe.timeoutSeconds}. */
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration DEADLINE = Duration.ofSeconds(30);
  private static final Duration POLL = Duration.ofMillis(20);
  private static final int PROBES = 5;

  private final List<Socket> clients = new ArrayList<>();
  private final AtomicReference<Liveness> liveness = new AtomicReference<>(new Liveness(true, "ok\n"));
  private final AtomicInteger metricsWritten = new AtomicInteger();
  private HttpEndpoints endpoints;

  @AfterEach
  void tearDown() throws IOException {
    for (Socket client : clients) {
      client.close();
    }
    if (endpoints != null) {
      endpoints.close();
    }
  }

  /** Endpoints whose {@code /metrics} body is {@code metricsBytes} long. */
  private HttpEndpoints start(int metricsBytes, Limits limits) throws IOException {
    byte[] body = new byte[metricsBytes];
    Arrays.fill(body, (byte) '#');
    endpoints = new HttpEndpoints(0, out -> {
      metricsWritten.incrementAndGet();
      out.write(body);
    }, () -> new Readiness(true, "ready\n"), liveness::get, limits);
    return endpoints;
  }

  /** A status line and body, read to the end of the connection. */
  private record Answer(int status, String head, String body) {}

  /** One request on a fresh connection, with the probe timeout for connecting and each read. */
  private Answer request(String path) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", endpoints.port()), (int) PROBE_TIMEOUT.toMillis());
      socket.setSoTimeout((int) PROBE_TIMEOUT.toMillis());
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: kube-probe/1.30\r\n"
          + "Accept: */*\r\nConnection: close\r\n\r\n").getBytes(ISO_8859_1));
      String all = new String(socket.getInputStream().readAllBytes(), ISO_8859_1);
      int endOfHead = all.indexOf("\r\n\r\n");
      assertTrue(endOfHead > 0, all);
      return new Answer(Integer.parseInt(all.substring(9, 12)), all.substring(0, endOfHead),
          all.substring(endOfHead + 4));
    }
  }

  /** Probes {@code /healthz} and {@code /readyz} as kubelet does; each must answer 200 within its timeout. */
  private void probesAnswerInTime() throws IOException {
    for (int i = 0; i < PROBES; i++) {
      for (String path : List.of("/healthz", "/readyz")) {
        long started = System.nanoTime();
        Answer answer = request(path);
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        assertEquals(200, answer.status(), path + ": " + answer);
        assertTrue(took.compareTo(PROBE_TIMEOUT) < 0, path + " took " + took);
      }
    }
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket();
    clients.add(socket);
    socket.connect(new InetSocketAddress("127.0.0.1", endpoints.port()), (int) DEADLINE.toMillis());
    return socket;
  }

  /** A client that sends the start of a request line and then nothing. */
  private Socket stalledClient() throws IOException {
    Socket socket = connect();
    OutputStream out = socket.getOutputStream();
    out.write("GET /he".getBytes(ISO_8859_1));
    out.flush();
    return socket;
  }

  /** Whether the server closed {@code socket} before {@code DEADLINE} (reads up to 64 MiB meanwhile). */
  private static boolean closedByServer(Socket socket) throws IOException {
    socket.setSoTimeout((int) DEADLINE.toMillis());
    InputStream in = socket.getInputStream();
    byte[] buffer = new byte[64 * 1024];
    try {
      for (int i = 0; i < 1024; i++) {
        if (in.read(buffer) < 0) {
          return true;
        }
      }
      return false;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (SocketException reset) {
      return true;
    }
  }

  @Test
  void answersTheEndpointsAsBefore() throws IOException {
    start(3, Limits.DEFAULT);
    Answer metrics = request("/metrics");
    assertEquals(200, metrics.status());
    assertTrue(metrics.head().contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"), metrics.head());
    assertEquals("###", metrics.body());
    Answer health = request("/healthz");
    assertEquals(200, health.status());
    assertEquals("ok\n", health.body());
    assertEquals("ready\n", request("/readyz?verbose").body());
    assertEquals(404, request("/nothing").status());
    try (Socket socket = new Socket("127.0.0.1", endpoints.port())) {
      socket.setSoTimeout((int) DEADLINE.toMillis());
      socket.getOutputStream().write("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(ISO_8859_1));
      String answer = new String(socket.getInputStream().readAllBytes(), ISO_8859_1);
      assertTrue(answer.startsWith("HTTP/1.1 200 OK\r\n") && answer.endsWith("Content-Length: 3\r\n"
          + "Connection: close\r\n\r\n"), answer);
    }
  }

  @Test
  void aStalledClientDoesNotBlockTheProbesAndIsClosed() throws Exception {
    start(1024, Limits.DEFAULT);
    Socket stalled = stalledClient();
    Await.until(() -> endpoints.openConnections() == 1, DEADLINE, POLL);

    probesAnswerInTime();

    assertTrue(closedByServer(stalled), "a request not completed within the request timeout is closed");
    assertTrue(Await.until(() -> endpoints.openConnections() == 0, DEADLINE, POLL));
  }

  @Test
  void aSlowReaderDoesNotBlockTheProbesAndIsCutOff() throws Exception {
    // Far more than loopback's socket buffers can hold, so the answer really waits for the reader.
    int metricsBytes = 16 << 20;
    start(metricsBytes, new Limits(512, 8192, Duration.ofSeconds(5), Duration.ofSeconds(1)));
    Socket slow = new Socket();
    clients.add(slow);
    slow.setReceiveBufferSize(4096);
    slow.connect(new InetSocketAddress("127.0.0.1", endpoints.port()), (int) DEADLINE.toMillis());
    slow.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(ISO_8859_1));
    assertTrue(Await.until(() -> metricsWritten.get() == 1, DEADLINE, POLL));

    probesAnswerInTime();

    // Once its response deadline passed, the server drops it: it never gets the whole answer.
    assertTrue(Await.until(() -> endpoints.openConnections() == 0, DEADLINE, POLL));
    long received = 0;
    slow.setSoTimeout((int) DEADLINE.toMillis());
    byte[] buffer = new byte[1 << 20];
    try {
      for (int n; received <= metricsBytes && (n = slow.getInputStream().read(buffer)) >= 0; ) {
        received += n;
      }
    } catch (SocketException reset) {
      // also how a server's close of a half-sent answer may look
    }
    assertTrue(received < metricsBytes, "received " + received);
  }

  @Test
  void twoHundredParallelConnectionsDoNotStarveTheProbes() throws Exception {
    start(256 * 1024, Limits.DEFAULT);
    List<Socket> holding = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      switch (i % 3) {
        case 0 -> holding.add(connect()); // connects, sends nothing
        case 1 -> holding.add(stalledClient());
        default -> {
          Socket reader = connect(); // asks for /metrics and reads nothing
          reader.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(ISO_8859_1));
        }
      }
    }
    // the server has taken them all (some /metrics answers may fit in the socket buffers and be done)
    assertTrue(Await.until(() -> endpoints.openConnections() >= holding.size(), DEADLINE, POLL),
        "open: " + endpoints.openConnections());

    probesAnswerInTime();

    assertTrue(Await.until(() -> endpoints.openConnections() == 0, DEADLINE, POLL),
        "every connection reaches its deadline; open: " + endpoints.openConnections());
  }

  @Test
  void moreConnectionsThanTheLimitCloseTheOldestAndTheProbesStillAnswer() throws Exception {
    int limit = 16;
    start(1024, new Limits(limit, 8192, Duration.ofSeconds(30), Duration.ofSeconds(30)));
    List<Socket> stalled = new ArrayList<>();
    for (int i = 0; i < 3 * limit; i++) {
      stalled.add(stalledClient());
    }
    assertTrue(Await.until(() -> endpoints.openConnections() == limit, DEADLINE, POLL));

    probesAnswerInTime();

    assertTrue(closedByServer(stalled.get(0)), "the oldest connection was closed to admit new ones");
    assertTrue(endpoints.openConnections() <= limit);
  }

  @Test
  void anOversizedHeadOrABodyIsRefused() throws IOException {
    start(1024, Limits.DEFAULT);
    try (Socket socket = new Socket("127.0.0.1", endpoints.port())) {
      socket.setSoTimeout((int) DEADLINE.toMillis());
      // exactly the head limit, with no end of head: the server reads it all, so its close is clean
      String start = "GET /healthz HTTP/1.1\r\nX-Filler: ";
      byte[] head = (start + "a".repeat(8 * 1024 - start.length())).getBytes(ISO_8859_1);
      socket.getOutputStream().write(head);
      String answer = new String(socket.getInputStream().readAllBytes(), ISO_8859_1);
      assertTrue(answer.startsWith("HTTP/1.1 431 "), answer);
    }
    try (Socket socket = new Socket("127.0.0.1", endpoints.port())) {
      socket.setSoTimeout((int) DEADLINE.toMillis());
      socket.getOutputStream().write("GET /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\n".getBytes(ISO_8859_1));
      String answer = new String(socket.getInputStream().readAllBytes(), ISO_8859_1);
      assertTrue(answer.startsWith("HTTP/1.1 413 "), answer);
    }
    probesAnswerInTime();
  }

  @Test
  void healthzFailsWhileLivenessSaysSo() throws IOException {
    start(1024, Limits.DEFAULT);
    assertEquals(200, request("/healthz").status());
    liveness.set(new Liveness(false, "not live: kmsg stopped for good\n"));
    Answer dead = request("/healthz");
    assertEquals(503, dead.status());
    assertEquals("not live: kmsg stopped for good\n", dead.body());
  }
}
