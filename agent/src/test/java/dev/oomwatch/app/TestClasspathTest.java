package dev.oomwatch.app;

import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The agent's tests run on what the agent's jar holds: fabric8's model groups that the jar leaves out are not
 * on their classpath either (the chart tests, which parse these kinds, run in a surefire execution of their
 * own), so code that needs one fails here rather than on a node. Compare AgentJarIT, which runs the jar.
 */
class TestClasspathTest {
  @ParameterizedTest
  @ValueSource(strings = {
      "io.fabric8.kubernetes.api.model.rbac.ClusterRole",
      "io.fabric8.kubernetes.api.model.networking.v1.Ingress",
      "io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicy",
      "io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget",
      "io.fabric8.kubernetes.api.model.coordination.v1.Lease",
      "io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor"})
  void aModelGroupTheJarLeavesOutIsNotHere(String className) {
    assertThrows(ClassNotFoundException.class, () -> Class.forName(className, false, getClass().getClassLoader()));
  }
}
