package dev.oomwatch.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ApiDiscoveryTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final CustomResourceDefinition CRD = new CustomResourceDefinitionBuilder()
      .withNewMetadata().withName("widgets.example.dev").endMetadata()
      .withNewSpec().withGroup("example.dev").withScope("Namespaced")
        .withNewNames().withKind("Widget").withPlural("widgets").withSingular("widget").withShortNames("wg")
          .withCategories("all").endNames()
        .addNewVersion().withName("v1beta1").withServed(true).withStorage(false).endVersion()
        .addNewVersion().withName("v1").withServed(true).withStorage(true).withNewSubresources().withNewStatus()
          .endStatus().endSubresources().endVersion()
        .addNewVersion().withName("v1alpha1").withServed(false).withStorage(false).endVersion()
      .endSpec().build();

  private final List<CustomResourceDefinition> crds = new ArrayList<>(List.of(CRD));
  private final ApiDiscovery discovery = new ApiDiscovery(() -> crds);

  private JsonNode get(String path) throws Exception {
    var response = discovery.answer(path).orElseThrow();
    assertEquals(200, response.code(), path);
    return JSON.readTree(response.getBody().getBytes());
  }

  @Test
  void coreResourcesComeFromFabric8sModel() throws Exception {
    assertEquals("v1", get("/api?timeout=32s").path("versions").get(0).asText());
    JsonNode core = get("/api/v1");
    assertEquals("v1", core.path("groupVersion").asText());
    assertTrue(core.path("resources").toString().contains("{\"kind\":\"Pod\",\"name\":\"pods\",\"namespaced\":true"),
        core.toString());
    assertTrue(core.path("resources").toString().contains("\"name\":\"pods/status\""), core.toString());
    assertTrue(core.path("resources").toString().contains("{\"kind\":\"Node\",\"name\":\"nodes\",\"namespaced\":false"),
        core.toString());
  }

  @Test
  void aCrdsServedVersionsAreAGroupWithTheGaVersionPreferred() throws Exception {
    JsonNode group = null;
    for (JsonNode g : get("/apis").path("groups")) {
      if (g.path("name").asText().equals("example.dev")) {
        group = g;
      }
    }
    assertEquals("example.dev/v1", group.path("preferredVersion").path("groupVersion").asText());
    assertEquals(2, group.path("versions").size());
    assertEquals(group, get("/apis/example.dev"));
    JsonNode v1 = get("/apis/example.dev/v1");
    assertEquals("example.dev/v1", v1.path("groupVersion").asText());
    JsonNode widgets = v1.path("resources").get(0);
    assertEquals("widgets", widgets.path("name").asText());
    assertEquals("wg", widgets.path("shortNames").get(0).asText());
    assertEquals("all", widgets.path("categories").get(0).asText());
    assertEquals("widgets/status", v1.path("resources").get(1).path("name").asText());
    assertEquals(404, discovery.answer("/apis/example.dev/v1alpha1").orElseThrow().code());
  }

  @Test
  void aCrdCreatedLaterIsDiscoveredToo() throws Exception {
    crds.clear();
    assertEquals(404, discovery.answer("/apis/example.dev/v1").orElseThrow().code());
    crds.add(CRD);
    assertEquals(200, discovery.answer("/apis/example.dev/v1").orElseThrow().code());
  }

  @Test
  void otherPathsAreNotDiscovery() {
    assertEquals(Optional.empty(), discovery.answer("/api/v1/namespaces/default/pods"));
    assertEquals(Optional.empty(), discovery.answer("/apis/example.dev/v1/namespaces/default/widgets"));
  }

  @Test
  void listsAreTypedAsTheApiServerTypesThem() {
    assertArrayEquals(new String[] {"v1", "EventList"},
        discovery.listType("/api/v1/namespaces/default/events?fieldSelector=x").orElseThrow());
    assertArrayEquals(new String[] {"example.dev/v1", "WidgetList"},
        discovery.listType("/apis/example.dev/v1/widgets").orElseThrow());
    assertArrayEquals(new String[] {"node.k8s.io/v1", "RuntimeClassList"},
        discovery.listType("/apis/node.k8s.io/v1/runtimeclasses").orElseThrow());
    assertEquals(Optional.empty(), discovery.listType("/apis/nothing.dev/v1/things"));
  }

  @Test
  void versionsAreOrderedAsKubernetesOrdersThem() {
    List<String> versions = new ArrayList<>(List.of("v1alpha1", "v2beta1", "v1", "v1beta2", "v2", "v1beta1", "foo"));
    versions.sort(ApiDiscovery::byPriority);
    assertEquals(List.of("v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"), versions);
  }
}
