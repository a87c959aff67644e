package dev.oomwatch.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ApiTrafficTest {
  @Test
  void requestsAreNamedAsRbacNamesThem() {
    assertEquals("watch pods", ApiTraffic.call("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dn&watch=true"));
    assertEquals("list pods", ApiTraffic.call("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dn"));
    assertEquals("get pods", ApiTraffic.call("GET", "/api/v1/namespaces/default/pods/web-0"));
    assertEquals("patch pods/status", ApiTraffic.call("PATCH", "/api/v1/namespaces/default/pods/web-0/status"));
    assertEquals("create events", ApiTraffic.call("POST", "/api/v1/namespaces/default/events"));
    assertEquals("create oomincidents",
        ApiTraffic.call("POST", "/apis/oomwatch.dev/v1alpha1/namespaces/default/oomincidents"));
    assertEquals("patch oomincidents/status",
        ApiTraffic.call("PATCH", "/apis/oomwatch.dev/v1alpha1/namespaces/default/oomincidents/x/status"));
    assertEquals("watch runtimeclasses", ApiTraffic.call("GET", "/apis/node.k8s.io/v1/runtimeclasses?watch=1"));
    assertEquals("delete oomincidents", ApiTraffic.call("DELETE", "/apis/oomwatch.dev/v1alpha1/namespaces/d/oomincidents/x"));
    assertEquals("other /version", ApiTraffic.call("GET", "/version"));
  }

  @Test
  void kindsAndWindows() {
    ApiTraffic.Snapshot before = new ApiTraffic.Snapshot(Map.of("watch pods", 2L, "get pods", 5L));
    ApiTraffic.Snapshot after = new ApiTraffic.Snapshot(Map.of("watch pods", 2L, "get pods", 7L,
        "create events", 1L, "patch events", 3L, "other /version", 1L));
    ApiTraffic.Snapshot window = after.minus(before);
    assertEquals(Map.of("get pods", 2L, "create events", 1L, "patch events", 3L, "other /version", 1L), window.byCall());
    assertEquals(2, window.count(ApiTraffic.Kind.READ));
    assertEquals(4, window.count(ApiTraffic.Kind.WRITE));
    assertEquals(0, window.count(ApiTraffic.Kind.WATCH));
    assertEquals(1, window.count(ApiTraffic.Kind.OTHER));
    assertEquals(7, window.total());
  }
}
