package dev.oomwatch.demo;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Renders API objects the way {@code kubectl} shows them to a user: the Conditions and Events sections
 * of {@code kubectl describe pod}, and {@code kubectl get} of a custom resource with the printer
 * columns its CRD declares. For the demo's output; stateless and thread-safe.
 */
public final class KubectlView {
  private KubectlView() {}

  /** The container state, Conditions and Events sections of {@code kubectl describe pod}. */
  public static String describePod(Pod pod, List<Event> events, Instant now) {
    StringBuilder out = new StringBuilder();
    out.append("Name:         ").append(pod.getMetadata().getName()).append('\n');
    out.append("Namespace:    ").append(pod.getMetadata().getNamespace()).append('\n');
    out.append("Node:         ").append(pod.getSpec().getNodeName()).append('\n');
    out.append("Runtime Class Name:  ").append(pod.getSpec().getRuntimeClassName()).append('\n');
    if (pod.getStatus() != null && pod.getStatus().getContainerStatuses() != null) {
      out.append("Containers:\n");
      pod.getStatus().getContainerStatuses().forEach(s -> {
        out.append("  ").append(s.getName()).append(":\n");
        if (s.getState() != null && s.getState().getTerminated() != null) {
          var t = s.getState().getTerminated();
          out.append("    State:      Terminated\n");
          out.append("      Reason:   ").append(t.getReason()).append('\n');
          out.append("      Exit Code: ").append(t.getExitCode()).append('\n');
        } else if (s.getState() != null && s.getState().getRunning() != null) {
          out.append("    State:      Running\n");
        }
      });
    }
    out.append("Conditions:\n");
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"Type", "Status"});
    for (PodCondition c : conditions(pod)) {
      rows.add(new String[] {c.getType(), c.getStatus()});
    }
    table(out, "  ", rows);
    conditions(pod).stream().filter(c -> c.getMessage() != null).forEach(c ->
        out.append("  ").append(c.getType()).append(": ").append(c.getReason()).append(": ").append(c.getMessage())
            .append('\n'));
    out.append("Events:\n");
    List<String[]> eventRows = new ArrayList<>();
    eventRows.add(new String[] {"Type", "Reason", "Age", "From", "Message"});
    eventRows.add(new String[] {"----", "------", "----", "----", "-------"});
    for (Event e : events) {
      eventRows.add(new String[] {e.getType(), e.getReason(), eventAge(e, now),
          e.getSource() == null ? "" : e.getSource().getComponent(), e.getMessage()});
    }
    table(out, "  ", eventRows);
    return out.toString();
  }

  /** {@code kubectl get <plural>}: NAME and the CRD's priority-0 printer columns. */
  public static String get(CustomResourceDefinition crd, List<? extends HasMetadata> items, Instant now) {
    List<CustomResourceColumnDefinition> columns = crd.getSpec().getVersions().get(0).getAdditionalPrinterColumns()
        .stream().filter(c -> c.getPriority() == null || c.getPriority() == 0).toList();
    List<String[]> rows = new ArrayList<>();
    String[] header = new String[columns.size() + 1];
    header[0] = "NAME";
    for (int i = 0; i < columns.size(); i++) {
      header[i + 1] = columns.get(i).getName().toUpperCase();
    }
    rows.add(header);
    for (HasMetadata item : items) {
      @SuppressWarnings("unchecked")
      Map<String, Object> tree = Serialization.jsonMapper().convertValue(item, Map.class);
      String[] row = new String[columns.size() + 1];
      row[0] = item.getMetadata().getName();
      for (int i = 0; i < columns.size(); i++) {
        Object value = at(tree, columns.get(i).getJsonPath());
        row[i + 1] = value == null ? "<none>"
            : "date".equals(columns.get(i).getType()) ? age(Instant.parse(value.toString()), now) : value.toString();
      }
      rows.add(row);
    }
    StringBuilder out = new StringBuilder();
    table(out, "", rows);
    return out.toString();
  }

  private static Object at(Map<String, Object> tree, String jsonPath) {
    Object node = tree;
    for (String key : jsonPath.substring(1).split("\\.")) {
      if (!(node instanceof Map<?, ?> map)) {
        return null;
      }
      node = map.get(key);
    }
    return node;
  }

  private static List<PodCondition> conditions(Pod pod) {
    return pod.getStatus() == null || pod.getStatus().getConditions() == null ? List.of() : pod.getStatus().getConditions();
  }

  private static String eventAge(Event e, Instant now) {
    String last = e.getLastTimestamp() != null ? e.getLastTimestamp() : e.getFirstTimestamp();
    String age = last == null ? "<unknown>" : age(Instant.parse(last), now);
    Integer count = e.getCount();
    return count != null && count > 1 ? age + " (x" + count + ")" : age;
  }

  static String age(Instant then, Instant now) {
    Duration d = Duration.between(then, now);
    if (d.isNegative() || d.toSeconds() < 1) {
      return "0s";
    }
    if (d.toMinutes() < 2) {
      return d.toSeconds() + "s";
    }
    if (d.toHours() < 2) {
      return d.toMinutes() + "m";
    }
    return d.toHours() + "h";
  }

  private static void table(StringBuilder out, String indent, List<String[]> rows) {
    int columns = rows.get(0).length;
    int[] width = new int[columns];
    for (String[] row : rows) {
      for (int i = 0; i < columns - 1; i++) {
        width[i] = Math.max(width[i], row[i] == null ? 0 : row[i].length());
      }
    }
    for (String[] row : rows) {
      out.append(indent);
      for (int i = 0; i < columns; i++) {
        String cell = row[i] == null ? "" : row[i];
        out.append(i < columns - 1 ? String.format("%-" + (width[i] + 3) + "s", cell) : cell);
      }
      out.append('\n');
    }
  }
}
