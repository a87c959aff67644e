package dev.oomwatch.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.IncidentLimits;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.model.Evidence;
import dev.oomwatch.model.MemoryScope;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.Verdict;
import dev.oomwatch.publish.IncidentResources;
import dev.oomwatch.testing.ProjectFiles;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.api.model.apiextensions.v1.ValidationRule;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The validation in the committed CRD (generated from the Java model; {@link CrdDriftTest} keeps it
 * so): what a real API server will reject. The API stand-in does not validate, so the schema's content
 * is what is checked: enums, bounds on every string and list, RFC 3339 formats, and the rules across
 * fields. And what the agent itself writes always fits it.
 */
class CrdSchemaTest {
  private static final Set<String> TIMES = Set.of("killedAt", "detectedAt", "observedAt", "reportedAt");

  private static JSONSchemaProps root() throws IOException {
    CustomResourceDefinition crd = Serialization.unmarshal(
        Files.newInputStream(ProjectFiles.resolve("crds/oomincidents.oomwatch.dev-v1.yml")), CustomResourceDefinition.class);
    return crd.getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema();
  }

  private static JSONSchemaProps spec() throws IOException {
    return root().getProperties().get("spec");
  }

  private static JSONSchemaProps status() throws IOException {
    return root().getProperties().get("status");
  }

  @Test
  void verdictAndPhaseAreClosedSetsEqualToTheAgentsValues() throws IOException {
    List<String> verdicts = Arrays.stream(Verdict.values()).map(Verdict::display).sorted().toList();

    assertEquals(verdicts, enumOf(spec().getProperties().get("verdict")));
    assertEquals(verdicts, enumOf(status().getProperties().get("verdict")));
    assertEquals(List.of(OOMIncidentStatus.FAILED, OOMIncidentStatus.POD_GONE, OOMIncidentStatus.RECORDED,
            OOMIncidentStatus.REFUSED, OOMIncidentStatus.REPORTED),
        enumOf(status().getProperties().get("phase")));
  }

  @Test
  void everyStringIsBoundedAndEveryTimeIsADateTime() throws IOException {
    List<String> unbounded = new ArrayList<>();
    walk(root(), "", unbounded);

    assertEquals(List.of(), unbounded);
    assertEquals(IncidentLimits.VICTIM, spec().getProperties().get("victim").getMaxLength());
    assertEquals(IncidentLimits.MESSAGE, status().getProperties().get("message").getMaxLength());
  }

  @Test
  void listsAreBoundedAndNumbersRanged() throws IOException {
    assertEquals(IncidentLimits.EVIDENCE_ITEMS, spec().getProperties().get("evidence").getMaxItems());
    assertEquals(IncidentLimits.EVIDENCE_ITEMS, status().getProperties().get("evidence").getMaxItems());
    JSONSchemaProps confidence = spec().getProperties().get("culpritConfidence");
    assertEquals(0.0, confidence.getMinimum());
    assertEquals(1.0, confidence.getMaximum());
    assertEquals(0.0, spec().getProperties().get("memoryLimitBytes").getMinimum());
  }

  @Test
  void namesAreDnsSubdomainsAndTheIdentityIsRequired() throws IOException {
    for (String field : List.of("podName", "nodeName")) {
      JSONSchemaProps name = spec().getProperties().get(field);
      assertEquals(IncidentLimits.DNS_SUBDOMAIN, name.getPattern(), field);
      assertEquals(IncidentLimits.NAME, name.getMaxLength(), field);
      assertEquals(1L, name.getMinLength(), field);
    }
    assertTrue(spec().getRequired().containsAll(List.of("podName", "podUid", "nodeName", "verdict", "killedAt",
        "detectedAt")), spec().getRequired().toString());
  }

  @Test
  void rulesAcrossFieldsAreCel() throws IOException {
    Map<String, String> rules = new java.util.HashMap<>();
    for (ValidationRule rule : spec().getXKubernetesValidations()) {
      rules.put(rule.getMessage(), rule.getRule());
    }

    assertEquals("self.podUid == oldSelf.podUid && self.podName == oldSelf.podName && self.nodeName == oldSelf.nodeName",
        rules.get("an incident's pod and node never change"));
    assertEquals("has(self.memoryLimit) == has(self.memoryLimitBytes)",
        rules.get("memoryLimit and memoryLimitBytes are set together"));
    assertEquals("!has(self.culpritConfidence) || has(self.culprit)", rules.get("culpritConfidence needs a culprit"));
  }

  @Test
  void whatTheAgentWritesAlwaysFitsTheSchema() {
    PodRef pod = new PodRef("default", "app", "0f4e2a49-1b7e-4c1e-9a4f-6a1d3c2b1a00");
    String long1 = "y".repeat(5000);
    List<Evidence> evidence = IntStream.range(0, 100)
        .mapToObj(i -> new Evidence("cgroup", "signal " + i + " " + long1, Instant.EPOCH.plusSeconds(i))).toList();
    OomIncident incident = new OomIncident("app-oom-0123456789", pod, "node-a", Optional.of("s".repeat(300)),
        Verdict.CONFIRMED, Optional.of(long1), MemoryScope.cgroup(long1), OptionalLong.of(64L << 20), Instant.EPOCH, Instant.EPOCH.plusMillis(5),
        "c".repeat(300), OptionalDouble.of(0.5), evidence);

    OOMIncident resource = IncidentResources.toResource(incident);

    assertEquals(Optional.empty(), IncidentTrust.malformed(resource.getSpec()));
    assertEquals(IncidentLimits.EVIDENCE_ITEMS, resource.getSpec().getEvidence().size());
    assertEquals(Optional.empty(), IncidentTrust.checkIncident(resource, "node-a"));
  }

  /** Paths of strings without maxLength, of times without format date-time, of lists without maxItems. */
  private static void walk(JSONSchemaProps node, String path, List<String> problems) {
    if ("string".equals(node.getType())) {
      if (node.getMaxLength() == null && node.getEnum() == null) {
        problems.add(path + ": no maxLength");
      }
      String field = path.substring(path.lastIndexOf('.') + 1);
      if (TIMES.contains(field) && !"date-time".equals(node.getFormat())) {
        problems.add(path + ": not format date-time");
      }
    }
    if ("array".equals(node.getType())) {
      if (node.getMaxItems() == null) {
        problems.add(path + ": no maxItems");
      }
      assertNotNull(node.getItems().getSchema(), path);
      walk(node.getItems().getSchema(), path + "[]", problems);
    }
    if (node.getProperties() != null) {
      node.getProperties().forEach((name, child) -> walk(child, path + "." + name, problems));
    }
  }

  private static List<String> enumOf(JSONSchemaProps property) {
    assertNotNull(property.getEnum(), "no enum");
    return property.getEnum().stream().map(j -> j.asText()).sorted().toList();
  }
}
