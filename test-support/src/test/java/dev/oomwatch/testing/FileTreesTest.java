package dev.oomwatch.testing;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileTreesTest {
  @TempDir
  Path scratch;

  @Test
  void deletesATreeDeepestFirstWithoutFollowingLinks() throws Exception {
    Path outside = Files.writeString(scratch.resolve("keep.txt"), "kept");
    Path tree = Files.createDirectories(scratch.resolve("run/a/b"));
    Files.writeString(tree.resolve("state.json"), "{}");
    Files.createSymbolicLink(scratch.resolve("run/a/link"), outside);

    FileTrees.delete(scratch.resolve("run"));

    assertFalse(Files.exists(scratch.resolve("run")));
    assertTrue(Files.exists(outside));
  }

  @Test
  void aTreeThatIsAlreadyGoneIsFine() throws Exception {
    FileTrees.delete(scratch.resolve("never-made"));
    assertFalse(Files.exists(scratch.resolve("never-made")));
  }
}
