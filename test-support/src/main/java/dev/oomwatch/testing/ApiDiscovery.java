package dev.oomwatch.testing;

import io.fabric8.kubernetes.api.model.APIGroup;
import io.fabric8.kubernetes.api.model.APIGroupBuilder;
import io.fabric8.kubernetes.api.model.APIGroupListBuilder;
import io.fabric8.kubernetes.api.model.APIResource;
import io.fabric8.kubernetes.api.model.APIResourceBuilder;
import io.fabric8.kubernetes.api.model.APIResourceListBuilder;
import io.fabric8.kubernetes.api.model.APIVersionsBuilder;
import io.fabric8.kubernetes.api.model.GroupVersionForDiscovery;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.KubernetesResourceList;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.mockwebserver.http.MockResponse;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The discovery documents a kube-apiserver serves and the mock server does not (it answers
 * {@code /api} and {@code /apis} with every object it stores), so that {@code kubectl} can find its way:
 * {@code /api}, {@code /api/v1}, {@code /apis}, {@code /apis/<group>} and {@code /apis/<group>/<version>}.
 * They are built, not typed: the built-in resources are fabric8's model types (those its model jars
 * register as services: group, version, kind, plural, namespaced, a {@code status} subresource when the
 * type has a status), the custom ones the CRDs stored in the stand-in when asked (names, short names,
 * categories, served versions, subresources). Only the unaggregated JSON form is served; kubectl asks
 * for aggregated discovery first and falls back to it. Short names of built-in types are not in
 * fabric8's model and are left out ({@code kubectl get po} does not work, {@code kubectl get pods}
 * does). Immutable and thread-safe.
 */
final class ApiDiscovery {
  private static final Pattern GROUP = Pattern.compile("^/apis/([^/]+)$");
  private static final Pattern GROUP_VERSION = Pattern.compile("^/apis/([^/]+)/([^/]+)$");
  private static final List<String> VERBS =
      List.of("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch");
  private static final List<String> STATUS_VERBS = List.of("get", "patch", "update");
  private static final KubernetesSerialization JSON = new KubernetesSerialization();

  /** group → version → resources (the model's), built once. */
  private static final Map<String, Map<String, List<APIResource>>> BUILT_IN = builtIn();

  private final Supplier<List<CustomResourceDefinition>> crds;

  /** @param crds the CRDs the stand-in stores now (read on each request, so later ones show up too) */
  ApiDiscovery(Supplier<List<CustomResourceDefinition>> crds) {
    this.crds = crds;
  }

  /** The answer to a GET of {@code path} when it is a discovery path; else empty. */
  Optional<MockResponse> answer(String path) {
    String resource = path.indexOf('?') < 0 ? path : path.substring(0, path.indexOf('?'));
    if (resource.equals("/api") || resource.equals("/api/")) {
      return Optional.of(ok(new APIVersionsBuilder().withVersions("v1").build()));
    }
    if (resource.equals("/api/v1")) {
      return Optional.of(resources("", "v1", all()));
    }
    if (resource.equals("/apis") || resource.equals("/apis/")) {
      return Optional.of(ok(new APIGroupListBuilder().withGroups(groups(all())).build()));
    }
    Matcher group = GROUP.matcher(resource);
    if (group.matches()) {
      return Optional.of(groups(all()).stream().filter(g -> g.getName().equals(group.group(1))).findFirst()
          .map(ApiDiscovery::ok).orElseGet(ApiDiscovery::notFound));
    }
    Matcher groupVersion = GROUP_VERSION.matcher(resource);
    if (groupVersion.matches()) {
      return Optional.of(resources(groupVersion.group(1), groupVersion.group(2), all()));
    }
    return Optional.empty();
  }

  private static final Pattern COLLECTION =
      Pattern.compile("^/(?:api/(v1)|apis/([^/]+)/([^/]+))(?:/namespaces/[^/]+)?/([^/]+)$");

  /**
   * The {@code apiVersion} and {@code kind} a kube-apiserver gives a list of the collection at
   * {@code path} ({@code v1} and {@code EventList} for {@code /api/v1/namespaces/default/events}); empty
   * when {@code path} is no collection this discovery knows. (The mock calls every list {@code List}, and
   * kubectl's typed clients refuse that: {@code kubectl describe pod} showed no Events.)
   */
  Optional<String[]> listType(String path) {
    String resource = path.indexOf('?') < 0 ? path : path.substring(0, path.indexOf('?'));
    Matcher m = COLLECTION.matcher(resource);
    if (!m.matches()) {
      return Optional.empty();
    }
    String group = m.group(1) != null ? "" : m.group(2);
    String version = m.group(1) != null ? m.group(1) : m.group(3);
    String plural = m.group(4);
    Map<String, Map<String, List<APIResource>>> known = BUILT_IN.containsKey(group) ? BUILT_IN : all();
    return known.getOrDefault(group, Map.of()).getOrDefault(version, List.of()).stream()
        .filter(r -> r.getName().equals(plural)).findFirst()
        .map(r -> new String[] {group.isEmpty() ? version : group + "/" + version, r.getKind() + "List"});
  }

  private Map<String, Map<String, List<APIResource>>> all() {
    Map<String, Map<String, List<APIResource>>> all = new TreeMap<>();
    BUILT_IN.forEach((group, versions) -> versions.forEach((version, list) ->
        all.computeIfAbsent(group, g -> new TreeMap<>()).computeIfAbsent(version, v -> new ArrayList<>()).addAll(list)));
    for (CustomResourceDefinition crd : crds.get()) {
      for (CustomResourceDefinitionVersion version : crd.getSpec().getVersions()) {
        if (Boolean.FALSE.equals(version.getServed())) {
          continue;
        }
        List<APIResource> list = all.computeIfAbsent(crd.getSpec().getGroup(), g -> new TreeMap<>())
            .computeIfAbsent(version.getName(), v -> new ArrayList<>());
        var names = crd.getSpec().getNames();
        list.add(new APIResourceBuilder().withName(names.getPlural()).withSingularName(names.getSingular())
            .withKind(names.getKind()).withNamespaced("Namespaced".equals(crd.getSpec().getScope()))
            .withShortNames(names.getShortNames()).withCategories(names.getCategories()).withVerbs(VERBS).build());
        if (version.getSubresources() != null && version.getSubresources().getStatus() != null) {
          list.add(status(names.getPlural(), names.getKind(), "Namespaced".equals(crd.getSpec().getScope())));
        }
      }
    }
    return all;
  }

  private static MockResponse resources(String group, String version,
      Map<String, Map<String, List<APIResource>>> all) {
    List<APIResource> list = all.getOrDefault(group, Map.of()).get(version);
    if (list == null) {
      return notFound();
    }
    return ok(new APIResourceListBuilder().withGroupVersion(group.isEmpty() ? version : group + "/" + version)
        .withResources(list).build());
  }

  private static List<APIGroup> groups(Map<String, Map<String, List<APIResource>>> all) {
    List<APIGroup> groups = new ArrayList<>();
    all.forEach((group, versions) -> {
      if (group.isEmpty()) {
        return; // the core group is /api
      }
      List<GroupVersionForDiscovery> served = versions.keySet().stream().sorted(ApiDiscovery::byPriority)
          .map(v -> new GroupVersionForDiscovery(group + "/" + v, v)).toList();
      groups.add(new APIGroupBuilder().withName(group).withVersions(served).withPreferredVersion(served.get(0)).build());
    });
    return groups;
  }

  /**
   * Kubernetes's version priority ({@code k8s.io/apimachinery/pkg/version}): GA before beta before alpha,
   * higher numbers first within each.
   */
  static int byPriority(String a, String b) {
    return Comparator.comparingInt(ApiDiscovery::stability).thenComparing(ApiDiscovery::major, Comparator.reverseOrder())
        .thenComparing(ApiDiscovery::minor, Comparator.reverseOrder()).thenComparing(Comparator.naturalOrder())
        .compare(a, b);
  }

  private static final Pattern KUBE_VERSION = Pattern.compile("^v(\\d+)(?:(alpha|beta)(\\d+))?$");

  private static int stability(String version) {
    Matcher m = KUBE_VERSION.matcher(version);
    return !m.matches() ? 3 : m.group(2) == null ? 0 : m.group(2).equals("beta") ? 1 : 2;
  }

  private static int major(String version) {
    Matcher m = KUBE_VERSION.matcher(version);
    return m.matches() ? Integer.parseInt(m.group(1)) : 0;
  }

  private static int minor(String version) {
    Matcher m = KUBE_VERSION.matcher(version);
    return m.matches() && m.group(3) != null ? Integer.parseInt(m.group(3)) : 0;
  }

  private static Map<String, Map<String, List<APIResource>>> builtIn() {
    Map<String, Map<String, List<APIResource>>> model = new TreeMap<>();
    ServiceLoader.load(KubernetesResource.class, ApiDiscovery.class.getClassLoader()).stream()
        .map(ServiceLoader.Provider::type)
        .filter(type -> HasMetadata.class.isAssignableFrom(type) && !KubernetesResourceList.class.isAssignableFrom(type)
            && type.getName().startsWith("io.fabric8.kubernetes.api.model."))
        .map(type -> type.asSubclass(HasMetadata.class))
        .sorted(Comparator.comparing(Class::getName))
        .forEach(type -> {
          String plural = HasMetadata.getPlural(type);
          boolean namespaced = Namespaced.class.isAssignableFrom(type);
          List<APIResource> list = model.computeIfAbsent(HasMetadata.getGroup(type), g -> new TreeMap<>())
              .computeIfAbsent(HasMetadata.getVersion(type), v -> new ArrayList<>());
          if (list.stream().anyMatch(r -> r.getName().equals(plural))) {
            return;
          }
          list.add(new APIResourceBuilder().withName(plural).withSingularName(HasMetadata.getSingular(type))
              .withKind(HasMetadata.getKind(type)).withNamespaced(namespaced).withVerbs(VERBS).build());
          if (hasStatus(type)) {
            list.add(status(plural, HasMetadata.getKind(type), namespaced));
          }
        });
    return model;
  }

  private static boolean hasStatus(Class<?> type) {
    try {
      type.getMethod("getStatus");
      return true;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  private static APIResource status(String plural, String kind, boolean namespaced) {
    return new APIResourceBuilder().withName(plural + "/status").withSingularName("").withKind(kind)
        .withNamespaced(namespaced).withVerbs(STATUS_VERBS).build();
  }

  private static MockResponse ok(Object document) {
    return new MockResponse().setResponseCode(200).setHeader("Content-Type", "application/json")
        .setBody(JSON.asJson(document));
  }

  private static MockResponse notFound() {
    return new MockResponse().setResponseCode(404).setHeader("Content-Type", "application/json")
        .setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"NotFound\","
            + "\"code\":404,\"message\":\"the server could not find the requested resource\"}");
  }
}
