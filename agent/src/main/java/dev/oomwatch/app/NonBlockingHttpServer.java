package dev.oomwatch.app;

import dev.oomwatch.support.DaemonThreads;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A minimal HTTP/1.1 server for a few GET endpoints whose answers are computed in memory, built so
 * that no client can hold up another: one thread ({@code http}) does all network I/O without
 * blocking, so a client that stalls mid-request, reads its answer slowly or opens many connections
 * costs a buffer, never a thread. Each connection must deliver its request head within
 * {@link Limits#requestTimeout} and take its whole answer within {@link Limits#responseTimeout}, or it
 * is closed; a head larger than {@link Limits#maxHeadBytes} is answered 431, a request with a body
 * 413; at most {@link Limits#maxConnections} connections are open, and one more closes the oldest.
 * One request per connection ({@code Connection: close}): probes and Prometheus reconnect cheaply,
 * and there is no idle keep-alive state to bound.
 *
 * <p>Why not the JDK's {@code com.sun.net.httpserver}: its dispatcher hands a connection to the
 * executor as soon as one byte arrives, and the executor's thread then reads the request line and
 * headers with blocking reads (JDK 17 {@code ServerImpl.Exchange.run}); so N stalled clients hold N
 * worker threads, and the only remedy, {@code sun.net.httpserver.maxReqTime} (whole seconds, a JVM-wide
 * property read once when the class loads), also closes a probe that merely waited in the executor's
 * queue behind them.
 *
 * <p>Handlers run on the {@link Route}'s executor, never on the I/O thread, so a slow handler delays
 * only its own route's queue. Threading: the constructor binds the port; {@link #start} and
 * {@link #close} may be called from any thread; {@code close} is idempotent.
 */
final class NonBlockingHttpServer implements AutoCloseable {
  /** An answer: status, content type and body (sent without the body to {@code HEAD}). */
  record Response(int status, String contentType, byte[] body) {
    static Response text(int status, String text) {
      return new Response(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
    }
  }

  /** Computes an answer; runs on the route's executor. */
  @FunctionalInterface
  interface Handler {
    Response handle() throws IOException;
  }

  /** One path: what answers it and on which executor. */
  record Route(Executor executor, Handler handler) {}

  /** Bounds on what a client may make the server hold. */
  record Limits(int maxConnections, int maxHeadBytes, Duration requestTimeout, Duration responseTimeout) {
    /**
     * Defaults: kubelet probes with a 2 s timeout and Prometheus with 10 s by default; a request head is
     * a few hundred bytes; 512 connections cost at most 4 MiB of head buffers.
     */
    static final Limits DEFAULT = new Limits(512, 8 * 1024, Duration.ofSeconds(5), Duration.ofSeconds(10));
  }

  private static final Logger LOG = LoggerFactory.getLogger(NonBlockingHttpServer.class);
  private static final long SWEEP_EVERY_NANOS = Duration.ofMillis(100).toNanos();
  private static final long WARNING_EVERY_NANOS = Duration.ofMinutes(1).toNanos();
  private static final Duration STOP_WAIT = Duration.ofSeconds(5);

  private final ServerSocketChannel listener;
  private final SelectionKey listenerKey;
  private final Selector selector;
  private final Map<String, Route> routes;
  private final Limits limits;
  private final Thread ioThread;
  /** Answers computed by handlers, handed to the I/O thread. */
  private final Queue<Runnable> completions = new ConcurrentLinkedQueue<>();
  /** Open connections, oldest first; touched only by the I/O thread. */
  private final LinkedHashSet<Connection> connections = new LinkedHashSet<>();
  private volatile int openConnections;
  private volatile boolean closing;
  private long lastWarning;
  private boolean warnedBefore;

  NonBlockingHttpServer(InetSocketAddress address, Map<String, Route> routes, Limits limits) throws IOException {
    this.routes = Map.copyOf(routes);
    this.limits = limits;
    this.selector = Selector.open();
    ServerSocketChannel channel = null;
    try {
      channel = ServerSocketChannel.open();
      channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      channel.bind(address, limits.maxConnections());
      channel.configureBlocking(false);
      listenerKey = channel.register(selector, SelectionKey.OP_ACCEPT);
    } catch (IOException | RuntimeException e) {
      if (channel != null) {
        channel.close();
      }
      selector.close();
      throw e;
    }
    listener = channel;
    ioThread = DaemonThreads.thread("http", this::serve);
  }

  void start() {
    ioThread.start();
  }

  /** The port actually bound. */
  int port() {
    return ((InetSocketAddress) listener.socket().getLocalSocketAddress()).getPort();
  }

  /** How many client connections are open now; for tests and logs. */
  int openConnections() {
    return openConnections;
  }

  @Override
  public void close() {
    if (closing) {
      return;
    }
    closing = true;
    selector.wakeup();
    if (ioThread.isAlive() && ioThread != Thread.currentThread()) {
      try {
        ioThread.join(STOP_WAIT.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (!ioThread.isAlive()) {
      closeAll(); // also when never started
    }
  }

  private void serve() {
    long lastSweep = System.nanoTime();
    try {
      while (!closing) {
        selector.select(SWEEP_EVERY_NANOS / 1_000_000);
        Runnable completion;
        while ((completion = completions.poll()) != null) {
          completion.run();
        }
        Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
        while (keys.hasNext()) {
          SelectionKey key = keys.next();
          keys.remove();
          if (key == listenerKey) {
            acceptWaiting();
          } else if (key.attachment() instanceof Connection connection) {
            connection.onReady(key);
          }
        }
        long now = System.nanoTime();
        if (now - lastSweep >= SWEEP_EVERY_NANOS) {
          lastSweep = now;
          closeExpired(now);
          listenerKey.interestOps(SelectionKey.OP_ACCEPT);
        }
      }
    } catch (IOException | RuntimeException e) {
      // The selector itself failed: nothing here can go on serving; /healthz stops answering and
      // kubelet restarts the agent, which is the right outcome.
      LOG.error("the HTTP server stopped", e);
    } finally {
      closeAll();
    }
  }

  private void acceptWaiting() {
    while (!closing) {
      SocketChannel channel;
      try {
        channel = listener.accept();
      } catch (IOException e) {
        // Typically out of file descriptors: free one, and stop accepting until the next sweep so a
        // listener that stays acceptable cannot spin this thread.
        warnAtMostEveryMinute("accepting an HTTP connection failed: {}", e.toString());
        if (!connections.isEmpty()) {
          connections.iterator().next().close();
        }
        listenerKey.interestOps(0);
        return;
      }
      if (channel == null) {
        return;
      }
      if (connections.size() >= limits.maxConnections()) {
        evictOldest();
      }
      try {
        channel.configureBlocking(false);
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        Connection connection = new Connection(channel);
        connection.key = channel.register(selector, SelectionKey.OP_READ, connection);
        connections.add(connection);
        openConnections = connections.size();
      } catch (IOException e) {
        LOG.debug("accepting an HTTP connection failed: {}", e.toString());
        closeQuietly(channel);
      }
    }
  }

  private void evictOldest() {
    connections.iterator().next().close();
    warnAtMostEveryMinute("more than {} HTTP connections are open; closing the oldest to admit new ones"
        + " (clients that connect and do not finish their requests?)", limits.maxConnections());
  }

  /** A hostile client can repeat a problem at will: one WARN a minute, DEBUG in between. */
  private void warnAtMostEveryMinute(String format, Object argument) {
    long now = System.nanoTime();
    if (!warnedBefore || now - lastWarning >= WARNING_EVERY_NANOS) {
      warnedBefore = true;
      lastWarning = now;
      LOG.warn(format, argument);
    } else {
      LOG.debug(format, argument);
    }
  }

  private void closeExpired(long now) {
    for (Connection connection : new ArrayList<>(connections)) {
      if (now - connection.deadline >= 0) {
        LOG.debug("closing an HTTP connection that did not finish its {} in time", connection.phase);
        connection.close();
      }
    }
  }

  private void closeAll() {
    new ArrayList<>(connections).forEach(Connection::close);
    closeQuietly(listener);
    try {
      selector.close();
    } catch (IOException e) {
      LOG.debug("closing the HTTP selector: {}", e.toString());
    }
  }

  private static void closeQuietly(java.nio.channels.Channel channel) {
    try {
      channel.close();
    } catch (IOException e) {
      LOG.debug("closing an HTTP channel: {}", e.toString());
    }
  }

  private static byte[] serialize(Response response, boolean withBody, String extraHeaders) {
    String head = "HTTP/1.1 " + response.status() + " " + reason(response.status()) + "\r\n"
        + "Content-Type: " + response.contentType() + "\r\n"
        + "Content-Length: " + response.body().length + "\r\n"
        + extraHeaders
        + "Connection: close\r\n\r\n";
    byte[] headBytes = head.getBytes(StandardCharsets.ISO_8859_1);
    if (!withBody) {
      return headBytes;
    }
    byte[] all = new byte[headBytes.length + response.body().length];
    System.arraycopy(headBytes, 0, all, 0, headBytes.length);
    System.arraycopy(response.body(), 0, all, headBytes.length, response.body().length);
    return all;
  }

  private static String reason(int status) {
    return switch (status) {
      case 200 -> "OK";
      case 400 -> "Bad Request";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 413 -> "Payload Too Large";
      case 431 -> "Request Header Fields Too Large";
      case 500 -> "Internal Server Error";
      case 503 -> "Service Unavailable";
      default -> "Status";
    };
  }

  private enum Phase { REQUEST, RESPONSE }

  /** One client connection; every method runs on the I/O thread. */
  private final class Connection {
    private final SocketChannel channel;
    private final ByteBuffer head = ByteBuffer.allocate(limits.maxHeadBytes());
    private SelectionKey key;
    private ByteBuffer out;
    private Phase phase = Phase.REQUEST;
    private long deadline = System.nanoTime() + limits.requestTimeout().toNanos();
    private boolean closed;

    Connection(SocketChannel channel) {
      this.channel = channel;
    }

    void onReady(SelectionKey readyKey) {
      try {
        if (readyKey.isValid() && readyKey.isReadable()) {
          read();
        }
        if (!closed && readyKey.isValid() && readyKey.isWritable()) {
          write();
        }
      } catch (IOException | RuntimeException e) {
        LOG.debug("HTTP connection failed: {}", e.toString());
        close();
      }
    }

    private void read() throws IOException {
      if (channel.read(head) < 0) {
        close(); // the client gave up before its request was complete
        return;
      }
      int end = RequestHead.endOfHead(head.array(), head.position());
      if (end < 0) {
        if (!head.hasRemaining()) {
          answerNow(Response.text(431, "request head larger than " + limits.maxHeadBytes() + " bytes\n"), true, "");
        }
        return;
      }
      Optional<RequestHead> parsed = RequestHead.parse(head.array(), end);
      if (parsed.isEmpty()) {
        answerNow(Response.text(400, "not an HTTP/1.x request\n"), true, "");
        return;
      }
      dispatch(parsed.get());
    }

    private void dispatch(RequestHead request) {
      boolean withBody = !request.method().equals("HEAD");
      if (!request.method().equals("GET") && withBody) {
        answerNow(Response.text(405, "only GET and HEAD\n"), true, "Allow: GET, HEAD\r\n");
      } else if (request.hasBody()) {
        answerNow(Response.text(413, "request bodies are not accepted\n"), withBody, "");
      } else if (!routes.containsKey(request.path())) {
        answerNow(Response.text(404, "no such endpoint: " + request.path() + "\n"), withBody, "");
      } else {
        startResponse(null);
        Route route = routes.get(request.path());
        try {
          route.executor().execute(() -> handle(route.handler(), withBody));
        } catch (RejectedExecutionException e) {
          answerNow(Response.text(503, "busy\n"), withBody, "");
        }
      }
    }

    /** Runs on the route's executor. */
    private void handle(Handler handler, boolean withBody) {
      Response response;
      try {
        response = handler.handle();
      } catch (IOException | RuntimeException e) {
        LOG.warn("HTTP handler failed", e);
        response = Response.text(500, "internal error: " + e + "\n");
      } catch (Error e) {
        complete(serialize(Response.text(500, "internal error\n"), withBody, ""));
        throw e;
      }
      complete(serialize(response, withBody, ""));
    }

    private void complete(byte[] bytes) {
      completions.add(() -> {
        if (!closed) {
          send(bytes);
        }
      });
      if (!closing) {
        selector.wakeup();
      }
    }

    private void answerNow(Response response, boolean withBody, String extraHeaders) {
      startResponse(null);
      send(serialize(response, withBody, extraHeaders));
    }

    /** Stops reading, and gives the handler and the client {@code responseTimeout} from now. */
    private void startResponse(ByteBuffer bytes) {
      if (phase == Phase.REQUEST) {
        phase = Phase.RESPONSE;
        deadline = System.nanoTime() + limits.responseTimeout().toNanos();
        key.interestOps(0);
      }
      out = bytes;
    }

    private void send(byte[] bytes) {
      startResponse(ByteBuffer.wrap(bytes));
      try {
        write();
      } catch (IOException e) {
        LOG.debug("HTTP connection failed: {}", e.toString());
        close();
      }
    }

    private void write() throws IOException {
      if (out == null) {
        return;
      }
      channel.write(out);
      if (out.hasRemaining()) {
        key.interestOps(SelectionKey.OP_WRITE);
      } else {
        close();
      }
    }

    void close() {
      if (closed) {
        return;
      }
      closed = true;
      connections.remove(this);
      openConnections = connections.size();
      if (key != null) {
        key.cancel();
      }
      closeQuietly(channel);
    }
  }
}
