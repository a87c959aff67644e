package dev.oomwatch.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A mark lasts its lifetime from its latest marking, then is forgotten. */
class RecentMarksTest {
  private static final long MS = 1_000_000;

  @Test
  void aMarkLastsItsLifetimeFromTheLatestMarking() {
    RecentMarks marks = new RecentMarks(Duration.ofMillis(250));
    marks.mark("a", 0);
    marks.mark("b", 100 * MS);

    assertTrue(marks.isMarked("a", 250 * MS));
    assertEquals(250 * MS, marks.expiresAt("a", 200 * MS));
    assertFalse(marks.isMarked("a", 251 * MS), "older than the lifetime");
    assertEquals(300 * MS, marks.expiresAt("x", 300 * MS), "not marked: now");
    assertTrue(marks.isMarked("b", 300 * MS));

    marks.mark("b", 300 * MS);
    assertEquals(550 * MS, marks.expiresAt("b", 400 * MS), "marked again: from then");
  }
}
