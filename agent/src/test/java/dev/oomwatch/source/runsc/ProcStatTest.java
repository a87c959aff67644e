package dev.oomwatch.source.runsc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ProcStatTest {

  /** A real sentry's line, read from /proc/7971/stat on this kind of machine. */
  static final String SENTRY = "7971 (exe) S 1 7971 7971 0 -1 4194560 4585 1606 0 0 1 2 0 1 20 0 15"
      + " 0 173383 1833230336 6408 18446744073709551615 4194304 14568024 140731999293568 0 0 0 0 0"
      + " 2147221247 0 0 0 17 0 0 0 0 0 0 27897856 28206408 347779072 140731999297201 140731999297513"
      + " 140731999297513 140731999297513 0";

  static Stream<Arguments> lines() {
    return Stream.of(
        Arguments.of(SENTRY, Optional.of(new ProcStat(7971, "exe", 'S', 173383))),
        Arguments.of(SENTRY + "\n", Optional.of(new ProcStat(7971, "exe", 'S', 173383))),
        Arguments.of(SENTRY.replace("(exe) S", "(exe) Z"),
            Optional.of(new ProcStat(7971, "exe", 'Z', 173383))),
        // comm may hold spaces and parentheses: the last ") " ends it
        Arguments.of(FakeProc.statLine(42, "a) (b c", 'R', 9), Optional.of(new ProcStat(42, "a) (b c",
            'R', 9))),
        Arguments.of(FakeProc.statLine(1, "", 'S', 0), Optional.of(new ProcStat(1, "", 'S', 0))),
        Arguments.of("7971 (exe) S 1 2 3", Optional.empty()),
        Arguments.of("x (exe) S" + SENTRY.substring(SENTRY.indexOf(") S") + 3), Optional.empty()),
        Arguments.of(SENTRY.replace(" 173383 ", " -5 "), Optional.empty()),
        Arguments.of(SENTRY.replace(" 173383 ", " 99999999999999999999 "), Optional.empty()),
        Arguments.of(SENTRY.replace("(exe) S", "(exe) SS"), Optional.empty()),
        Arguments.of("7971 exe S 1", Optional.empty()),
        Arguments.of("", Optional.empty()),
        Arguments.of(null, Optional.empty()),
        Arguments.of("1 (" + "x".repeat(5000) + ") S", Optional.empty()));
  }

  @ParameterizedTest
  @MethodSource("lines")
  void parsesProcPidStat(String line, Optional<ProcStat> expected) {
    assertEquals(expected, ProcStat.parse(line));
  }

  @Test
  void parsesTheLineAtTheStartOfALargerBuffer() {
    byte[] buffer = new byte[1024];
    byte[] line = (SENTRY + "\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    System.arraycopy(line, 0, buffer, 0, line.length);
    assertEquals(Optional.of(new ProcStat(7971, "exe", 'S', 173383)), ProcStat.parse(buffer, line.length));
    assertEquals(Optional.empty(), ProcStat.parse(buffer, 5), "a cut line");
    assertEquals(Optional.empty(), ProcStat.parse(buffer, buffer.length + 1));
  }

  @Test
  void aLineWithACharThatNoStatFileHoldsIsNotOne() {
    assertEquals(Optional.empty(), ProcStat.parse(SENTRY.replace("(exe)", "(\u20ac)")));
    assertEquals(Optional.of(new ProcStat(7971, "\u00e9", 'S', 173383)),
        ProcStat.parse(SENTRY.replace("(exe)", "(\u00e9)")), "ISO-8859-1 is bytes");
  }

  @ParameterizedTest
  @ValueSource(chars = {'Z', 'X', 'x'})
  void zombiesAndDeadProcessesHaveExited(char state) {
    assertTrue(new ProcStat(1, "exe", state, 1).exited());
  }

  @ParameterizedTest
  @ValueSource(chars = {'R', 'S', 'D', 'T', 't', 'I', 'P'})
  void otherStatesRun(char state) {
    assertFalse(new ProcStat(1, "exe", state, 1).exited());
  }

  @Test
  void probesAFakeProc(@TempDir java.nio.file.Path dir) {
    FakeProc proc = new FakeProc(dir).running(10, 500).zombie(11, 600).stat(12, "garbage")
        .stat(13, FakeProc.statLine(99, "exe", 'S', 1));
    ProcessProbe probe = new ProcessProbe(dir);

    assertEquals(new ProcessProbe.Running(new ProcStat(10, "exe", 'S', 500)), probe.probe(10));
    assertEquals(new ProcessProbe.Exited(true), probe.probe(11));
    assertTrue(probe.probe(12) instanceof ProcessProbe.Unknown);
    assertTrue(probe.probe(13) instanceof ProcessProbe.Unknown, "a stat naming another pid");
    assertEquals(new ProcessProbe.Exited(false), probe.probe(14));
    proc.gone(10);
    assertEquals(new ProcessProbe.Exited(false), probe.probe(10));
  }

  @Test
  void probesThisProcessForReal() {
    ProcessProbe probe = new ProcessProbe(java.nio.file.Path.of("/proc"));
    long self = ProcessHandle.current().pid();
    ProcessProbe.Finding finding = probe.probe(self);
    assertTrue(finding instanceof ProcessProbe.Running running && running.stat().pid() == self,
        finding::toString);
  }
}
