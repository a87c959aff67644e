package dev.oomwatch.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DaemonThreadsTest {

  @Test
  void aThreadIsANamedDaemonNotYetStarted() {
    Thread thread = DaemonThreads.thread("cgroup-poller", () -> {});
    assertTrue(thread.isDaemon());
    assertEquals("cgroup-poller", thread.getName());
    assertEquals(Thread.State.NEW, thread.getState());
  }

  @Test
  void aFactoryNumbersItsThreadsAfterTheFirst() {
    ThreadFactory factory = DaemonThreads.factory("http-worker");
    Thread first = factory.newThread(() -> {});
    Thread second = factory.newThread(() -> {});
    assertEquals("http-worker", first.getName());
    assertEquals("http-worker-2", second.getName());
    assertTrue(first.isDaemon() && second.isDaemon());
  }

  @Test
  void aSchedulerRunsItsTasksOnOneNamedDaemon() throws Exception {
    ScheduledExecutorService scheduler = DaemonThreads.scheduler("detector");
    try {
      Thread ran = scheduler.schedule(Thread::currentThread, 1, TimeUnit.MILLISECONDS).get(30, TimeUnit.SECONDS);
      assertEquals("detector", ran.getName());
      assertTrue(ran.isDaemon());
    } finally {
      scheduler.shutdownNow();
    }
    assertTrue(scheduler.awaitTermination(30, TimeUnit.SECONDS));
  }
}
