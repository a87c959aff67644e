package dev.oomwatch.chart;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * PromQL expressions parsed by {@code promql-tree} (Prometheus's own lezer grammar,
 * {@code scripts/promql-tree}; installed by {@code scripts/install-chart-tools.sh}, required like helm:
 * missing, it fails the test under {@code CI=true}), and what the checks read from the syntax tree: the
 * metric names an expression selects and the labels its result keeps. A syntax error fails the test.
 * Stateless; thread-safe.
 */
final class PromQl {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One node of the syntax tree; {@code from}/{@code to} index the expression's text. */
  record Node(String type, int from, int to, List<Node> children) {
    Node child(String childType) {
      return children.stream().filter(c -> c.type.equals(childType)).findFirst().orElse(null);
    }
  }

  /** A parsed expression. */
  record Expression(String text, Node root) {
    String text(Node node) {
      return text.substring(node.from(), node.to());
    }
  }

  private PromQl() {}

  /** Parses each expression; fails the test naming every one that has a syntax error. */
  static List<Expression> parse(List<String> expressions) {
    ChartTools.require("promql-tree", "--version");
    List<Expression> parsed = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    JsonNode results = run(expressions);
    for (int i = 0; i < expressions.size(); i++) {
      String text = expressions.get(i);
      JsonNode result = results.get(i);
      for (JsonNode error : result.get("errors")) {
        int from = error.get("from").asInt();
        errors.add("syntax error at " + from + ": " + text.substring(0, from) + " ⚠ " + text.substring(from));
      }
      parsed.add(new Expression(text, node(result.get("tree"))));
    }
    if (!errors.isEmpty()) {
      fail("PromQL that does not parse:\n" + String.join("\n", errors));
    }
    return parsed;
  }

  /** The syntax errors of one expression (empty when it parses), for checking the parser itself. */
  static List<Integer> syntaxErrors(String expression) {
    ChartTools.require("promql-tree", "--version");
    List<Integer> at = new ArrayList<>();
    run(List.of(expression)).get(0).get("errors").forEach(e -> at.add(e.get("from").asInt()));
    return at;
  }

  private static JsonNode run(List<String> expressions) {
    try {
      Path input = Files.createTempFile("promql", ".json");
      try {
        Files.writeString(input, JSON.writeValueAsString(expressions), StandardCharsets.UTF_8);
        ChartTools.Result result = ChartTools.run(List.of("sh", "-c", "exec promql-tree < \"$0\"", input.toString()),
            ChartTools.projectDir());
        if (!result.ok()) {
          fail("promql-tree failed:\n" + result.both());
        }
        JsonNode results = JSON.readTree(result.stdout());
        if (results.size() != expressions.size()) {
          fail("promql-tree answered " + results.size() + " trees for " + expressions.size() + " expressions");
        }
        return results;
      } finally {
        Files.deleteIfExists(input);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run promql-tree: " + e.getMessage(), e);
    }
  }

  private static Node node(JsonNode json) {
    List<Node> children = new ArrayList<>();
    json.get("children").forEach(c -> children.add(node(c)));
    return new Node(json.get("type").asText(), json.get("from").asInt(), json.get("to").asInt(), List.copyOf(children));
  }

  /**
   * The metric names the expression selects: each VectorSelector's Identifier, or its
   * {@code __name__="..."} matcher. A selector without either (or with a regex on {@code __name__}) is
   * reported as {@code "?<selector>"}, which no list of metrics contains.
   */
  static Set<String> metricNames(Expression expression) {
    Set<String> names = new TreeSet<>();
    collectMetrics(expression, expression.root(), names);
    return names;
  }

  private static void collectMetrics(Expression expression, Node node, Set<String> names) {
    if (node.type().equals("VectorSelector")) {
      Set<String> found = new TreeSet<>();
      Node identifier = node.child("Identifier");
      if (identifier != null) {
        found.add(expression.text(identifier));
      }
      Node matchers = node.child("LabelMatchers");
      if (matchers != null) {
        for (Node matcher : matchers.children()) {
          Node label = matcher.child("LabelName");
          if (label != null && expression.text(label).equals("__name__")) {
            Node op = matcher.child("MatchOp");
            boolean equal = op != null && op.children().size() == 1 && op.children().get(0).type().equals("EqlSingle");
            found.add(equal ? unquote(expression.text(matcher.child("StringLiteral"))) : "?" + expression.text(node));
          }
        }
      }
      names.addAll(found.isEmpty() ? Set.of("?" + expression.text(node)) : found);
    }
    node.children().forEach(c -> collectMetrics(expression, c, names));
  }

  /**
   * The labels every series of the expression's result carries, when the expression decides them: an
   * aggregation {@code by (...)} (or one without grouping: none), and what is built from such results
   * (functions, arithmetic and comparisons with scalars, vector matching, which keeps the left side's).
   * A bare selector's labels include whatever Prometheus adds to the scrape, so for it (and for what this
   * method does not know) the answer is {@code null}: the labels are not decided by the expression.
   */
  static Set<String> keptLabels(Expression expression) {
    return kept(expression, expression.root());
  }

  private static Set<String> kept(Expression e, Node node) {
    switch (node.type()) {
      case "PromQL", "ParenExpr", "FunctionCallBody", "MatrixSelector", "SubqueryExpr", "OffsetExpr",
          "StepInvariantExpr" -> {
        return kept(e, operand(node));
      }
      case "NumberDurationLiteral", "StringLiteral" -> {
        return Set.of();
      }
      case "UnaryExpr" -> {
        return kept(e, node.children().get(node.children().size() - 1));
      }
      case "AggregateExpr" -> {
        Node modifier = node.child("AggregateModifier");
        if (modifier == null) {
          return Set.of();
        }
        if (modifier.child("By") == null) {
          return null; // without (...): what the input keeps but those, which a bare input does not decide
        }
        Set<String> labels = new LinkedHashSet<>();
        modifier.child("GroupingLabels").children().forEach(l -> labels.add(e.text(l)));
        return labels;
      }
      case "FunctionCall" -> {
        String function = e.text(node.child("FunctionIdentifier"));
        List<Node> args = node.child("FunctionCallBody").children();
        if (Set.of("rate", "increase", "irate", "delta", "deriv", "max_over_time", "min_over_time", "avg_over_time",
            "abs", "clamp_min", "clamp_max", "round", "ceil", "floor").contains(function)) {
          return kept(e, args.get(0));
        }
        if (function.equals("histogram_quantile")) {
          Set<String> labels = kept(e, args.get(1));
          return labels == null ? null : minus(labels, "le");
        }
        return null;
      }
      case "BinaryExpr" -> {
        Node left = node.children().get(0);
        Node right = node.children().get(node.children().size() - 1);
        String op = node.children().get(1).type();
        Set<String> l = kept(e, left);
        Set<String> r = kept(e, right);
        if (isScalar(left)) {
          return r;
        }
        if (op.equals("Or")) {
          return l == null || r == null ? null : intersect(l, r);
        }
        return l;
      }
      default -> {
        return null;
      }
    }
  }

  private static Node operand(Node node) {
    return node.children().stream().filter(c -> !Set.of("(", ")", "Offset", "At", "OffsetDurationExpr", "DurationExpr",
        "NumberDurationLiteral").contains(c.type()) || node.type().equals("PromQL")).findFirst()
        .orElseThrow(() -> new AssertionError("no operand in " + node));
  }

  private static boolean isScalar(Node node) {
    return node.type().equals("NumberDurationLiteral")
        || (node.type().equals("ParenExpr") && isScalar(node.children().get(0)));
  }

  private static Set<String> minus(Set<String> labels, String label) {
    Set<String> rest = new LinkedHashSet<>(labels);
    rest.remove(label);
    return rest;
  }

  private static Set<String> intersect(Set<String> a, Set<String> b) {
    Set<String> both = new LinkedHashSet<>(a);
    both.retainAll(b);
    return both;
  }

  private static String unquote(String literal) {
    return literal.substring(1, literal.length() - 1);
  }

  /** Grafana's interval variables, replaced by a duration so that a panel's query is plain PromQL. */
  static String withGrafanaIntervals(String query) {
    String plain = query;
    for (Map.Entry<String, String> variable : Map.of("$__rate_interval", "5m", "$__interval", "1m", "$__range", "6h")
        .entrySet()) {
      plain = plain.replace("${" + variable.getKey().substring(1) + "}", variable.getValue())
          .replace(variable.getKey(), variable.getValue());
    }
    return plain;
  }
}
