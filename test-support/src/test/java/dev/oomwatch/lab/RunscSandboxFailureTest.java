package dev.oomwatch.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.PodRef;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When runsc fails, the error says why and nothing the start made is left behind. */
class RunscSandboxFailureTest {
  private static final PodRef POD = new PodRef("default", "failing", "uid-1");

  @TempDir Path dir;
  @TempDir Path temp;

  @Test
  void failedRunReportsRunscsStderrAndRemovesTheBundle() throws Exception {
    Path runsc = fakeRunsc("echo 'cannot create sandbox: boom' >&2; exit 3");
    Path root = Files.createDirectory(dir.resolve("root"));

    CommandFailedException failure = assertThrows(CommandFailedException.class,
        () -> builder(runsc, root).start());

    assertEquals(3, failure.exitStatus());
    assertTrue(failure.getMessage().contains("cannot create sandbox: boom"), failure.getMessage());
    assertEquals(List.of(), leftInTemp());
    assertTrue(Files.isDirectory(root), "the caller's runsc root is the caller's");
  }

  @Test
  void hangingRunscIsStoppedAtTheTimeout() throws Exception {
    Path runsc = fakeRunsc("exec sleep 60");
    long start = System.nanoTime();

    CommandFailedException failure = assertThrows(CommandFailedException.class,
        () -> builder(runsc, null).commandTimeout(Duration.ofSeconds(1)).start());

    assertEquals(CommandFailedException.TIMED_OUT, failure.exitStatus());
    assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(30)) < 0);
    assertEquals(List.of(), leftInTemp());
  }

  @Test
  void refusesAnIdTheRunscRootAlreadyHas() throws Exception {
    Path runsc = fakeRunsc("exit 0");
    Path root = Files.createDirectory(dir.resolve("root"));
    Path existing = Files.createFile(root.resolve("sid_sandbox:sid.state"));

    assertThrows(FileAlreadyExistsException.class, () -> builder(runsc, root).start());

    assertTrue(Files.exists(existing), "someone else's sandbox state must stay");
  }

  private RunscSandbox.Builder builder(Path runsc, Path root) throws Exception {
    Path busybox = Files.writeString(dir.resolve("busybox"), "fake");
    return RunscSandbox
        .builder("sid", POD, "/kubepods/burstable/poduid-1/sid", SandboxWorkload.sleepForever())
        .runsc(runsc.toString())
        .busybox(busybox)
        .tempDirectory(temp)
        .runscRoot(root);
  }

  private Path fakeRunsc(String script) throws Exception {
    Path runsc = dir.resolve("runsc");
    Files.writeString(runsc, "#!/bin/sh\n" + script + "\n");
    Files.setPosixFilePermissions(runsc, PosixFilePermissions.fromString("rwx------"));
    return runsc;
  }

  private List<Path> leftInTemp() throws Exception {
    try (Stream<Path> entries = Files.list(temp)) {
      return entries.toList();
    }
  }
}
