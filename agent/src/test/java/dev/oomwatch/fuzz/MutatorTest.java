package dev.oomwatch.fuzz;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The mutation engine is deterministic per seed and makes the hostile shapes it promises. */
@Tag("fuzz")
class MutatorTest {

  private static final List<byte[]> CORPUS = List.of(
      "oom-kill:constraint=CONSTRAINT_MEMCG,pid=7932,uid=65534\n".getBytes(ISO_8859_1),
      "{\"id\":\"a\",\"sandbox\":{\"pid\":8679}}".getBytes(ISO_8859_1));

  private static Mutator mutator(long seed) {
    return new Mutator(new SplittableRandom(seed), List.of("oom-kill:", ";"), 8192);
  }

  @Test
  void oneSeedGivesOneInput() {
    for (long seed = 0; seed < 2_000; seed++) {
      assertArrayEquals(mutator(seed).mutatedOrRandom(CORPUS), mutator(seed).mutatedOrRandom(CORPUS), "seed " + seed);
    }
    assertEquals(Fuzz.seedOf("kmsg.parser", 7), Fuzz.seedOf("kmsg.parser", 7));
    assertNotEquals(Fuzz.seedOf("kmsg.parser", 7), Fuzz.seedOf("kmsg.parser", 8));
    assertNotEquals(Fuzz.seedOf("kmsg.parser", 7), Fuzz.seedOf("cgroup.files", 7));
  }

  @Test
  void mutationsCoverTheHostileShapes() {
    boolean oneMib = false;
    boolean nul = false;
    boolean invalidUtf8 = false;
    boolean overflow = false;
    boolean negative = false;
    boolean deep = false;
    boolean truncated = false;
    boolean random = false;
    for (long seed = 0; seed < 5_000; seed++) {
      byte[] input = mutator(seed).mutatedOrRandom(CORPUS);
      String text = new String(input, ISO_8859_1);
      oneMib |= input.length >= Mutator.ONE_MIB;
      nul |= text.indexOf('\0') >= 0;
      invalidUtf8 |= text.indexOf('\u00ff') >= 0 || text.contains("\u00ed\u00a0\u0080");
      overflow |= text.contains("9223372036854775808") || text.contains("18446744073709551616");
      negative |= text.contains("=-1,") || text.contains("pid=-");
      deep |= text.contains("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
      truncated |= input.length > 0 && input.length < CORPUS.get(0).length && CORPUS.get(0)[0] == input[0]
          && text.startsWith("oom-kill:c");
      random |= input.length > 0 && input[0] != 'o' && input[0] != '{';
    }
    assertTrue(oneMib && nul && invalidUtf8 && overflow && negative && deep && truncated && random,
        "1MiB " + oneMib + " NUL " + nul + " UTF-8 " + invalidUtf8 + " overflow " + overflow + " negative "
            + negative + " deep " + deep + " truncated " + truncated + " random " + random);
  }

  @Test
  void escapingShowsEveryByte() {
    assertEquals("\"a\\n\\x00\\xff\\\\\" (5 bytes)", Escape.bytes(new byte[] {'a', '\n', 0, (byte) 0xff, '\\'}, 100));
    assertEquals("\"\\ud800x\"", Escape.text("\ud800x", 100));
    assertTrue(Escape.bytes(new byte[5000], 100).endsWith("(5000 bytes in all)"));
  }

  private String userReplay;

  /** A replay asked for on the command line must not change these tests of the harness. */
  @BeforeEach
  void setAsideUserReplay() {
    userReplay = System.getProperty("fuzz.replay");
    System.clearProperty("fuzz.replay");
  }

  @AfterEach
  void restoreUserReplay() {
    if (userReplay != null) {
      System.setProperty("fuzz.replay", userReplay);
    }
  }

  @Test
  void failuresNameTheirSeedAndReplay() {
    AssertionError failure = assertThrows(AssertionError.class, () -> Fuzz.run("selftest", 1000,
        r -> r.nextInt(1000), String::valueOf, i -> 1, i -> {
          if (i % 10 == 3) {
            throw new IllegalStateException("boom");
          }
        }));
    String report = failure.getMessage();
    assertTrue(report.contains("-Dfuzz.replay=selftest:") && report.contains("IllegalStateException: boom"), report);
    long seed = Long.parseLong(report.replaceAll("(?s).*?-Dfuzz\\.replay=selftest:(-?[0-9]+).*", "$1"));
    int failing = new SplittableRandom(seed).nextInt(1000);
    assertEquals(3, failing % 10, "the reported seed does not generate a failing input");
    assertTrue(report.contains("input: " + failing), report);

    List<Integer> replayed = new java.util.ArrayList<>();
    System.setProperty("fuzz.replay", "selftest:" + seed);
    try {
      assertEquals(1, Fuzz.run("selftest", 1000, r -> r.nextInt(1000), String::valueOf, i -> 1, replayed::add));
      assertEquals(0, Fuzz.run("kmsg.parser", 1000, r -> r.nextInt(1000), String::valueOf, i -> 1, replayed::add));
    } finally {
      System.clearProperty("fuzz.replay");
    }
    assertEquals(List.of(failing), replayed, "replay does not give the failing input again");
  }

  @Test
  void aHangingInputFailsWithItsSeedAndWhereItHung() {
    System.setProperty("fuzz.hangSeconds", "0.5");
    try {
      AssertionError failure = assertThrows(AssertionError.class, () -> Fuzz.run("selftest", 100,
          r -> r.nextInt(100), String::valueOf, i -> 1, i -> {
            if (i % 5 == 2) {
              while (!Thread.currentThread().isInterrupted()) {
                Thread.onSpinWait(); // a parser looping forever (this one stops when interrupted)
              }
            }
          }));
      String report = failure.getMessage();
      assertTrue(report.contains("(hang)") && report.matches("(?s).*input: [0-9]*[27]\\n.*")
          && report.contains("aHangingInputFailsWithItsSeedAndWhereItHung"), report);
    } finally {
      System.clearProperty("fuzz.hangSeconds");
    }
  }
}
