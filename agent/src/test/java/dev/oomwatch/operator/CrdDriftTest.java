package dev.oomwatch.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.oomwatch.testing.EmbeddedCluster;
import dev.oomwatch.testing.ProjectFiles;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The committed {@code crds/} must be exactly what the build generates from the Java model. */
class CrdDriftTest {
  private static final Path COMMITTED = ProjectFiles.resolve("crds/oomincidents.oomwatch.dev-v1.yml");

  @Test
  void committedCrdMatchesGenerated() throws IOException {
    String generated;
    try (InputStream in = getClass().getClassLoader().getResourceAsStream(EmbeddedCluster.CRD_RESOURCE)) {
      assertNotNull(in, "the build did not generate " + EmbeddedCluster.CRD_RESOURCE);
      generated = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertEquals(generated, Files.readString(COMMITTED),
        "crds/ is stale: run `mvn -q -DskipTests package && cp target/classes/" + EmbeddedCluster.CRD_RESOURCE
            + " crds/` and commit it (then upgrade the CRD on clusters: see README)");
  }

  @Test
  void crdHasWhatUsersSee() throws IOException {
    CustomResourceDefinition crd = Serialization.unmarshal(Files.newInputStream(COMMITTED), CustomResourceDefinition.class);
    assertEquals("oomwatch.dev", crd.getSpec().getGroup());
    assertEquals("OOMIncident", crd.getSpec().getNames().getKind());
    assertEquals("Namespaced", crd.getSpec().getScope());
    var version = crd.getSpec().getVersions().get(0);
    assertNotNull(version.getSubresources().getStatus(), "status must be a subresource");
    List<String> columns = version.getAdditionalPrinterColumns().stream().map(c -> c.getName()).toList();
    for (String column : List.of("Pod", "Verdict", "Limit", "Age")) {
      assertEquals(true, columns.contains(column), "printer column " + column + " in " + columns);
    }
  }
}
