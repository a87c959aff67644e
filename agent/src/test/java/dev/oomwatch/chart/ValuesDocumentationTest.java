package dev.oomwatch.chart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every value in values.yaml is typed and described in values.schema.json and listed in the README's
 * values table: the three cannot drift apart. (Keys inside free-form maps such as securityContext are
 * documented by the map's own entry.)
 */
class ValuesDocumentationTest {
  @Test
  void everyValueIsTypedDescribedAndInTheReadme() throws IOException {
    JsonNode values = new ObjectMapper(new YAMLFactory()).readTree(ChartTools.chartDir().resolve("values.yaml").toFile());
    JsonNode schema = new ObjectMapper().readTree(ChartTools.chartDir().resolve("values.schema.json").toFile());
    String readme = Files.readString(ChartTools.chartDir().resolve("README.md"));
    List<String> problems = new ArrayList<>();
    List<String> documented = new ArrayList<>();

    walk(values, schema, schema, "", problems, documented);
    for (String path : documented) {
      if (!readme.contains("| `" + path + "` |")) {
        problems.add(path + ": not in the README's values table (a row starting with | `" + path + "` |)");
      }
    }

    assertTrue(documented.size() > 30, "too few values found: " + documented);
    assertEquals(List.of(), problems);
  }

  private static void walk(JsonNode value, JsonNode schemaNode, JsonNode root, String path, List<String> problems,
      List<String> documented) {
    for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      String childPath = path.isEmpty() ? entry.getKey() : path + "." + entry.getKey();
      JsonNode declared = schemaNode.path("properties").path(entry.getKey());
      if (declared.isMissingNode()) {
        problems.add(childPath + ": not in values.schema.json");
        continue;
      }
      JsonNode resolved = resolve(declared, root);
      if (!declared.hasNonNull("description") && !resolved.hasNonNull("description")) {
        problems.add(childPath + ": no description in values.schema.json");
      }
      if (!resolved.hasNonNull("type")) {
        problems.add(childPath + ": no type in values.schema.json");
      }
      if (entry.getValue().isObject() && entry.getValue().size() > 0 && resolved.has("properties")) {
        walk(entry.getValue(), resolved, root, childPath, problems, documented);
      } else {
        documented.add(childPath);
      }
    }
  }

  private static JsonNode resolve(JsonNode node, JsonNode root) {
    String ref = node.path("$ref").asText("");
    return ref.startsWith("#/") ? root.at(ref.substring(1)) : node;
  }
}
