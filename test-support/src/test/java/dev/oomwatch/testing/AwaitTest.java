package dev.oomwatch.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AwaitTest {
  private static final Duration SHORT = Duration.ofMillis(50);

  @Test
  void aConditionThatComesTrueEndsTheWait() throws Exception {
    AtomicInteger polls = new AtomicInteger();
    assertTrue(Await.until(() -> polls.incrementAndGet() >= 3, Await.DEADLINE, Duration.ofMillis(1)));
    assertEquals(3, polls.get());
  }

  @Test
  void aConditionThatNeverHoldsIsFalseAtTheDeadline() throws Exception {
    assertFalse(Await.until(() -> false, SHORT, Duration.ofMillis(5)));
  }

  @Test
  void aProbeThatThrowsMeansNotYet() throws Exception {
    AtomicInteger polls = new AtomicInteger();
    Optional<String> value = Await.value(() -> {
      if (polls.incrementAndGet() < 3) {
        throw new IllegalStateException("half-written");
      }
      return Optional.of("ready");
    }, Await.DEADLINE, Duration.ofMillis(1));
    assertEquals(Optional.of("ready"), value);
  }

  @Test
  void orFailFailsTheTestSayingWhatAndWhyWithTheLastExceptionAsCause() {
    IllegalStateException why = new IllegalStateException("API unreachable");
    AssertionError failure = assertThrows(AssertionError.class, () -> Await.orFail("the incident", () -> {
      throw why;
    }, SHORT));
    assertTrue(failure.getMessage().contains("waiting for the incident"), failure.getMessage());
    assertSame(why, failure.getCause());
  }

  @Test
  void orFailAddsTheStateToItsMessage() {
    AssertionError failure = assertThrows(AssertionError.class,
        () -> Await.orFail("two Events", () -> false, () -> "saw 1", SHORT));
    assertTrue(failure.getMessage().endsWith("saw 1"), failure.getMessage());
  }
}
