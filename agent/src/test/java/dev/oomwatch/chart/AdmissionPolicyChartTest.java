package dev.oomwatch.chart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.podreport.PodEventRecorder;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.NamedRuleWithOperations;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicy;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicyBinding;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.Validation;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.Variable;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The optional admission policies ({@code admissionPolicy.enabled}), rendered and parsed strictly: off by
 * default; when on, three policies, each bound, over the right groups, resources and operations, whose
 * expressions name the agent's own service account, the node-name claim of its token, and the very
 * label, annotation, condition prefix and Event components the agent's code writes. (No API server runs
 * here, so the CEL itself is not evaluated.)
 */
class AdmissionPolicyChartTest {
  private static final String CLAIM = "request.userInfo.extra['authentication.kubernetes.io/node-name']";

  private static RenderedChart enabled(String... more) {
    List<String> args = new java.util.ArrayList<>(List.of("-f",
        ChartTools.chartDir().resolve("ci/admission-policy-values.yaml").toString()));
    args.addAll(List.of(more));
    return RenderedChart.render(args.toArray(String[]::new));
  }

  @Test
  void noPolicyByDefault() {
    RenderedChart chart = RenderedChart.render();

    assertTrue(chart.all(ValidatingAdmissionPolicy.class).isEmpty());
    assertTrue(chart.all(ValidatingAdmissionPolicyBinding.class).isEmpty());
  }

  @Test
  void everyPolicyIsBoundAndDeniesByDefault() {
    RenderedChart chart = enabled();
    Set<String> policies = chart.all(ValidatingAdmissionPolicy.class).stream().map(p -> p.getMetadata().getName())
        .collect(Collectors.toSet());

    assertEquals(Set.of("oomwatch-gvisor-oom-watcher-incidents", "oomwatch-gvisor-oom-watcher-pod-conditions",
        "oomwatch-gvisor-oom-watcher-events"), policies);
    List<ValidatingAdmissionPolicyBinding> bindings = chart.all(ValidatingAdmissionPolicyBinding.class);
    assertEquals(policies, bindings.stream().map(b -> b.getSpec().getPolicyName()).collect(Collectors.toSet()));
    for (ValidatingAdmissionPolicyBinding binding : bindings) {
      assertEquals(List.of("Deny"), binding.getSpec().getValidationActions());
    }
    for (ValidatingAdmissionPolicy policy : chart.all(ValidatingAdmissionPolicy.class)) {
      assertEquals("Fail", policy.getSpec().getFailurePolicy());
      String sa = chart.one(ServiceAccount.class).getMetadata().getName();
      assertEquals("request.userInfo.username == 'system:serviceaccount:oomwatch-system:" + sa + "'",
          variable(policy, "isAgent"));
      assertTrue(variable(policy, "nodeName").contains("'authentication.kubernetes.io/node-name' in request.userInfo.extra")
          && variable(policy, "nodeName").contains(CLAIM + "[0]"), variable(policy, "nodeName"));
      // first: nobody but the agent (for pod conditions: nobody but the agent changes the agent's conditions)
      assertTrue(policy.getSpec().getValidations().get(0).getExpression().startsWith("variables.isAgent"),
          policy.getSpec().getValidations().get(0).getExpression());
      assertTrue(policy.getSpec().getValidations().stream().anyMatch(v -> v.getExpression()
          .equals("!variables.isAgent || variables.nodeName != ''")), "a token without the claim is denied");
    }
  }

  @Test
  void incidentsAreTheAgentsAndEachAgentsOwnNodes() {
    ValidatingAdmissionPolicy policy = policy(enabled(), "incidents");

    assertRule(policy, "oomwatch.dev", Set.of("oomincidents", "oomincidents/status"), Set.of("CREATE", "UPDATE"));
    assertTrue(variable(policy, "nodeLabel").contains("'" + OOMIncident.NODE_LABEL + "'"), variable(policy, "nodeLabel"));
    String validations = allValidations(policy);
    // a long node name's label: its first characters, '-' and a hash (OOMIncident.nodeLabelValue)
    String longName = "n".repeat(100);
    int prefix = OOMIncident.nodeLabelValue(longName).length() - 11;
    assertTrue(OOMIncident.nodeLabelValue(longName).startsWith(longName.substring(0, prefix) + "-"));
    assertTrue(validations.contains("variables.nodeLabel.startsWith(variables.nodeName.substring(0, " + prefix + ") + '-')"),
        validations);
    assertTrue(validations.contains("size(variables.nodeName) <= 63"), validations);
    assertTrue(validations.contains("object.spec.nodeName == variables.nodeName"), validations);
    String owner = OOMIncident.ownerValue("NODE", "UID");
    assertEquals("gvisor-oom-watcher:NODE:UID", owner, "the policy spells the owner annotation the same way");
    assertTrue(validations.contains("object.metadata.annotations['" + OOMIncident.OWNER_ANNOTATION
        + "'] == 'gvisor-oom-watcher:' + variables.nodeName + ':' + object.spec.podUid"), validations);
  }

  @Test
  void podConditionsUnderTheAgentsPrefixAreTheAgentsOnItsNodesPodsOnly() {
    ValidatingAdmissionPolicy policy = policy(enabled(), "pod-conditions");
    String prefix = PodConditionWriter.CONDITION_TYPE.substring(0, PodConditionWriter.CONDITION_TYPE.indexOf('/') + 1);

    assertEquals("oomwatch.dev/", prefix);
    assertTrue(PodConditionWriter.LIMIT_NOT_ENFORCED_TYPE.startsWith(prefix));
    assertRule(policy, "", Set.of("pods/status"), Set.of("UPDATE"));
    String match = policy.getSpec().getMatchConditions().get(0).getExpression();
    assertTrue(match.contains("c.type.startsWith('" + prefix + "')") && match.contains("oldObject.status.conditions"), match);
    assertTrue(variable(policy, "ours").contains("filter(c, c.type.startsWith('" + prefix + "'))"));
    assertTrue(variable(policy, "others").contains("filter(c, !c.type.startsWith('" + prefix + "'))"));
    String validations = allValidations(policy);
    assertTrue(validations.contains("object.spec.nodeName == variables.nodeName"), validations);
    assertTrue(validations.contains("variables.others == variables.othersBefore"), validations);
  }

  @Test
  void eventsAsTheAgentsComponentAreTheAgentsFromItsNodeOnly() {
    ValidatingAdmissionPolicy policy = policy(enabled(), "events");

    assertRule(policy, "", Set.of("events"), Set.of("CREATE", "UPDATE"));
    assertEquals("Equivalent", policy.getSpec().getMatchConstraints().getMatchPolicy());
    String match = policy.getSpec().getMatchConditions().get(0).getExpression();
    assertTrue(match.contains("object.source.component == '" + PodEventRecorder.COMPONENT + "'"), match);
    assertTrue(match.contains("object.reportingComponent == '" + PodEventRecorder.REPORTING_COMPONENT + "'"), match);
    String validations = allValidations(policy);
    assertTrue(validations.contains("object.source.host == variables.nodeName"), validations);
    assertTrue(validations.contains("object.reportingInstance == variables.nodeName"), validations);
    assertTrue(validations.contains("object.involvedObject.kind == 'Pod'"), validations);
    assertTrue(validations.contains("oldObject.source.host == variables.nodeName"), validations);
  }

  @Test
  void validationActionsCanWarnFirstButNotDenyAndWarn() {
    RenderedChart chart = enabled("--set", "admissionPolicy.validationActions={Warn,Audit}");
    for (ValidatingAdmissionPolicyBinding binding : chart.all(ValidatingAdmissionPolicyBinding.class)) {
      assertEquals(List.of("Warn", "Audit"), binding.getSpec().getValidationActions());
    }

    ChartTools.Result both = ChartTools.templateResult(List.of("--set", "admissionPolicy.enabled=true",
        "--set", "admissionPolicy.validationActions={Deny,Warn}"));
    assertFalse(both.ok(), "Deny and Warn together were accepted");
    assertTrue(both.stderr().contains("admissionPolicy.validationActions"), both.both());
  }

  @Test
  void policyNamesStayWithin63CharactersForTheLongestRelease() {
    String release = "a-release-name-as-long-as-helm-allows-53-characters-x";
    ChartTools.require("helm", "version");
    ChartTools.Result result = ChartTools.helm(List.of("template", release, ChartTools.chartDir().toString(),
        "--set", "admissionPolicy.enabled=true"));

    assertTrue(result.ok(), result.both());
    List<ValidatingAdmissionPolicy> policies = StrictModel.parseAll(result.stdout()).stream()
        .filter(ValidatingAdmissionPolicy.class::isInstance).map(ValidatingAdmissionPolicy.class::cast).toList();
    assertEquals(3, policies.size());
    for (ValidatingAdmissionPolicy policy : policies) {
      assertTrue(policy.getMetadata().getName().length() <= 63, policy.getMetadata().getName());
    }
  }

  private static ValidatingAdmissionPolicy policy(RenderedChart chart, String suffix) {
    return chart.all(ValidatingAdmissionPolicy.class).stream()
        .filter(p -> p.getMetadata().getName().endsWith("-" + suffix)).findFirst()
        .orElseThrow(() -> new AssertionError("no policy *-" + suffix));
  }

  private static String variable(ValidatingAdmissionPolicy policy, String name) {
    Map<String, String> variables = policy.getSpec().getVariables().stream()
        .collect(Collectors.toMap(Variable::getName, Variable::getExpression));
    assertTrue(variables.containsKey(name), policy.getMetadata().getName() + " has no variable " + name);
    return variables.get(name);
  }

  private static String allValidations(ValidatingAdmissionPolicy policy) {
    return policy.getSpec().getValidations().stream().map(Validation::getExpression).collect(Collectors.joining("\n"));
  }

  private static void assertRule(ValidatingAdmissionPolicy policy, String group, Set<String> resources,
      Set<String> operations) {
    List<NamedRuleWithOperations> rules = policy.getSpec().getMatchConstraints().getResourceRules();
    assertEquals(1, rules.size());
    assertEquals(List.of(group), rules.get(0).getApiGroups());
    assertEquals(resources, Set.copyOf(rules.get(0).getResources()));
    assertEquals(operations, Set.copyOf(rules.get(0).getOperations()));
  }
}
