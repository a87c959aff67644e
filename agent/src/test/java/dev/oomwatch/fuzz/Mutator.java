package dev.oomwatch.fuzz;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The mutation engine: turns real inputs into hostile ones, and makes up random ones, deterministically
 * from the {@link SplittableRandom} it is given (so one seed gives one input).
 *
 * <p>Byte-level mutations, stacked one to a dozen at a time: bit flips, random and "interesting" bytes,
 * insertion, deletion and duplication of ranges, truncation at a random point (from either end), splice
 * of two inputs, decimal numbers replaced by boundary values ({@code -1}, {@code 0}, 2^31-1, 2^31,
 * 2^63-1, 2^63, 2^64, digit strings thousands long, ...), oversized lines (up to 1 MiB, and just around
 * each parser's own limit), NUL and invalid UTF-8 bytes, deep JSON nesting, unbalanced braces and
 * quotes, line-level shuffles, CR-LF line ends, and tokens from the family's dictionary. Random inputs:
 * random bytes, random printable text, dictionary tokens strung together, and numbers.
 */
public final class Mutator {

  public static final int ONE_MIB = 1024 * 1024;
  /**
   * Stacked mutations stop growing an input here (a line duplicated 2,000 times could otherwise make
   * gigabytes): room for a 1 MiB line and some more.
   */
  public static final int MAX_INPUT_BYTES = ONE_MIB + ONE_MIB / 4;

  /** Numbers a parser of counters must survive. */
  public static final List<String> BOUNDARY_NUMBERS = List.of(
      "-1", "0", "1", "-0", "+1", "00", "007",
      "127", "128", "255", "256", "-128", "-129",
      "32767", "32768", "65535", "65536",
      "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296",
      "4194304", "4194305",
      "4611686018427387904", "9223372036854771712",
      "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
      "18446744073709551615", "18446744073709551616", "99999999999999999999",
      "340282366920938463463374607431768211456",
      "1e308", "1e309", "-1e309", "1.7976931348623157E308", "4.9e-324", "1e-400",
      "0.0", "-0.0", ".5", "5.", "1.5", "0x10", "0b1", "1_000", "NaN", "Infinity", "-Infinity", "+Inf",
      "1234567890123456789012345678901234567890");

  /** Single bytes parsers treat specially. */
  private static final byte[] INTERESTING_BYTES = {
      0, 1, '\n', '\r', '\t', ' ', ',', ';', ':', '=', '-', '+', '.', '"', '\'', '\\', '{', '}', '[', ']',
      '(', ')', '#', '/', '0', '9', 'e', 'E', 'x', 0x7f, (byte) 0x80, (byte) 0xbf, (byte) 0xc0,
      (byte) 0xc3, (byte) 0xe2, (byte) 0xed, (byte) 0xf0, (byte) 0xf4, (byte) 0xf8, (byte) 0xfe, (byte) 0xff};

  /** Byte strings that are not valid UTF-8, and a few that are but are unusual. */
  private static final byte[][] UTF8_ODDITIES = {
      {(byte) 0xc0, (byte) 0x80}, // overlong NUL
      {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, // a lone surrogate
      {(byte) 0xed, (byte) 0xbf, (byte) 0xbf},
      {(byte) 0xf8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80}, // 5-byte form
      {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, // above U+10FFFF
      {(byte) 0xff}, {(byte) 0xfe}, {(byte) 0x80}, {(byte) 0xbf},
      {(byte) 0xe2, (byte) 0x82}, // cut off
      {(byte) 0xef, (byte) 0xbb, (byte) 0xbf}, // BOM
      {(byte) 0xe2, (byte) 0x80, (byte) 0xa8}, // U+2028
      {(byte) 0xf0, (byte) 0x9f, (byte) 0x92, (byte) 0xa5}, // an emoji
      {0}, {0, 0, 0, 0}};

  private final SplittableRandom random;
  private final byte[][] dictionary;
  private final int[] lineLimits;

  /**
   * @param random     where every choice comes from
   * @param dictionary tokens of the format under test (keywords, separators, field names)
   * @param lineLimits line or input lengths the parser under test treats specially; lines just below,
   *                   at and above each are made, besides 1 MiB ones
   */
  public Mutator(SplittableRandom random, List<String> dictionary, int... lineLimits) {
    this.random = random;
    this.dictionary = dictionary.stream().map(t -> t.getBytes(ISO_8859_1)).toArray(byte[][]::new);
    this.lineLimits = lineLimits.clone();
  }

  public SplittableRandom random() {
    return random;
  }

  /** One to a dozen stacked mutations of {@code input}; {@code corpus} gives the material to splice. */
  public byte[] mutate(byte[] input, List<byte[]> corpus) {
    int rounds = random.nextInt(4) == 0 ? 1 + random.nextInt(12) : 1 + random.nextInt(3);
    byte[] bytes = input;
    for (int i = 0; i < rounds; i++) {
      bytes = mutateOnce(bytes, corpus);
      if (bytes.length > MAX_INPUT_BYTES) {
        bytes = Arrays.copyOf(bytes, MAX_INPUT_BYTES);
      }
    }
    return bytes;
  }

  /** A mutated real input (mostly), an unchanged one, or a random one. */
  public byte[] mutatedOrRandom(List<byte[]> corpus) {
    int roll = random.nextInt(100);
    if (roll < 8) {
      return randomInput();
    }
    byte[] seed = corpus.get(random.nextInt(corpus.size()));
    return roll < 12 ? seed.clone() : mutate(seed, corpus);
  }

  /** One mutation. */
  public byte[] mutateOnce(byte[] input, List<byte[]> corpus) {
    int op = random.nextInt(200);
    if (op < 12) {
      return bitFlip(input);
    } else if (op < 22) {
      return setByte(input, (byte) random.nextInt(256));
    } else if (op < 34) {
      return setByte(input, INTERESTING_BYTES[random.nextInt(INTERESTING_BYTES.length)]);
    } else if (op < 44) {
      return insert(input, randomBytes(1 + random.nextInt(16)));
    } else if (op < 54) {
      return insert(input, new byte[] {INTERESTING_BYTES[random.nextInt(INTERESTING_BYTES.length)]});
    } else if (op < 66) {
      return deleteRange(input);
    } else if (op < 74) {
      return duplicateRange(input);
    } else if (op < 84) {
      return truncate(input);
    } else if (op < 88) {
      return dropHead(input);
    } else if (op < 96) {
      return splice(input, corpus.get(random.nextInt(corpus.size())));
    } else if (op < 120) {
      return replaceNumber(input);
    } else if (op < 124) {
      return insert(input, hugeDigits());
    } else if (op < 126) {
      return oversizedLine(input);
    } else if (op < 132) {
      return insert(input, UTF8_ODDITIES[random.nextInt(UTF8_ODDITIES.length)]);
    } else if (op < 134) {
      return deepNesting(input);
    } else if (op < 140) {
      return unbalance(input);
    } else if (op < 156) {
      return insertToken(input);
    } else if (op < 164) {
      return replaceWithToken(input);
    } else if (op < 176) {
      return lines(input);
    } else if (op < 180) {
      return crlf(input);
    } else if (op < 186) {
      return repeatChunk(input);
    } else if (op < 192) {
      return swapRanges(input);
    } else if (op < 196) {
      return setByteRun(input);
    } else {
      return random.nextBoolean() ? new byte[0] : randomInput();
    }
  }

  /** A made-up input: random bytes, random text, dictionary tokens, or numbers. */
  public byte[] randomInput() {
    int kind = random.nextInt(20);
    switch (kind) {
      case 0, 1, 2, 3 -> {
        int length = random.nextInt(20) == 0 ? random.nextInt(70_000) : random.nextInt(512);
        return randomBytes(length);
      }
      case 4, 5, 6, 7 -> {
        byte[] bytes = new byte[random.nextInt(400)];
        for (int i = 0; i < bytes.length; i++) {
          bytes[i] = (byte) (random.nextInt(10) == 0 ? '\n' : 0x20 + random.nextInt(95));
        }
        return bytes;
      }
      case 8, 9, 10, 11, 12, 13, 14 -> {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int tokens = 1 + random.nextInt(40);
        for (int i = 0; i < tokens; i++) {
          int pick = random.nextInt(10);
          if (pick < 5 && dictionary.length > 0) {
            out.writeBytes(dictionary[random.nextInt(dictionary.length)]);
          } else if (pick < 8) {
            out.writeBytes(boundaryNumber());
          } else {
            out.write(INTERESTING_BYTES[random.nextInt(INTERESTING_BYTES.length)]);
          }
        }
        return out.toByteArray();
      }
      case 15, 16 -> {
        return boundaryNumber();
      }
      case 17 -> {
        return oversizedLine(new byte[0]);
      }
      default -> {
        return new byte[random.nextInt(3)];
      }
    }
  }

  /** A boundary number, or a digit string hundreds to thousands long. */
  public byte[] boundaryNumber() {
    if (random.nextInt(12) == 0) {
      return hugeDigits();
    }
    return BOUNDARY_NUMBERS.get(random.nextInt(BOUNDARY_NUMBERS.size())).getBytes(ISO_8859_1);
  }

  /** A boundary number as a string. */
  public String boundaryNumberText() {
    return new String(boundaryNumber(), ISO_8859_1);
  }

  /**
   * Text for the parsers that take a String: the bytes as ISO-8859-1 (one char per byte), as UTF-8
   * (invalid sequences become U+FFFD), or with random UTF-16 chars put in (lone surrogates included).
   */
  public String text(byte[] bytes) {
    int roll = random.nextInt(10);
    if (roll < 7) {
      return new String(bytes, ISO_8859_1);
    }
    if (roll < 9) {
      return new String(bytes, UTF_8);
    }
    StringBuilder text = new StringBuilder(new String(bytes, ISO_8859_1));
    int extra = 1 + random.nextInt(4);
    for (int i = 0; i < extra; i++) {
      char c = switch (random.nextInt(6)) {
        case 0 -> (char) (0xd800 + random.nextInt(0x800));
        case 1 -> '\u0000';
        case 2 -> '\uffff';
        case 3 -> '\u2028';
        case 4 -> '\u0085';
        default -> (char) random.nextInt(0x10000);
      };
      text.insert(random.nextInt(text.length() + 1), c);
    }
    return text.toString();
  }

  private byte[] bitFlip(byte[] input) {
    if (input.length == 0) {
      return input;
    }
    byte[] out = input.clone();
    int flips = 1 + random.nextInt(4);
    for (int i = 0; i < flips; i++) {
      int at = random.nextInt(out.length);
      out[at] ^= (byte) (1 << random.nextInt(8));
    }
    return out;
  }

  private byte[] setByte(byte[] input, byte value) {
    if (input.length == 0) {
      return new byte[] {value};
    }
    byte[] out = input.clone();
    out[random.nextInt(out.length)] = value;
    return out;
  }

  private byte[] setByteRun(byte[] input) {
    if (input.length == 0) {
      return input;
    }
    byte[] out = input.clone();
    int from = random.nextInt(out.length);
    int to = Math.min(out.length, from + 1 + random.nextInt(64));
    Arrays.fill(out, from, to, INTERESTING_BYTES[random.nextInt(INTERESTING_BYTES.length)]);
    return out;
  }

  private byte[] insert(byte[] input, byte[] what) {
    return insertAt(input, random.nextInt(input.length + 1), what);
  }

  private static byte[] insertAt(byte[] input, int at, byte[] what) {
    byte[] out = new byte[input.length + what.length];
    System.arraycopy(input, 0, out, 0, at);
    System.arraycopy(what, 0, out, at, what.length);
    System.arraycopy(input, at, out, at + what.length, input.length - at);
    return out;
  }

  private byte[] deleteRange(byte[] input) {
    if (input.length == 0) {
      return input;
    }
    int from = random.nextInt(input.length);
    int length = 1 + random.nextInt(Math.min(input.length - from, random.nextBoolean() ? 4 : 256));
    byte[] out = new byte[input.length - length];
    System.arraycopy(input, 0, out, 0, from);
    System.arraycopy(input, from + length, out, from, input.length - from - length);
    return out;
  }

  private byte[] duplicateRange(byte[] input) {
    if (input.length == 0) {
      return input;
    }
    int from = random.nextInt(input.length);
    int length = 1 + random.nextInt(Math.min(input.length - from, 512));
    return insert(input, Arrays.copyOfRange(input, from, from + length));
  }

  private byte[] truncate(byte[] input) {
    return input.length == 0 ? input : Arrays.copyOf(input, random.nextInt(input.length));
  }

  private byte[] dropHead(byte[] input) {
    return input.length == 0 ? input : Arrays.copyOfRange(input, 1 + random.nextInt(input.length), input.length);
  }

  /** The start of one input and the end of another, each cut at a random point. */
  private byte[] splice(byte[] a, byte[] b) {
    int cutA = random.nextInt(a.length + 1);
    int cutB = random.nextInt(b.length + 1);
    byte[] out = new byte[cutA + b.length - cutB];
    System.arraycopy(a, 0, out, 0, cutA);
    System.arraycopy(b, cutB, out, cutA, b.length - cutB);
    return out;
  }

  /** Replaces one decimal number of the input (the n-th, chosen at random) with a boundary value. */
  private byte[] replaceNumber(byte[] input) {
    List<int[]> numbers = new ArrayList<>();
    for (int i = 0; i < input.length; ) {
      if (isDigit(input[i])) {
        int start = i > 0 && input[i - 1] == '-' ? i - 1 : i;
        while (i < input.length && isDigit(input[i])) {
          i++;
        }
        numbers.add(new int[] {start, i});
        if (numbers.size() > 4096) {
          break;
        }
      } else {
        i++;
      }
    }
    if (numbers.isEmpty()) {
      return insert(input, boundaryNumber());
    }
    int[] span = numbers.get(random.nextInt(numbers.size()));
    byte[] replacement = boundaryNumber();
    byte[] out = new byte[input.length - (span[1] - span[0]) + replacement.length];
    System.arraycopy(input, 0, out, 0, span[0]);
    System.arraycopy(replacement, 0, out, span[0], replacement.length);
    System.arraycopy(input, span[1], out, span[0] + replacement.length, input.length - span[1]);
    return out;
  }

  private byte[] hugeDigits() {
    int length = 20 + random.nextInt(random.nextBoolean() ? 60 : 5_000);
    byte[] digits = new byte[length];
    for (int i = 0; i < length; i++) {
      digits[i] = (byte) ('0' + random.nextInt(10));
    }
    if (random.nextInt(4) == 0) {
      digits[0] = '-';
    }
    return digits;
  }

  /** A line with no newline 1 MiB long, or just around one of the parser's limits, put in. */
  private byte[] oversizedLine(byte[] input) {
    int length;
    if (lineLimits.length > 0 && random.nextInt(4) > 0) {
      length = Math.max(0, lineLimits[random.nextInt(lineLimits.length)] + random.nextInt(5) - 2);
    } else {
      length = ONE_MIB + random.nextInt(3) - 1;
    }
    byte[] line = new byte[length];
    switch (random.nextInt(4)) {
      case 0 -> Arrays.fill(line, (byte) 'a');
      case 1 -> Arrays.fill(line, (byte) '9');
      case 2 -> {
        // keeps whatever comes first, so the line looks like the input's first line going on and on
        Arrays.fill(line, (byte) 'x');
        if (input.length > 0) {
          int prefix = Math.min(input.length, line.length);
          System.arraycopy(input, 0, line, 0, prefix);
          for (int i = 0; i < prefix; i++) {
            if (line[i] == '\n') {
              line[i] = ' ';
            }
          }
          return insertAt(input, input.length, line);
        }
      }
      default -> {
        for (int i = 0; i < line.length; i++) {
          line[i] = (byte) (0x20 + (i * 31 + length) % 95);
        }
      }
    }
    return insert(input, line);
  }

  /** Deep JSON nesting: thousands of brackets, open only or open and closed. */
  private byte[] deepNesting(byte[] input) {
    int depth = 1 + random.nextInt(random.nextInt(4) > 0 ? 2_000 : 100_000);
    boolean objects = random.nextBoolean();
    boolean closed = random.nextBoolean();
    byte[] open = objects ? "{\"a\":".getBytes(ISO_8859_1) : new byte[] {'['};
    byte[] close = objects ? new byte[] {'}'} : new byte[] {']'};
    ByteArrayOutputStream out = new ByteArrayOutputStream(depth * (open.length + 1) + 8);
    for (int i = 0; i < depth; i++) {
      out.writeBytes(open);
    }
    out.writeBytes("1".getBytes(ISO_8859_1));
    if (closed) {
      for (int i = 0; i < depth; i++) {
        out.writeBytes(close);
      }
    }
    byte[] nest = out.toByteArray();
    return random.nextBoolean() ? nest : insert(input, nest);
  }

  private byte[] unbalance(byte[] input) {
    byte[] braces = {'{', '}', '[', ']', '"', '"', '\'', '(', ')'};
    int count = 1 + random.nextInt(random.nextBoolean() ? 2 : 50);
    byte[] out = input;
    for (int i = 0; i < count; i++) {
      if (out.length > 0 && random.nextBoolean()) {
        // delete one structural byte, if any
        int start = random.nextInt(out.length);
        for (int j = 0; j < out.length; j++) {
          int at = (start + j) % out.length;
          byte b = out[at];
          if (b == '{' || b == '}' || b == '[' || b == ']' || b == '"') {
            byte[] shorter = new byte[out.length - 1];
            System.arraycopy(out, 0, shorter, 0, at);
            System.arraycopy(out, at + 1, shorter, at, out.length - at - 1);
            out = shorter;
            break;
          }
        }
      } else {
        out = insert(out, new byte[] {braces[random.nextInt(braces.length)]});
      }
    }
    return out;
  }

  private byte[] insertToken(byte[] input) {
    if (dictionary.length == 0) {
      return insert(input, boundaryNumber());
    }
    return insert(input, dictionary[random.nextInt(dictionary.length)]);
  }

  /** Overwrites a range with a dictionary token or a boundary number. */
  private byte[] replaceWithToken(byte[] input) {
    if (input.length == 0) {
      return insertToken(input);
    }
    byte[] token = dictionary.length == 0 || random.nextBoolean() ? boundaryNumber()
        : dictionary[random.nextInt(dictionary.length)];
    int from = random.nextInt(input.length);
    int to = Math.min(input.length, from + random.nextInt(16));
    byte[] out = new byte[input.length - (to - from) + token.length];
    System.arraycopy(input, 0, out, 0, from);
    System.arraycopy(token, 0, out, from, token.length);
    System.arraycopy(input, to, out, from + token.length, input.length - to);
    return out;
  }

  /** Line-level: delete, duplicate, swap or shuffle lines, or join two. */
  private byte[] lines(byte[] input) {
    List<byte[]> lines = splitLines(input);
    if (lines.isEmpty()) {
      return input;
    }
    int a = random.nextInt(lines.size());
    int b = random.nextInt(lines.size());
    switch (random.nextInt(6)) {
      case 0 -> lines.remove(a);
      case 1 -> {
        int copies = 1 + (random.nextInt(8) == 0 ? random.nextInt(2_000) : random.nextInt(3));
        copies = Math.min(copies, 1 + MAX_INPUT_BYTES / (lines.get(a).length + 1));
        for (int i = 0; i < copies; i++) {
          lines.add(a, lines.get(a));
        }
      }
      case 2 -> {
        byte[] t = lines.get(a);
        lines.set(a, lines.get(b));
        lines.set(b, t);
      }
      case 3 -> {
        for (int i = lines.size() - 1; i > 0; i--) {
          int j = random.nextInt(i + 1);
          byte[] t = lines.get(i);
          lines.set(i, lines.get(j));
          lines.set(j, t);
        }
      }
      case 4 -> lines.add(a, new byte[0]);
      default -> {
        if (lines.size() > 1 && a + 1 < lines.size()) {
          byte[] joined = new byte[lines.get(a).length + lines.get(a + 1).length];
          System.arraycopy(lines.get(a), 0, joined, 0, lines.get(a).length);
          System.arraycopy(lines.get(a + 1), 0, joined, lines.get(a).length, lines.get(a + 1).length);
          lines.set(a, joined);
          lines.remove(a + 1);
        }
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(input.length + 16);
    for (int i = 0; i < lines.size(); i++) {
      out.writeBytes(lines.get(i));
      if (i < lines.size() - 1 || (input.length > 0 && input[input.length - 1] == '\n')) {
        out.write('\n');
      }
    }
    return out.toByteArray();
  }

  private static List<byte[]> splitLines(byte[] input) {
    List<byte[]> lines = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < input.length; i++) {
      if (input[i] == '\n') {
        lines.add(Arrays.copyOfRange(input, start, i));
        start = i + 1;
      }
    }
    if (start < input.length) {
      lines.add(Arrays.copyOfRange(input, start, input.length));
    }
    return lines;
  }

  private byte[] crlf(byte[] input) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(input.length + 64);
    boolean all = random.nextBoolean();
    for (byte b : input) {
      if (b == '\n' && (all || random.nextInt(4) == 0)) {
        out.write('\r');
      }
      out.write(b);
    }
    return out.toByteArray();
  }

  /** A short chunk repeated many times in place: long lines, long values. */
  private byte[] repeatChunk(byte[] input) {
    if (input.length == 0) {
      return input;
    }
    int from = random.nextInt(input.length);
    int length = 1 + random.nextInt(Math.min(input.length - from, 8));
    int times = 2 + random.nextInt(random.nextBoolean() ? 16 : 20_000);
    byte[] chunk = Arrays.copyOfRange(input, from, from + length);
    byte[] repeated = new byte[chunk.length * times];
    for (int i = 0; i < times; i++) {
      System.arraycopy(chunk, 0, repeated, i * chunk.length, chunk.length);
    }
    return insertAt(input, from, repeated);
  }

  private byte[] swapRanges(byte[] input) {
    if (input.length < 4) {
      return input;
    }
    int a = random.nextInt(input.length / 2);
    int b = input.length / 2 + random.nextInt(input.length - input.length / 2);
    int length = 1 + random.nextInt(Math.min(b - a, input.length - b));
    byte[] out = input.clone();
    System.arraycopy(input, b, out, a, length);
    System.arraycopy(input, a, out, b, length);
    return out;
  }

  public byte[] randomBytes(int length) {
    byte[] bytes = new byte[length];
    for (int i = 0; i < length; i++) {
      bytes[i] = (byte) random.nextInt(256);
    }
    return bytes;
  }

  private static boolean isDigit(byte b) {
    return b >= '0' && b <= '9';
  }
}
