package dev.oomwatch.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Ports on the loopback interface for a process a test starts. Stateless and thread-safe. */
public final class LoopbackPorts {
  private LoopbackPorts() {}

  /**
   * A port that was free a moment ago. Another process may take it before the caller binds it; the
   * kernel hands out ephemeral ports round-robin, so on a machine running tests that is rare.
   */
  public static int free() throws IOException {
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return probe.getLocalPort();
    }
  }
}
