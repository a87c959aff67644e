package dev.oomwatch.source.runsc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dir is listed again only when it changed; files rewritten in place are still read again. */
class StateDirectoryTest {
  private static final FileTime A_MINUTE_AGO = FileTime.from(Instant.now().minusSeconds(60));

  @TempDir
  Path root;
  private StateDirectory directory;

  @BeforeEach
  void setUp() {
    directory = new StateDirectory(root, "check the runsc root");
  }

  @Test
  void anUnchangedDirIsNotListedAgain() throws Exception {
    write("aaaa");
    write("bbbb");
    Files.writeString(root.resolve("aaaa_sandbox:aaaa.lock"), "");
    Files.setLastModifiedTime(root, A_MINUTE_AGO);

    assertEquals(List.of("aaaa", "bbbb"), sandboxes(directory.poll()));
    assertEquals(List.of("aaaa", "bbbb"), sandboxes(directory.poll()));
    assertEquals(List.of("aaaa", "bbbb"), sandboxes(directory.poll()));
    assertEquals(1, directory.listings());
  }

  @Test
  void aFileCreatedOrRemovedIsSeenAtTheNextPoll() throws Exception {
    write("aaaa");
    Files.setLastModifiedTime(root, A_MINUTE_AGO);
    assertEquals(List.of("aaaa"), sandboxes(directory.poll()));

    write("bbbb"); // changes the dir's modification time
    assertEquals(List.of("aaaa", "bbbb"), sandboxes(directory.poll()));

    Files.delete(root.resolve(new StateFileName("aaaa", "aaaa").fileName()));
    assertEquals(List.of("bbbb"), sandboxes(directory.poll()));
  }

  @Test
  void aListingTakenRightAfterTheDirChangedIsTakenAgain() throws Exception {
    write("aaaa");
    Files.setLastModifiedTime(root, FileTime.from(Instant.now()));
    directory.poll();
    directory.poll();
    // both listings were within the settle time of the change: an entry added in the same tick could hide
    assertEquals(2, directory.listings());

    Files.setLastModifiedTime(root, A_MINUTE_AGO);
    directory.poll();
    directory.poll();
    assertEquals(3, directory.listings());
  }

  @Test
  void aFileRewrittenInPlaceIsReadAgainWithoutAListing() throws Exception {
    Path file = write("aaaa");
    Files.setLastModifiedTime(file, A_MINUTE_AGO);
    Files.setLastModifiedTime(root, A_MINUTE_AGO);
    StateDirectory.Listed first = assertInstanceOf(StateDirectory.Listed.class, directory.poll());
    assertEquals(1, first.parsed());

    Files.writeString(file, stateOf("aaaa").replace("\"running\"", "\"stopped\""));
    Files.setLastModifiedTime(file, FileTime.from(A_MINUTE_AGO.toInstant().plusSeconds(1)));
    Files.setLastModifiedTime(root, A_MINUTE_AGO);
    StateDirectory.Listed second = assertInstanceOf(StateDirectory.Listed.class, directory.poll());
    assertEquals(1, second.parsed());
    assertEquals(1, directory.listings());
  }

  @Test
  void aRootThatGoesAwayIsMissingAndListedAgainWhenBack() throws Exception {
    write("aaaa");
    Files.setLastModifiedTime(root, A_MINUTE_AGO);
    directory.poll();
    Path moved = Files.move(root, root.resolveSibling(root.getFileName() + "-gone"));

    assertInstanceOf(StateDirectory.Missing.class, directory.poll());

    Files.move(moved, root);
    Files.setLastModifiedTime(root, A_MINUTE_AGO);
    assertEquals(List.of("aaaa"), sandboxes(directory.poll()));
    assertEquals(2, directory.listings());
  }

  private Path write(String sandboxId) throws Exception {
    return Files.writeString(root.resolve(new StateFileName(sandboxId, sandboxId).fileName()), stateOf(sandboxId));
  }

  private static String stateOf(String sandboxId) {
    return new String(RunscFixtures.bytes(RunscFixtures.STATE_FILE), java.nio.charset.StandardCharsets.UTF_8)
        .replace(RunscFixtures.V1_SANDBOX_ID, sandboxId);
  }

  private static List<String> sandboxes(StateDirectory.Listing listing) {
    return assertInstanceOf(StateDirectory.Listed.class, listing).files().stream()
        .map(RunscStateFile::sandboxId).sorted().toList();
  }
}
