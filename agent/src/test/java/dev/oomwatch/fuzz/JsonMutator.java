package dev.oomwatch.fuzz;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Structure-aware mutations of JSON: the input stays valid JSON (so the mutation reaches the code that
 * interprets it, not only the JSON reader) but a value changes type, becomes null, a boundary number or
 * a hostile string, a member disappears or is renamed, an array grows or empties, a value is wrapped in
 * an array or nested deeply.
 */
public final class JsonMutator {

  /** Writes nesting deeper than Jackson's default limit of 1000, for the readers to refuse. */
  private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
      .streamWriteConstraints(StreamWriteConstraints.builder().maxNestingDepth(100_000).build())
      .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(100_000).build())
      .build());
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private final SplittableRandom random;
  private final Mutator bytes;

  public JsonMutator(SplittableRandom random, Mutator bytes) {
    this.random = random;
    this.bytes = bytes;
  }

  public static JsonNode read(byte[] json) {
    try {
      return JSON.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static byte[] write(JsonNode node) {
    try {
      return JSON.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A deep copy of {@code root} with one to eight mutations applied at random nodes below it. */
  public JsonNode mutate(JsonNode root) {
    JsonNode copy = root.deepCopy();
    int rounds = 1 + random.nextInt(random.nextBoolean() ? 2 : 8);
    for (int i = 0; i < rounds; i++) {
      copy = mutateOnce(copy);
    }
    return copy;
  }

  /** Like {@link #mutate(JsonNode)} but only below the member {@code path} (if it exists). */
  public JsonNode mutateBelow(JsonNode root, String... path) {
    JsonNode copy = root.deepCopy();
    JsonNode parent = null;
    JsonNode node = copy;
    String last = null;
    for (String name : path) {
      if (node == null || !node.isObject()) {
        return mutate(root);
      }
      parent = node;
      last = name;
      node = node.get(name);
    }
    if (node == null || parent == null) {
      return mutate(root);
    }
    ((ObjectNode) parent).set(last, mutate(node));
    return copy;
  }

  private JsonNode mutateOnce(JsonNode root) {
    List<Slot> slots = new ArrayList<>();
    collect(root, null, null, -1, slots);
    Slot slot = slots.get(random.nextInt(slots.size()));
    JsonNode replacement;
    switch (random.nextInt(12)) {
      case 0 -> replacement = NODES.nullNode();
      case 1, 2 -> replacement = boundaryNumber();
      case 3, 4 -> replacement = NODES.textNode(hostileString(slot.node));
      case 5 -> replacement = otherType(slot.node);
      case 6 -> {
        if (slot.remove()) {
          return root;
        }
        replacement = NODES.nullNode();
      }
      case 7 -> {
        if (slot.rename(random)) {
          return root;
        }
        replacement = NODES.objectNode();
      }
      case 8 -> replacement = NODES.arrayNode().add(slot.node.deepCopy());
      case 9 -> replacement = grow(slot.node);
      case 10 -> replacement = nest(slot.node);
      default -> replacement = random.nextBoolean() ? NODES.objectNode() : NODES.arrayNode();
    }
    if (slot.parent == null) {
      return replacement;
    }
    slot.set(replacement);
    return root;
  }

  private JsonNode boundaryNumber() {
    return switch (random.nextInt(16)) {
      case 0 -> NODES.numberNode(-1);
      case 1 -> NODES.numberNode(0);
      case 2 -> NODES.numberNode(Integer.MAX_VALUE);
      case 3 -> NODES.numberNode(1L << 31);
      case 4 -> NODES.numberNode(Integer.MIN_VALUE);
      case 5 -> NODES.numberNode(Long.MAX_VALUE);
      case 6 -> NODES.numberNode(Long.MIN_VALUE);
      case 7 -> NODES.numberNode(BigInteger.ONE.shiftLeft(63));
      case 8 -> NODES.numberNode(BigInteger.ONE.shiftLeft(64));
      case 9 -> NODES.numberNode(new BigInteger("9".repeat(1 + random.nextInt(900))));
      case 10 -> NODES.numberNode(1.5);
      case 11 -> NODES.numberNode(new BigDecimal("1e400"));
      case 12 -> NODES.numberNode(-0.0);
      case 13 -> NODES.numberNode(4L * 1024 * 1024 + random.nextInt(3) - 1);
      case 14 -> NODES.numberNode(new BigDecimal("-1e-400"));
      default -> NODES.numberNode(random.nextLong());
    };
  }

  private String hostileString(JsonNode old) {
    return switch (random.nextInt(12)) {
      case 0 -> "";
      case 1 -> " ";
      case 2 -> "\u0000";
      case 3 -> "a\u0000b";
      case 4 -> "\ud800";
      case 5 -> "x".repeat(1 + random.nextInt(random.nextBoolean() ? 300 : 70_000));
      case 6 -> bytes.boundaryNumberText();
      case 7 -> "../../etc/passwd";
      case 8 -> "\n\r\t\"\\";
      case 9 -> old.isTextual() && !old.textValue().isEmpty()
          ? old.textValue().substring(0, random.nextInt(old.textValue().length())) : "/";
      case 10 -> old.isTextual() ? old.textValue() + bytes.text(bytes.randomBytes(random.nextInt(8)))
          : "\u00ff\u0100";
      default -> bytes.text(bytes.randomInput());
    };
  }

  private JsonNode otherType(JsonNode old) {
    if (old.isTextual()) {
      return random.nextBoolean() ? NODES.numberNode(random.nextInt()) : NODES.booleanNode(true);
    }
    if (old.isNumber()) {
      return NODES.textNode(old.asText());
    }
    if (old.isContainerNode()) {
      byte[] json = write(old);
      return NODES.textNode(new String(json, 0, Math.min(50, json.length), java.nio.charset.StandardCharsets.UTF_8));
    }
    return NODES.textNode("true");
  }

  private JsonNode grow(JsonNode old) {
    ArrayNode array = NODES.arrayNode();
    // many copies of a value, a few of an object or array (a document of megabytes parses slowly
    // and says no more)
    int count = random.nextInt(random.nextBoolean() ? 4 : old.isContainerNode() ? 40 : 3_000);
    for (int i = 0; i < count; i++) {
      array.add(random.nextInt(4) == 0 ? NODES.nullNode() : old.deepCopy());
    }
    return array;
  }

  private JsonNode nest(JsonNode old) {
    int depth = 1 + random.nextInt(random.nextBoolean() ? 20 : 1_200);
    JsonNode node = old.deepCopy();
    for (int i = 0; i < depth; i++) {
      if (random.nextBoolean()) {
        node = NODES.arrayNode().add(node);
      } else {
        ObjectNode object = NODES.objectNode();
        object.set("a", node);
        node = object;
      }
    }
    return node;
  }

  private static void collect(JsonNode node, JsonNode parent, String field, int index, List<Slot> out) {
    out.add(new Slot(node, parent, field, index));
    if (out.size() > 20_000) {
      return;
    }
    if (node.isObject()) {
      Iterator<Map.Entry<String, JsonNode>> members = node.fields();
      List<Map.Entry<String, JsonNode>> copy = new ArrayList<>();
      members.forEachRemaining(copy::add);
      for (Map.Entry<String, JsonNode> member : copy) {
        collect(member.getValue(), node, member.getKey(), -1, out);
      }
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        collect(node.get(i), node, null, i, out);
      }
    }
  }

  /** A place in the tree: the root, a member of an object, or an element of an array. */
  private record Slot(JsonNode node, JsonNode parent, String field, int index) {
    void set(JsonNode value) {
      if (parent instanceof ObjectNode object) {
        object.set(field, value);
      } else if (parent instanceof ArrayNode array) {
        array.set(index, value);
      }
    }

    boolean remove() {
      if (parent instanceof ObjectNode object) {
        object.remove(field);
        return true;
      }
      if (parent instanceof ArrayNode array) {
        array.remove(index);
        return true;
      }
      return false;
    }

    boolean rename(SplittableRandom random) {
      if (parent instanceof ObjectNode object) {
        JsonNode value = object.remove(field);
        String renamed = switch (random.nextInt(4)) {
          case 0 -> field.toUpperCase(java.util.Locale.ROOT);
          case 1 -> field + "_";
          case 2 -> "";
          default -> field.isEmpty() ? "x" : field.substring(1);
        };
        object.set(renamed, value);
        return true;
      }
      return false;
    }
  }
}
