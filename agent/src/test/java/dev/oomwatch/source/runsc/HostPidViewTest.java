package dev.oomwatch.source.runsc;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link HostPidView} tells the host's /proc from a container's own, on fake trees and on this machine. */
class HostPidViewTest {
  @TempDir Path dir;

  @Test
  void theHostsProcShowsKthreaddAsPidTwo() {
    HostPidView view = HostPidView.check(new FakeProc(dir).root());

    assertTrue(view.visible(), view.detail());
  }

  @Test
  void thisMachinesOwnProcIsTheHosts() {
    // the tests run as host processes: /proc is the initial pid namespace's
    HostPidView view = HostPidView.check(Path.of("/proc"));

    assertTrue(view.visible(), view.detail());
  }

  @Test
  void aContainersOwnPidNamespaceHasNoPidTwoOrAnotherOne() throws Exception {
    FakeProc container = new FakeProc(dir).asAContainerSeesIt();
    HostPidView none = HostPidView.check(container.root());
    assertFalse(none.visible());
    assertTrue(none.detail().contains("--proc-root"), none.detail());

    // in a container, pid 2 is an ordinary process: a child of pid 1, no kernel-thread flag
    container.stat(2, FakeProc.statLine(2, "kthreadd", 'S', 100));
    assertFalse(HostPidView.check(container.root()).visible());
    container.stat(2, FakeProc.statLine(2, "sh", 'S', 100));
    assertFalse(HostPidView.check(container.root()).visible());
  }

  @Test
  void garbageOrNothingIsNotVisible() throws Exception {
    FakeProc proc = new FakeProc(dir).stat(2, "garbage");
    assertFalse(HostPidView.check(proc.root()).visible());
    proc.stat(2, "");
    assertFalse(HostPidView.check(proc.root()).visible());
    assertFalse(HostPidView.check(dir.resolve("missing")).visible());
    Files.writeString(dir.resolve("file"), "x");
    assertFalse(HostPidView.check(dir.resolve("file")).visible());
  }
}
