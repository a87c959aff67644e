package dev.oomwatch.testing;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.model.PodRef;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.node.v1.RuntimeClassBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A stand-in Kubernetes API for the demo and the end-to-end tests: fabric8's mock server in CRUD mode
 * on 127.0.0.1, with the {@code OOMIncident} CRD applied and a kubeconfig file the agent is pointed at,
 * exactly as it would be at a real cluster. Also plays kubelet's part where the demo needs it (pod
 * status, container termination). It is never on the agent's own code path. Thread-safe as far as the
 * mock server and the fabric8 client are.
 */
public final class EmbeddedCluster implements AutoCloseable {
  public static final String CRD_RESOURCE = "META-INF/fabric8/oomincidents.oomwatch.dev-v1.yml";

  // The mock server logs every request through java.util.logging; kept here so the level sticks (JUL
  // holds loggers weakly).
  private static final java.util.logging.Logger MOCK_LOG = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

  private final SpecFieldSelectorIgnoringDispatcher dispatcher;
  private final KubernetesMockServer server;
  private final KubernetesClient client;
  private final Path kubeconfig;

  public EmbeddedCluster() {
    MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
    skipAheadInUids();
    dispatcher = new SpecFieldSelectorIgnoringDispatcher();
    server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
    try {
      server.init(InetAddress.getLoopbackAddress(), 0);
      client = new KubernetesClientBuilder()
          .withHttpClientFactory(new JdkHttpClientFactory())
          .withConfig(server.createClient().getConfiguration())
          .build();
      client.apiextensions().v1().customResourceDefinitions().resource(loadCrd(client)).create();
      kubeconfig = Files.createTempFile("oomwatch-demo-kubeconfig", ".yaml");
      Files.writeString(kubeconfig, kubeconfigYaml(client.getConfiguration()));
    } catch (IOException e) {
      server.destroy();
      throw new UncheckedIOException("cannot start the embedded Kubernetes API: " + e.getMessage(), e);
    }
  }

  /**
   * The stand-in numbers uids with a counter that starts at 1 in every JVM, so a pod of this run would
   * get the uid of a pod of the previous run, whose OOM kill is still in the kernel log. A real API
   * server gives random uids; starting the counter at a random point gives the same separation.
   */
  private static void skipAheadInUids() {
    long skip = java.util.concurrent.ThreadLocalRandom.current().nextLong(1 << 16, 1 << 22);
    for (long i = 0; i < skip; i++) {
      io.fabric8.kubernetes.client.utils.Utils.generateId();
    }
  }

  private static CustomResourceDefinition loadCrd(KubernetesClient client) throws IOException {
    try (InputStream in = EmbeddedCluster.class.getClassLoader().getResourceAsStream(CRD_RESOURCE)) {
      if (in == null) {
        throw new IOException("CRD " + CRD_RESOURCE + " is not on the classpath (build with mvn package)");
      }
      return client.getKubernetesSerialization().unmarshal(in, CustomResourceDefinition.class);
    }
  }

  private static String kubeconfigYaml(Config config) {
    String server = config.getMasterUrl().replaceAll("/$", "");
    return "apiVersion: v1\nkind: Config\nclusters:\n- name: embedded\n  cluster:\n    server: " + server + "\n"
        + "contexts:\n- name: embedded\n  context:\n    cluster: embedded\n    user: demo\n    namespace: default\n"
        + "current-context: embedded\nusers:\n- name: demo\n  user:\n    token: demo\n";
  }

  /**
   * The mock server evaluates field selectors only on the fields it indexes (metadata), so
   * {@code spec.nodeName=<node>} or {@code reason=SandboxChanged} matched nothing; a real API server
   * honours them. The stand-in drops such selectors (the agent filters again itself), as older mock
   * servers did — except on lists of Events, whose own field selectors ({@code involvedObject.*},
   * {@code reason}, {@code type}, {@code source}...) it applies as the API server does, and it honours
   * {@code limit} and {@code continue} on every list ({@link ListSemantics}), so a test sees how much
   * the agent really asks for. It serves the discovery documents ({@link ApiDiscovery}), so kubectl
   * can be pointed at it.
   */
  private static final class SpecFieldSelectorIgnoringDispatcher extends KubernetesCrudDispatcher {
    private static final com.fasterxml.jackson.databind.ObjectMapper LIST_JSON =
        new com.fasterxml.jackson.databind.ObjectMapper();
    private static final io.fabric8.kubernetes.client.utils.KubernetesSerialization CRD_JSON =
        new io.fabric8.kubernetes.client.utils.KubernetesSerialization();
    private volatile java.util.function.BiPredicate<String, String> failing = (method, path) -> false;
    private volatile int failingCode = 503;
    private volatile Map<String, String> failingHeaders = Map.of();
    private volatile java.util.function.BiPredicate<String, String> slow = (method, path) -> false;
    private volatile java.time.Duration slowBy = java.time.Duration.ZERO;
    private final ApiDiscovery discovery = new ApiDiscovery(this::storedCrds);

    SpecFieldSelectorIgnoringDispatcher() {
      super(List.of());
    }

    private List<CustomResourceDefinition> storedCrds() {
      io.fabric8.mockwebserver.http.MockResponse list =
          super.handleGet("/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
      if (list.code() != 200 || list.getBody() == null) {
        return List.of();
      }
      return CRD_JSON.unmarshal(new String(list.getBody().getBytes(), java.nio.charset.StandardCharsets.UTF_8),
          io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionList.class).getItems();
    }

    @Override
    public io.fabric8.mockwebserver.http.MockResponse dispatch(io.fabric8.mockwebserver.http.RecordedRequest request) {
      if (failing.test(request.getMethod(), request.getPath())) {
        return injectedFailure(failingCode, failingHeaders);
      }
      if ("GET".equals(request.getMethod())) {
        java.util.Optional<io.fabric8.mockwebserver.http.MockResponse> discovered = discovery.answer(request.getPath());
        if (discovered.isPresent()) {
          return discovered.get();
        }
      }
      io.fabric8.mockwebserver.http.MockResponse response = super.dispatch(request);
      if (slow.test(request.getMethod(), request.getPath())) {
        // the write is done; its answer comes late (the server's timer, no thread held)
        response.setBodyDelay(slowBy);
      }
      return response;
    }

    /**
     * The Status a kube-apiserver answers with for {@code code}; a {@code Retry-After} header is also
     * put in the Status's {@code details.retryAfterSeconds}, as the API server does for a 429.
     */
    private static io.fabric8.mockwebserver.http.MockResponse injectedFailure(int code, Map<String, String> headers) {
      String reason = switch (code) {
        case 400 -> "BadRequest";
        case 403 -> "Forbidden";
        case 404 -> "NotFound";
        case 409 -> "AlreadyExists";
        case 422 -> "Invalid";
        case 429 -> "TooManyRequests";
        case 500 -> "InternalError";
        case 503 -> "ServiceUnavailable";
        default -> "Unknown";
      };
      String retryAfter = headers.entrySet().stream().filter(h -> h.getKey().equalsIgnoreCase("Retry-After"))
          .map(Map.Entry::getValue).filter(v -> v.matches("\\d+")).findFirst()
          .map(v -> ",\"details\":{\"retryAfterSeconds\":" + v + "}").orElse("");
      io.fabric8.mockwebserver.http.MockResponse response = new io.fabric8.mockwebserver.http.MockResponse()
          .setResponseCode(code)
          .setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
              + "\"message\":\"injected by the test\",\"reason\":\"" + reason + "\",\"code\":" + code + retryAfter + "}");
      headers.forEach(response::setHeader);
      return response;
    }

    /**
     * A JSON patch whose {@code test} fails makes the mock throw (the request then gets no proper
     * answer); a real API server answers 422 Unprocessable Entity, and so does the stand-in.
     */
    @Override
    public io.fabric8.mockwebserver.http.MockResponse handlePatch(io.fabric8.mockwebserver.http.RecordedRequest request) {
      try {
        return super.handlePatch(request);
      } catch (RuntimeException e) {
        if (e.getClass().getName().startsWith("io.fabric8.zjsonpatch")) {
          return new io.fabric8.mockwebserver.http.MockResponse().setResponseCode(422)
              .setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Invalid\","
                  + "\"code\":422,\"message\":" + quoted(e.getMessage()) + "}");
        }
        throw e;
      }
    }

    private static String quoted(String text) {
      return "\"" + String.valueOf(text).replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + "\"";
    }

    @Override
    public io.fabric8.mockwebserver.http.MockResponse handleGet(String path) {
      // Events' own field selectors, limit and continue: applied here, as a real API server does
      java.util.Optional<ListSemantics> list = ListSemantics.of(path);
      if (list.isPresent()) {
        return list.get().refusal().orElseGet(() -> typedList(path,
            list.get().answer(super.handleGet(withoutSpecFieldSelector(list.get().pathForMock())))));
      }
      return typedList(path, super.handleGet(withoutSpecFieldSelector(path)));
    }

    /** A list called {@code EventList} (and so on), as the API server calls it; the mock says {@code List}. */
    private io.fabric8.mockwebserver.http.MockResponse typedList(String path,
        io.fabric8.mockwebserver.http.MockResponse response) {
      if (response.code() != 200 || response.getBody() == null) {
        return response;
      }
      java.util.Optional<String[]> type = discovery.listType(path);
      if (type.isEmpty()) {
        return response;
      }
      try {
        com.fasterxml.jackson.databind.JsonNode body = LIST_JSON.readTree(response.getBody().getBytes());
        if (!(body instanceof com.fasterxml.jackson.databind.node.ObjectNode object)
            || !"List".equals(object.path("kind").asText())) {
          return response;
        }
        object.put("apiVersion", type.get()[0]);
        object.put("kind", type.get()[1]);
        return response.setBody(LIST_JSON.writeValueAsBytes(object));
      } catch (IOException e) {
        return response;
      }
    }

    @Override
    public io.fabric8.mockwebserver.http.MockResponse handleWatch(String path) {
      return super.handleWatch(withoutSpecFieldSelector(path));
    }

    static String withoutSpecFieldSelector(String path) {
      return path.replaceAll("([?&])fieldSelector=(?!metadata)[^&]*&?", "$1").replaceAll("[?&]$", "");
    }
  }

  /** A client for the demo's or test's own calls (not the agent's). */
  public KubernetesClient client() {
    return client;
  }

  /** A kubeconfig file pointing at this API, for the agent. */
  public Path kubeconfig() {
    return kubeconfig;
  }

  /**
   * Answers 503 to every request whose method and path match, until {@link #stopFailing}: an API
   * server that fails some writes (a test's fault injection).
   */
  public void failRequests(java.util.function.BiPredicate<String, String> methodAndPath) {
    failRequests(methodAndPath, 503, Map.of());
  }

  /**
   * Answers {@code code} (a kube-apiserver-like Status, with {@code headers}) to every request whose
   * method and path match, until {@link #stopFailing}: a 403 of an admission webhook, a 429 with
   * {@code Retry-After}, and so on.
   */
  public void failRequests(java.util.function.BiPredicate<String, String> methodAndPath, int code,
      Map<String, String> headers) {
    dispatcher.failingCode = code;
    dispatcher.failingHeaders = Map.copyOf(headers);
    dispatcher.failing = methodAndPath;
  }

  public void stopFailing() {
    dispatcher.failing = (method, path) -> false;
  }

  /**
   * Serves the requests whose method and path match as usual, but answers them only after {@code delay}
   * (a slow API server), until {@link #stopDelaying}.
   */
  public void delayResponses(java.util.function.BiPredicate<String, String> methodAndPath, java.time.Duration delay) {
    dispatcher.slowBy = delay;
    dispatcher.slow = methodAndPath;
  }

  public void stopDelaying() {
    dispatcher.slow = (method, path) -> false;
  }

  /** A kubeconfig file pointing at this API through another local port (a test's proxy, say). */
  public Path kubeconfigVia(int port) throws IOException {
    Path file = Files.createTempFile("oomwatch-kubeconfig-via-" + port, ".yaml");
    file.toFile().deleteOnExit();
    Files.writeString(file, Files.readString(kubeconfig).replace(":" + server.getPort(), ":" + port));
    return file;
  }

  /**
   * Creates {@code object} in {@code namespace} as a POST to its collection would — through the stand-in's
   * own handler, so it is stored, given a uid and resourceVersion, and sent to watchers alike — without
   * the HTTP round trip: for tests that write a great many large objects (the mock's HTTP path takes
   * about a third of a second per MiB here). Returns the response's status code (201 when created).
   */
  public int createWithoutHttp(String namespace, io.fabric8.kubernetes.api.model.HasMetadata object) {
    String plural = io.fabric8.kubernetes.api.model.HasMetadata.getPlural(object.getClass());
    String group = io.fabric8.kubernetes.api.model.HasMetadata.getGroup(object.getClass());
    String version = io.fabric8.kubernetes.api.model.HasMetadata.getVersion(object.getClass());
    String path = (group == null || group.isEmpty() ? "/api/" + version : "/apis/" + group + "/" + version)
        + "/namespaces/" + namespace + "/" + plural;
    byte[] body = client.getKubernetesSerialization().asJson(object).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return dispatcher.dispatch(new io.fabric8.mockwebserver.http.RecordedRequest("HTTP/1.1",
        io.fabric8.mockwebserver.dsl.HttpMethod.POST, path,
        io.fabric8.mockwebserver.http.Headers.builder().add("Content-Type", "application/json").build(),
        new io.fabric8.mockwebserver.http.Buffer(body))).code();
  }

  /** The stand-in server, e.g. to read the requests it received. */
  public KubernetesMockServer server() {
    return server;
  }

  public void createRuntimeClass(String name, String handler) {
    client.resources(io.fabric8.kubernetes.api.model.node.v1.RuntimeClass.class).resource(new RuntimeClassBuilder()
        .withNewMetadata().withName(name).endMetadata().withHandler(handler).build()).create();
  }

  /**
   * Creates a running pod on {@code node} with one container limited to {@code memoryLimit}, with the
   * status kubelet would have written (conditions and a running container), and returns its identity.
   */
  public PodRef createRunningPod(String namespace, String name, String node, String runtimeClass, String container,
      String memoryLimit) {
    String now = Instant.now().toString();
    Pod pod = new PodBuilder()
        .withNewMetadata().withNamespace(namespace).withName(name).endMetadata()
        .withNewSpec()
          .withNodeName(node)
          .withRuntimeClassName(runtimeClass)
          .addNewContainer()
            .withName(container).withImage("busybox")
            .withNewResources()
              // a request below the limit: a Burstable pod, the commonest kind
              .withRequests(Map.of("memory", new Quantity("16Mi")))
              .withLimits(Map.of("memory", new Quantity(memoryLimit)))
            .endResources()
          .endContainer()
        .endSpec()
        .build();
    Pod created = client.pods().resource(pod).create();
    created.setStatus(new io.fabric8.kubernetes.api.model.PodStatusBuilder()
        .withPhase("Running")
        .withQosClass("Burstable")
        .withConditions(kubeletCondition("PodScheduled", now), kubeletCondition("Initialized", now),
            kubeletCondition("ContainersReady", now), kubeletCondition("Ready", now))
        .withContainerStatuses(new ContainerStatusBuilder()
            .withName(container).withReady(true).withRestartCount(0).withImage("busybox")
            .withNewState().withNewRunning().withStartedAt(now).endRunning().endState()
            .build())
        .build());
    Pod running = client.pods().resource(created).updateStatus();
    return new PodRef(namespace, name, running.getMetadata().getUid());
  }

  private static PodCondition kubeletCondition(String type, String now) {
    return new PodConditionBuilder().withType(type).withStatus("True").withLastTransitionTime(now).build();
  }

  /**
   * Does what kubelet does when a gVisor sandbox dies without an exit status: the container is
   * terminated with {@code exitCode} and reason {@code Error}, the pod not ready.
   */
  public void terminateContainersLikeKubelet(PodRef ref, int exitCode) {
    terminateContainersLikeKubelet(ref, exitCode, "Error");
  }

  /** As above with the given reason ({@code Completed} with exit 0 is what some runtimes report). */
  public void terminateContainersLikeKubelet(PodRef ref, int exitCode, String reason) {
    Pod pod = client.pods().inNamespace(ref.namespace()).withName(ref.name()).get();
    String now = Instant.now().toString();
    List<ContainerStatus> statuses = pod.getStatus().getContainerStatuses().stream()
        .map(s -> new ContainerStatusBuilder(s).withReady(false)
            .withNewState().withNewTerminated().withExitCode(exitCode).withReason(reason)
              .withStartedAt(s.getState().getRunning() == null ? now : s.getState().getRunning().getStartedAt())
              .withFinishedAt(now).endTerminated().endState()
            .build())
        .toList();
    pod.getStatus().setContainerStatuses(statuses);
    pod.getStatus().getConditions().stream()
        .filter(c -> c.getType().equals("Ready") || c.getType().equals("ContainersReady"))
        .forEach(c -> {
          c.setStatus("False");
          c.setLastTransitionTime(now);
        });
    client.pods().resource(pod).updateStatus();
  }

  public Pod pod(PodRef ref) {
    return client.pods().inNamespace(ref.namespace()).withName(ref.name()).get();
  }

  /** The Events whose involved object is this pod, oldest first. */
  public List<Event> events(PodRef ref) {
    return client.v1().events().inNamespace(ref.namespace()).list().getItems().stream()
        .filter(e -> e.getInvolvedObject() != null && ref.uid().equals(e.getInvolvedObject().getUid()))
        .toList();
  }

  public List<OOMIncident> incidents(String namespace) {
    return client.resources(OOMIncident.class).inNamespace(namespace).list().getItems();
  }

  @Override
  public void close() {
    client.close();
    server.destroy();
    try {
      Files.deleteIfExists(kubeconfig);
    } catch (IOException e) {
      // a temp file; nothing to tell the user
    }
  }
}
