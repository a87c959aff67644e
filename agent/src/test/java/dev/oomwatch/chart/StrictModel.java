package dev.oomwatch.chart;

import static org.junit.jupiter.api.Assertions.fail;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parses rendered manifests into fabric8's typed model, strictly. fabric8's model classes never reject
 * an unknown field: Jackson hands it to their {@code @JsonAnySetter}, which keeps it in
 * {@code additionalProperties} (so {@code FAIL_ON_UNKNOWN_PROPERTIES} has no effect on them). So after
 * parsing, every object in the tree is visited and any non-empty {@code additionalProperties} is a
 * failure naming its path: a misspelt or misplaced field (say {@code readOnly} on a volume, or
 * {@code securityContext} one level too deep) is caught here, as the API server's strict field
 * validation would. A kind without a typed model (parsed as {@link GenericKubernetesResource}) fails
 * too. Wrong value types fail in Jackson itself. Stateless; thread-safe.
 */
final class StrictModel {
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
  private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---\\s*$");

  private StrictModel() {}

  /** Every non-empty document of a multi-document YAML stream, typed and checked. */
  static List<HasMetadata> parseAll(String yaml) {
    List<HasMetadata> resources = new ArrayList<>();
    for (String document : DOCUMENT_SEPARATOR.split(yaml)) {
      if (document.lines().allMatch(line -> line.isBlank() || line.trim().startsWith("#"))) {
        continue;
      }
      resources.add(parse(document));
    }
    return resources;
  }

  /** One document, typed and checked. */
  static HasMetadata parse(String document) {
    Object parsed;
    try {
      parsed = SERIALIZATION.unmarshal(document);
    } catch (RuntimeException e) {
      throw new AssertionError("does not parse into the typed model: " + e.getMessage() + "\n" + document, e);
    }
    if (!(parsed instanceof HasMetadata resource)) {
      throw new AssertionError("not a Kubernetes object:\n" + document);
    }
    if (resource instanceof GenericKubernetesResource) {
      fail("no typed model for " + resource.getApiVersion() + " " + resource.getKind()
          + " on the test classpath; cannot check it strictly:\n" + document);
    }
    List<String> unknown = unknownFields(resource);
    if (!unknown.isEmpty()) {
      fail(resource.getKind() + " " + resource.getMetadata().getName() + " has fields its schema does not know: "
          + unknown + "\n" + document);
    }
    return resource;
  }

  /** Typed-model text of one object (for comparisons in messages). */
  static String yaml(Object value) {
    return SERIALIZATION.asYaml(value);
  }

  /** Paths of every non-empty {@code additionalProperties} in the object tree. */
  static List<String> unknownFields(Object root) {
    List<String> found = new ArrayList<>();
    visit(root, root.getClass().getSimpleName(), found, Collections.newSetFromMap(new IdentityHashMap<>()));
    return found;
  }

  private static void visit(Object value, String path, List<String> found, Set<Object> seen) {
    if (value == null || isLeaf(value) || !seen.add(value)) {
      return;
    }
    if (value instanceof Collection<?> items) {
      int i = 0;
      for (Object item : items) {
        visit(item, path + "[" + i++ + "]", found, seen);
      }
      return;
    }
    if (value instanceof Map<?, ?> map) {
      map.forEach((k, v) -> visit(v, path + "[" + k + "]", found, seen));
      return;
    }
    if (!value.getClass().getName().startsWith("io.fabric8.")) {
      return;
    }
    for (Class<?> type = value.getClass(); type != null && type != Object.class; type = type.getSuperclass()) {
      for (Field field : type.getDeclaredFields()) {
        if (Modifier.isStatic(field.getModifiers())) {
          continue;
        }
        field.setAccessible(true);
        Object child;
        try {
          child = field.get(value);
        } catch (IllegalAccessException e) {
          throw new IllegalStateException(e);
        }
        if (field.getName().equals("additionalProperties")) {
          if (child instanceof Map<?, ?> extra && !extra.isEmpty()) {
            found.add(path + " " + extra.keySet());
          }
        } else {
          visit(child, path + "." + field.getName(), found, seen);
        }
      }
    }
  }

  private static boolean isLeaf(Object value) {
    return value instanceof CharSequence || value instanceof Number || value instanceof Boolean
        || value instanceof Enum<?> || value instanceof Character;
  }
}
