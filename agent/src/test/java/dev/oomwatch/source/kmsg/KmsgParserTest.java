package dev.oomwatch.source.kmsg;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class KmsgParserTest {

  static Stream<Arguments> wellFormed() {
    return Stream.of(
        Arguments.of("6,642,454076682,-;memory: usage 65536kB, limit 65536kB, failcnt 40",
            new KmsgRecord(6, 0, 642, 454076682, '-',
                "memory: usage 65536kB, limit 65536kB, failcnt 40")),
        Arguments.of("5,0,0,-;Linux version 6.1.0-56-amd64",
            new KmsgRecord(5, 0, 0, 0, '-', "Linux version 6.1.0-56-amd64")),
        // facility 1 (LOG_USER), level 4: what `echo x > /dev/kmsg` gives
        Arguments.of("12,626,490179155,-;oomwatch-marker",
            new KmsgRecord(4, 1, 626, 490179155, '-', "oomwatch-marker")),
        Arguments.of("4,609,454076552,-; <TASK>", new KmsgRecord(4, 0, 609, 454076552, '-', " <TASK>")),
        Arguments.of("6,1,2,c;fragment", new KmsgRecord(6, 0, 1, 2, 'c', "fragment")),
        Arguments.of("6,1,2,+;fragment", new KmsgRecord(6, 0, 1, 2, '+', "fragment")),
        Arguments.of("6,7,8,-;", new KmsgRecord(6, 0, 7, 8, '-', "")),
        // fields after the flags (CONFIG_PRINTK_CALLER and future ones) are skipped
        Arguments.of("6,339,5140900,-,caller=T1;text", new KmsgRecord(6, 0, 339, 5140900, '-', "text")),
        Arguments.of("6,339,5140900,-,caller=T1,more=x;a;b", new KmsgRecord(6, 0, 339, 5140900, '-', "a;b")),
        // the text keeps the kernel's escapes, ';' and ',' as they are
        Arguments.of("6,88,227032,-;rcu: \\x09RCU restricting CPUs, a=b; c",
            new KmsgRecord(6, 0, 88, 227032, '-', "rcu: \\x09RCU restricting CPUs, a=b; c")),
        // dictionary lines after the first line are ignored
        Arguments.of("6,180,458219,-;acpi PNP0A03:00: _OSC: OS supports [ASPM]\n SUBSYSTEM=acpi\n"
                + " DEVICE=+acpi:PNP0A03:00\n",
            new KmsgRecord(6, 0, 180, 458219, '-', "acpi PNP0A03:00: _OSC: OS supports [ASPM]")),
        Arguments.of("3,1,2,-;text\n", new KmsgRecord(3, 0, 1, 2, '-', "text")),
        Arguments.of("0007,0001,0002,-;leading zeros", new KmsgRecord(7, 0, 1, 2, '-', "leading zeros")),
        Arguments.of("2047,9223372036854775807,9223372036854775807,-;largest numbers",
            new KmsgRecord(7, 255, Long.MAX_VALUE, Long.MAX_VALUE, '-', "largest numbers")));
  }

  @ParameterizedTest
  @MethodSource("wellFormed")
  void parsesWellFormedRecords(String input, KmsgRecord expected) {
    assertEquals(Optional.of(expected), KmsgParser.parse(input));
    byte[] bytes = ("garbage before" + input + "garbage after").getBytes(ISO_8859_1);
    int offset = "garbage before".length();
    assertEquals(Optional.of(expected), KmsgParser.parse(bytes, offset, input.length()));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "",
      ";",
      "\n",
      "no header at all",
      "6,642,454076682,-",                       // no ';'
      "6,642,454076682,-\n;text on the next line", // ';' only after the first line
      "6,642,454076682;text",                    // no flags
      "6,642;text",
      "6;text",
      ",642,454076682,-;empty priority",
      "6,,454076682,-;empty sequence",
      "6,642,,-;empty micros",
      "6,642,454076682,;empty flags",
      "6,642,454076682,--;two flag characters",
      "6,642,454076682, ;blank flag",
      "-6,642,454076682,-;negative priority",
      "6,-642,454076682,-;negative sequence",
      "6,642,-454076682,-;negative micros",
      "+6,642,454076682,-;signed priority",
      " 6,642,454076682,-;leading space",
      "6 ,642,454076682,-;trailing space",
      "0x6,642,454076682,-;hex",
      "6,642,4.5,-;fraction",
      "2147483648,642,454076682,-;priority over an int",
      "6,9223372036854775808,454076682,-;sequence over a long",
      "6,642,9223372036854775808,-;micros over a long",
      "6,642,99999999999999999999999999999,-;far over a long",
      "\u00006,642,1,-;NUL first",
  })
  void rejectsMalformedRecords(String input) {
    assertEquals(Optional.empty(), KmsgParser.parse(input));
  }

  @Test
  void rejectsBinaryGarbage() {
    byte[] garbage = new byte[4096];
    new Random(42).nextBytes(garbage);
    garbage[0] = (byte) 0xff;
    assertEquals(Optional.empty(), KmsgParser.parse(garbage, 0, garbage.length));
    byte[] almost = "6,1,2,-".getBytes(ISO_8859_1);
    assertEquals(Optional.empty(), KmsgParser.parse(almost, 0, almost.length));
  }

  @Test
  void rejectsAFirstLineLongerThanAnyKernelRecord() {
    String header = "6,1,2,-;";
    String fits = header + "x".repeat(KmsgParser.MAX_LINE_BYTES - header.length());
    assertTrue(KmsgParser.parse(fits).isPresent());
    assertEquals(Optional.empty(), KmsgParser.parse(fits + "x"));
    assertEquals(Optional.empty(), KmsgParser.parse("6,1,2,-;" + "y".repeat(1 << 20)));
  }

  @Test
  void aLongDictionaryDoesNotCount() {
    String record = "6,1,2,-;short\n SUBSYSTEM=" + "z".repeat(2 * KmsgParser.MAX_LINE_BYTES);
    assertEquals("short", KmsgParser.parse(record).orElseThrow().text());
  }

  @Test
  void rejectsNullAndBadBounds() {
    byte[] bytes = "6,1,2,-;text".getBytes(ISO_8859_1);
    assertEquals(Optional.empty(), KmsgParser.parse(null, 0, 0));
    assertEquals(Optional.empty(), KmsgParser.parse((String) null));
    assertEquals(Optional.empty(), KmsgParser.parse(bytes, -1, 3));
    assertEquals(Optional.empty(), KmsgParser.parse(bytes, 0, -1));
    assertEquals(Optional.empty(), KmsgParser.parse(bytes, 5, bytes.length));
    assertEquals(Optional.empty(), KmsgParser.parse(bytes, Integer.MAX_VALUE, Integer.MAX_VALUE));
  }

  @Test
  void keepsBytesOutsideAsciiAsTheyAre() {
    byte[] bytes = {'6', ',', '1', ',', '2', ',', '-', ';', (byte) 0xc3, (byte) 0xa9};
    assertEquals("\u00c3\u00a9", KmsgParser.parse(bytes, 0, bytes.length).orElseThrow().text());
  }
}
