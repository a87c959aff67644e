package dev.oomwatch.lab;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/** Real-sandbox tests skip on a laptop that lacks something, and fail under CI. */
class SandboxTestSupportTest {
  private static final List<String> MISSING = List.of("runsc is not on the PATH: install it");

  @Test
  void skipsOutsideCi() {
    TestAbortedException skipped = assertThrows(TestAbortedException.class,
        () -> SandboxTestSupport.require(MISSING, null));
    assertTrue(skipped.getMessage().contains("runsc is not on the PATH"), skipped.getMessage());
  }

  @Test
  void failsUnderCi() {
    AssertionFailedError failed = assertThrows(AssertionFailedError.class,
        () -> SandboxTestSupport.require(MISSING, "true"));
    assertTrue(failed.getMessage().contains("runsc is not on the PATH"), failed.getMessage());
  }

  @Test
  void passesWhenNothingIsMissing() {
    assertDoesNotThrow(() -> SandboxTestSupport.require(List.of(), "true"));
  }
}
